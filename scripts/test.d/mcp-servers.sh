#!/usr/bin/env bash
# Third-party MCP servers for the runtime tests, installed once into
# .aacon-test-cache/npm (gitignored). Skipped when already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=.aacon-test-cache/npm
if [ -f "$cache/node_modules/@modelcontextprotocol/server-everything/package.json" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "scripts/test.d/mcp-servers.sh: installing node and npm (Debian packages)"
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
echo "scripts/test.d/mcp-servers.sh: installing @modelcontextprotocol/server-everything into $cache"
mkdir -p "$cache"
npm install --prefix "$cache" --no-audit --no-fund --loglevel=error @modelcontextprotocol/server-everything >/dev/null
