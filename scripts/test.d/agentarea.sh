#!/usr/bin/env bash
# The real AgentArea backend for the API-mode tests (tests/support/agentarea.rs):
# one start and stop here builds its venv and installs PostgreSQL and Redis
# once, so the tests themselves start it in seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${AACON_AGENTAREA_DIR:-../shared/agentarea}
if [ ! -x "$backend/up" ] && [ ! -f "$backend/up" ]; then
  echo "scripts/test.d/agentarea.sh: the AgentArea backend is not at $backend (set AACON_AGENTAREA_DIR)" >&2
  exit 1
fi
state=$(mktemp -d)
trap 'bash "$backend/down" "$state" >/dev/null 2>&1; rm -rf "$state"' EXIT
bash "$backend/up" "$state" >/dev/null
