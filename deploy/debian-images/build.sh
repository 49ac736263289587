#!/bin/sh
# Builds the images that docker-compose.yml and the Dockerfiles start from (each directory's
# `tag`: debian:bookworm-slim, python:3.11-slim-bookworm, node:20-bookworm-slim, postgres:15,
# redis:7, haproxy:2.6) from Debian's archive alone, under the same names, for a machine that
# reaches a Debian mirror but not Docker Hub (docs/deployment.md, "Without Docker Hub"). Needs
# root, debootstrap and a running Docker daemon; `docker compose build` and `up` then use them.
#
#   DEBIAN_MIRROR    the mirror to bootstrap from (default http://deb.debian.org/debian)
#   EXTRA_CA_CERTS   a directory of *.crt certificates the images should trust as well (a proxy
#                    that inspects TLS on the way to the mirror, PyPI or the npm registry)
#   WORK_DIR         where the root file system is made (default a new temporary directory)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK_DIR:-$(mktemp -d)}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror"
rm -f "$work/rootfs/etc/apt/sources.list"
cat >"$work/rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
SOURCES
tar -C "$work/rootfs" -c . | docker import - spoc-local/bookworm-rootfs

# The base image's build context: its Dockerfile and the extra certificates, if any.
mkdir -p "$work/base/certs"
cp "$here/base/Dockerfile" "$work/base/"
if [ -n "${EXTRA_CA_CERTS:-}" ]; then
  cp "$EXTRA_CA_CERTS"/*.crt "$work/base/certs/"
fi
# Each directory builds the image named in its `tag` file; the base first, as the others start
# from it.
built=$(cat "$here/base/tag")
docker build -t "$built" "$work/base"
for dir in "$here"/*/; do
  [ "$(basename "$dir")" = base ] && continue
  tag=$(cat "$dir/tag")
  docker build -t "$tag" "$dir"
  built="$built $tag"
done
echo "Built from $mirror: $built"
