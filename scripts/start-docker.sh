#!/usr/bin/env bash
# Make a Docker engine available for the docker executor and its tests.
#
# Idempotent and quick when Docker already answers: `docker info` is tried first. Otherwise, as
# root, docker.io is installed from the machine's own Debian packages when missing and dockerd is
# started in the background (log: /var/log/dockerd.log). No registry is reachable here, so nothing
# is ever pulled: the runner image is built locally (scripts/build-runner-image.sh).
# Exit status: 0 when `docker info` works at the end, 1 otherwise (with the reason on stderr).
set -euo pipefail

WAIT_S="${DOCKER_START_WAIT_S:-60}"
LOG=/var/log/dockerd.log

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: Docker is not reachable and starting it needs root." >&2
    echo "       Start the Docker engine yourself (e.g. sudo systemctl start docker) or use --executor local." >&2
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "==> installing docker.io from the Debian packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

# A daemon may be starting already (another test session): only start one when none runs.
if ! pgrep -x dockerd >/dev/null 2>&1; then
    echo "==> starting dockerd (log: $LOG)" >&2
    # setsid: dockerd must outlive this script and the shell or test session that called it.
    setsid dockerd >>"$LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$WAIT_S"); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 1
done
echo "error: dockerd did not answer within ${WAIT_S}s; see $LOG" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
