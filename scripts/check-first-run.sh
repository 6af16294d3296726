#!/usr/bin/env bash
# A newcomer's first start, on a fresh clone (no .venv yet): `make run` installs the runtime set
# only (no test tools) and serves /api/v1/health. .ci/run runs it with no uv on PATH and a fresh
# HOME, so the Makefile's uv bootstrap is exercised too. Try it by hand on a clone:
#   git clone . /tmp/c && /tmp/c/scripts/check-first-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -e .venv ]; then
    echo "check-first-run: .venv exists; run this on a fresh clone" >&2
    exit 2
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Its own process group, so that make and the server it starts are stopped together.
CQ_PORT=$port CQ_DATA_DIR=$work/data setsid make run > "$work/run.log" 2>&1 &
run=$!
stop() {
    kill -TERM -- "-$run" 2> /dev/null || true
    wait "$run" 2> /dev/null || true
    rm -rf "$work"
}
trap stop EXIT

started=$SECONDS
until python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/api/v1/health', timeout=2)" 2> /dev/null; do
    if ! kill -0 "$run" 2> /dev/null || ((SECONDS - started > 600)); then
        echo "check-first-run: make run did not serve /api/v1/health:" >&2
        tail -n 40 "$work/run.log" >&2
        exit 1
    fi
    sleep 0.5
done

dev_tools=$(.venv/bin/python -c '
import importlib.util
print(" ".join(m for m in ("pytest", "playwright", "ruff", "schemathesis", "cq") if importlib.util.find_spec(m)))')
if [ -n "$dev_tools" ]; then
    echo "check-first-run: make run installed test tools: $dev_tools" >&2
    exit 1
fi
echo "check-first-run: make run served /api/v1/health after $((SECONDS - started)) s (uv: $(grep -o 'fetching uv [^ ]*' "$work/run.log" || echo 'on PATH')); .venv $(du -sm .venv | cut -f1) MiB, no test tools"
