#!/usr/bin/env bash
# The metrics tier (issue 17 item 1): the role with realserver_metrics on a
# Debian 12 systemd container with Debian's prometheus-node-exporter, scraped
# at 127.0.0.1:9100 inside the container.
#
#   tests/metrics/run.sh          (./tasks metrics)
#
# Steps: promtool check rules / test rules on docs/prometheus (and a broken
# copy, which must fail); a check-mode run (nothing written); converge; a
# second run (changed=0) and a check-mode run (changed=0); /metrics serves
# lvs_realserver_compliant 1; `sysctl -w net.ipv4.conf.all.arp_ignore=0`
# behind Ansible's back turns it to 0 with a violation series within one
# interval; fixing it turns it back to 1; realserver_state=absent removes the
# timer, the service and the .prom file. Scrapes are printed (the transcript).
#
# The container has no network (--network none) but a veth pair made inside
# it (192.0.2.11/24), so nothing leaves it. Removed by name on exit.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd -- "$HERE/../.." && pwd -P)
# shellcheck source=../images/env.sh
. "$REPO/tests/images/env.sh"

CTR=lvsrs-metrics-$$
INTERVAL=5
PROM=/var/lib/prometheus/node-exporter/lvs_realserver.prom
WORK=$(mktemp -d /tmp/lvsrs-metrics.XXXXXX)
START=$(date +%s.%N)
pass=0

