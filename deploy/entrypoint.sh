#!/bin/sh
# Image entrypoint: materialise the parity config, then exec the command (`parity consume`,
# `kcl-daemon`, `parity reconcile`, ...). On ECS the TOML arrives in PARITY_CONFIG_TOML (from an SSM
# parameter through the task definition's `secrets`); it is written to $PARITY_CONFIG, which is
# parity.toml in the working directory, so every `parity` command (and the health check) finds it
# without --config. Without PARITY_CONFIG_TOML a config mounted at $PARITY_CONFIG is used as is.
# The PostgreSQL DSN never goes in this file: it comes in PARITY_POSTGRES_DSN (Secrets Manager).
set -eu
PARITY_CONFIG="${PARITY_CONFIG:-/var/lib/parity/parity.toml}"
if [ -n "${PARITY_CONFIG_TOML:-}" ]; then
    umask 077
    mkdir -p "$(dirname "$PARITY_CONFIG")"
    printf '%s\n' "$PARITY_CONFIG_TOML" > "$PARITY_CONFIG.tmp"
    mv "$PARITY_CONFIG.tmp" "$PARITY_CONFIG"
    unset PARITY_CONFIG_TOML
fi
exec "$@"
