#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# One boot of the VM tier: the role's artefacts for two real servers, packed
# into the guest, booted under qemu with Debian's kernel.
#
#   tests/vm/boot.sh SCENARIO WORKDIR
#   tests/vm/boot.sh prepare WORKDIR     (only the role runs, all at once)
#
# SCENARIO:
#   positive  rs1: role, mode dr, VIP 192.0.2.100; rs2: role, mode tun, VIP 192.0.2.200
#   neg-tun   rs2's role run without the TUN rp_filter keys (realserver_tun_conf: {}),
#             so systemd's default *.rp_filter = 2 stays in force for tunl0
#   neg-dr    rs1's sysctl.d drop-in removed after the role run (the boot guard
#             must refuse the VIP); then, as a control, the VIP is forced past
#             the guard to show that rs1 would indeed answer ARP for it
# WORKDIR keeps the role runs (WORKDIR/runs/...), shared by the scenarios of a
# tier run, and writes WORKDIR/SCENARIO.console (the guest's serial console).
#
# Exit status: 0 the guest printed "RESULT: ALL PASS"; 1 it printed FAILs;
# 2 no RESULT line (the guest crashed or timed out); 3 the setup failed;
# 77 qemu cannot run here at all (the message says why).
# Environment: LVSRS_VM_ACCEL=auto|kvm|tcg, LVSRS_VM_CPU (TCG CPU model, default max),
# LVSRS_VM_TIMEOUT (s, default 120),
# LVSRS_VM_SMP (default 2), LVSRS_VM_MEM (MiB, default 384), LVSRS_VM_APPEND
# (more kernel command line, e.g. "loglevel=7" to see the kernel's boot).
set -euo pipefail
export LC_ALL=C

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
SCENARIO=${1:-}
WORK=${2:-}
if [[ -z $SCENARIO || -z $WORK ]]; then
    echo "usage: $0 positive|neg-tun|neg-dr|prepare WORKDIR" >&2
    exit 3
fi
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[vm %s] %s\n' "$SCENARIO" "$*" >&2; }

QEMU=${LVSRS_VM_QEMU:-qemu-system-x86_64}
if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "SKIP: $QEMU not found: the VM tier needs qemu (apt-get install qemu-system-x86)" >&2
    exit 77
fi
if ! "$QEMU" -version >/dev/null 2>&1; then
    echo "SKIP: $QEMU does not run here: $("$QEMU" -version 2>&1 | head -n 3)" >&2
    exit 77
fi

BASE=$("$HERE/build.sh" --print-dir)
if [[ ! -f $BASE/ok ]]; then
    "$HERE/build.sh" || { log "build failed"; exit 3; }
fi
mkdir -p "$WORK/runs"

# ------------------------------------------------------------ the role runs
# role_run NAME: one role run (collect.sh), reused by every scenario of this WORKDIR
DR_VIP=192.0.2.100 TUN_VIP=192.0.2.200
RS1_RIP=192.0.2.21 RS2_RIP=192.0.2.22
# this machine's kernel has no ipip: loading it now is left to the next boot
# (modules-load.d and the unit), and the role's own verdict (tunl0 is missing
# here) to the guest, which runs the same fact module
TUN_EXTRA='"realserver_tun_load_now": false, "realserver_compliance_check": false'
role_run() {
    local name=$1 host mode vip rip extra dir t
    case $name in
        dr) host=rs1 mode=dr vip=$DR_VIP rip=$RS1_RIP extra='{}' ;;
        tun) host=rs2 mode=tun vip=$TUN_VIP rip=$RS2_RIP extra="{$TUN_EXTRA}" ;;
        tun-no-rp-keys) host=rs2 mode=tun vip=$TUN_VIP rip=$RS2_RIP extra="{$TUN_EXTRA, \"realserver_tun_conf\": {}}" ;;
        *) log "unknown role run $name"; return 3 ;;
    esac
    dir=$WORK/runs/$name
    if [[ ! -f $dir/$host/AnsiballZ_arp_probe.py ]]; then
        t=$(now)
        "$HERE/collect.sh" "$dir" "$host" "$mode" "$vip" "$rip" "$extra" >&2 || { log "role run $name failed"; return 3; }
        log "role run $name ($host, mode $mode, extra vars $extra): $(since "$t") s"
    fi
    echo "$dir/$host"
}
if [[ $SCENARIO == prepare ]]; then
    # every role run the scenarios use, at the same time
    pids=()
    for name in dr tun tun-no-rp-keys; do
        role_run "$name" >/dev/null &
        pids+=($!)
    done

    rc=0
    for pid in "${pids[@]}"; do wait "$pid" || rc=3; done
    exit "$rc"
fi
case $SCENARIO in
    positive | neg-dr) rs1=$(role_run dr) && rs2=$(role_run tun) || exit 3 ;;
    neg-tun) rs1=$(role_run dr) && rs2=$(role_run tun-no-rp-keys) || exit 3 ;;
    *) echo "unknown scenario $SCENARIO" >&2; exit 3 ;;
esac

# ------------------------------------------------------------ the guest's files
S=$WORK/stage-$SCENARIO
rm -rf -- "$S"
# /etc/X must exist for `ip netns exec` to bind /etc/netns/HOST/X over it
mkdir -p "$S/lvs/empty" "$S/usr/lib/sysctl.d" "$S/usr/libexec/lvs-realserver" \
    "$S"/etc/{sysctl.d,modules-load.d,lvs-realserver,systemd/system,netns}
