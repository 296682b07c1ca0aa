"""The suite's shared fixtures come from one plugin: tests/support/fixtures.py (helpers: tests/support)."""

pytest_plugins = ["tests.support.fixtures"]
