# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""A converged real server, right after converge and again after a restart."""

import pytest

import checks


@pytest.mark.parametrize("check", checks.STATE_CHECKS, ids=lambda c: c.__name__[len("check_"):])
def test_state(host, cfg, healthy, check):
    try:
        check(host, cfg)
    except AssertionError:
        print(host.run("ip addr; systemctl status --no-pager %s; journalctl --no-pager -n 40 -u %s",
                       checks.UNIT, checks.UNIT).stdout)
        raise


def _show(host, unit, *props):
    out = host.check_output("systemctl show %s %s" % (" ".join("-p " + p for p in props), "%s"), unit)
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _pid1_start_epoch(host):
    """When this container's systemd started (host boot time + PID 1 start ticks)."""
    btime = int(next(l.split()[1] for l in host.file("/proc/stat").content_string.splitlines()
                     if l.startswith("btime ")))
    ticks = int(host.file("/proc/1/stat").content_string.rsplit(")", 1)[1].split()[19])
    hz = int(host.check_output("getconf CLK_TCK"))
    return btime + ticks / hz


def test_restart_was_a_real_boot(host, restarted):
    """systemd (PID 1) started after the side effect recorded the phase: a new boot."""
    marker_mtime = host.file(checks.PHASE_FILE).mtime.timestamp()
    assert _pid1_start_epoch(host) >= marker_mtime - 1


def test_vip_unit_started_after_sysctl_finished(host, restarted):
    """Boot order from the unit timestamps: systemd-sysctl was done before the VIP unit began."""
    sysctl = _show(host, "systemd-sysctl.service", "ActiveEnterTimestampMonotonic", "ExecMainExitTimestampMonotonic",
                   "Result")
    vips = _show(host, checks.UNIT, "InactiveExitTimestampMonotonic", "ExecMainStartTimestampMonotonic",
                 "ActiveEnterTimestampMonotonic", "Result")
    netpre = _show(host, "network-pre.target", "ActiveEnterTimestampMonotonic")
    print(sysctl, vips, netpre)
    assert sysctl["Result"] == "success" and vips["Result"] == "success"
    sysctl_done = int(sysctl["ActiveEnterTimestampMonotonic"])
    assert sysctl_done > 0 and int(sysctl["ExecMainExitTimestampMonotonic"]) <= sysctl_done
    # InactiveExit: the unit left "inactive", i.e. its ExecStartPre guard began.
    assert int(vips["InactiveExitTimestampMonotonic"]) >= sysctl_done
    assert int(vips["ExecMainStartTimestampMonotonic"]) >= sysctl_done
    # Before=network-pre.target: the VIPs were up before any network setup.
    if int(netpre["ActiveEnterTimestampMonotonic"]):
        assert int(vips["ActiveEnterTimestampMonotonic"]) <= int(netpre["ActiveEnterTimestampMonotonic"])


def test_guard_passed_this_boot(host, cfg, restarted):
    """This boot's start of the unit: guard ok, then one `ip addr replace` per VIP."""
    journal = checks.unit_journal(host)
    print(journal)
    assert "guard ok: ARP protection in effect" in journal
    for vip in cfg["vips"]:
        assert "addr replace %s/%d dev %s" % (vip.ip, vip.network.prefixlen, cfg["realserver_vip_device"]) in journal
    assert "REFUSED" not in journal


def test_machine_sysctls_read_only_inside(host):
    """The sysctl guard (tests/images/sysctl-guard.sh) runs as PID 1 before systemd: the machine's own keys
    cannot be written from the container (a write of each key's own value, which changes nothing),
    while net.* of the container's namespace can."""
    write_back = "v=$(cat /proc/sys/%s) && echo \"$v\" > /proc/sys/%s"
    for path in ("fs/nr_open", "fs/file-max", "kernel/core_pattern", "vm/max_map_count"):
        res = host.run(write_back % (path, path))
        assert res.rc != 0 and "Read-only file system" in res.stderr, (path, res.rc, res.stderr)
    res = host.run(write_back % ("net/ipv4/conf/lo/arp_ignore", "net/ipv4/conf/lo/arp_ignore"))
    assert res.rc == 0, res.stderr
