#!/usr/bin/env bash
# Smoke test of the images built by build.sh: boot each one with systemd as
# PID 1 and check that namespaced sysctls can be set inside without touching
# the machine.
#
#   tests/images/smoke.sh [bookworm|trixie|all]
#
# Containers run with --network none (no traffic anywhere) and are named
# lvsrs-smoke-<debianNN>-<pid>; they are removed on exit, even on failure.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=env.sh
. "$HERE/env.sh"

BOOT_TIMEOUT=${LVSRS_SMOKE_BOOT_TIMEOUT:-60}
GUARD_IN_CT=/usr/local/sbin/lvsrs-sysctl-guard

log() { printf '[smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

CONTAINERS=()
WORK=$(mktemp -d /tmp/lvsrs-smoke.XXXXXX)
# shellcheck disable=SC2317  # called from the trap
cleanup() {
    local n
    rm -rf "$WORK"
    for n in "${CONTAINERS[@]}"; do
        podman rm --force --ignore --time 5 "$n" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# machine_sysctls (the machine's own sysctls) and sysctl_changes BEFORE AFTER.
# shellcheck source=/dev/null
LVSRS_SYSCTLS_LIB=1 . "$HERE/../machine-sysctls.sh"

in_ct() { podman exec "$NAME" "$@"; }

FAIL=0
fail() {
    log "FAIL ($DISTRO): $*"
    FAIL=1
}

smoke_one() {
    local suite=$1 image t0 t state i
    case "$suite" in
        bookworm) DISTRO=debian12 ;;
        trixie) DISTRO=debian13 ;;
    esac
    image="localhost/lvs-realserver-$DISTRO:latest"
    NAME="lvsrs-smoke-$DISTRO-$$"
    t0=$(now)

    if ! podman image exists "$image"; then
        fail "image $image missing: run tests/images/build.sh $suite"
        return
    fi

    local snap_before snap_after
    snap_before=$WORK/$DISTRO.before snap_after=$WORK/$DISTRO.after
    machine_sysctls >"$snap_before"
    local key=net.ipv4.conf.all.arp_ignore key2=net.ipv4.conf.all.arp_announce
    local host_before host2_before want want2
    host_before=$(sysctl -n "$key")
    host2_before=$(sysctl -n "$key2")
    # Values that differ from the machine's, so a leak would show.
    want=1; [ "$host_before" != 1 ] || want=2
    want2=2; [ "$host2_before" != 2 ] || want2=1

    CONTAINERS+=("$NAME")
    t=$(now)
    # PID 1 is the sysctl guard, which makes every /proc/sys directory but
    # net/ read-only and then runs systemd (sysctl-guard.sh: systemd would
    # otherwise raise the machine's fs.nr_open at boot).
    podman run -d --privileged --systemd=always --network none \
        --name "$NAME" --hostname "$NAME" \
        --volume "$HERE/sysctl-guard.sh:$GUARD_IN_CT:ro" "$image" "$GUARD_IN_CT" /sbin/init >/dev/null
    log "$DISTRO: started $NAME from $image ($(elapsed "$t") s)"

    # Wait for the boot to finish (bounded).
    t=$(now)
    state=
    for ((i = 0; i < BOOT_TIMEOUT * 2; i++)); do
        if [ "$(podman inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then
            fail "container exited during boot; its log:"
            podman logs "$NAME" 2>&1 | tail -n 30 >&2
            return
        fi
        state=$(in_ct systemctl is-system-running 2>/dev/null || true)
        case "$state" in
            running | degraded | maintenance | stopping) break ;;
        esac
        sleep 0.5
    done
    case "$state" in
        running) log "$DISTRO: systemd is-system-running: running after $(elapsed "$t") s" ;;
        degraded)
            fail "systemd is degraded after $(elapsed "$t") s; failed units:"
            in_ct systemctl --failed --no-pager >&2 || true
            in_ct journalctl -b --no-pager -p warning 2>&1 | grep -v ' kernel: ' | tail -n 30 >&2 || true
            ;;
        *)
            fail "systemd is '$state' after ${BOOT_TIMEOUT} s; jobs:"
            in_ct systemctl list-jobs --no-pager >&2 || true
            ;;
    esac

    # Tools the tests rely on.
    local missing
    # shellcheck disable=SC2016  # expanded by the shell inside the container
    missing=$(in_ct sh -c 'for c in python3 ip sysctl arping ping tcpdump nft curl modprobe; do command -v $c >/dev/null || echo $c; done')
    [ -z "$missing" ] || fail "missing in image: $missing"
    [[ "$(in_ct cat /etc/machine-id 2>/dev/null)" =~ ^[0-9a-f]{32}$ ]] || fail "no machine-id generated at boot"

    # The guard holds after the boot: the machine's keys are read-only inside
    # (a write of a key's own value, which would change nothing anyway).
    local k
    for k in fs.nr_open fs.file-max kernel.core_pattern vm.max_map_count; do
        if in_ct sh -c "sysctl -q -w \"$k=\$(sysctl -n $k)\"" 2>/dev/null; then
            fail "the machine's $k is writable inside (the sysctl guard is not in place)"
        fi
    done

    # sysctl -w of a per-netns key inside the container.
    local got
    if in_ct sysctl -q -w "$key=$want"; then
        got=$(in_ct sysctl -n "$key")
        [ "$got" = "$want" ] || fail "$key reads $got inside after writing $want"
    else
        fail "sysctl -w $key=$want failed inside"
    fi
    # systemd-sysctl applying a sysctl.d file (what a role would drop in).
    in_ct sh -c "echo '$key2 = $want2' > /etc/sysctl.d/90-lvsrs-smoke.conf"
    if in_ct systemctl restart systemd-sysctl.service; then
        got=$(in_ct sysctl -n "$key2")
        [ "$got" = "$want2" ] || fail "$key2 reads $got inside after systemd-sysctl (want $want2)"
    else
        fail "systemctl restart systemd-sysctl failed inside"
        in_ct journalctl -b --no-pager -u systemd-sysctl 2>&1 | tail -n 10 >&2 || true
    fi
    [ "$(sysctl -n "$key")" = "$host_before" ] || fail "machine's $key changed: $host_before -> $(sysctl -n "$key")"
    [ "$(sysctl -n "$key2")" = "$host2_before" ] || fail "machine's $key2 changed: $host2_before -> $(sysctl -n "$key2")"
    log "$DISTRO: inside $key=$want, $key2=$want2 (via systemd-sysctl); machine still $host_before, $host2_before"

    # Clean shutdown (systemd handles SIGRTMIN+3), then remove by name.
    t=$(now)
    podman stop --time 30 "$NAME" >/dev/null || fail "podman stop failed"
    log "$DISTRO: stopped in $(elapsed "$t") s"
    podman rm --ignore "$NAME" >/dev/null

    # Nothing on the machine may have changed during boot/run/shutdown.
    machine_sysctls >"$snap_after"
    local changes
    changes=$(sysctl_changes "$snap_before" "$snap_after")
    if [ -n "$changes" ]; then
        fail "machine sysctls changed while the container ran:"
        printf '%s\n' "$changes" >&2
    fi
    log "$DISTRO: done in $(elapsed "$t0") s"
}

TARGET=${1:-all}
case "$TARGET" in
    all) SUITES="bookworm trixie" ;;
    bookworm | trixie) SUITES=$TARGET ;;
    *) echo "usage: $0 [bookworm|trixie|all]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "smoke.sh: needs root (privileged containers)" >&2; exit 1; }

T_ALL=$(now)
for suite in $SUITES; do
    smoke_one "$suite"
done
if [ "$FAIL" = 0 ]; then
    log "PASS ($SUITES) in $(elapsed "$T_ALL") s"
else
    log "FAILED ($SUITES) after $(elapsed "$T_ALL") s"
fi
exit "$FAIL"
