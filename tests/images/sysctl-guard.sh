#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver developers
#
# PID 1 of every privileged test container, before the real one:
#
#   podman run --privileged ... \
#       -v REPO/tests/images/sysctl-guard.sh:/usr/local/sbin/lvsrs-sysctl-guard:ro \
#       IMAGE /usr/local/sbin/lvsrs-sysctl-guard /sbin/init
#
# Why: only net.* (and a few pid/uts keys) of /proc/sys belong to the
# container's namespaces; fs.*, kernel.*, vm.*, dev.*, abi.*, user.* and
# debug.* are the machine's. A privileged container gets /proc/sys writable,
# so its systemd writes the machine's limits: PID 1's
# bump_file_max_and_nr_open() (src/core/main.c, built with
# BUMP_PROC_SYS_FS_NR_OPEN and BUMP_PROC_SYS_FS_FILE_MAX) raises fs.nr_open to
# 1073741816 and, on systemd >= 256, fs.file-max to LONG_MAX, at every boot
# that is not a re-exec; systemd-sysctl applies every sysctl.d file.
#
# What: every directory of /proc/sys except net/ is bind-mounted read-only
# over itself in the container's own mount namespace (the way runc makes
# /proc/sys read-only in unprivileged containers). /proc/sys itself stays
# writable, so systemd-sysctl.service (ConditionPathIsReadWrite=/proc/sys/)
# still runs at boot and applies net.* keys; systemd logs the refused bumps at
# debug level only (EROFS) and boots normally.
#
# Fail closed: if the guard cannot be put in place and proven (a write of a
# key's own value must fail under fs/, kernel/ and vm/, and succeed under
# net/), the container exits 70 instead of booting.
set -eu

die() {
    echo "lvsrs-sysctl-guard: $*" >&2
    exit 70
}

[ "$#" -gt 0 ] || die "usage: lvsrs-sysctl-guard COMMAND [ARG...]"
[ -d /proc/sys/net ] || die "/proc/sys/net is missing"

for d in /proc/sys/*; do
    [ -d "$d" ] || continue
    [ "$d" = /proc/sys/net ] && continue
    mount --bind "$d" "$d" || die "cannot bind-mount $d"
    mount -o remount,bind,ro "$d" || die "cannot remount $d read-only"
done

# Proof, with writes that change nothing: each file gets its own value back.
same_value_write() { (v=$(cat "$1") && printf '%s\n' "$v" >"$1") 2>/dev/null; }
for f in /proc/sys/fs/nr_open /proc/sys/fs/file-max /proc/sys/kernel/pid_max /proc/sys/vm/max_map_count; do
    [ -e "$f" ] || continue
    if same_value_write "$f"; then
        die "$f is still writable: not starting $1"
    fi
done
same_value_write /proc/sys/net/ipv4/conf/all/arp_ignore ||
    die "/proc/sys/net is not writable any more: not starting $1"

exec "$@"
