#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# The real-boot tier (./tasks realboot): a Debian 12 guest with systemd as
# PID 1 and udev (tests/realboot/build.sh, cached by recipe), the role applied
# by ansible-playbook over ssh, real `systemctl reboot`s, and the checks of
# tests/realboot/test_realboot_tier.py (the journal's order, the boot
# prediction against /proc, DR/TUN through a real ipvsadm director, a
# hot-plugged NIC, two negative controls). Extra arguments go to pytest.
# Report: tests/output/realboot/report.json. Prints the tier's wall time.
#
# Where qemu cannot run at all it skips (exit 0, or 77 inside `./tasks test`),
# except in strict mode (CI=true or LVSRS_STRICT=1, which `./tasks test` sets),
# where a skip is a failure that names the cause.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(now)

QEMU=${LVSRS_VM_QEMU:-qemu-system-x86_64}
reason=
if ! command -v "$QEMU" >/dev/null 2>&1; then
    reason="$QEMU not found (apt-get install qemu-system-x86)"
elif ! "$QEMU" -version >/dev/null 2>&1; then
    reason="$QEMU does not run here: $("$QEMU" -version 2>&1 | head -n 2 | tr '\n' ' ')"
elif ! command -v debootstrap >/dev/null 2>&1 || ! command -v mkfs.ext4 >/dev/null 2>&1; then
    reason="debootstrap or mkfs.ext4 missing (apt-get install debootstrap e2fsprogs)"
fi
if [[ -n $reason ]]; then
    if [[ ${LVSRS_STRICT:-} == 1 || (${LVSRS_STRICT:-} != 0 && ${CI:-} =~ ^(true|1|yes)$) ]]; then
        echo "ERROR: realboot: the real-boot tier cannot run here: $reason (strict mode: CI=true or LVSRS_STRICT=1)" >&2
        exit 1
    fi
    echo "==> realboot: SKIPPED: $reason"
    if [[ -n ${LVSRS_GATE:-} ]]; then exit 77; fi
    exit 0
fi
[[ $EUID -eq 0 ]] || { echo "ERROR: realboot needs root (debootstrap, chroot)" >&2; exit 1; }

PY=${LVSRS_PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || PY=python3
"$PY" -c 'import pytest, ansible' 2>/dev/null || {
    echo "ERROR: $PY lacks pytest or ansible-core (run ./tasks setup, or set LVSRS_PYTHON)" >&2
    exit 1
}
export LVSRS_PYTHON=$PY

echo "==> realboot: guest image (tests/realboot/build.sh, cached by recipe)"
t=$(now)
"$HERE/build.sh"
echo "==> realboot: guest image ready in $(since "$t") s"

echo "==> realboot: pytest tests/realboot (4 boots of one guest, 3 real reboots)"
rc=0
# The netstack phase (issue 14, tests/realboot/netstack.py: a second guest, each network stack for real).
# LVSRS_REALBOOT_NETSTACK: gate (the default) runs NetworkManager and ifupdown, the two stacks whose own
# operations take the VIPs off lo (about 10 min under TCG); full (or 1) every stack and variant (about 25 min;
# LVSRS_NETSTACK_STACKS picks others, LVSRS_NETSTACK_EXTRA adds operations); off (or 0) none.
tests=(tests/realboot/test_realboot_tier.py)
case ${LVSRS_REALBOOT_NETSTACK:-gate} in
    gate) export LVSRS_NETSTACK_STACKS=${LVSRS_NETSTACK_STACKS:-networkmanager,ifupdown}
          tests+=(tests/realboot/test_netstack.py) ;;
    full|1) tests+=(tests/realboot/test_netstack.py) ;;
    off|0) ;;
    *) echo "ERROR: LVSRS_REALBOOT_NETSTACK=${LVSRS_REALBOOT_NETSTACK}: expected gate, full or off" >&2; exit 2 ;;
esac
(cd "$ROOT" && "$PY" -m pytest -p no:cacheprovider -s -v "${tests[@]}" "$@" </dev/null) || rc=$?
echo "==> realboot: report tests/output/realboot/report.json; tier wall time $(since "$T0") s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
exit "$rc"
