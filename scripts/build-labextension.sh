#!/usr/bin/env bash
# Builds the JupyterLab side panel (labextension/, TypeScript) into csvanalyst_kernel/labextension/,
# the prebuilt extension that wheels ship as share/jupyter/labextensions/csvanalyst, and installs
# it into the dev venv so `.venv/bin/jupyter lab` shows the panel.
#
#   scripts/build-labextension.sh               build if the sources changed, then install into .venv
#   scripts/build-labextension.sh --no-develop  only build (the wheel build hook calls this)
#   scripts/build-labextension.sh --force       build even if the sources did not change
#
# Idempotent and quick when nothing changed: the build is skipped when the SHA-256 of the
# sources matches the stamp written by the last build. Needs node (>= 18) and the npm registry;
# jlpm comes with jupyterlab. labextension/package.json pins a few @jupyterlab packages through
# "resolutions" because some patch releases are missing from the registry these machines reach.
set -euo pipefail
cd "$(dirname "$0")/.."

develop=1 force=0
for arg in "$@"; do
    case "$arg" in
        --no-develop) develop=0 ;;
        --force) force=1 ;;
        *) echo "usage: $0 [--no-develop] [--force]" >&2; exit 2 ;;
    esac
done

OUT=csvanalyst_kernel/labextension
# Outside the output directory: everything in there ships in the wheel.
STAMP=labextension/.build-stamp
# The dev venv's tools first; a PEP 517 build env puts its own on PATH (jupyterlab is a build dep).
[ -x .venv/bin/jlpm ] && export PATH="$PWD/.venv/bin:$PATH"

sources_hash() {
    (cd labextension && find package.json yarn.lock .yarnrc.yml tsconfig.json install.json src style \
        -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

hash=$(sources_hash)
if [ "$force" = 0 ] && [ -f "$OUT/package.json" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$hash" ]; then
    echo "labextension: up to date ($OUT)" >&2
else
    command -v node >/dev/null || { echo "labextension: node is needed to build it (apt-get install nodejs)" >&2; exit 1; }
    echo "labextension: building $OUT" >&2
    # Under CI=true yarn refuses to change yarn.lock: the committed lock file is what gets built.
    (cd labextension && jlpm install && jlpm build:prod)
    echo "$hash" >"$STAMP"
fi

if [ "$develop" = 1 ]; then
    # Copy rather than symlink: the editable install also lists these files, and a reinstall that
    # removed them through a symlink would delete the build output itself.
    prefix=$(.venv/bin/python -c 'import sys; print(sys.prefix)')
    dest=$prefix/share/jupyter/labextensions/csvanalyst
    if ! cmp -s "$OUT/package.json" "$dest/package.json" || [ ! -f "$dest/install.json" ]; then
        rm -rf "$dest"
        mkdir -p "$(dirname "$dest")"
        cp -r "$OUT" "$dest"
        cp labextension/install.json "$dest/install.json"
        echo "labextension: installed into $dest" >&2
    fi
    conf=$prefix/etc/jupyter/jupyter_server_config.d/csvanalyst_kernel.json
    if ! cmp -s jupyter-config/jupyter_server_config.d/csvanalyst_kernel.json "$conf"; then
        mkdir -p "$(dirname "$conf")"
        cp jupyter-config/jupyter_server_config.d/csvanalyst_kernel.json "$conf"
        echo "labextension: server extension enabled in $conf" >&2
    fi
fi
