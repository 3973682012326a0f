# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""The real-boot tier's netstack phase (issue 14): each network stack running for real in the guest.

One guest (the tier's image: network-manager, netplan.io, ifupdown, isc-dhcp-client and dnsmasq-base
installed, systemd-networkd on), the stacks one at a time, switched by enable/disable and a reboot:

  networkd        rs by DHCP (dnsmasq in the director netns), lo left alone, then lo managed
                  (a .network that matches lo); the role with realserver_netstack: auto
  networkmanager  rs by NetworkManager's default DHCP profile, lo left alone, then a loopback profile
  ifupdown        `auto lo` / `iface lo inet loopback`, rs `inet dhcp` (dhclient)

After the role (or boot_unit netstack=auto once the stack changed), each operation runs under
`lvsrb-netop` (netop.py): rtnetlink and `ip -ts monitor address` during the operation, the ARP values at
every VIP addition, the time any VIP was missing. Negative control per managed-lo variant: the same
operation with the watch stopped and the stack's hook taken away loses the VIPs. arp_facts' hazards are
compared with what the stack did. LVSRS_NETSTACK_EXTRA=FILE: each non-empty line one more operation.

Writes tests/output/realboot/netstack.json and adds `netstack` to report.json when that exists.
"""

import base64
import json
import os
import shlex
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import MAC, GuestError  # noqa: E402  pylint: disable=wrong-import-position
from tier import BOOT_TIMEOUT, HERE, OUT, Tier, guest_image, log, order_ok, parse_show, work_dir  # noqa: E402

VIPS = ["192.0.2.100", "2001:db8::100"]
RESTORE_LIMIT = 2.0
LO_HAZARDS = ("networkd_manages_lo", "netplan_lists_lo", "networkmanager_loopback_profile", "ifupdown_manages_lo")
WATCH = "lvs-realserver-watch.service"
VIP_UNIT = "lvs-realserver-vips.service"
HOOKS = ("/etc/NetworkManager/dispatcher.d/90-lvs-realserver", "/etc/network/if-up.d/lvs-realserver")
DROPINS = "/etc/systemd/network/*.network.d/90-lvs-realserver.conf"


STACKS = "networkd,networkmanager,ifupdown,netplan,netplan_nm"
# where the stacks keep what arp_facts reads for the lo hazards
STACK_FILES = ("/etc/netplan/*.yaml", "/etc/NetworkManager/system-connections/*.nmconnection",
               "/run/NetworkManager/system-connections/*.nmconnection", "/etc/network/interfaces",
               "/etc/network/interfaces.d/*", "/etc/systemd/network/*.network", "/run/systemd/network/*.network")
# the NICs as netplan declares them (mgmt static, rs by DHCP), for either renderer
NETPLAN_NICS = r"""cat >/etc/netplan/50-lvsrb.yaml <<NETPLAN
network:
  version: 2
  renderer: @RENDERER@
  ethernets:
    mgmt:
      match: {{macaddress: "{mgmt_mac}"}}
      addresses: [198.51.100.15/24]
    rs:
      match: {{macaddress: "{rs_mac}"}}
      dhcp4: true
NETPLAN
chmod 0600 /etc/netplan/50-lvsrb.yaml
"""
# netplan on networkd: the image masks every generator (boot time); netplan's comes back here
NETPLAN_SETUP = r"""
set -e
systemctl disable networking.service NetworkManager.service >/dev/null 2>&1 || true
printf 'source /etc/network/interfaces.d/*\n' >/etc/network/interfaces
systemctl enable systemd-networkd.service systemd-networkd.socket >/dev/null 2>&1
rm -f /etc/systemd/system-generators/netplan
rm -f /etc/systemd/network/10-mgmt.network /etc/systemd/network/20-rs.network /etc/systemd/network/05-lo.network
mkdir -p /etc/netplan
""" + NETPLAN_NICS.replace("@RENDERER@", "networkd") + r""""""
NETPLAN_LO = r"""
cat >/etc/netplan/60-lvsrb-lo.yaml <<NETPLAN
network:
  version: 2
  renderer: {renderer}
  ethernets:
    lo:
      addresses: [127.0.0.1/8, "::1/128"]
