#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# Run the lvs.realserver.realserver role against one "host" on this machine
# and collect what it wrote, for the VM tier to boot.
#
#   tests/vm/collect.sh OUTDIR HOST MODE VIP RIP [EXTRA_VARS_JSON]
#
# The host is this machine seen through two fresh namespaces (unshare):
#   - a network namespace with lo and an eth0 (a veth, RIP/24), so the role's
#     runtime writes (/proc/sys/net/ipv4/conf/..., the VIP on lo) land there;
#   - a private mount namespace where /etc and /usr are overlay mounts whose
#     upper layers are temp dirs: every file the role writes (the sysctl.d
#     drop-in, modules-load.d, the VIP data file, the unit and its enablement
#     symlink, the controller under /usr/libexec) lands in the upper layer,
#     never on this machine's /etc or /usr.
# ansible-playbook runs there with -c local, then lvs.realserver.arp_facts once
# more with ANSIBLE_KEEP_REMOTE_FILES=1 so the guest can run the very same
# module payload (AnsiballZ) with the same arguments. lvs.realserver.arp_probe's
# payload is kept the same way, from a run on an interface that does not exist
# (it stops at "no such interface" before opening a socket: nothing is sent);
# tests/vm/boot.sh writes the guest's arguments into it.
#
# Result, in OUTDIR/HOST/:
#   root/...                   the files the role wrote (the upper layers, /etc and /usr/libexec)
#   written.txt                every path written under /etc and /usr (anything else is reported)
#   AnsiballZ_arp_facts.py     the fact module payload for mode MODE, vips [VIP]
#   AnsiballZ_arp_probe.py     the wire probe's payload (arguments replaced by boot.sh)
#   ansible.log                the playbook output
# Needs root (unshare, mount). Environment: LVSRS_PYTHON (python with
# ansible-core; default .venv/bin/python), ANSIBLE_COLLECTIONS_PATH (default
# .cache/collections, where ./tasks links this checkout).
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)

if [[ ${1:-} == --inner ]]; then
    shift
    T=$1 HOST=$2 MODE=$3 VIP=$4 RIP=$5 EXTRA=$6
    # ---- mounts: only this process tree sees them; they vanish with it
    for d in etc usr; do
        mkdir -p "$T/upper/$d" "$T/work/$d"
        mount -t overlay "lvs-vm-$d" -o "lowerdir=/$d,upperdir=$T/upper/$d,workdir=$T/work/$d" "/$d"
    done
    # ---- the host's network: lo and eth0 only; start from kernel defaults
    ip link set lo up
    ip link add eth0 type veth peer name eth0-peer
    ip link set eth0 address 02:00:00:00:00:99 up
    ip link set eth0-peer up
    ip addr add "$RIP/24" dev eth0
    for ifc in all default lo eth0 eth0-peer; do
        for key in arp_ignore arp_announce rp_filter; do
            echo 0 >"/proc/sys/net/ipv4/conf/$ifc/$key"
        done
    done
    export HOME=$T/home TMPDIR=$T/tmp LANG=C.UTF-8 LC_ALL=C.UTF-8
    export ANSIBLE_LOCAL_TEMP=$T/tmp/local ANSIBLE_REMOTE_TEMP=$T/tmp/remote ANSIBLE_HOME=$T/home/.ansible
    export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_DEPRECATION_WARNINGS=0
    mkdir -p "$HOME" "$TMPDIR"
    vars=$(printf '{"realserver_mode": "%s", "realserver_vips": ["%s"]}' "$MODE" "$VIP")
    rc=0
    "$PY" -m ansible playbook -c local -i "$HOST," -e "ansible_python_interpreter=$PY" \
        -e "$vars" ${EXTRA:+-e "$EXTRA"} "$HERE/apply.yml" >"$T/ansible.log" 2>&1 || rc=$?
    if [[ $rc != 0 ]]; then
        echo "ansible-playbook failed (rc=$rc) for $HOST; its output:" >&2
        tail -n 40 "$T/ansible.log" >&2
        exit "$rc"
    fi
    ANSIBLE_KEEP_REMOTE_FILES=1 ANSIBLE_REMOTE_TEMP=$T/keep "$PY" -m ansible adhoc -c local -i "$HOST," all \
        -e "ansible_python_interpreter=$PY" -m lvs.realserver.arp_facts \
        -a "{\"mode\": \"$MODE\", \"vips\": [\"$VIP\"]}" >"$T/facts.log" 2>&1 || true
    ANSIBLE_KEEP_REMOTE_FILES=1 ANSIBLE_REMOTE_TEMP=$T/keep "$PY" -m ansible adhoc -c local -i "$HOST," all \
        -e "ansible_python_interpreter=$PY" -m lvs.realserver.arp_probe \
        -a "{\"interface\": \"lvsvm-none0\", \"vips\": [\"$VIP\"]}" >"$T/probe.log" 2>&1 || true
    exit 0
