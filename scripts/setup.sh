#!/usr/bin/env bash
# Set up a development environment from scratch: system packages (Chromium for the
# browser tests, fonts), a Python venv in .venv, the frontend's npm packages, and nbstream
# itself (editable; this also builds the frontend bundle into nbstream/static/).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi dejavu; then
  echo "==> apt: chromium and fonts"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core fonts-liberation >/dev/null
fi
command -v node >/dev/null || { echo "Node.js (>= 20) and npm are required" >&2; exit 1; }

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> venv"
  "$PY" -m venv .venv
fi

echo "==> npm ci"
(cd js && npm ci --no-audit --no-fund --loglevel=error)

echo "==> pip install -e .[dev]"
# (This machine's pip config names extra index folders that may not exist; hide that noise.)
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 \
  | { grep -v "^WARNING: Location 'file://" || true; }
