#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# The benchmark (./tasks bench [ARGS]): converge and compliance cost per host,
# lvs.realserver against what peers do. ARGS go to bench/lvsrs_bench.py:
#   ./tasks bench                  full run: N=1,10,40, 5 pairs, forks 10 (about 25 min on 2 busy CPUs)
#   ./tasks bench --smoke          N=2, 1 pair: proves it still works (about 35 s)
#   ./tasks bench --hosts 1,10 --pairs 3 --forks 5 --workloads facts,compliance
# Needs root, podman and the offline Debian 12 image (built here if missing,
# cached by tests/images/build.sh). Results: bench/results/<timestamp>.json.
# Exit status 0 when it ran (also when goals are missed), 1 on errors.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/.." && pwd -P)
cd "$ROOT"

# Inside `./tasks test` (LVSRS_GATE set) a machine that cannot run it skips
# (exit 77); run by hand, that is an error.
if ! command -v podman >/dev/null 2>&1 || [[ $EUID -ne 0 ]]; then
    echo "==> bench: needs root and podman (apt-get install podman runc)" >&2
    if [[ -n ${LVSRS_GATE:-} ]]; then exit 77; fi
    exit 1
fi

# shellcheck source=/dev/null
. tests/images/env.sh
PY=${LVSRS_BENCH_PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || {
    echo "ERROR: $PY missing: run ./tasks setup" >&2
    exit 1
}
if ! podman image exists "$LVSRS_IMAGE_DEBIAN12"; then
    echo "==> bench: building $LVSRS_IMAGE_DEBIAN12 (tests/images/build.sh bookworm)"
    bash tests/images/build.sh bookworm </dev/null
fi

# Second line of defence after the driver's own cleanup: whatever happens
# (even a killed driver), the containers of this run are removed by name.
export LVSRS_BENCH_RUN_ID=${LVSRS_BENCH_RUN_ID:-$(printf '%x%04x' "$(date +%s)" "$$" | tail -c 8)}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local names
    names=$(podman ps -a --filter "label=lvsrs-bench.run=$LVSRS_BENCH_RUN_ID" --format '{{.Names}}' 2>/dev/null |
        grep -E "^lvsrs-bench-$LVSRS_BENCH_RUN_ID-[0-9]+\$" || true)
    if [[ -n $names ]]; then
        # shellcheck disable=SC2086  # one name per word
        podman rm -f -t 0 $names >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

# In the background so that a signal reaches this script at once; it is
# passed on as SIGTERM, on which the driver removes its containers and exits.
"$PY" "$HERE/lvsrs_bench.py" "$@" </dev/null &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM HUP
rc=0
wait "$child" || rc=$?
while kill -0 "$child" 2>/dev/null; do
    wait "$child" || rc=$?
done
exit "$rc"
