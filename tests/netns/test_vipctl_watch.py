"""The controller's ``watch`` mode for real: installed as boot_unit installs it, run by the system python in a
real-server namespace, against the kernel's own rtnetlink events (issue 14).

What a network stack does to lo (an address removed, a flush, the link bounced) is done here with ``ip``;
the watch must put the VIPs back within 2 s, and never while the guard fails (the negative control)."""

import json
import os
import subprocess
import time
from pathlib import Path

from lab import VIP, ns_argv, ns_exec, ns_sysctl, run_tmpdir
from test_vipctl import SYSTEM_PYTHON, VIP6, install, lo_addresses

RESTORE_LIMIT = 2.0
PROTECTED = {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2}
OURS = [VIP + "/32", VIP6 + "/128"]


def ip(ns, *argv):
    return ns_exec(ns, ["ip"] + list(argv), isolate_sysctl_dirs=False)


def start_watch(ns, cli, data, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen(
        ns_argv(ns, [SYSTEM_PYTHON, "-I", "-B", str(cli), "watch", "--data", str(data)], False),
        stdout=log, stderr=subprocess.STDOUT, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, cwd="/")
    log.close()
    deadline = time.monotonic() + 30
    while "watching" not in Path(log_path).read_text():
        assert proc.poll() is None, Path(log_path).read_text()
        assert time.monotonic() < deadline, "the watch did not start: " + Path(log_path).read_text()
        time.sleep(0.05)
    return proc


def stop_watch(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_for(ns, predicate, limit):
    """Seconds until ``predicate(lo addresses)`` holds, or None after ``limit`` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if predicate(lo_addresses(ns)):
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def has_ours(addresses):
    return all(a in addresses for a in OURS)


def test_watch_restores_removed_vips_within_2s_and_never_while_the_guard_fails(topo):
    tmp = Path(os.path.realpath(run_tmpdir())) / "vipctl-watch"
    tmp.mkdir()
    cli, data = install(tmp, [VIP, VIP6])
    ns_sysctl(topo.rs, PROTECTED)
    ip(topo.rs, "addr", "add", VIP + "/32", "dev", "lo", "scope", "host", "label", "lo:lvs")
    ip(topo.rs, "addr", "add", VIP6 + "/128", "dev", "lo")

    # Without the watch (the control that the check can fail): a removed VIP stays removed.
    ip(topo.rs, "addr", "del", VIP + "/32", "dev", "lo")
    assert wait_for(topo.rs, has_ours, 2.5) is None
    ip(topo.rs, "addr", "add", VIP + "/32", "dev", "lo", "scope", "host", "label", "lo:lvs")

    log_path = tmp / "watch.log"
    proc = start_watch(topo.rs, cli, data, log_path)
    times = {}
    try:
        # what networkd/NM do to foreign addresses: one deleted, then both
        ip(topo.rs, "addr", "del", VIP + "/32", "dev", "lo")
        times["del_ipv4"] = wait_for(topo.rs, has_ours, RESTORE_LIMIT)
        ip(topo.rs, "addr", "del", VIP + "/32", "dev", "lo")
        ip(topo.rs, "addr", "del", VIP6 + "/128", "dev", "lo")
        times["del_both"] = wait_for(topo.rs, has_ours, RESTORE_LIMIT)
        # lo bounced (ifdown/ifup, nmcli down/up): the kernel drops the IPv6 addresses on down
        ip(topo.rs, "link", "set", "lo", "down")
        ip(topo.rs, "link", "set", "lo", "up")
        times["lo_down_up"] = wait_for(topo.rs, has_ours, RESTORE_LIMIT)
        # lo flushed whole (netplan apply with lo rendered to NetworkManager): its own addresses come back too
        ip(topo.rs, "addr", "flush", "dev", "lo")
        times["flush_lo"] = wait_for(topo.rs, lambda a: has_ours(a) and "127.0.0.1/8" in a and "::1/128" in a,
                                     RESTORE_LIMIT)
        assert all(t is not None for t in times.values()), (times, log_path.read_text())
        addresses = lo_addresses(topo.rs)
        assert "127.0.0.1/8" in addresses
        v4 = json.loads(ip(topo.rs, "-j", "addr", "show", "dev", "lo").stdout)[0]["addr_info"]
        ours = [a for a in v4 if a["local"] == VIP][0]
        assert ours["scope"] == "host" and ours.get("label") == "lo:lvs"  # re-added as the unit adds it

        # Negative control: ARP protection not in effect -> the VIP removed stays removed.
        ns_sysctl(topo.rs, {"net.ipv4.conf.all.arp_ignore": 0})
        ip(topo.rs, "addr", "del", VIP + "/32", "dev", "lo")
        assert wait_for(topo.rs, lambda a: VIP + "/32" in a, 3.0) is None, log_path.read_text()
        assert "REFUSED: eth0 arp_ignore: effective 0" in log_path.read_text()
        assert "not re-added: ARP protection is not in effect" in log_path.read_text()
        assert VIP6 + "/128" in lo_addresses(topo.rs)  # (the IPv6 VIP never went: nothing to re-add)

        # Protection back: the next event on lo brings the VIP back.
        ns_sysctl(topo.rs, PROTECTED)
        ip(topo.rs, "addr", "add", "203.0.113.250/32", "dev", "lo")
        ip(topo.rs, "addr", "del", "203.0.113.250/32", "dev", "lo")
        times["after_fix"] = wait_for(topo.rs, has_ours, RESTORE_LIMIT)
        assert times["after_fix"] is not None, log_path.read_text()

        # A VIP the data file no longer lists (a playbook removed it) is not brought back.
        data.write_text(json.dumps({"addresses": [VIP6], "device": "lo", "scope": "host",
                                    "label": "lo:lvs", "mode": "dr"}))
        ip(topo.rs, "addr", "del", VIP + "/32", "dev", "lo")
        assert wait_for(topo.rs, lambda a: VIP + "/32" in a, 2.0) is None
        assert proc.poll() is None, log_path.read_text()
    finally:
        stop_watch(proc)
    print("watch restore times (s): %s" % json.dumps(dict((k, round(v, 3)) for k, v in times.items())))
    assert max(times.values()) < RESTORE_LIMIT
