#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# Stand-in for podman in the counting pass of bench/lvsrs_bench.py (given to
# the containers.podman.podman connection as ANSIBLE_PODMAN_EXECUTABLE): runs
# the real podman and appends one line per call to $LVSRS_BENCH_PODMAN_LOG:
#   start<TAB>end<TAB>rc<TAB>arguments
# (EPOCHREALTIME seconds). Every such call is one controller-to-host round trip.
# Not used in the timed runs.
real=${LVSRS_BENCH_PODMAN:-podman}
t0=$EPOCHREALTIME
"$real" "$@"
rc=$?
line="$*"
line=${line//$'\n'/ }
printf '%s\t%s\t%s\t%s\n' "$t0" "$EPOCHREALTIME" "$rc" "${line:0:400}" >>"${LVSRS_BENCH_PODMAN_LOG:?}"
exit "$rc"
