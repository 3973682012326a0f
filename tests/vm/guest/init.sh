#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# PID 1 of the VM tier's guest (Debian's kernel, real ip_vs, real ipip).
#
# Network namespaces on one bridge, 192.0.2.0/24 (documentation range):
#   cl   client             192.0.2.10
#   dir  ipvsadm director   192.0.2.1, owns the VIPs on its eth0
#   rs1, rs2 ...            real servers, one per line of $HOSTS
# Each real server "boots" from the files the role wrote on it: its /etc
# files in /etc/netns/HOST/ (which `ip netns exec HOST` binds over /etc/...)
# and its /usr/libexec/lvs-realserver in /lvs/HOST/libexec (rs-enter.sh):
#   1. systemd-modules-load        (the real binary: /etc/modules-load.d)
#   2. systemd-sysctl              (the real binary: /etc/sysctl.d, /usr/lib/sysctl.d, ...)
#   3. udev "add" for each interface: the systemd-sysctl --prefix=... command
#      line of 99-systemd.rules (the real rule file), as udev runs it
#   4. the boot unit, by unit-start.sh: enabled? conditions, then ExecStartPre=
#      (the guard) and ExecStart= exactly as written in the unit file, which
#      the unit's own After= puts behind steps 1 and 2
#   5. network-pre.target reached (the unit is Before= it): "networking"
#      brings eth0 up with the host's address; until then eth0 was down and
#      unnumbered, as on a real boot
#   6. udev "add" again for interfaces that appeared meanwhile
# then the director's ipvsadm services (DR -g, TUN -i), HTTP from the client
# and the checks. Prints PASS:/FAIL: lines and RESULT:, then powers off.
export PATH=/usr/sbin:/usr/bin
export HOME=/root LANG=C.UTF-8
# busybox ash runs its own applets before $PATH: use the real tools by path
ip() { /usr/sbin/ip "$@"; }
modprobe() { /usr/sbin/modprobe "$@"; }
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
up() { cut -d' ' -f1 /proc/uptime; }
echo "== guest userspace up at $(up)s (kernel $(uname -r))"

FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
info() { echo "INFO: $*"; }
finish() {
    echo "== guest done at $(up)s uptime"
    if [ "$FAILS" = 0 ]; then echo "RESULT: ALL PASS"; else echo "RESULT: $FAILS FAIL(S)"; fi
    sync
    poweroff -f
    sleep 10
}
check() { # check ID MESSAGE CMD...: PASS/FAIL on the status of CMD
    id=$1 msg=$2
    shift 2
    if "$@"; then pass "[$id] $msg"; else fail "[$id] $msg"; fi
}
indent() { sed "s/^/  $1 | /"; }

if [ ! -f /lvs/scenario.env ]; then
    fail "[setup] /lvs/scenario.env missing: no artefacts packed into the initramfs"
    finish
fi
# shellcheck source=/dev/null  # written by tests/vm/boot.sh
. /lvs/scenario.env
info "scenario $SCENARIO: $SCENARIO_TEXT"

# ------------------------------------------------------------------ kernel
modprobe -a veth bridge ip_vs ip_vs_rr || fail "[modules] modprobe veth bridge ip_vs ip_vs_rr"
check modules "ip_vs loaded: $(head -n1 /proc/net/ip_vs 2>/dev/null)" test -e /proc/net/ip_vs
# ipip must come from the real server's modules-load.d (or the unit), not from here
check ipip-not-preloaded "ipip not loaded before the real servers boot" test ! -d /sys/module/ipip

# ------------------------------------------------------------------ topology
DIR_MAC=02:00:00:00:00:01
ip link add br0 type bridge
ip link set br0 up
mac_of() { ip -n "$1" -br link show eth0 | awk '{ print $3 }'; }
addns() { # addns NS MAC [ADDR]: a host on the bridge; without ADDR its eth0 stays down, unconfigured
    ip netns add "$1"
    ip link add "v-$1" type veth peer name eth0 netns "$1"
    ip link set "v-$1" master br0 up
    ip -n "$1" link set lo up
    ip -n "$1" link set eth0 address "$2"
    [ -n "${3:-}" ] || return 0
    ip -n "$1" link set eth0 up
    ip -n "$1" addr add "$3/24" dev eth0
}
addns cl 02:00:00:00:00:10 192.0.2.10
addns dir "$DIR_MAC" 192.0.2.1
for spec in $HOSTS; do
    IFS=: read -r host mode vip rip mac <<EOF
