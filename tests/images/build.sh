#!/usr/bin/env bash
# Build systemd-capable Debian container images for the lvs.realserver tests,
# from Debian's own packages (no container registry is reachable here).
#
#   tests/images/build.sh [bookworm|trixie|all] [--force]
#
# Produces localhost/lvs-realserver-debian12:<hash> (bookworm) and
# localhost/lvs-realserver-debian13:<hash> (trixie), each also tagged :latest.
# <hash> is a hash of the recipe (this script, packages.txt and the suite):
# when an image with that tag exists the build is skipped.
#
# Environment:
#   LVSRS_DEBIAN_MIRROR  Debian mirror to bootstrap from (default: the first
#                        non-security URI of the machine's apt sources)
#   LVSRS_BUILD_TMP      where the temporary rootfs goes (default: /var/tmp)
#   LVSRS_DEBOOTSTRAP_CACHE  .deb cache for debootstrap --cache-dir (default:
#                        /var/cache/lvs-realserver-images/debootstrap; "" = none)
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=env.sh
. "$HERE/env.sh"

PACKAGES_FILE="$HERE/packages.txt"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
LOCK=/run/lock/lvs-realserver-images.lock
# Downloaded .debs, kept between builds (and checkouts) so that a rebuild
# after a recipe change, or a retry after a network failure, downloads only
# what is missing. Safe to delete at any time; set to "" to disable.
DEB_CACHE=${LVSRS_DEBOOTSTRAP_CACHE-/var/cache/lvs-realserver-images/debootstrap}

usage() {
    echo "usage: $0 [bookworm|trixie|all] [--force]" >&2
    exit 2
}

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

image_repo() {
    case "$1" in
        bookworm) echo localhost/lvs-realserver-debian12 ;;
        trixie) echo localhost/lvs-realserver-debian13 ;;
        *) return 1 ;;
    esac
}

# The cache key: everything that decides what goes into the image.
recipe_hash() {
    local suite=$1
    {
        echo "suite=$suite"
        sha256sum <"$HERE/build.sh"
        sha256sum <"$PACKAGES_FILE"
    } | sha256sum | cut -c1-12
}

package_list() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$PACKAGES_FILE" | grep -v '^$' | paste -sd, -
}

# First non-security "deb" URI from the machine's apt sources (deb822 .sources
# files and one-line .list files).
detect_mirror() {
    local uri
    uri=$(
        {
            for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
            done
            for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -f "$f" ] || continue
                awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' "$f"
            done
        } | grep -v -e security -e '^cdrom:' | head -n1
    )
    [ -n "$uri" ] || { echo "cannot find a Debian mirror in /etc/apt; set LVSRS_DEBIAN_MIRROR" >&2; return 1; }
    echo "${uri%/}"
}

ROOTFS=
cleanup_rootfs() {
    [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ] || return 0
    # debootstrap mounts proc/sys (and maybe more) inside the target: never
    # rm -rf across a mount point.
    local m
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v r="$ROOTFS" 'index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
    if awk -v r="$ROOTFS" 'index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
        log "WARNING: mounts remain under $ROOTFS, not removing it"
    else
        rm -rf --one-file-system "$ROOTFS"
    fi
    ROOTFS=
}
trap cleanup_rootfs EXIT
trap 'exit 130' INT TERM

# Make the bootstrapped tree a good systemd-in-a-container image.
customize_rootfs() {
    local r=$1

    # systemd-sysv provides /sbin/init (merged /usr: /sbin -> usr/sbin).
    [ -x "$r/sbin/init" ] || { log "ERROR: $r/sbin/init missing"; return 1; }

    # An absent machine-id: systemd generates a fresh one at each container's
    # first boot, so containers from the same image do not share it.
    rm -f "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"

    # podman provides these at run time; do not ship the build machine's.
    : >"$r/etc/resolv.conf"
    echo localhost >"$r/etc/hostname"
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"

    # Units masked in the image (symlink to /dev/null), each for a reason
    # found by booting the image on the test machines:
    # - systemd-firstboot: the container has no machine-id on first boot, so
    #   the interactive First Boot Wizard starts and fails ("Failed at step
    #   STDIN") and the system ends up "degraded".
    # - systemd-binfmt, binfmt_misc (auto)mount: binfmt_misc registrations are
    #   global to the machine (not namespaced for a privileged container), and
    #   the unit runs "systemd-binfmt --unregister" on stop, which would
    #   remove every registration of the machine.
    # - systemd-pstore: would move the machine's /sys/fs/pstore records away.
    # - apt-daily*, fstrim, e2scrub*: periodic jobs that download package
    #   lists (network traffic, dpkg lock while a test runs apt), trim or scrub
    #   the machine's file systems.
    local unit
    for unit in \
        systemd-firstboot.service \
        systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
        systemd-pstore.service \
        apt-daily.timer apt-daily.service apt-daily-upgrade.timer apt-daily-upgrade.service \
        fstrim.timer fstrim.service e2scrub_all.timer e2scrub_all.service e2scrub_reap.service; do
        rm -f "$r/etc/systemd/system/"*.wants/"$unit"
        ln -sfn /dev/null "$r/etc/systemd/system/$unit"
    done

    # systemd-sysctl applies every sysctl.d file at boot, and /proc/sys is
    # writable in a privileged container: keys that are not per network (or
    # pid) namespace would be written on the machine itself. Mask (link to
    # /dev/null in /etc/sysctl.d) every distribution file that sets a non-net.*
    # key: bookworm 50-pid-max.conf and 99-protect-links.conf (fs.protected_*),
    # trixie 50-pid-max.conf and 10-coredump-debian.conf (kernel.core_pattern).
    # (kernel.pid_max is per pid namespace only since Linux 6.14.)
    mkdir -p "$r/etc/sysctl.d"
    local f
    for f in "$r"/usr/lib/sysctl.d/*.conf; do
        [ -e "$f" ] || continue
        if sed -e 's/#.*//' -e 's/;.*//' "$f" | grep -Eq '^[[:space:]]*-?[[:space:]]*[a-z]' &&
            sed -e 's/#.*//' -e 's/;.*//' "$f" | grep -E '^[[:space:]]*-?[[:space:]]*[a-z]' |
            grep -Evq '^[[:space:]]*-?[[:space:]]*net[./]'; then
            ln -sfn /dev/null "$r/etc/sysctl.d/$(basename "$f")"
        fi
    done

    # Lean image: no documentation, now or for packages installed later.
    cat >"$r/etc/dpkg/dpkg.cfg.d/lvsrs-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
EOF
    find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf "$r/usr/share/man/"* "$r/usr/share/info/"*

    # No caches or build logs.
    chroot "$r" apt-get clean
    rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/debconf/"*-old "$r/var/log/"*.log \
        "$r/var/log/apt/"* "$r/debootstrap" "$r/tmp/"* "$r/var/tmp/"*
}