install -m 0755 "$HERE/guest/init.sh" "$S/init"
install -m 0755 "$HERE/guest/rs-enter.sh" "$HERE/guest/unit-start.sh" "$S/lvs/"
install -m 0644 "$HERE/guest/verdict.py" "$HERE/guest/probe_check.py" "$S/lvs/"
install -m 0644 "$HERE/guest/50-default.conf" "$S/usr/lib/sysctl.d/50-default.conf"
# the guest's own python, run here (same interpreter, same byte code)
guest_python() {
    PYTHONHOME=$BASE/root/usr PYTHONDONTWRITEBYTECODE=1 "$BASE/root/usr/lib64/ld-linux-x86-64.so.2" \
        --library-path "$BASE/root/usr/lib/x86_64-linux-gnu" "$BASE/root/usr/bin/python3.11" "$@"
}
for pair in "rs1=$rs1" "rs2=$rs2"; do
    host=${pair%%=*}
    mkdir -p "$S/lvs/$host"
    cp -a "${pair#*=}/root/etc" "$S/etc/netns/$host"
    if [[ -d ${pair#*=}/root/usr/libexec/lvs-realserver ]]; then
        cp -a "${pair#*=}/root/usr/libexec/lvs-realserver" "$S/lvs/$host/libexec"
    fi
    cp "${pair#*=}/AnsiballZ_arp_facts.py" "$S/lvs/$host/"
    # AnsiballZ's "explode" unpacks the payload next to it (debug_dir/, with the
    # module arguments in debug_dir/args); the guest runs it with "execute".
    # Byte-compiled here: under TCG that saves ~2 s per run, nothing else changes.
    (cd "$S/lvs/$host" && guest_python AnsiballZ_arp_facts.py explode >/dev/null)
    guest_python -m compileall -q --invalidation-mode unchecked-hash -s "$S" -p / "$S/lvs/$host/debug_dir" >/dev/null
done
# the wire probe, run by the client against the real IPVS director: both VIPs, a 2 s window (TCG is slow)
mkdir -p "$S/lvs/probe"
cp "$rs1/AnsiballZ_arp_probe.py" "$S/lvs/probe/"
(cd "$S/lvs/probe" && guest_python AnsiballZ_arp_probe.py explode >/dev/null)
guest_python -c 'import json, sys
path = sys.argv[1]
with open(path) as handle:
    args = json.load(handle)
args["ANSIBLE_MODULE_ARGS"].update(interface="eth0", vips=sys.argv[2:], timeout=2.0)
with open(path, "w") as handle:
    json.dump(args, handle)' "$S/lvs/probe/debug_dir/args" "$DR_VIP" "$TUN_VIP"
guest_python -m compileall -q --invalidation-mode unchecked-hash -s "$S" -p / "$S/lvs/probe/debug_dir" >/dev/null
control=
case $SCENARIO in
    positive) text="rs1 (dr) and rs2 (tun) exactly as the role left them" ;;
    neg-tun) text="rs2's role run without the TUN rp_filter keys: systemd's *.rp_filter = 2 stays in force (expected: TUN dropped)" ;;
    neg-dr)
        rm -f "$S/etc/netns/rs1/sysctl.d/99-zz-lvs-realserver.conf"
        control="rs1=$DR_VIP"
        text="rs1's sysctl.d drop-in removed (expected: the boot guard refuses the VIP, DR fails)" ;;
esac
cat >"$S/lvs/scenario.env" <<EOF
SCENARIO=$SCENARIO
SCENARIO_TEXT="$text"
HOSTS="rs1:dr:$DR_VIP:$RS1_RIP:02:00:00:00:00:21 rs2:tun:$TUN_VIP:$RS2_RIP:02:00:00:00:00:22"
CONTROL_FORCE_VIP=$control
EOF
(cd "$S" && find . -mindepth 1 | sort | cpio -o -H newc --quiet -R 0:0) >"$WORK/$SCENARIO.cpio"
cat "$BASE/base.cpio" "$WORK/$SCENARIO.cpio" >"$WORK/$SCENARIO.initrd"
rm -f "$WORK/$SCENARIO.cpio"

# ------------------------------------------------------------ boot
ACCEL=${LVSRS_VM_ACCEL:-auto}
if [[ $ACCEL == auto ]]; then
    # /dev/kvm alone proves nothing: a paravirtual one (kvm_pvm) hangs a stock kernel
    if [[ -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; else ACCEL=tcg; fi
fi
# shellcheck disable=SC2054  # commas are qemu's
case $ACCEL in
    kvm) ACC=(-accel kvm -cpu host) ;;
    tcg) ACC=(-accel tcg,thread=multi -cpu "${LVSRS_VM_CPU:-max}") ;;
    *) echo "LVSRS_VM_ACCEL=$ACCEL: use auto, kvm or tcg" >&2; exit 3 ;;
esac
LOG=$WORK/$SCENARIO.console
t=$(now)
rc=0
timeout "${LVSRS_VM_TIMEOUT:-120}" "$QEMU" "${ACC[@]}" -machine q35 -m "${LVSRS_VM_MEM:-384}" -smp "${LVSRS_VM_SMP:-2}" \
    -kernel "$BASE/vmlinux" -initrd "$WORK/$SCENARIO.initrd" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off ${LVSRS_VM_APPEND:-}" \
    -nographic -nic none -no-reboot </dev/null 2>&1 | tr -d '\033\r' >"$LOG" || rc=$?
rm -f "$WORK/$SCENARIO.initrd"
wall=$(since "$t")
cat "$LOG"
if ! grep -q '^RESULT: ' "$LOG"; then
    log "no RESULT line after $wall s (qemu/timeout rc=$rc, accel $ACCEL)"
    exit 2
fi
log "boot: $wall s wall (accel $ACCEL); $(grep '^RESULT: ' "$LOG")"
grep -q '^RESULT: ALL PASS' "$LOG"
