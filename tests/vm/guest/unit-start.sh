#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# unit-start.sh UNIT   (inside rs-enter.sh, i.e. with the host's /etc)
#
# Starts a Type=oneshot unit from /etc/systemd/system the way systemd's start
# job would at boot: only when enabled (a WantedBy= symlink exists), only when
# its ConditionPathExists= hold, then every ExecStartPre= and every
# ExecStart= in file order, each command line split into words exactly as
# written; the first failing command fails the unit and nothing after it
# runs (a leading "-" ignores a failure, as in systemd). Lines using what
# this small runner does not implement (quotes, $VAR, %specifiers,
# backslashes, "@", "+", "!", ":" prefixes) are refused, never guessed.
#
# Prints "UNIT: ..." lines; exit status: 0 started, 1 a command failed
# (its status in the "UNIT: ... exited N" line), 2 not installed or not
# enabled, 4 condition failed, 5 a line this runner cannot run faithfully.
set -f
unit=$1
file=/etc/systemd/system/$unit
if [ ! -f "$file" ]; then
    echo "UNIT: $unit: not installed ($file missing)"
    exit 2
fi
enabled=
set +f
for link in /etc/systemd/system/*.wants/"$unit"; do
    [ -L "$link" ] && enabled="$enabled ${link#/etc/systemd/system/}"
done
set -f
if [ -z "$enabled" ]; then
    echo "UNIT: $unit: installed but not enabled (no /etc/systemd/system/*.wants/$unit)"
    exit 2
fi
echo "UNIT: $unit: enabled via$enabled"

NL='
'
section=
conds=
cmds=
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
        '' | '#'* | ';'*) continue ;;
        '['*']') section=$line; continue ;;
    esac
    key=${line%%=*}
    value=${line#*=}
    case "$section $key" in
        "[Unit] ConditionPathExists") conds="$conds$value$NL" ;;
        "[Service] Type")
            [ "$value" = oneshot ] || { echo "UNIT: $unit: Type=$value, this runner only starts oneshot units"; exit 5; } ;;
        "[Service] ExecStartPre") cmds="${cmds}ExecStartPre $value$NL" ;;
        "[Service] ExecStart") cmds="${cmds}ExecStart $value$NL" ;;
    esac
done <"$file"

IFS=$NL
for cond in $conds; do
    IFS=' '
    case $cond in
        '!'*) p=${cond#!}; [ ! -e "$p" ] ;;
        *) [ -e "$cond" ] ;;
    esac || { echo "UNIT: $unit: condition ConditionPathExists=$cond failed, start skipped"; exit 4; }
    IFS=$NL
done

for entry in $cmds; do
    IFS=' '
    kind=${entry%% *}
    cmd=${entry#* }
    ignore=
    case $cmd in -*) ignore=1; cmd=${cmd#-} ;; esac
    case $cmd in
        *[\"\'\$%\\]* | [@+!:]*)
            echo "UNIT: $unit: $kind=$cmd uses syntax this runner does not implement"
            exit 5 ;;
    esac
    # shellcheck disable=SC2086  # word splitting is the point (set -f: no globbing)
    set -- $cmd
    out=$("$@" 2>&1)
    rc=$?
    [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/UNIT:   | /'
    echo "UNIT: $unit: $kind=$cmd exited $rc"
    if [ "$rc" != 0 ] && [ -z "$ignore" ]; then
        echo "UNIT: $unit: failed ($kind exited $rc); later commands not run"
        exit 1
    fi
    IFS=$NL
done
echo "UNIT: $unit: started (active, RemainAfterExit)"
exit 0