$spec
EOF
    # a real server's NIC exists at boot, but networking configures it only
    # after network-pre.target, i.e. after the boot unit (see boot_rs)
    addns "$host" "$mac"
    ip -n dir addr add "$vip/32" dev eth0
done

# ------------------------------------------------------------------ real servers boot
rs() { # rs HOST CMD...: run CMD on real server HOST (its netns, its /etc files)
    ip netns exec "$@"
}
UDEV_RUN=$(sed -n 's/.*SUBSYSTEM=="net".*RUN+="\([^"]*systemd-sysctl [^"]*\)".*/\1/p' /usr/lib/udev/rules.d/99-systemd.rules)
[ -n "$UDEV_RUN" ] || fail "[udev-rule] no systemd-sysctl RUN in 99-systemd.rules"
udev_add() { # udev_add HOST IFACE: what 99-systemd.rules runs when IFACE appears
    # shellcheck disable=SC2046  # the rule's command line, split into words as udev does
    rs "$1" $(echo "$UDEV_RUN" | sed "s/\$name/$2/g")
}
links() { ip -n "$1" -o link show | awk -F': ' '{ sub("@.*", "", $2); print $2 }' | grep -vx lo | sort; }

boot_rs() { # boot_rs HOST RIP: the boot sequence; results in /tmp/HOST.*
    h=$1
    {
        echo "-- $h: systemd-modules-load"
        rs "$h" /usr/lib/systemd/systemd-modules-load 2>&1
        echo "exit $?"
        echo "-- $h: systemd-sysctl"
        rs "$h" /usr/lib/systemd/systemd-sysctl 2>&1
        echo "exit $?"
        links "$h" >/tmp/"$h".links0
        while read -r l; do
            echo "-- $h: udev add $l"
            udev_add "$h" "$l" 2>&1 </dev/null
        done </tmp/"$h".links0
        echo "-- $h: start lvs-realserver-vips.service"
        rs "$h" /bin/sh /lvs/rs-enter.sh "$h" /bin/sh /lvs/unit-start.sh lvs-realserver-vips.service 2>&1
        echo $? >/tmp/"$h".unit.rc
        echo "-- $h: network-pre.target reached: networking brings eth0 up with $2/24"
        ip -n "$h" link set eth0 up
        ip -n "$h" addr add "$2/24" dev eth0
        for l in $(links "$h" | grep -vxF -f /tmp/"$h".links0); do
            echo "-- $h: udev add $l (appeared meanwhile)"
            udev_add "$h" "$l" 2>&1
        done
    } >/tmp/"$h".boot 2>&1
}
t=$(up)
# in parallel, as separate machines boot; each host's own steps stay in order
pids=
for spec in $HOSTS; do
    IFS=: read -r host mode vip rip mac <<EOF
$spec
EOF
    boot_rs "$host" "$rip" &
    pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids
info "real servers booted in $(awk -v a="$t" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }') s"

# The fact module, started now (the hosts are in their final state) and
# collected at the end: lvs.realserver.arp_facts from the payload the
# controller built for each host's role run (ANSIBLE_KEEP_REMOTE_FILES),
# run through AnsiballZ's own "execute" entry point (payload exploded and
# byte-compiled when the initramfs was packed: same code, same arguments).
facts_pids=
for spec in $HOSTS; do
    host=${spec%%:*}
    rs "$host" python3 /lvs/"$host"/AnsiballZ_arp_facts.py execute >/tmp/"$host".facts 2>/tmp/"$host".facts.err &
    facts_pids="$facts_pids $!"
done

unit_ordered() {
    grep -q '^After=.*systemd-sysctl.service' "$1" && grep -q '^After=.*systemd-modules-load.service' "$1" &&
        grep -q '^Before=.*network-pre.target' "$1" && grep -qx 'DefaultDependencies=no' "$1"
}
has_addr() { ip -n "$1" -o addr show dev "$2" | grep -q " $3 "; }
link_up() { ip -n "$1" -o link show "$2" | grep -q '[<,]UP[,>]'; }
ipvs_conn() { ip netns exec dir ipvsadm -Lnc | grep -q " $1:80 *$2:80"; }
sysctl_of() { # sysctl_of HOST IFACE KEY: from /tmp/HOST.sysctl (read once per host)
    awk -v k="$2/$3" '$1 == k { print $2; f = 1 } END { if (!f) print "-" }' /tmp/"$1".sysctl
}
for spec in $HOSTS; do
    IFS=: read -r host mode vip rip mac <<EOF