say() { printf '[metrics %6.1fs] %s\n' "$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" "$*"; }
ok() { pass=$((pass + 1)); say "ok: $*"; }
fail() { say "FAIL: $*"; exit 1; }
cleanup() {
    podman rm -f "$CTR" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

in_ctr() { podman exec "$CTR" "$@"; }
scrape() { in_ctr curl -fsS http://127.0.0.1:9100/metrics | grep '^lvs_realserver_' || true; }

image=$("$HERE/build_image.sh")
say "image $image"

# --- promtool: the shipped rules, their unit tests, and a broken copy -------
podman run --rm --network none -v "$REPO/docs/prometheus:/rules:ro" "$image" \
    sh -c 'cd /rules && promtool check rules lvs_realserver.rules.yml && promtool test rules lvs_realserver.rules.test.yml' \
    || fail "promtool rejects docs/prometheus"
ok "promtool check rules + test rules"
sed 's/lvs_realserver_compliant == 0/lvs_realserver_compliant ==/' "$REPO/docs/prometheus/lvs_realserver.rules.yml" >"$WORK/broken.rules.yml"
if podman run --rm --network none -v "$WORK:/rules:ro" "$image" promtool check rules /rules/broken.rules.yml >"$WORK/broken.out" 2>&1; then
    fail "promtool accepted a broken expression"
fi
ok "negative control: promtool rejects a broken rule ($(grep -m1 -o 'parse error[^"]*' "$WORK/broken.out" || head -c 120 "$WORK/broken.out"))"

# --- the container ------------------------------------------------------------
# PID 1 is tests/images/sysctl-guard.sh: /proc/sys read-only but for net/, so
# this privileged container's systemd cannot write the machine's fs.* limits.
podman run -d --name "$CTR" --hostname "$CTR" --privileged --network none \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    --volume "$REPO/tests/images/sysctl-guard.sh:/usr/local/sbin/lvsrs-sysctl-guard:ro" \
    "$image" /usr/local/sbin/lvsrs-sysctl-guard /sbin/init >/dev/null
for _ in $(seq 1 60); do
    state=$(in_ctr systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    sleep 0.5
done
in_ctr sh -ec 'ip link add mveth0 type veth peer name mveth1
    ip addr add 192.0.2.11/24 dev mveth0; ip link set mveth0 up; ip link set mveth1 up'
for _ in $(seq 1 40); do in_ctr curl -fsS -o /dev/null http://127.0.0.1:9100/metrics 2>/dev/null && break; sleep 0.5; done
say "systemd $state, node_exporter up"

cat >"$WORK/inventory.yml" <<EOI
all:
  hosts:
    $CTR:
      ansible_connection: containers.podman.podman
      ansible_python_interpreter: /usr/bin/python3
EOI
cat >"$WORK/play.yml" <<'EOP'
- name: Real server with metrics
  hosts: all
  gather_facts: false
  roles:
    - role: lvs.realserver.realserver
      vars:
        realserver_vips: [192.0.2.10]
        realserver_metrics: true
        realserver_metrics_interval: 5
EOP
export ANSIBLE_COLLECTIONS_PATH="$REPO/.cache/collections" ANSIBLE_INJECT_FACT_VARS=false ANSIBLE_NOCOLOR=1 \
    ANSIBLE_PIPELINING=true ANSIBLE_LOCALHOST_WARNING=false
mkdir -p "$REPO/.cache/collections/ansible_collections/lvs"
ln -sfn "$REPO" "$REPO/.cache/collections/ansible_collections/lvs/realserver"
playbook() { "$REPO/.venv/bin/ansible-playbook" -i "$WORK/inventory.yml" "$WORK/play.yml" "$@"; }
recap() { grep -E "^$CTR +:" "$1" | sed 's/  */ /g'; }

playbook --check --diff >"$WORK/check1.log" 2>&1 || { cat "$WORK/check1.log"; fail "check-mode run"; }
in_ctr test ! -e /etc/systemd/system/lvs-realserver-metrics.timer || fail "check mode wrote the timer"
in_ctr test ! -e "$PROM" || fail "check mode wrote the .prom file"
grep -q "lvs-realserver-metrics.timer" "$WORK/check1.log" || fail "check mode does not show the timer"
ok "check mode: nothing written, the timer in the diff ($(recap "$WORK/check1.log"))"

t0=$(date +%s.%N)
playbook >"$WORK/converge.log" 2>&1 || { cat "$WORK/converge.log"; fail "converge"; }
say "converge: $(recap "$WORK/converge.log") in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
playbook >"$WORK/again.log" 2>&1 || { cat "$WORK/again.log"; fail "second run"; }
grep -Eq "changed=0 .*failed=0" <(recap "$WORK/again.log") || { cat "$WORK/again.log"; fail "second run changed something"; }
playbook --check --diff >"$WORK/check2.log" 2>&1 || { cat "$WORK/check2.log"; fail "check-mode rerun"; }
grep -Eq "changed=0 .*failed=0" <(recap "$WORK/check2.log") || { cat "$WORK/check2.log"; fail "check mode predicts a change"; }
ok "idempotent: $(recap "$WORK/again.log"); check mode: $(recap "$WORK/check2.log")"

in_ctr systemctl is-active --quiet lvs-realserver-metrics.timer || fail "timer not active"
in_ctr systemctl is-enabled --quiet lvs-realserver-metrics.timer || fail "timer not enabled"
in_ctr sh -c 'ls -a /var/lib/prometheus/node-exporter' >"$WORK/ls"
! grep -q '\.tmp$' "$WORK/ls" || fail "temporary file left: $(cat "$WORK/ls")"

wait_for() {  # pattern, seconds: until /metrics matches; prints the seconds it took
    local pattern=$1 limit=$2 begin
    begin=$(date +%s.%N)
    while ! scrape | grep -Eq "$pattern"; do
        awk -v a="$begin" -v b="$(date +%s.%N)" -v l="$limit" 'BEGIN { exit !(b - a > l) }' && return 1
        sleep 0.25
    done
    awk -v a="$begin" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

echo "----- scrape: after the role -----"; scrape
wait_for '^lvs_realserver_compliant 1$' 1 >/dev/null || fail "not compliant 1 right after the role"
scrape | grep -q '^lvs_realserver_vip_present{vip="192.0.2.10"} 1$' || fail "vip_present"
scrape | grep -q '^lvs_realserver_boot_compliant 1$' || fail "boot_compliant"
ok "after the role: lvs_realserver_compliant 1, boot_compliant 1, vip_present 1"

# Set the value and time /metrics inside the container (podman exec costs seconds on a busy machine)
# shellcheck disable=SC2016  # $1/$2 are the inner sh's arguments
drift() {  # value, pattern: prints the seconds from the write until node_exporter serves the pattern
    in_ctr sh -c 'sysctl -qw net.ipv4.conf.all.arp_ignore="$1"; s=$(date +%s.%N)
        while ! curl -fsS http://127.0.0.1:9100/metrics | grep -E "$2" >/dev/null; do
            sleep 0.2
            awk -v a="$s" -v b="$(date +%s.%N)" "BEGIN { exit !(b - a > 60) }" && exit 1
        done
        awk -v a="$s" -v b="$(date +%s.%N)" "BEGIN { printf \"%.1f\", b - a }"' drift "$1" "$2"
}
within() { awk -v t="$1" -v l="$2" 'BEGIN { exit !(t <= l) }'; }
# One interval, plus the timer's AccuracySec=1s, plus one run of the check (about a second on a busy
# machine; its own duration is printed from the journal below).
LIMIT=$((INTERVAL + 3))

took=$(drift 0 '^lvs_realserver_compliant 0$') || { scrape; fail "no 0 within 60 s"; }
echo "----- scrape: during the drift (arp_ignore=0) -----"; scrape | tee "$WORK/drift"
within "$took" "$LIMIT" || fail "compliant 0 only after $took s (interval $INTERVAL s, limit $LIMIT s)"
grep -q '^lvs_realserver_violation{code="arp_ignore_leak",interface="mveth0"} 1$' "$WORK/drift" || fail "no violation series"
ok "drift: lvs_realserver_compliant 0 with lvs_realserver_violation{code=\"arp_ignore_leak\",interface=\"mveth0\"} ${took} s after sysctl -w (interval ${INTERVAL} s)"

took=$(drift 1 '^lvs_realserver_compliant 1$') || { scrape; fail "no 1 within 60 s of the fix"; }
echo "----- scrape: after the fix -----"; scrape | tee "$WORK/fixed"
within "$took" "$LIMIT" || fail "compliant 1 only after $took s (interval $INTERVAL s, limit $LIMIT s)"
! grep -q '^lvs_realserver_violation' "$WORK/fixed" || fail "violation series left"
ok "fixed: lvs_realserver_compliant 1 again ${took} s after the fix, no violation series"

runs=$(in_ctr journalctl -q -u lvs-realserver-metrics.service --no-pager | grep -c 'Finished' || true)
say "lvs-realserver-metrics.service: $runs runs finished so far (journal)"

cat >"$WORK/absent.yml" <<'EOP'
- name: Real server removed
  hosts: all
  gather_facts: false
  roles:
    - role: lvs.realserver.realserver
      vars:
        realserver_state: absent
        realserver_vips: [192.0.2.10]
EOP
"$REPO/.venv/bin/ansible-playbook" -i "$WORK/inventory.yml" "$WORK/absent.yml" >"$WORK/absent.log" 2>&1 || { cat "$WORK/absent.log"; fail "absent"; }
for f in /etc/systemd/system/lvs-realserver-metrics.timer /etc/systemd/system/lvs-realserver-metrics.service "$PROM" \
         /usr/libexec/lvs-realserver/_metrics.py; do
    in_ctr test ! -e "$f" || fail "absent left $f"
done
in_ctr systemctl is-active --quiet lvs-realserver-metrics.timer && fail "timer still active"
[ -z "$(scrape)" ] || { scrape; fail "lvs_realserver series still served"; }
ok "absent: timer, service, library and .prom removed, /metrics has no lvs_realserver_* ($(recap "$WORK/absent.log"))"

say "metrics: $pass passed"
