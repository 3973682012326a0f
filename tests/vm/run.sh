#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# The VM tier (./tasks vm): build (cached) the guest from Debian's packages,
# run the role for a DR and a TUN real server on this machine, boot the
# result in qemu with Debian's kernel against a real ipvsadm director, and
# assert the positive boot and the two negative controls
# (tests/vm/test_vm_tier.py). Prints the guest's PASS/FAIL lines and the
# tier's wall time. Extra arguments go to pytest.
#
# Skips (exit 0, or 77 inside `./tasks test`, i.e. with LVSRS_GATE set) only
# when qemu cannot run here at all; fails instead in strict mode (CI=true or
# LVSRS_STRICT=1, which `./tasks test` sets). Needs root.
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
fi
if [[ -n $reason ]]; then
    if [[ ${LVSRS_STRICT:-} == 1 || (${LVSRS_STRICT:-} != 0 && ${CI:-} =~ ^(true|1|yes)$) ]]; then
        echo "ERROR: vm: the VM tier cannot run here: $reason (strict mode: CI=true or LVSRS_STRICT=1)" >&2
        exit 1
    fi
    echo "==> vm: SKIPPED: $reason"
    if [[ -n ${LVSRS_GATE:-} ]]; then exit 77; fi
    exit 0
fi
[[ $EUID -eq 0 ]] || { echo "ERROR: the VM tier needs root (unshare, overlay mounts)" >&2; exit 1; }

PY=${LVSRS_PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || PY=python3
"$PY" -c 'import pytest, ansible' 2>/dev/null || {
    echo "ERROR: $PY lacks pytest or ansible-core (run ./tasks setup, or set LVSRS_PYTHON)" >&2
    exit 1
}
export LVSRS_PYTHON=$PY

echo "==> vm: guest image (tests/vm/build.sh, cached by recipe)"
t=$(now)
"$HERE/build.sh"
echo "==> vm: guest image ready in $(since "$t") s"

echo "==> vm: pytest tests/vm (role runs, then 3 boots: positive, neg-tun, neg-dr)"
rc=0
(cd "$ROOT" && "$PY" -m pytest -p no:cacheprovider -s -v tests/vm/test_vm_tier.py "$@" </dev/null) || rc=$?
echo "==> vm: consoles in tests/output/vm/; tier wall time $(since "$T0") s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
exit "$rc"
