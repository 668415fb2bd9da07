#!/usr/bin/env bash
# Set up (see setup.sh) and run every check: linters, type checkers, JS tests, the
# Python tests (real kernel, real openai SDK over HTTP, real JupyterLab in Chromium),
# the tutorials under nbval, a wheel build that must contain the bundle, and the bundle
# budget.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
# Each step says how long the run has taken so far, so slow steps show in CI's log.
step() { echo "==> $1 (at $(( $(date +%s) - started )) s)"; }

bash scripts/setup.sh
PY=.venv/bin/python

work=$(mktemp -d)
# Run in the background, its output kept for later: `background NAME COMMAND...`, then
# `finish NAME` waits, prints that output, and fails (returns non-zero) if the command did.
declare -A jobs_
# When a step fails, the background ones (and their children: npm, vitest, pip) stop too.
kill_tree() { local child; for child in $(pgrep -P "$1"); do kill_tree "$child"; done; kill "$1" 2>/dev/null || true; }
cleanup() { local pid; for pid in "${jobs_[@]}"; do kill_tree "$pid"; done; rm -rf "$work"; }
trap cleanup EXIT
background() { local name=$1; shift; "$@" >"$work/$name.log" 2>&1 & jobs_[$name]=$!; }
finish() {
  local status=0
  wait "${jobs_[$1]}" || status=$?
  cat "$work/$1.log"
  if [ "$status" -ne 0 ]; then echo "$1 failed (exit $status)" >&2; return "$status"; fi
}

# The frontend's checks run on one core. On the other, one chain runs everything that is
# not a kernel or browser test, beside those (they take most of the run, mostly waiting on
# kernels and pages): ruff, mypy, the unit tests, the wheel, and the demo as a new user
# gets it. Each part says in the chain's log how long the run has taken when it starts.
frontend() {
  cd js && npm run --silent typecheck && npm run --silent lint && npm test --silent && npm run --silent size
}

# The wheel, and a fresh venv with only it installed (as a new user gets it).
prepare_wheel() {
  rm -rf dist
  "$PY" -m build --wheel --no-isolation --outdir dist . >/dev/null
  "$PY" - <<'PYEOF'
import glob, os, zipfile
wheel, = glob.glob("dist/nbstream-*.whl")
names = set(zipfile.ZipFile(wheel).namelist())
# The tutorials ship too: `nbstream demo` copies them from the installed package.
tutorials = {f"nbstream/tutorials/{os.path.basename(p)}" for p in glob.glob("notebooks/*.ipynb")}
expected = {f"nbstream/static/{name}" for name in ("widget.js", "widget.css", "stub.js")}
expected |= {f"nbstream/relay/static/{name}" for name in ("relay.js", "relay.css")}
expected.add("nbstream/py.typed")
missing = (expected | tutorials) - names
assert not missing, f"{wheel} lacks {sorted(missing)}"
print(f"{wheel}: bundle and {len(tutorials)} tutorials included")
PYEOF
  "${PYTHON:-python3}" -m venv "$work/venv"
  "$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$(ls dist/nbstream-*.whl)[lab]" 2>&1 \
    | { grep -v "^WARNING: Location 'file://" || true; }
}

beside() {
  step "ruff"
  "$PY" -m ruff check .
  "$PY" -m ruff format --check .
  step "mypy"
  "$PY" -m mypy
  # The unit tests: no kernel, no browser (marks set in tests/conftest.py).
  step "pytest: units"
  "$PY" -m pytest tests -p no:cacheprovider --durations=10 --basetemp="$work/units" \
    -m "not kernel and not browser"
  step "wheel"
  prepare_wheel
  # The demo's two end-to-end tests run here only, against the wheel in its own venv.
  step "the demo as a new user gets it: the wheel alone in a fresh venv, in Chromium"
  NBSTREAM_DEMO_COMMAND="$work/venv/bin/nbstream" "$PY" -m pytest -p no:cacheprovider -q \
    tests/test_demo.py -k "url_opens_the_chat_tutorial or serves_the_chat_tutorial"
}

step "frontend: tsc, biome, vitest, bundle budget (in the background)"
background frontend frontend
step "ruff, mypy, unit tests, wheel, demo (in the background, in that order)"
background beside beside

# The kernel and browser tests stay in one process: with the browser suites running beside
# the kernel tests on two cores, kernels missed their start-up deadline and one CI run hung.
step "pytest: kernel, HTTP, browser, and nbval (tutorials)"
main_status=0
"$PY" -m pytest tests notebooks -p no:cacheprovider --durations=30 \
  --nbval --nbval-sanitize-with notebooks/nbval-sanitize.cfg -m "kernel or browser" \
  --deselect tests/test_demo.py::test_demo_url_opens_the_chat_tutorial_and_the_chat_answers \
  --deselect tests/test_demo.py::test_demo_serves_the_chat_tutorial_on_loopback_and_stops_cleanly \
  || main_status=$?
# Every part's results are printed before the run fails, whichever part failed.
failed=0
step "frontend's results"
finish frontend || failed=1
step "the background chain's results"
finish beside || failed=1
if [ "$main_status" -ne 0 ]; then echo "pytest (kernel, browser, nbval) failed" >&2; failed=1; fi
if [ "$failed" -ne 0 ]; then exit 1; fi
step "done"
