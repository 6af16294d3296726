#!/bin/sh
# colloquy's container entrypoint (README "Running in a container"). It fills in what a container
# needs and the server does not assume (listen on every interface, keep data on the volume),
# checks the data directory once with a message that says what to do, and then becomes the
# server process (exec), so that `docker stop` reaches it directly.
#
#   entrypoint.sh                    serve (the image's default command)
#   entrypoint.sh --workers 4        serve with these flags
#   entrypoint.sh user create alice  any other colloquy command
#   entrypoint.sh healthcheck        exit 0 when GET /api/v1/ready answers 200 (HEALTHCHECK)
#
# Every other setting is read by colloquy itself from its CQ_* variables (README "Settings").
# Secrets are never printed here.
set -eu

: "${CQ_DATA_DIR:=/data}"
: "${CQ_HOST:=0.0.0.0}"
: "${CQ_PORT:=3000}"
export CQ_DATA_DIR CQ_HOST CQ_PORT

fail() {
    echo "colloquy-entrypoint: $*" >&2
    exit 2
}

readiness() {
    # The image has no curl; Python is always there. Loopback: the check runs inside the
    # container, whatever address the server is published on.
    exec python -c '
import os, sys, urllib.request
url = "http://127.0.0.1:%s/api/v1/ready" % os.environ["CQ_PORT"]
try:
    with urllib.request.urlopen(url, timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception as exc:
    print("not ready: %s" % exc, file=sys.stderr)
    sys.exit(1)
'
}

case "${1:-serve}" in
    healthcheck) readiness ;;
esac

# The SQLite database and the generated secrets (secrets.json) live here, also when the database
# is PostgreSQL (then only the secrets do): it must survive the container.
if ! mkdir -p "$CQ_DATA_DIR" 2>/dev/null || ! [ -w "$CQ_DATA_DIR" ]; then
    fail "the data directory $CQ_DATA_DIR (CQ_DATA_DIR) cannot be written by uid $(id -u);" \
        "mount a volume there that this user owns (e.g. chown $(id -u) on the host directory)"
fi

case "${1:-serve}" in
    serve) [ "$#" -gt 0 ] && shift; exec colloquy serve "$@" ;;
    -*) exec colloquy serve "$@" ;;
    *) exec colloquy "$@" ;;
esac
