#!/usr/bin/env bash
# PostgreSQL for the tests that spawn their own server (tests/support/postgres.rs):
# the server binaries from Debian's package; no cluster is started here.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "scripts/test.d/postgres.sh: installing postgresql (Debian package)"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
