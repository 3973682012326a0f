#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver developers
#
# The machine's own sysctls, before and after tests: nothing the tests start
# may change them (only net.* of their own namespaces, containers, guests).
#
#   tests/machine-sysctls.sh snapshot FILE         record them
#   tests/machine-sysctls.sh compare BEFORE [AFTER]
#       exit 1 and print every difference (AFTER: a file, default now)
#
# Recorded: every key of `sysctl -a` outside net.*, and net.* of the machine
# itself, minus counters that change on their own and the per-interface keys
# of interfaces other than all/default/lo (test networks of other jobs come
# and go); and any file the collection installs found on the machine
# itself (/etc, /usr/libexec, ...). Sourcing the file (with LVSRS_SYSCTLS_LIB=1) gives the functions.
set -euo pipefail

machine_sysctls() {
    sysctl -a 2>/dev/null | awk '
        /^fs\.(dentry-state|dentry-negative|inode-nr|inode-state|file-nr|aio-nr|quota\.)/ { next }
        /^kernel\.(ns_last_pid|random\.(uuid|boot_id|entropy_avail)|pty\.nr) / { next }
        /^net\.netfilter\.nf_conntrack_count / { next }
        /^net\.ipv[46]\.(conf|neigh)\./ {
            split($1, k, "."); if (k[4] != "all" && k[4] != "default" && k[4] != "lo") next
        }
        { print }' | sort
    machine_files
}

# What the collection installs, if it is on the machine itself (it must not
# be: tests apply it only inside their own namespaces, containers, guests).
machine_files() {
    local f
    { find /etc /usr/libexec /usr/local/libexec /usr/local/lib -xdev -maxdepth 3 \
        \( -name '*lvs-realserver*' -o -name '*lvs_realserver*' \) -print 2>/dev/null | sort || true; } |
        while IFS= read -r f; do printf 'file:%s = present\n' "$f"; done
}

# Keys whose values differ, and keys that appeared or vanished.
sysctl_changes() {
    # (A few keys, e.g. kernel.core_modes, are printed on several lines.)
    awk -F' = ' 'NR == FNR { before[$1] = before[$1] " " $2; next }
        { after[$1] = after[$1] " " $2 }
        END {
            for (k in after) {
                if (!(k in before)) printf "  %s: (absent) ->%s\n", k, after[k]
                else if (before[k] != after[k]) printf "  %s:%s ->%s\n", k, before[k], after[k]
            }
            for (k in before) if (!(k in after)) printf "  %s:%s -> (absent)\n", k, before[k]
        }' "$1" "$2" | sort
}

main() {
    case ${1:-} in
        snapshot)
            [[ $# -eq 2 ]] || { echo "usage: $0 snapshot FILE" >&2; return 2; }
            machine_sysctls >"$2"
            [[ -s $2 ]] || { echo "machine-sysctls: sysctl -a printed nothing" >&2; return 1; }
            ;;
        compare)
            [[ $# -ge 2 && $# -le 3 ]] || { echo "usage: $0 compare BEFORE [AFTER]" >&2; return 2; }
            local after=${3:-} tmp='' changes
            if [[ -z $after ]]; then
                tmp=$(mktemp /tmp/lvsrs-sysctls.XXXXXX)
                machine_sysctls >"$tmp"
                after=$tmp
            fi
            changes=$(sysctl_changes "$2" "$after")
            [[ -z $tmp ]] || rm -f -- "$tmp"
            if [[ -n $changes ]]; then
                printf 'machine-sysctls: the machine'"'"'s own sysctls or files changed:\n%s\n' "$changes" >&2
                return 1
            fi
            echo "machine-sysctls: no change ($(wc -l <"$2") keys compared)"
            ;;
        *)
            echo "usage: $0 snapshot FILE | compare BEFORE [AFTER]" >&2
            return 2
            ;;
    esac
}

if [[ -z ${LVSRS_SYSCTLS_LIB:-} ]]; then
    main "$@"
fi