$spec
EOF
    echo "== $host ($mode, VIP $vip)"
    ip netns exec "$host" sh -c 'cd /proc/sys/net/ipv4/conf && grep -H . */arp_ignore */arp_announce */rp_filter' | tr : ' ' >/tmp/"$host".sysctl
    indent "$host" </tmp/"$host".boot
    unitfile=/etc/netns/$host/systemd/system/lvs-realserver-vips.service
    check "$host-unit-order" "$host: the unit runs after systemd-sysctl and systemd-modules-load, before network-pre.target, without default dependencies" \
        unit_ordered "$unitfile"
    check "$host-guard" "$host: boot guard (ExecStartPre) allowed the VIPs" grep -q 'ExecStartPre=.* guard exited 0$' /tmp/"$host".boot
    check "$host-unit" "$host: lvs-realserver-vips.service started" test "$(cat /tmp/"$host".unit.rc)" = 0
    check "$host-vip" "$host: VIP $vip/32 on lo after boot" has_addr "$host" lo "$vip/32"
    for ifc in all default eth0 tunl0; do
        info "$host $ifc: arp_ignore $(sysctl_of "$host" $ifc arp_ignore) arp_announce $(sysctl_of "$host" $ifc arp_announce) rp_filter $(sysctl_of "$host" $ifc rp_filter)"
    done
    if [ "$mode" = tun ]; then
        check "$host-ipip" "$host: ipip loaded at boot (modules-load.d: $(grep -hv '^#' /etc/netns/"$host"/modules-load.d/*.conf 2>/dev/null | tr '\n' ' '))" \
            test -d /sys/module/ipip
        check "$host-tunl0-up" "$host: tunl0 up" link_up "$host" tunl0
        a=$(sysctl_of "$host" all rp_filter)
        t0=$(sysctl_of "$host" tunl0 rp_filter)
        check "$host-rp_filter" "$host: max(all, tunl0).rp_filter = max($a, $t0), must be 0 (tunl0 unnumbered, VIP on lo)" \
            test "$a" = 0 -a "$t0" = 0
    fi
done

echo "== services at $(up)s"
for spec in $HOSTS; do
    host=${spec%%:*}
    mkdir -p /srv/"$host"
    echo "hello-from-$host" >/srv/"$host"/index.html
    ip netns exec "$host" httpd -p 80 -h /srv/"$host"
done
for spec in $HOSTS; do
    IFS=: read -r host mode vip rip mac <<EOF
$spec
EOF
    case $mode in dr) fwd=-g ;; tun) fwd=-i ;; esac
    ip netns exec dir ipvsadm -A -t "$vip:80" -s rr
    ip netns exec dir ipvsadm -a -t "$vip:80" -r "$rip:80" "$fwd"
done
ip netns exec dir ipvsadm -Ln | indent dir

echo "== traffic checks at $(up)s"
http_get() { printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec cl timeout 6 nc -w 3 "$1" 80 2>/dev/null | tr -d '\r' | tail -n 1; }
# shellcheck disable=SC2016  # awk's $i
rpf_drops() { ip netns exec "$1" awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (n[i] == "IPReversePathFilter") print $i }' /proc/net/netstat; }
arp_macs() { # MACs that answer ARP for $1 on the client's segment
    ip netns exec cl arping -c 2 -w 3 -I eth0 "$1" 2>/dev/null | sed -n 's/.*reply from [0-9.]* \[\([0-9a-fA-F:]*\)\].*/\1/p' | tr 'A-F' 'a-f' | sort -u | tr '\n' ' '
}
ping_dir() { ip netns exec cl ping -c1 -W2 192.0.2.1 >/dev/null; }
check client "client reaches the director" ping_dir
# who answers ARP for each VIP: asked in the background while HTTP runs
arp_pids=
for spec in $HOSTS; do
    IFS=: read -r host mode vip rip mac <<EOF
$spec
EOF
    arp_macs "$vip" >/tmp/arp-"$mode" &
    arp_pids="$arp_pids $!"
