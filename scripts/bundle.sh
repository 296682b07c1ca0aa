#!/usr/bin/env bash
# Build the Claude Desktop bundle (.mcpb) with the pinned official packer, @anthropic-ai/mcpb.
#
#   scripts/bundle.sh validate        check manifest.json against the packer's schema
#   scripts/bundle.sh [pack [OUT]]    validate, then pack the repository into OUT
#                                     (default dist/mcp-server-mosaic-<version>.mcpb)
#
# The packer's version is pinned in packaging/package.json and package-lock.json (`npm ci` installs exactly
# that); it is the same as running `npx @anthropic-ai/mcpb@<that version> validate manifest.json` and
# `… pack` at the repository root. What the bundle leaves out is in .mcpbignore.
set -euo pipefail
cd "$(dirname "$0")/.."

mcpb=packaging/node_modules/.bin/mcpb
if [ ! -x "$mcpb" ] || ! cmp -s packaging/package-lock.json packaging/node_modules/.package-lock.json 2>/dev/null; then
    (cd packaging && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

command=${1:-pack}
case "$command" in
    validate)
        "$mcpb" validate manifest.json
        ;;
    pack)
        version=$(node -p 'require("./manifest.json").version')
        out=${2:-dist/mcp-server-mosaic-$version.mcpb}
        "$mcpb" validate manifest.json
        mkdir -p "$(dirname "$out")"
        "$mcpb" pack . "$out"
        ;;
    *)
        echo "usage: $0 validate | pack [OUT]" >&2
        exit 2
        ;;
esac
