#!/usr/bin/env bash
# Derive the metrics test image from localhost/lvs-realserver-debian12 (built
# by tests/images/build.sh): Debian's prometheus-node-exporter (textfile
# collector on /var/lib/prometheus/node-exporter) and prometheus (for
# promtool; its own service is masked), installed with apt-get in a container
# on podman's default network, then committed.
#
#   tests/metrics/build_image.sh      prints the image name on stdout
#
# Cached by recipe: the tag is a hash of this script and the base image's id,
# so a rebuild happens only when one of them changes.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../images/env.sh
. "$HERE/../images/env.sh"

BASE=${LVSRS_IMAGE_DEBIAN12:-localhost/lvs-realserver-debian12:latest}
REPO=localhost/lvs-realserver-metrics-debian12
PACKAGES="prometheus-node-exporter prometheus curl"

base_id=$(podman image inspect --format '{{.Id}}' "$BASE") || {
    echo "build_image.sh: $BASE is missing; run tests/images/build.sh first" >&2
    exit 3
}
hash=$( { sha256sum <"${BASH_SOURCE[0]}"; echo "$base_id"; } | sha256sum | cut -c1-12)
image="$REPO:$hash"
if podman image exists "$image"; then
    echo "$image"
    exit 0
fi

name="lvsrs-metrics-build-$$"
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
echo "[metrics image] building $image from $BASE" >&2
podman run --name "$name" --network podman "$BASE" /bin/sh -euc "
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null
    systemctl mask prometheus.service >/dev/null 2>&1 || ln -sf /dev/null /etc/systemd/system/prometheus.service
    systemctl enable prometheus-node-exporter.service >/dev/null 2>&1 || true
    apt-get clean
    rm -rf /var/lib/apt/lists/*
    test -d /var/lib/prometheus/node-exporter
    command -v promtool >/dev/null
" >&2
podman commit --change 'CMD ["/sbin/init"]' "$name" "$image" >/dev/null
podman tag "$image" "$REPO:latest"
echo "$image"
