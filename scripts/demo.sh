#!/usr/bin/env bash
# Set up (see setup.sh), then run `nbstream demo`: JupyterLab on 127.0.0.1, open on the
# chat tutorial, ready to chat with the local model; it prints the URL (token included).
# Arguments go to `nbstream demo`: --no-browser to run headless, --port, --dir (where
# the tutorials are copied; default ~/nbstream-demo), --reset. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m nbstream demo "$@"
