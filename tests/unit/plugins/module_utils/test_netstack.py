# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_netstack: stack detection from host evidence, the files per stack, the watch unit's systemctl plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import subprocess
import sys

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _hazards as hazards
from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack as ns
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_config as netstack_config
from ansible_collections.lvs.realserver.plugins.module_utils import _netstack_paths as netstack_paths
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

PY, CLI = "/usr/bin/python3", "/usr/libexec/lvs-realserver/lvs-realserver-vips"
NETPLAN_LO = sysctl_d.ConfigFile("/etc/netplan", "01-lo.yaml", False, "network:\n  ethernets:\n    lo: {}\n")


def exists_of(*paths):
    return lambda path: path in paths


@pytest.mark.parametrize("paths, netplan, expected", [
    ((), [], []),
    (("/run/NetworkManager",), [], ["networkmanager"]),
    (("/etc/systemd/system/multi-user.target.wants/systemd-networkd.service",), [], ["networkd"]),
    (("/run/systemd/netif/state", "/usr/sbin/netplan"), [NETPLAN_LO], ["networkd", "netplan"]),
    (("/usr/sbin/netplan",), [], []),  # netplan installed without a YAML file: not in use
    (("/run/network/ifstate",), [NETPLAN_LO], ["ifupdown"]),  # a YAML file without netplan
])
def test_detect(paths, netplan, expected):
    assert ns.detect(exists_of(*paths), netplan) == expected


def test_chosen_follows_the_override():
    assert ns.chosen("auto", ["networkd"]) == ["networkd"]
    assert ns.chosen("none", ["networkd"]) == []
    assert ns.chosen("ifupdown", ["networkd"]) == ["ifupdown"]


def net(name, text, directory="/etc/systemd/network"):
    return sysctl_d.ConfigFile(directory, name, False, text)


def test_lo_networks_takes_the_first_matching_file_only_and_ignores_our_dropin():
    files = [net("10-rs.network", "[Match]\nName=rs\n"), net("20-lo.network", "[Match]\nName=lo\n"),
             net("99-all.network", "[Match]\nName=*\n[Network]\nDHCP=yes\n"),
             net("10-netplan-lo.network", "[Match]\nName=lo\n", "/run/systemd/network")]
    ours = netstack_paths.DropIn("10-netplan-lo.network", "/etc/systemd/network/10-netplan-lo.network.d",
                                 ns.NETWORKD_DROPIN, False, "[Match]\nName=rs\n")
    assert ns.lo_networks(files, [ours]) == [("/run/systemd/network", "10-netplan-lo.network")]
    assert ns.lo_networks([files[0]], []) == []
    assert ns.lo_networks([files[0], files[2]], []) == [("/etc/systemd/network", "99-all.network")]


def test_desired_files_per_stack():
    lo_net = [("/run/systemd/network", "10-netplan-lo.network")]
    assert ns.desired_files([], PY, CLI, "lo", lo_net, True) == {}
    watch_only = ns.desired_files(["networkd"], PY, CLI, "lo", [], False)
    assert sorted(watch_only) == [ns.WATCH_UNIT_PATH]
    networkd = ns.desired_files(["netplan"], PY, CLI, "lo", lo_net, False)
    dropin = "/etc/systemd/network/10-netplan-lo.network.d/90-lvs-realserver.conf"
    assert sorted(networkd) == [dropin, ns.WATCH_UNIT_PATH]
    assert "KeepConfiguration=static" in networkd[dropin][0].splitlines()
    nm = ns.desired_files(["networkmanager"], PY, CLI, "lo", lo_net, True)
    assert sorted(nm) == [ns.NM_DISPATCHER_PATH, ns.WATCH_UNIT_PATH]
    text, mode = nm[ns.NM_DISPATCHER_PATH]
    assert mode == 0o755 and text.startswith("#!/bin/sh\n" + ns.MANAGED_HEADER)
    assert "exec %s -I -S -B %s start" % (PY, CLI) in text
    # only where the watch is not running (its pid file names a live watch): tried before any systemctl
    watch_check = [n for n, line in enumerate(text.splitlines()) if _host_state.WATCH_PID in line]
    systemctl = [n for n, line in enumerate(text.splitlines()) if line.startswith("systemctl")]
    assert watch_check and watch_check[0] < systemctl[0]
    ifupdown = ns.desired_files(["ifupdown"], PY, CLI, "lo", [], False)
    assert 'case "$IFACE" in lo|--all)' in ifupdown[ns.IFUPDOWN_HOOK_PATH][0]
    assert ns.IFUPDOWN_HOOK_PATH not in ns.desired_files(["ifupdown"], PY, CLI, "tunl0", [], False)