done
# and the collection's own wire probe (lvs.realserver.arp_probe, ARP who-has for both VIPs) from the client
wire_probe() { ip netns exec cl python3 /lvs/probe/AnsiballZ_arp_probe.py execute >/tmp/probe.json 2>/tmp/probe.err; }
wire_probe &
arp_pids="$arp_pids $!"
for spec in $HOSTS; do
    IFS=: read -r host mode vip rip mac <<EOF
$spec
EOF
    M=$(echo "$mode" | tr '[:lower:]' '[:upper:]')
    rx0=$(ip netns exec "$host" cat /sys/class/net/tunl0/statistics/rx_packets 2>/dev/null || echo 0)
    d0=$(rpf_drops "$host")
    out=$(http_get "$vip")
    check "$mode-http" "LVS-$M: client -> VIP $vip:80 answered by $host (got '$out')" test "$out" = "hello-from-$host"
    neigh=$(ip -n cl neigh show "$vip" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
    check "$mode-arp" "LVS-$M: the client's neighbour entry for $vip is the director's MAC $DIR_MAC (got '$neigh')" test "$neigh" = "$DIR_MAC"
    if [ "$mode" = tun ]; then
        rx=$(ip netns exec "$host" cat /sys/class/net/tunl0/statistics/rx_packets 2>/dev/null || echo 0)
        d1=$(rpf_drops "$host")
        check tun-decap "LVS-TUN: $host tunl0 decapsulated $((rx - rx0)) IPIP packets from the director" test "$((rx - rx0))" -gt 0
        check tun-rp_filter "LVS-TUN: $host dropped $((d1 - d0)) decapsulated packets by rp_filter (IPReversePathFilter)" test "$((d1 - d0))" = 0
    fi
done
# shellcheck disable=SC2086
wait $arp_pids
for spec in $HOSTS; do
    IFS=: read -r host mode vip rip mac <<EOF
$spec
EOF
    M=$(echo "$mode" | tr '[:lower:]' '[:upper:]')
    macs=$(cat /tmp/arp-"$mode")
    check "$mode-arping" "LVS-$M: only the director answers ARP for $vip (replies from: ${macs:-none})" test "$macs" = "$DIR_MAC "
done
[ -s /tmp/probe.err ] && indent probe </tmp/probe.err
# shellcheck disable=SC2046
python3 /lvs/probe_check.py /tmp/probe.json "$DIR_MAC" $(for spec in $HOSTS; do echo "$spec" | cut -d: -f2,3 | tr : =; done) >/tmp/probe.out 2>&1
cat /tmp/probe.out
FAILS=$((FAILS + $(grep -c '^FAIL:' /tmp/probe.out)))
ip netns exec dir ipvsadm -Lnc | indent dir
for spec in $HOSTS; do
    IFS=: read -r host mode vip rip mac <<EOF
$spec
EOF
    check "ipvs-conn-$mode" "ipvsadm -Lnc has a connection $vip:80 -> $rip:80" ipvs_conn "$vip" "$rip"
done

echo "== the fact module's verdict at $(up)s"
# shellcheck disable=SC2086
wait $facts_pids
args=
for spec in $HOSTS; do
    host=${spec%%:*}
    [ -s /tmp/"$host".facts.err ] && indent "$host" </tmp/"$host".facts.err
    args="$args $host=/tmp/$host.facts"
done
# shellcheck disable=SC2086
python3 /lvs/verdict.py $args >/tmp/verdict.out 2>&1
cat /tmp/verdict.out
FAILS=$((FAILS + $(grep -c '^FAIL:' /tmp/verdict.out)))

# ------------------------------------------------------------------ control (no pass/fail)
if [ -n "${CONTROL_FORCE_VIP:-}" ]; then
    h=${CONTROL_FORCE_VIP%%=*}
    v=${CONTROL_FORCE_VIP#*=}
    ip -n "$h" addr add "$v/32" dev lo scope host
    ip -n cl neigh flush dev eth0
    echo "CONTROL: $v forced onto $h's lo past the guard: ARP for it answered by: $(arp_macs "$v")(director $DIR_MAC, $h $(mac_of "$h"))"
    wire_probe
    python3 /lvs/probe_check.py /tmp/probe.json --control "$v"
fi
finish
