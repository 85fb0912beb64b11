#!/bin/sh
# Entrypoint of the Kinesis-mode consumer task: render the KCL properties from the parity config,
# then exec the KCL 3 MultiLangDaemon, which runs `parity kcl-processor` (the properties'
# executableName) once per leased shard. exec makes the daemon the container's main process so that
# SIGTERM from ECS reaches it and it shuts its processors down within
# shutdownGraceMillis (kept below the task's stopTimeout).
#
# Environment (set by the image and the task definition):
#   PARITY_CONFIG    the parity TOML (default /var/lib/parity/parity.toml, written by parity-entrypoint)
#   KCL_PROPERTIES   where to write the rendered properties (default /var/lib/parity/kcl.properties)
#   KCL_JARS         the MultiLangDaemon jars (default /opt/kcl/jars, fetched at image build)
#   PARITY_KCL_WORKER_ID  optional; otherwise the ECS task id from the task metadata endpoint, else the hostname
#   PARITY_KCL_APPLICATION_NAME  optional; overrides applicationName (the stack sets parity-<env>)
#   KCL_LOGBACK      the daemon's logging (default /opt/kcl/logback.xml: the processor's JSON lines pass through)
#   JAVA_OPTS        optional extra JVM flags (e.g. -Xmx512m)
set -eu

PARITY_CONFIG="${PARITY_CONFIG:-/var/lib/parity/parity.toml}"
KCL_PROPERTIES="${KCL_PROPERTIES:-/var/lib/parity/kcl.properties}"
KCL_JARS="${KCL_JARS:-/opt/kcl/jars}"
KCL_LOGBACK="${KCL_LOGBACK:-/opt/kcl/logback.xml}"

if [ -z "${PARITY_KCL_WORKER_ID:-}" ]; then
    # ECS Fargate: the task ARN from the v4 task metadata endpoint (no curl in the slim image).
    PARITY_KCL_WORKER_ID="$(python - <<'PY' 2>/dev/null || true
import json, os, urllib.request
uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
if uri:
    with urllib.request.urlopen(uri + "/task", timeout=2) as response:
        print(json.load(response)["TaskARN"].rsplit("/", 1)[-1])
PY
)"
    PARITY_KCL_WORKER_ID="${PARITY_KCL_WORKER_ID:-$(hostname)}"
fi
export PARITY_KCL_WORKER_ID

mkdir -p "$(dirname "$KCL_PROPERTIES")"
# `parity kcl-properties` prints the properties on stdout; it reads PARITY_KCL_WORKER_ID for workerId.
parity kcl-properties --config "$PARITY_CONFIG" > "$KCL_PROPERTIES.tmp"
if [ ! -s "$KCL_PROPERTIES.tmp" ]; then
    echo "kcl-daemon: error: 'parity kcl-properties' printed nothing; check $PARITY_CONFIG" >&2
    exit 2
fi
# Java properties: the last occurrence of a key wins. Pin the two values the deployment owns: the
# worker id of this task, and the applicationName (= lease table name) that the task role's IAM
# policy is scoped to (parity-<EnvironmentName>, set by the CloudFormation stack).
{
    printf '\n# set by kcl-daemon (deploy/kcl-daemon.sh)\n'
    printf 'workerId = %s\n' "$PARITY_KCL_WORKER_ID"
    if [ -n "${PARITY_KCL_APPLICATION_NAME:-}" ]; then
        printf 'applicationName = %s\n' "$PARITY_KCL_APPLICATION_NAME"
    fi
} >> "$KCL_PROPERTIES.tmp"
mv "$KCL_PROPERTIES.tmp" "$KCL_PROPERTIES"

# The properties file's directory is on the classpath too: MultiLangDaemon looks it up there.
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} -Dlogback.configurationFile="$KCL_LOGBACK" -cp "$KCL_JARS/*:$(dirname "$KCL_PROPERTIES")" \
    software.amazon.kinesis.multilang.MultiLangDaemon --properties-file "$KCL_PROPERTIES"