NETPLAN
chmod 0600 /etc/netplan/60-lvsrb-lo.yaml
"""


# netplan rendering to NetworkManager (Ubuntu desktop's default, and servers that chose it)
NETPLAN_NM_SETUP = r"""
set -e
systemctl disable systemd-networkd.service systemd-networkd.socket networking.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system-generators/netplan /etc/netplan/60-lvsrb-lo.yaml
rm -f /etc/NetworkManager/system-connections/*.nmconnection
# NetworkManager needs the system bus (masked in the image for boot time)
rm -f /etc/systemd/system/dbus.service /etc/systemd/system/dbus.socket
nmcli connection delete lo >/dev/null 2>&1 || true
mkdir -p /etc/NetworkManager/conf.d /etc/netplan
printf '[keyfile]\nunmanaged-devices=mac:{lab_mac};mac:{hot_mac}\n' >/etc/NetworkManager/conf.d/90-lvsrb.conf
""" + NETPLAN_NICS.replace("@RENDERER@", "NetworkManager") + r"""systemctl enable NetworkManager.service >/dev/null 2>&1
"""
# A real DHCP renewal: the lab's dnsmasq leases for 2 min, so the client renews at T1 (60 s); the operation
# waits for the server's next DHCPACK (the journal of the lvsrb-dhcp unit) instead of asking for a new lease.
DHCP_RENEWAL = ("s=$(date +%s); n=0; until journalctl -q -o cat -u lvsrb-dhcp --since \"@$s\" --no-pager "
                "| grep -q DHCPACK; do sleep 1; n=$((n+1)); [ $n -lt 100 ] || exit 1; done")


def row_verdict(result):
    """(vips_kept, restore_s) of one netop result: kept when present after and no gap reached the limit."""
    gaps = result.get("gaps", [])
    if any(g["seconds"] is None for g in gaps):
        return False, None
    worst = max([g["seconds"] for g in gaps] or [0.0])
    return bool(result.get("vips_kept")) and worst < RESTORE_LIMIT, round(worst, 3)


def hazard_flagged(facts):
    """The lo hazards arp_facts flags (severity above info)."""
    return sorted(set(h["code"] for h in facts.get("hazards", ())
                      if h["code"] in LO_HAZARDS and h.get("severity") != "info"))


def hazard_agrees(flagged, lost):
    """A hazard is right when it is flagged exactly when the stack took the VIPs away for good."""
    return bool(flagged) == bool(lost)


def extra_operations(path):
    if not path:
        return []
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


class Netstack:
    def __init__(self, image, work):
        self.t = Tier(image, work)
        self.g = self.t.guest
        self.rows = []
        self.controls = []
        self.variants = []
        self.role_played = False
        self.extra = extra_operations(os.environ.get("LVSRS_NETSTACK_EXTRA"))

    # ------------------------------------------------------------ guest plumbing
    def sh(self, script, **kw):
        return self.g.sh(script, **kw)

    def install_netop(self):
        with open(os.path.join(HERE, "netop.py"), "rb") as f:
            blob = base64.b64encode(f.read()).decode()
        self.sh("echo %s | base64 -d >/usr/local/sbin/lvsrb-netop && chmod 0755 /usr/local/sbin/lvsrb-netop" % blob)

    def lab(self):
        """The tier's client/director netns, and a DHCP server for rs (dnsmasq in the director netns)."""
        self.t.find_names()
        self.t.lab()
        self.sh("systemctl stop lvsrb-dhcp >/dev/null 2>&1 || true; systemctl reset-failed lvsrb-dhcp >/dev/null 2>&1 "
                "|| true; systemd-run --unit=lvsrb-dhcp ip netns exec dir dnsmasq -k -C /dev/null -u root -i m-dir "
                "--bind-interfaces -p 0 --dhcp-authoritative --dhcp-range=192.0.2.21,192.0.2.21,255.255.255.0,2m "
                "--dhcp-host=%s,192.0.2.21 --dhcp-leasefile=/run/lvsrb-dhcp.leases >/dev/null" % MAC["rs"])

    def wait_rs_address(self, kick, timeout=90):
        """The rs NIC got 192.0.2.21 by DHCP (``kick``: a command that makes the stack ask again now)."""
        rs = self.t.names["rs"]
        t = time.monotonic()
        if kick:
            self.sh(kick, check=False, timeout=120)
        while time.monotonic() - t < timeout:
            if "192.0.2.21/" in self.sh("ip -4 -o addr show dev %s" % rs):
                return round(time.monotonic() - t, 1)
            time.sleep(2)
        state = self.sh("ip addr; journalctl -b -n 40 --no-pager", check=False)
        raise GuestError("rs got no DHCP lease within %d s: %s" % (timeout, getattr(state, "stdout", state)))

    def save_journal(self, label):
        """The boot's journal of the units that matter here, appended to netstack-journal.txt (a reboot ends it)."""
        try:
            text = self.sh("journalctl -b --no-pager -o short-monotonic -u %s -u %s -u NetworkManager "
                           "-u systemd-networkd -u networking" % (WATCH, VIP_UNIT), check=False, timeout=120).stdout
        except (GuestError, subprocess.TimeoutExpired, AttributeError):
            return
        with open(os.path.join(OUT, "netstack-journal.txt"), "a", encoding="utf-8") as f:
            f.write("==== %s\n%s" % (label, text))

    def reboot(self, label):
        self.save_journal("before the reboot: %s" % label)
        waited = self.g.reboot(BOOT_TIMEOUT)
        log("netstack %s: rebooted in %.1f s" % (label, waited))
        self.install_netop()
        self.lab()
        return waited

    # ------------------------------------------------------------ measurements
    def netop(self, command, settle=3.0, limit=15.0):
        script = "/usr/bin/python3 /usr/local/sbin/lvsrb-netop %s %s %s -- %s" % (",".join(VIPS), settle, limit, shlex.quote(command))
        out = self.sh(script, timeout=400)
        return json.loads(out.strip().splitlines()[-1])

    def operate(self, stack, lo, name, command, settle=3.0):
        t = time.monotonic()
        result = self.netop(command, settle=settle)
        kept, restore = row_verdict(result)
        row = {"stack": stack, "lo": lo, "operation": name, "command": command, "vips_kept": kept,
               "restore_s": restore, "lost_then_restored": bool(result["gaps"]) and kept,
               "arp_safe": result["arp_safe"] and not result["arp_unsafe_now"],
               "loopback_kept": result["loopback_kept"], "rc": result["rc"], "vip_adds": result["vip_adds"],
               "gaps": result["gaps"], "ip_monitor": result["ip_monitor"], "output": result["output"],
               "wall_s": round(time.monotonic() - t, 1)}
        if not kept:  # what the watch said, while it is still in this boot's journal
            row["watch_journal"] = self.sh("systemctl is-active %s; journalctl -b -u %s -n 25 --no-pager "
                                           "-o short-monotonic" % (WATCH, WATCH), check=False).stdout.splitlines()
        self.rows.append(row)
        log("netstack %s/lo %s: %-40s kept=%s restore=%s arp_safe=%s rc=%s" % (
            stack, lo, name, kept, restore, row["arp_safe"], result["rc"]))
        if not kept:
            log("netstack watch: %s" % " | ".join(row["watch_journal"][-8:]))
        return row

    def reboot_row(self, stack, lo):
        t = time.monotonic()
        self.reboot("%s/lo %s" % (stack, lo))
        units = parse_show(self.sh("systemctl show -p Id -p InactiveExitTimestampMonotonic "
                                   "-p ActiveEnterTimestampMonotonic -p ActiveState systemd-sysctl.service %s "
                                   "network-pre.target %s" % (VIP_UNIT, WATCH)))
        have = self.sh("ip -j addr show dev lo")
        addrs = set(a["local"] for a in json.loads(have)[0]["addr_info"])
        journal = self.sh("journalctl -b -u %s --no-pager -o short-monotonic | grep -E 're-added|REFUSED' || true"
                          % WATCH).splitlines()
        row = {"stack": stack, "lo": lo, "operation": "reboot", "command": "systemctl reboot",
               "vips_kept": all(v in addrs for v in VIPS), "restore_s": None,
               "lost_then_restored": bool(journal), "watch_journal": journal,
               "arp_safe": order_ok(units), "watch_active": units[WATCH]["ActiveState"] == "active",
               "loopback_kept": "127.0.0.1" in addrs and "::1" in addrs, "wall_s": round(time.monotonic() - t, 1)}
        self.rows.append(row)
        log("netstack %s/lo %s: reboot kept=%s order_ok=%s watch re-adds=%d" % (
            stack, lo, row["vips_kept"], row["arp_safe"], len(journal)))
        return row

    def facts(self):
        return self.t.arp_facts("dr", VIPS)

    def stack_files(self):
        """``{path: text}`` of the files arp_facts reads for the lo hazards (for the truth table's fixture)."""
        out = self.sh("for f in %s; do [ -f \"$f\" ] && printf '\\0%%s\\0' \"$f\" && cat \"$f\"; done; true"
                      % " ".join(STACK_FILES))
        parts = out.split("\0")[1:]
        return dict(zip(parts[0::2], parts[1::2]))

    def without_cooperation(self):
        """The negative control's state: the watch stopped, the stack's hooks and drop-ins moved away."""
        self.sh("systemctl stop %s; mkdir -p /root/lvsrb-away; for f in %s %s; do [ -e \"$f\" ] && "
                "mv \"$f\" /root/lvsrb-away/$(echo \"$f\" | tr / _); done; "
                "if [ -d /run/systemd/netif ] && systemctl -q is-active systemd-networkd; then networkctl reload; fi; "
                "true" % (WATCH, " ".join(HOOKS), DROPINS))

    def with_cooperation(self):
        self.sh("for f in /root/lvsrb-away/*; do [ -e \"$f\" ] || continue; n=${f##*/}; mv \"$f\" \"$(echo $n | tr _ /)\"; "
                "done; if systemctl -q is-active systemd-networkd; then networkctl reload; fi; "
                "systemctl start %s" % WATCH)

    def restore_vips(self):
        self.sh("systemctl restart %s" % VIP_UNIT)

    def control(self, stack, lo, name, command, judged=True):
        """The same operation without the collection's cooperation: the VIPs must be lost (the test can fail).

        ``judged``: whether arp_facts' lo hazards speak for this operation (a lo bounce drops lo's IPv6
        addresses in the kernel whatever the stack's configuration: no file hazard can predict it).
        """
        self.without_cooperation()
        try:
            flagged = hazard_flagged(self.facts())
            result = self.netop(command, settle=3.0, limit=6.0)
            kept, _restore = row_verdict(result)
            entry = {"stack": stack, "lo": lo, "operation": name, "command": command, "cooperation": False,
                     "files": self.stack_files(),
                     "vips_kept": kept, "gaps": result["gaps"], "present_after": result["present_after"],
                     "hazards_flagged": flagged,
                     "hazard_agrees": hazard_agrees(flagged, not kept) if judged else None,
                     "ip_monitor": result["ip_monitor"]}
            self.controls.append(entry)
            log("netstack CONTROL %s/lo %s: %s without cooperation: kept=%s, hazards flagged %s (agrees: %s)" % (
                stack, lo, name, kept, flagged, entry["hazard_agrees"]))
        finally:
            self.with_cooperation()
            self.restore_vips()
        return entry

    def variant(self, stack, lo, operations, reboot=True):
        """Run the operations, then judge arp_facts (compliant; the lo hazards) for the rows of this variant."""
        first = len(self.rows)
        t = time.monotonic()
        for name, command in operations + [(c, c) for c in self.extra]:
            try:
                self.operate(stack, lo, name, command)
            except (GuestError, subprocess.TimeoutExpired, ValueError) as exc:
                self.rows.append({"stack": stack, "lo": lo, "operation": name, "command": command, "vips_kept": False,
                                  "arp_safe": False, "error": str(exc)[-1500:]})
                log("netstack %s/lo %s: %s ERROR %s" % (stack, lo, name, str(exc)[-300:]))
        if reboot:
            self.reboot_row(stack, lo)
        facts = self.facts()
        flagged = hazard_flagged(facts)
        for row in self.rows[first:]:
            row["compliant"] = facts["compliant"]
            row["hazards_flagged"] = flagged
            row["hazard_agrees"] = hazard_agrees(flagged, not row["vips_kept"])
        self.variants.append({"stack": stack, "lo": lo, "wall_s": round(time.monotonic() - t, 1),
                              "compliant": facts["compliant"], "hazards": facts.get("hazards", []),
                              "files": self.stack_files()})

    def play_role(self):
        """The role (ARP protection, the VIPs, the boot unit with realserver_netstack: auto), as users run it."""
        self.t.playbook("netstack-role", {"realserver_vips": VIPS, "realserver_netstack": "auto"})
        self.sh("systemctl is-active %s %s" % (VIP_UNIT, WATCH))
        self.role_played = True

    def apply_module(self, netstack="auto"):
        """boot_unit alone once the stack changed (the role played first when this stack runs alone)."""
        if not self.role_played:
            self.play_role()
        t = time.monotonic()
        result = self.t.adhoc("lvs.realserver.boot_unit", {"addresses": VIPS, "netstack": netstack})
        log("boot_unit netstack=%s: %.1f s, changed=%s, files=%s, netstack=%s" % (
            netstack, time.monotonic() - t, result.get("changed"), result.get("files"), result.get("netstack")))
        if result.get("failed"):
            raise GuestError("boot_unit failed: %s" % result.get("msg"))
        return result

    # ------------------------------------------------------------ the stacks
    def networkd(self):
        rs = self.t.names["rs"]
        # networkctl reload/reconfigure/renew talk to networkd over the system bus (masked in the image for boot time)
        self.sh("rm -f /etc/systemd/system/dbus.service /etc/systemd/system/dbus.socket; systemctl daemon-reload; "
                "systemctl start dbus.socket dbus.service; systemctl restart systemd-networkd; "
                "sed -i 's|^Address=192.0.2.21/24|DHCP=ipv4|' /etc/systemd/network/20-rs.network; "
                "ip addr flush dev %s; networkctl reload" % rs)
        self.wait_rs_address("networkctl reconfigure %s" % rs)
        self.play_role()
        ops = [("ip addr del (the watch alone, no stack)", "ip addr del %s/32 dev lo" % VIPS[0]),
               ("systemctl restart systemd-networkd", "systemctl restart systemd-networkd"),
               ("networkctl reload", "networkctl reload"),
               ("networkctl reconfigure rs", "networkctl reconfigure %s" % rs),
               ("DHCP renew (networkctl renew rs)", "networkctl renew %s" % rs)]
        self.variant("networkd", "unmanaged", ops, reboot=False)
        # lo managed: a .network that matches lo (as a catch-all or a lo file does)
        self.sh("printf '[Match]\\nName=lo\\n\\n[Network]\\nLinkLocalAddressing=no\\nIPv6AcceptRA=no\\n' "
                ">/etc/systemd/network/05-lo.network")
        # systemd 252 skips loopback when it drops foreign addresses: these keep the VIPs even without
        # cooperation (and arp_facts must not flag it); `networkctl down lo` (the kernel drops lo's IPv6
        # addresses when it goes down) loses them.
        self.control("networkd", "managed", "networkctl reload (lo .network added)", "networkctl reload")
        self.control("networkd", "managed", "networkctl reconfigure lo", "networkctl reconfigure lo")
        self.control("networkd", "managed", "networkctl down lo; networkctl up lo",
                     "networkctl down lo; networkctl up lo", judged=False)
        self.apply_module()
        ops = [("systemctl restart systemd-networkd", "systemctl restart systemd-networkd"),
               ("networkctl reload", "networkctl reload"),
               ("networkctl reconfigure lo", "networkctl reconfigure lo"),
               ("networkctl down lo; networkctl up lo", "networkctl down lo; networkctl up lo"),
               ("networkctl reconfigure rs", "networkctl reconfigure %s" % rs),
               ("DHCP renew (networkctl renew rs)", "networkctl renew %s" % rs)]
        self.variant("networkd", "managed", ops, reboot=True)

    def networkmanager(self):
        names = self.t.names
        self.sh(r"""
set -e
rm -f /etc/systemd/network/05-lo.network
systemctl disable systemd-networkd.service systemd-networkd.socket >/dev/null 2>&1
rm -f /etc/systemd/system/dbus.service /etc/systemd/system/dbus.socket
mkdir -p /etc/NetworkManager/conf.d /etc/NetworkManager/system-connections
printf '[keyfile]\nunmanaged-devices=mac:{lab};mac:{hot}\n' >/etc/NetworkManager/conf.d/90-lvsrb.conf
cat >/etc/NetworkManager/system-connections/mgmt.nmconnection <<EOF
[connection]
id=mgmt
type=ethernet
interface-name={mgmt}
[ipv4]
method=manual
address1=198.51.100.15/24
[ipv6]
method=disabled
EOF
chmod 0600 /etc/NetworkManager/system-connections/mgmt.nmconnection
systemctl enable NetworkManager.service >/dev/null 2>&1
""".format(lab=MAC["lab"], hot=MAC["hot"], mgmt=names["mgmt"]))
        self.reboot("networkmanager")
        self.wait_rs_address("nmcli device connect %s" % names["rs"])
        self.apply_module()
        rs_con = self.sh("nmcli -g GENERAL.CONNECTION device show %s" % names["rs"]).strip()
        lo_state = self.sh("nmcli -g GENERAL.STATE device show lo || true", check=False)
        log("NetworkManager: rs profile %r; lo %r" % (rs_con, getattr(lo_state, "stdout", lo_state)))
        con = "'%s'" % rs_con
        ops = [("systemctl restart NetworkManager", "systemctl restart NetworkManager"),
               ("nmcli general reload", "nmcli general reload"),
               ("nmcli connection reload", "nmcli connection reload"),
               ("nmcli connection down/up rs", "nmcli connection down %s; nmcli connection up %s" % (con, con)),
               ("nmcli device reapply rs", "nmcli device reapply %s" % names["rs"]),
               ("DHCP renew (lease renewal at T1)", DHCP_RENEWAL)]
        self.variant("networkmanager", "unmanaged", ops, reboot=False)
        self.sh("nmcli connection add type loopback ifname lo con-name lo ipv4.method manual "
                "ipv4.addresses 127.0.0.1/8 >/dev/null")
        self.control("networkmanager", "managed", "nmcli connection up lo", "nmcli connection up lo")
        self.apply_module()
        ops = [("nmcli connection up lo", "nmcli connection up lo"),
               ("nmcli device reapply lo", "nmcli device reapply lo"),
               ("nmcli connection down/up lo", "nmcli connection down lo; nmcli connection up lo"),
               ("systemctl restart NetworkManager", "systemctl restart NetworkManager"),
               ("nmcli connection down/up rs", "nmcli connection down %s; nmcli connection up %s" % (con, con))]
        self.variant("networkmanager", "managed", ops, reboot=True)

    def ifupdown(self):
        names = self.t.names
        self.sh(r"""
set -e
nmcli connection delete lo >/dev/null 2>&1 || true
systemctl disable NetworkManager.service systemd-networkd.service systemd-networkd.socket >/dev/null 2>&1 || true
systemctl enable networking.service >/dev/null 2>&1
cat >/etc/network/interfaces <<EOF
auto lo
iface lo inet loopback

auto {mgmt}
iface {mgmt} inet static
    address 198.51.100.15/24

allow-hotplug {rs}
iface {rs} inet dhcp
EOF
""".format(mgmt=names["mgmt"], rs=names["rs"]))
        self.reboot("ifupdown")
        rs = names["rs"]
        self.wait_rs_address("ifdown %s; ifup %s" % (rs, rs))
        # lo left alone first: no lo stanza (ifupdown then never touches lo)
        self.sh("cp /etc/network/interfaces /root/lvsrb-interfaces; "
                "sed -i '/^auto lo$/d; /^iface lo inet loopback$/d' /etc/network/interfaces")
        self.apply_module()
        ops = [("ifdown rs; ifup rs (DHCP)", "ifdown %s; ifup %s" % (rs, rs)),
               ("systemctl restart networking", "systemctl restart networking")]
        self.variant("ifupdown", "unmanaged", ops, reboot=False)
        # lo managed again, as at boot (ifupdown's state lists lo once `ifup lo` ran; the watch covers the ifup)
        self.sh("cp /root/lvsrb-interfaces /etc/network/interfaces; ifup lo; sleep 2")
        self.control("ifupdown", "managed", "ifdown lo; ifup lo", "ifdown lo; ifup lo")
        self.apply_module()
        ops = [("ifdown lo; ifup lo", "ifdown lo; ifup lo"),
               ("ifdown rs; ifup rs (DHCP)", "ifdown %s; ifup %s" % (rs, rs)),
               ("systemctl restart networking", "systemctl restart networking"),
               ("DHCP renew (dhclient)", "dhclient -1 -v %s" % rs)]
        self.variant("ifupdown", "managed", ops, reboot=True)

    def netplan(self):
        """netplan on networkd (Ubuntu's default): rs by DHCP, then lo listed (netplan renders a lo .network)."""
        names = self.t.names
        self.sh(NETPLAN_SETUP.format(mgmt_mac=MAC["mgmt"], rs_mac=MAC["rs"]))
        self.reboot("netplan")
        rs = names["rs"]
        self.wait_rs_address("networkctl renew %s" % rs)
        self.apply_module()
        ops = [("netplan apply", "netplan apply"),
               ("networkctl reconfigure rs", "networkctl reconfigure %s" % rs)]
        self.variant("netplan", "unmanaged", ops, reboot=False)
        self.sh(NETPLAN_LO.format(renderer="networkd"))
        self.control("netplan", "managed", "netplan apply (lo listed)", "netplan apply")
        self.apply_module()
        ops = [("netplan apply", "netplan apply"),
               ("networkctl reconfigure lo", "networkctl reconfigure lo"),
               ("systemctl restart systemd-networkd", "systemctl restart systemd-networkd")]
        self.variant("netplan", "managed", ops, reboot=True)

    def netplan_nm(self):
        """netplan rendering to NetworkManager: rs by DHCP, then lo listed (a loopback profile netplan applies)."""
        names = self.t.names
        self.sh(NETPLAN_NM_SETUP.format(mgmt_mac=MAC["mgmt"], rs_mac=MAC["rs"], lab_mac=MAC["lab"], hot_mac=MAC["hot"]))
        self.reboot("netplan_nm")
        rs = names["rs"]
        self.wait_rs_address("nmcli device connect %s" % rs)
        self.apply_module()
        profiles = self.sh("nmcli -t -f NAME,DEVICE connection show --active")
        log("netplan on NetworkManager: active profiles %r" % profiles)
        rs_con = "'%s'" % self.sh("nmcli -g GENERAL.CONNECTION device show %s" % rs).strip()
        ops = [("netplan apply", "netplan apply"),
               ("nmcli connection down/up rs", "nmcli connection down %s; nmcli connection up %s" % (rs_con, rs_con)),
               ("DHCP renew (lease renewal at T1)", DHCP_RENEWAL)]
        self.variant("netplan_nm", "unmanaged", ops, reboot=False)
        self.sh(NETPLAN_LO.format(renderer="NetworkManager") + "\nnetplan apply")
        log("netplan on NetworkManager, lo listed: %r" % self.sh(
            "nmcli -t -f NAME,TYPE,DEVICE connection show --active; ip -br addr show dev lo"))
        self.control("netplan_nm", "managed", "netplan apply (lo listed)", "netplan apply")
        self.apply_module()
        ops = [("netplan apply", "netplan apply"),
               ("nmcli connection up (netplan's lo profile)",
                "nmcli connection up \"$(nmcli -g GENERAL.CONNECTION device show lo)\""),
               ("systemctl restart NetworkManager", "systemctl restart NetworkManager")]
        self.variant("netplan_nm", "managed", ops, reboot=True)

    def run(self):
        t0 = time.monotonic()
        g = self.g
        with open(os.path.join(OUT, "netstack-journal.txt"), "w", encoding="utf-8"):
            pass
        g.start()
        try:
            log("netstack: booting the guest (%s)" % g.accel)
            g.wait_up(BOOT_TIMEOUT)
            self.t.write_inventory()
            self.install_netop()
            self.lab()
            for stack in os.environ.get("LVSRS_NETSTACK_STACKS", STACKS).split(","):
                t = time.monotonic()
                try:
                    getattr(self, stack)()
                except (GuestError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
                    log("netstack %s: ABORTED: %s" % (stack, str(exc)[-2000:]))
                    self.rows.append({"stack": stack, "operation": "(setup)", "vips_kept": False, "arp_safe": False,
                                      "error": str(exc)[-3000:]})
                log("netstack %s: %.1f s" % (stack, time.monotonic() - t))
        finally:
            self.save_journal("the last boot")
            g.stop()
        return {"rows": self.rows, "controls": self.controls, "variants": self.variants,
                "wall_s": round(time.monotonic() - t0, 1), "accel": g.accel,
                "load_average": open("/proc/loadavg", encoding="ascii").read().split()[:3]}


def summary_table(rows):
    lines = ["%-15s %-9s %-42s %-6s %-9s %-8s %-7s" % ("stack", "lo", "operation", "kept", "restore", "arp_safe",
                                                       "hazard")]
    for r in rows:
        lines.append("%-15s %-9s %-42s %-6s %-9s %-8s %-7s" % (
            r["stack"], r.get("lo", "-"), r["operation"][:42], r["vips_kept"],
            "-" if r.get("restore_s") is None else "%.3f" % r["restore_s"], r["arp_safe"], r.get("hazard_agrees")))
    return "\n".join(lines)


def main():
    # a stopped run (CI's timeout, ^C from a terminal) still stops its guest: SIGTERM unwinds through run()'s finally
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    image = guest_image()
    os.makedirs(OUT, exist_ok=True)
    with work_dir("lvsrb-ns-") as work:
        data = Netstack(image, work).run()
    with open(os.path.join(OUT, "netstack.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    report = os.path.join(OUT, "report.json")
    if os.path.exists(report):
        with open(report, encoding="utf-8") as f:
            merged = json.load(f)
        merged["netstack"] = data["rows"]
        merged["netstack_controls"] = data["controls"]
        with open(report, "w", encoding="utf-8") as f:
            json.dump(merged, f, indent=1, sort_keys=True)
    print(summary_table(data["rows"]), flush=True)
    log("netstack phase wall time %.1f s (%d operations, %d controls; load average %s)" % (
        data["wall_s"], len(data["rows"]), len(data["controls"]), " ".join(data["load_average"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
