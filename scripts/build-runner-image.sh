#!/usr/bin/env bash
# Build the runner image (runner/Dockerfile) once per content, and print its tag.
#
# The tag is a hash of everything that goes into the image: the Dockerfile, .dockerignore, the
# runner package's sources, the duckdb version (pinned to the server's own, so runner and server
# agree on SQL semantics) and the base image's id. When csvanalyst-runner:<hash> exists the build
# is skipped entirely, so repeated test runs cost one `docker image inspect`. The image is also
# tagged :latest, the docker executor's default.
#
# Environment: RUNNER_IMAGE (repository name, default csvanalyst-runner), DUCKDB_VERSION (default:
# the duckdb of the repository's .venv), BUILD_NETWORK (docker build --network; "host" when the
# default bridge cannot reach the package index), PIP_INDEX_URL / PIP_EXTRA_INDEX_URL /
# PIP_TRUSTED_HOST / PIP_CERT (passed to pip inside the build when set).
# stdout: the image tag, alone. Progress goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="${RUNNER_IMAGE:-csvanalyst-runner}"
CONTEXT="$ROOT/runner"

if [ -z "${DUCKDB_VERSION:-}" ]; then
    python="$ROOT/.venv/bin/python"
    [ -x "$python" ] || python="$(command -v python3)"
    DUCKDB_VERSION="$("$python" -c 'import duckdb; print(duckdb.__version__)')"
fi

"$ROOT/scripts/build-base-image.sh" >/dev/null
base_id="$(docker image inspect -f '{{.Id}}' python:3.11-slim)"

hash="$(
    cd "$CONTEXT"
    {
        printf 'duckdb %s\nbase %s\n' "$DUCKDB_VERSION" "$base_id"
        for f in Dockerfile .dockerignore $(LC_ALL=C ls -- *.py); do
            printf '== %s\n' "$f"
            cat -- "$f"
        done
    } | sha256sum | cut -c1-16
)"
tag="$REPO:$hash"

# Concurrent callers (parallel test sessions) build once; the others wait and find the tag.
exec 9>"${TMPDIR:-/tmp}/csvanalyst-runner-image.lock"
flock 9
if ! docker image inspect "$tag" >/dev/null 2>&1; then
    echo "==> building $tag (duckdb $DUCKDB_VERSION)" >&2
    args=(--build-arg "DUCKDB_VERSION=$DUCKDB_VERSION" --label "csvanalyst.runner.hash=$hash")
    for var in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_CERT; do
        if [ -n "${!var:-}" ]; then
            args+=(--build-arg "$var=${!var}")
        fi
    done
    if [ -n "${BUILD_NETWORK:-}" ]; then
        args+=(--network "$BUILD_NETWORK")
    fi
    docker build -q "${args[@]}" -t "$tag" -f "$CONTEXT/Dockerfile" "$CONTEXT" >&2
    # Older builds of the runner are dead weight; one still used by a container stays (no -f).
    docker image ls "$REPO" --filter label=csvanalyst.runner.hash --format '{{.Repository}}:{{.Tag}}' |
        grep -vx -e "$tag" -e "$REPO:latest" -e "$REPO:<none>" | xargs -r docker rmi >/dev/null 2>&1 || true
fi
# Cheap, and keeps :latest right after switching between sources that were built before.
docker tag "$tag" "$REPO:latest"
echo "$tag"
