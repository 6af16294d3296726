#!/usr/bin/env bash
# Make sure a local PostgreSQL installation is available for tests and benchmarks
# (tests/support/pgserver.py starts throwaway servers from these binaries).
# Idempotent; intended for Debian 12, run as root.
set -euo pipefail

actions=()

if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null
    actions+=("installed postgresql")
fi

# The server refuses to run as root, so pgserver.py runs it as this user.
if ! id -u postgres > /dev/null 2>&1; then
    useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
    actions+=("created postgres user")
fi

initdb_path=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1)
if [ ${#actions[@]} -eq 0 ]; then
    echo "ensure-postgres: already present (${initdb_path%/initdb}), nothing to do"
else
    joined=$(IFS=','; echo "${actions[*]}")
    echo "ensure-postgres: ${joined//,/, } (${initdb_path%/initdb})"
fi