def test_watch_unit_is_bound_to_the_vip_unit_and_runs_the_watch():
    lines = ns.render_watch_unit(PY, CLI).splitlines()
    assert "After=lvs-realserver-vips.service" in lines and "BindsTo=lvs-realserver-vips.service" in lines
    assert "PartOf=lvs-realserver-vips.service" in lines
    assert "ExecStart=%s -I -S -B %s watch" % (PY, CLI) in lines
    assert "Restart=on-failure" in lines
    assert "Nice=-10" in lines  # ahead of the busy stack that removed the VIPs


def test_installed_dropins_finds_only_ours():
    listing = {"10-lo.network.d": ["90-lvs-realserver.conf", "50-admin.conf"], "20-rs.network.d": ["50-admin.conf"],
               "other.d": ["90-lvs-realserver.conf"]}
    assert ns.installed_dropins(listing) == ["/etc/systemd/network/10-lo.network.d/90-lvs-realserver.conf"]


@pytest.mark.parametrize("args, verbs", [
    ((True, True, True, False, False), [["enable", ns.WATCH_UNIT], ["start", ns.WATCH_UNIT]]),
    ((True, False, True, True, True), []),
    ((True, True, True, True, True), [["restart", ns.WATCH_UNIT]]),
    ((True, True, False, False, False), [["enable", ns.WATCH_UNIT]]),
    ((False, False, True, True, True), [["stop", ns.WATCH_UNIT], ["disable", ns.WATCH_UNIT]]),
    ((False, False, True, False, False), []),
])
def test_watch_plan(args, verbs):
    assert boot.companion_plan(ns.WATCH_UNIT, *args) == verbs


def test_a_lo_hazard_is_info_while_the_watch_runs():
    found = [hazards.hazard("networkmanager_loopback_profile", "NM owns lo", "delete it")]
    assert netstack_config.watched_hazard(found, False) == found
    downgraded = netstack_config.watched_hazard(found, True)
    assert downgraded[0]["severity"] == "info" and "lvs-realserver-watch.service is running" in downgraded[0]["message"]
    assert found[0]["severity"] == "warning"  # not changed in place


def test_watch_running_needs_a_live_watch_process(tmp_path):
    from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
    assert not _host_state.watch_running(str(tmp_path))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "lvs-realserver-watch.pid").write_text("4242\n")
    assert not _host_state.watch_running(str(tmp_path))  # no such process
    proc = tmp_path / "proc" / "4242"
    proc.mkdir(parents=True)
    (proc / "cmdline").write_bytes(b"/usr/bin/python3\0-I\0/usr/libexec/lvs-realserver/lvs-realserver-vips\0start\0")
    assert not _host_state.watch_running(str(tmp_path))  # the pid was reused by another command
    (proc / "cmdline").write_bytes(b"/usr/bin/python3\0-I\0/usr/libexec/lvs-realserver/lvs-realserver-vips\0watch\0")
    assert _host_state.watch_running(str(tmp_path))


def test_networkd_on_lo_is_a_hazard_only_before_systemd_229():
    lo_net = [sysctl_d.ConfigFile("/etc/systemd/network", "05-lo.network", False, "[Match]\nName=lo\n")]
    vips = [{"local": "192.0.2.10"}]
    assert netstack_config.networkd_hazards(lo_net, [], vips)[0]["severity"] == "warning"  # version unknown
    assert netstack_config.networkd_hazards(lo_net, [], vips, 228)[0]["severity"] == "warning"  # the v228 regression
    kept = netstack_config.networkd_hazards(lo_net, [], vips, 252)[0]
    assert kept["severity"] == "info" and "systemd 252 never drops foreign addresses on loopback" in kept["message"]


