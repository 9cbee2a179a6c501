#!/usr/bin/env bash
# Everything the whole test suite needs beyond .venv/: Debian packages, the Docker engine, the
# runner image (built with no registry), PostgreSQL, and the JupyterLab extension build.
# Idempotent and quick when everything is already there. Exports nothing: the tests find the
# services again through the same scripts (each prints what it started).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-packages.sh bubblewrap docker.io postgresql chromium debootstrap

echo "==> PostgreSQL" >&2
bash scripts/start-postgres.sh >/dev/null

if [ -x scripts/start-docker.sh ]; then
    echo "==> Docker engine" >&2
    bash scripts/start-docker.sh
fi
if [ -x scripts/build-runner-image.sh ]; then
    echo "==> runner image" >&2
    bash scripts/build-runner-image.sh >/dev/null
fi
if [ -x scripts/build-labextension.sh ]; then
    echo "==> JupyterLab extension" >&2
    bash scripts/build-labextension.sh
fi
