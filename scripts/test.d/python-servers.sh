#!/usr/bin/env bash
# The official Python MCP SDK (`mcp` on PyPI, pinned) for the tests' Python
# servers (tests/python/*.py: FastMCP over the legacy SSE transport, an
# OAuth-protected server with its authorization server), installed once into
# a venv in .aacon-test-cache/python (gitignored). Quick when already there.
# Also kubernetes-validate (pinned; it bundles the Kubernetes JSON schemas),
# which tests/serve/deploy_files.rs runs on deploy/k8s.
set -euo pipefail
cd "$(dirname "$0")/../.."
MCP_VERSION=1.30.0
KUBERNETES_VALIDATE_VERSION=1.37.0
venv=.aacon-test-cache/python
stamp="$venv/.mcp-$MCP_VERSION"
kv_stamp="$venv/.kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
install_kv() {
  echo "scripts/test.d/python-servers.sh: installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  touch "$kv_stamp"
}
if [ -f "$stamp" ] && [ -x "$venv/bin/python" ]; then
  [ -f "$kv_stamp" ] || install_kv
  exit 0
fi
# python3.12 or 3.11: from PATH, else from pyenv, else Debian's python3 with venv.
py=""
for v in 3.12 3.11; do
  if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import venv' >/dev/null 2>&1; then
    py="python$v"; break
  fi
  if command -v pyenv >/dev/null 2>&1; then
    full=$(pyenv versions --bare 2>/dev/null | grep -E "^$v(\.[0-9]+)?$" | tail -1 || true)
    if [ -n "$full" ] && PYENV_VERSION="$full" "python$v" -c 'import venv' >/dev/null 2>&1; then
      export PYENV_VERSION="$full"; py="python$v"; break
    fi
  fi
done
if [ -z "$py" ]; then
  if ! python3 -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; then
    echo "scripts/test.d/python-servers.sh: installing python3 and python3-venv (Debian packages)"
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  py=python3
fi
echo "scripts/test.d/python-servers.sh: installing mcp==$MCP_VERSION into $venv ($("$py" --version))"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "mcp==$MCP_VERSION"
touch "$stamp"
install_kv