def test_systemd_version_from_the_shared_library(tmp_path):
    from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
    assert _host_state.systemd_version(str(tmp_path)) is None
    (tmp_path / "usr/lib/x86_64-linux-gnu/systemd").mkdir(parents=True)
    (tmp_path / "usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-255.4-1ubuntu8.so").write_text("")
    assert _host_state.systemd_version(str(tmp_path)) == 255
    (tmp_path / "usr/lib/systemd").mkdir(parents=True)
    (tmp_path / "usr/lib/systemd/libsystemd-shared-252.so").write_text("")
    assert _host_state.systemd_version(str(tmp_path)) == 252


def test_ifupdown_lo_stanza_is_a_hazard():
    interfaces = sysctl_d.ConfigFile("/etc/network", "interfaces", False,
                                     "source /etc/network/interfaces.d/*\n# iface lo inet loopback\nauto lo\n"
                                     "iface lo inet loopback\n")
    found = netstack_config.ifupdown_hazards([interfaces])
    assert [(h["code"], h["line"], h["severity"]) for h in found] == [("ifupdown_manages_lo", 4, "warning")]
    assert netstack_config.ifupdown_hazards([sysctl_d.ConfigFile("/etc/network", "interfaces", False, "auto eth0\n")]) == []


@pytest.mark.parametrize("text, version, severity", [
    ("network:\n  ethernets:\n    lo:\n      addresses: [127.0.0.1/8]\n", 252, "info"),  # networkd by default
    ("network:\n  ethernets:\n    lo:\n      addresses: [127.0.0.1/8]\n", None, "warning"),  # version unknown
    ("network:\n  renderer: NetworkManager\n  ethernets:\n    lo:\n      addresses: [127.0.0.1/8]\n", 252, "warning"),
    ("network:\n  ethernets:\n    renderer: NetworkManager\n    lo: {}\n", 252, "warning"),
    ("network:\n  ethernets:\n    lo:\n      renderer: NetworkManager\n", 252, "warning"),
])
def test_netplan_lo_is_a_hazard_where_the_renderer_drops_the_vips(text, version, severity):
    found = netstack_config.netplan_hazards([sysctl_d.ConfigFile("/etc/netplan", "60-lo.yaml", False, text)], version)
    assert [(h["code"], h["severity"]) for h in found] == [("netplan_lists_lo", severity)]


def test_netplan_renderer_is_global_across_files():
    files = [sysctl_d.ConfigFile("/etc/netplan", "50-main.yaml", False, "network:\n  renderer: NetworkManager\n"),
             sysctl_d.ConfigFile("/etc/netplan", "60-lo.yaml", False, "network:\n  ethernets:\n    lo: {}\n")]
    assert netstack_config.netplan_hazards(files, 252)[0]["severity"] == "warning"


@pytest.mark.parametrize("argv, steps_aside", [(["watch"], True), (["start"], False), (None, False)])
def test_the_hook_steps_aside_only_for_a_live_watch(tmp_path, argv, steps_aside):
    """Run the rendered hook under /bin/sh: a pid file naming a live ``... watch`` process ends it before systemctl."""
    pid_file = tmp_path / "watch.pid"
    script = ns.render_nm_dispatcher(PY, CLI).replace(_host_state.WATCH_PID, str(pid_file))
    script = script.replace("/etc/lvs-realserver/vips.json", str(pid_file.parent))
    script = re.sub(r"(?m)^systemctl .*$", "echo PAST-THE-WATCH-CHECK; exit 0", script)
    hook = tmp_path / "hook"
    hook.write_text(script)
    proc = None
    if argv:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"] + argv)
        pid_file.write_text("%d\n" % proc.pid)
    try:
        out = subprocess.run(["/bin/sh", str(hook), "lo", "up"], capture_output=True, text=True, check=True).stdout
    finally:
        if proc:
            proc.kill()
            proc.wait()
    assert ("PAST-THE-WATCH-CHECK" not in out) is steps_aside