build_one() {
    local suite=$1 repo hash tag t0 t
    repo=$(image_repo "$suite")
    hash=$(recipe_hash "$suite")
    tag="$repo:$hash"
    t0=$(now)

    if [ "$FORCE" = 0 ] && podman image exists "$tag"; then
        podman tag "$tag" "$repo:latest"
        log "$suite: $tag exists (recipe unchanged), skipped in $(elapsed "$t0") s"
        return 0
    fi

    local mirror replaced=
    replaced=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
    mirror=${LVSRS_DEBIAN_MIRROR:-$(detect_mirror)}
    # Fail fast (instead of debootstrap failing package by package for
    # minutes) when the mirror does not answer.
    if ! wget -q --tries=3 --timeout=15 -O /dev/null "$mirror/dists/$suite/InRelease"; then
        log "ERROR: $suite: cannot fetch $mirror/dists/$suite/InRelease (mirror unreachable?)"
        return 1
    fi
    local cache_opt=()
    if [ -n "$DEB_CACHE" ]; then
        mkdir -p "$DEB_CACHE/$suite"
        cache_opt=(--cache-dir="$DEB_CACHE/$suite")
    fi
    ROOTFS=$(mktemp -d "${LVSRS_BUILD_TMP:-/var/tmp}/lvsrs-rootfs-$suite.XXXXXX")
    chmod 755 "$ROOTFS"
    log "$suite: debootstrap from $mirror into $ROOTFS"
    t=$(now)
    if ! debootstrap --variant=minbase --components=main --keyring="$KEYRING" "${cache_opt[@]}" \
        --include="$(package_list)" "$suite" "$ROOTFS" "$mirror" >"$ROOTFS.log" 2>&1; then
        log "ERROR: debootstrap failed; full log kept in $ROOTFS.log, last lines:"
        tail -n 30 "$ROOTFS.log" >&2
        [ -f "$ROOTFS/debootstrap/debootstrap.log" ] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
        return 1
    fi
    rm -f "$ROOTFS.log"
    log "$suite: debootstrap done in $(elapsed "$t") s"

    t=$(now)
    customize_rootfs "$ROOTFS"
    log "$suite: customized in $(elapsed "$t") s"

    t=$(now)
    tar --numeric-owner --xattrs --xattrs-include='*' -C "$ROOTFS" -c . |
        podman import \
            --change 'CMD ["/sbin/init"]' \
            --change 'STOPSIGNAL SIGRTMIN+3' \
            --change "LABEL org.lvs-realserver.recipe=$hash" \
            --change "LABEL org.lvs-realserver.suite=$suite" \
            --message "lvs.realserver test image: debootstrap $suite, recipe $hash" \
            --quiet - "$tag" >/dev/null
    podman tag "$tag" "$repo:latest"
    log "$suite: imported as $tag in $(elapsed "$t") s"
    cleanup_rootfs

    # Drop images of older recipes, and the image a --force build replaced
    # (keep any still used by a container).
    local old
    for old in $(podman images --noheading --format '{{.Repository}}:{{.Tag}}' "$repo" | grep -v -e ":$hash\$" -e ':latest$' -e ':<none>$') $replaced; do
        if podman rmi "$old" >/dev/null 2>&1; then log "$suite: removed old image $old"; fi
    done

    log "$suite: built $tag ($(podman image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')) in $(elapsed "$t0") s"
}

TARGET=all
FORCE=0
for arg in "$@"; do
    case "$arg" in
        bookworm | trixie | all) TARGET=$arg ;;
        --force) FORCE=1 ;;
        -h | --help) usage ;;
        *) usage ;;
    esac
done
case "$TARGET" in
    all) SUITES="bookworm trixie" ;;
    *) SUITES=$TARGET ;;
esac

[ "$(id -u)" = 0 ] || { echo "build.sh: debootstrap needs root" >&2; exit 1; }
for cmd in debootstrap podman tar wget flock; do
    command -v "$cmd" >/dev/null || { echo "build.sh: $cmd not found (apt-get install podman runc debootstrap)" >&2; exit 1; }
done

# One build at a time on this machine (other checkouts share podman storage).
exec 9>"$LOCK"
flock 9

T_ALL=$(now)
for suite in $SUITES; do
    build_one "$suite"
done
log "all done in $(elapsed "$T_ALL") s"
podman images --filter 'reference=localhost/lvs-realserver-*' >&2
