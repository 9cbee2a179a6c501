#!/usr/bin/env bash
# Provide the base image runner/Dockerfile starts FROM (python:3.11-slim) without a registry.
#
# No container registry is reachable on this project's machines, so the official image cannot be
# pulled. When `docker image inspect python:3.11-slim` fails, this builds an equivalent locally:
# a minimal Debian bookworm root filesystem (debootstrap --variant=minbase; bookworm's python3 is
# 3.11) from the machine's own configured Debian mirror, with `python` and `pip` on PATH as in the
# official image, the machine's CA bundle (so pip reaches the package index through whatever TLS
# setup the host has), then `docker import`ed under the official name so the same Dockerfile
# builds unchanged. Built once: later calls return at the first check.
set -euo pipefail

BASE_TAG="${BASE_TAG:-python:3.11-slim}"
SUITE=bookworm

if docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: $BASE_TAG is missing and building it with debootstrap needs root." >&2
    exit 1
fi
# Two test sessions starting at once build it once: the second waits, then finds it.
exec 9>/var/lock/csvanalyst-base-image.lock
flock 9
if docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    exit 0
fi

# The machine's configured mirror, never a hard-coded host: deb822 sources first, then the
# one-line format.
mirror=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)"
fi
if [ -z "$mirror" ]; then
    echo "error: no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
    exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "==> installing debootstrap" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

rootfs="$(mktemp -d /var/tmp/csvanalyst-base.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "==> debootstrap $SUITE from $mirror (about a minute)" >&2
# Debian disables ensurepip for its system Python, so pip comes from Debian's python3-pip.
debootstrap --variant=minbase --include=python3,python3-pip,ca-certificates \
    "$SUITE" "$rootfs" "$mirror" >/dev/null

# The host's CA bundle: it is what makes the package index reachable from this machine.
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"

# As in the official image: pip may install into the image's Python (there is no system package
# manager's Python to protect in a container), `python`/`pip` live in /usr/local/bin.
rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"

# Trim what a runtime image never needs.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/root/.cache

echo "==> docker import $BASE_TAG" >&2
tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' \
    - "$BASE_TAG" >/dev/null
echo "$BASE_TAG"
