#!/usr/bin/env bash
# Set up (see setup.sh) and open the quickstart in JupyterLab on 127.0.0.1.
# Pass --no-browser to run headless; JupyterLab prints the URL to open.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
root=()
[ "$(id -u)" -eq 0 ] && root=(--allow-root)  # containers often run as root
# default_url: the URL JupyterLab prints (and opens) goes straight to the quickstart.
exec .venv/bin/jupyter lab --ServerApp.ip=127.0.0.1 "${root[@]}" \
  --ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/01-quickstart.ipynb "$@"
