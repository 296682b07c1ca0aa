"""The virtual clock and configuration from the environment."""

from __future__ import annotations

import pytest

from mosaic_mcp.server.sandbox import SandboxClock, config_from_env


def test_frozen_clock_moves_only_by_advance() -> None:
    """speed=0 freezes time; advance() jumps it."""
    ticks = iter([0.0, 100.0, 200.0])
    clock = SandboxClock(0, start=1000.0, monotonic=lambda: next(ticks))
    assert clock.now() == 1000.0
    clock.advance(30)
    assert clock.now() == 1030.0


def test_speed_scales_real_time() -> None:
    """At speed 10 one real second is ten virtual seconds, and changing speed never goes back."""
    real = [0.0]
    clock = SandboxClock(10, start=0.0, monotonic=lambda: real[0])
    real[0] = 2.0
    assert clock.now() == 20.0
    clock.speed = 1
    real[0] = 3.0
    assert clock.now() == 21.0
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_config_from_env() -> None:
    """MOSAIC_SANDBOX_* variables fill the config; bad values name the variable."""
    config = config_from_env(
        {"MOSAIC_SANDBOX_SPEED": "5", "MOSAIC_SANDBOX_CREDITS": "10", "MOSAIC_SANDBOX_PLAN": "none"},
        seed=7,
    )
    assert (config.speed, config.credits, config.plan_id, config.seed) == (5.0, 10, None, 7)
    with pytest.raises(ValueError, match="MOSAIC_SANDBOX_ERROR_RATE"):
        config_from_env({"MOSAIC_SANDBOX_ERROR_RATE": "lots"})
    with pytest.raises(ValueError, match="error_rate"):
        config_from_env({"MOSAIC_SANDBOX_ERROR_RATE": "2"})