fi

if [[ $# -lt 5 ]]; then
    echo "usage: $0 OUTDIR HOST MODE VIP RIP [EXTRA_VARS_JSON]" >&2
    exit 2
fi
OUT=$1 HOST=$2 MODE=$3 VIP=$4 RIP=$5 EXTRA=${6:-}
[[ $EUID == 0 ]] || { echo "collect.sh needs root (unshare, overlay mounts)" >&2; exit 2; }
PY=${LVSRS_PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || { echo "no python with ansible-core at $PY (run ./tasks setup or set LVSRS_PYTHON)" >&2; exit 2; }
export PY
if [[ -z ${ANSIBLE_COLLECTIONS_PATH:-} ]]; then
    link=$ROOT/.cache/collections/ansible_collections/lvs/realserver
    if [[ $(readlink "$link" 2>/dev/null) != "$ROOT" ]]; then
        mkdir -p "$(dirname "$link")"
        ln -sfn "$ROOT" "$link"
    fi
    export ANSIBLE_COLLECTIONS_PATH=$ROOT/.cache/collections
fi

T=$(mktemp -d /tmp/lvs-vm-collect.XXXXXX)
# everything lives under $T; the namespaces die with the unshare'd process
trap 'rm -rf -- "$T"' EXIT
trap 'exit 130' INT TERM
unshare --mount --net --propagation private -- "$0" --inner "$T" "$HOST" "$MODE" "$VIP" "$RIP" "$EXTRA"

D=$OUT/$HOST
rm -rf -- "$D"
mkdir -p "$D/root"
cp "$T/ansible.log" "$D/ansible.log"
# what the role wrote: the overlay upper layers (a whiteout here would mean it deleted a file)
(cd "$T/upper" && find . -mindepth 1 \( -type f -o -type l -o -type c \) | sed 's#^\./#/#' | sort) >"$D/written.txt"
for d in etc/sysctl.d etc/modules-load.d etc/lvs-realserver etc/systemd/system usr/libexec/lvs-realserver; do
    if [[ -d $T/upper/$d ]]; then
        mkdir -p "$D/root/$(dirname "$d")"
        cp -a "$T/upper/$d" "$D/root/$d"
    fi
done
# anything written outside those directories, except byte-code caches, is worth a look
unexpected=$(grep -v -e '^/etc/sysctl.d/' -e '^/etc/modules-load.d/' -e '^/etc/lvs-realserver/' \
    -e '^/etc/systemd/system/' -e '^/usr/libexec/lvs-realserver/' -e '/__pycache__/' "$D/written.txt" || true)
if [[ -n $unexpected ]]; then
    echo "collect.sh: $HOST: the role also wrote (not packed):" >&2
    printf '    %s\n' "$unexpected" >&2
fi
az=$(find "$T/keep" -name 'AnsiballZ_arp_facts.py' 2>/dev/null | head -n1)
if [[ -z $az ]]; then
    echo "collect.sh: $HOST: no AnsiballZ_arp_facts.py payload was kept; arp_facts said:" >&2
    tail -n 20 "$T/facts.log" >&2
    exit 1
fi
cp "$az" "$D/AnsiballZ_arp_facts.py"
az=$(find "$T/keep" -name 'AnsiballZ_arp_probe.py' 2>/dev/null | head -n1)
if [[ -z $az ]] || ! grep -q "no such interface 'lvsvm-none0'" "$T/probe.log"; then
    echo "collect.sh: $HOST: no AnsiballZ_arp_probe.py payload from a run that stopped where expected; arp_probe said:" >&2
    tail -n 20 "$T/probe.log" >&2
    exit 1
fi
cp "$az" "$D/AnsiballZ_arp_probe.py"
echo "collect.sh: $HOST ($MODE, VIP $VIP): $(wc -l <"$D/written.txt") files written, $(grep -c '' <<<"$(cd "$D/root" && find . -type f -o -type l)") packed"
