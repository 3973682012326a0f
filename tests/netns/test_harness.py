# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Self-tests of the netns lab: it must observe the real ARP problem and keep
every "host" on its own private sysctl.d tree."""

import json
import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from real_tier import unavailable

from lab import (CL_IP, CL_IP6, IFNAMSIZ_MAX, P2_IP, RESET_KEYS, RS_IP, RS_IP6, RUN_PREFIX,
                 VIP, Lab, arp_probe, arp_probe_macs, arp_sender_for_traffic, etc_dir,
                 iso_dir, load_sysctl_config, ns_exec, ns_sysctl, ns_sysctl_get, private_path,
                 run_module, sweep_prefix, tool_missing_reason, vendor_sysctl_dir)


def _host_sysctl(key):
    # Reading the machine's value (never written by the lab).
    return Path("/proc/sys", *key.split(".")).read_text().strip()


# --------------------------------------------------------------------------
# topology
# --------------------------------------------------------------------------

def test_topology_names_and_reset(make_topology):
    t = make_topology(second_nic=True)
    assert len(t.namespaces) == 3
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    for ns in t.namespaces:
        assert ns.startswith(RUN_PREFIX) and ns in out
        assert etc_dir(ns).is_dir()
        for dev in ("all", "default", "lo"):
            for k in RESET_KEYS:
                assert ns_sysctl_get(ns, f"net.ipv4.conf.{dev}.{k}") == "0", (ns, dev, k)
        links = json.loads(ns_exec(ns, ["ip", "-j", "link"], isolate_sysctl_dirs=False).stdout)
        assert all(len(link["ifname"]) <= IFNAMSIZ_MAX for link in links)
        assert any(link["ifname"] == "lo" and "UP" in link["flags"] for link in links)
    rs_links = {link["ifname"] for link in json.loads(
        ns_exec(t.rs, ["ip", "-j", "link"], isolate_sysctl_dirs=False).stdout)}
    assert {"lo", "eth0", "eth1"} <= rs_links
    # Nothing of ours appears in the machine's own namespace.
    host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    assert RUN_PREFIX not in host_links


def _leftovers(prefix):
    nets = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    found = [ln.split()[0] for ln in nets.splitlines() if ln.startswith(prefix)]
    if os.path.isdir("/etc/netns"):
        found += [d for d in os.listdir("/etc/netns") if d.startswith(prefix)]
    return found


def test_cleanup_and_sweep_remove_everything_by_name():
    a = Lab()
    a.topology(second_nic=True, bridge=True)
    assert len(_leftovers(a.prefix)) == 3 + 3 + 3    # netns, /etc/netns/<ns>, <ns>.iso
    assert a.cleanup() == []
    assert _leftovers(a.prefix) == []

    b = Lab()                                        # "crashed": no cleanup()
    t = b.topology()
    straggler = subprocess.Popen(["ip", "netns", "exec", t.rs, "sleep", "30"])
    assert _leftovers(b.prefix)
    deadline = time.monotonic() + 5
    while not subprocess.run(["ip", "netns", "pids", t.rs], capture_output=True,
                             text=True, check=False).stdout.strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    removed = sweep_prefix(b.prefix)
    assert straggler.wait(timeout=5) == -9           # killed by pid, as ours
    assert any(t.rs in r for r in removed)
    assert _leftovers(b.prefix) == []
    assert not iso_dir(t.rs).exists()


def test_ipv6_option(make_topology):
    reason = tool_missing_reason("ndisc6")
    if reason:
        unavailable(reason)
    t = make_topology(ipv6=True)
    out = ns_exec(t.cl, ["ndisc6", "-1", "-r1", "-w500", RS_IP6, t.cl_if],
                  isolate_sysctl_dirs=False).stdout
    assert t.rs_mac.upper() in out.upper()
    assert CL_IP6 in ns_exec(t.cl, ["ip", "-6", "addr"], isolate_sysctl_dirs=False).stdout


# --------------------------------------------------------------------------
# the ARP problem, observed with real traffic
# --------------------------------------------------------------------------

def test_vip_on_lo_is_answered_by_default(topo, arp_tools):
    topo.add_vip(VIP)
    assert arp_probe(topo.cl, topo.cl_if, VIP, CL_IP) == ("REPLY", topo.rs_mac)


def test_arp_ignore_1_hides_vip_but_not_rip(topo, arp_tools):
    host_before = _host_sysctl("net.ipv4.conf.all.arp_ignore")
    topo.add_vip(VIP)
    ns_sysctl(topo.rs, {"net.ipv4.conf.all.arp_ignore": 1})
    assert arp_probe(topo.cl, topo.cl_if, VIP, CL_IP) == ("NOREPLY", None)
    assert arp_probe(topo.cl, topo.cl_if, RS_IP, CL_IP) == ("REPLY", topo.rs_mac)
    assert _host_sysctl("net.ipv4.conf.all.arp_ignore") == host_before


@pytest.mark.parametrize("announce,expected", [(0, VIP), (2, RS_IP)])
def test_arp_announce_decides_the_arp_sender(topo, arp_tools, announce, expected):
    topo.add_vip(VIP)
    ns_sysctl(topo.rs, {"net.ipv4.conf.all.arp_announce": announce})
    assert arp_sender_for_traffic(topo.rs, topo.cl, VIP, CL_IP) == expected


def test_second_nic_answers_when_only_eth0_is_protected(make_topology, arp_tools):
    t = make_topology(second_nic=True)
    t.add_vip(VIP)
    ns_sysctl(t.rs, {"net.ipv4.conf.eth0.arp_ignore": 1})
    assert arp_probe(t.cl, t.cl_if, VIP, CL_IP) == ("NOREPLY", None)
    assert arp_probe(t.p2, t.p2_if, VIP, P2_IP) == ("REPLY", t.rs_mac2)


def test_bridge_port_value_does_not_count(make_topology, arp_tools):
    t = make_topology(bridge=True)
    assert t.rs_addr_if == "br0"
    t.add_vip(VIP)
    ns_sysctl(t.rs, {"net.ipv4.conf.eth0.arp_ignore": 1})
    assert arp_probe_macs(t.cl, t.cl_if, VIP, CL_IP) == [t.rs_mac]
    ns_sysctl(t.rs, {"net.ipv4.conf.br0.arp_ignore": 1})
    assert arp_probe(t.cl, t.cl_if, VIP, CL_IP) == ("NOREPLY", None)


# --------------------------------------------------------------------------
# private sysctl.d tree per "host"
# --------------------------------------------------------------------------

def test_private_sysctl_dirs(lab):
    ns = lab.add_netns("h")
    (vendor_sysctl_dir(ns) / "50-default.conf").write_text(
        "net.ipv4.conf.all.arp_ignore = 1\n")
    host_etc = set(os.listdir("/etc/sysctl.d"))
    host_run_exists = os.path.exists("/run/sysctl.d")

    script = textwrap.dedent("""\
        set -e
        echo 'net.ipv4.conf.all.arp_announce = 2' > /etc/sysctl.d/90-lab.conf
        echo 'net.ipv4.conf.default.arp_announce = 2' > /run/sysctl.d/91-lab.conf
        for d in /etc/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d /usr/local/lib/sysctl.d /run/sysctl.d; do
            echo "$d: $(ls -A $d | tr '\\n' ' ')"
        done
        echo "sysctl.conf: $(wc -c < /etc/sysctl.conf)"
        """)
    out = ns_exec(ns, ["sh", "-c", script]).stdout.splitlines()
    seen = {line.split(":")[0]: line.split(":", 1)[1].split() for line in out}
    assert seen["/etc/sysctl.d"] == ["90-lab.conf"]
    assert seen["/usr/lib/sysctl.d"] == ["50-default.conf"]
    assert seen["/lib/sysctl.d"] == ["50-default.conf"]
    assert seen["/usr/local/lib/sysctl.d"] == []
    assert seen["/run/sysctl.d"] == ["91-lab.conf"]
    assert seen["sysctl.conf"] == ["0"]

    # the writes landed in the namespace's private tree, not on the machine
    assert (etc_dir(ns) / "sysctl.d" / "90-lab.conf").is_file()
    assert private_path(ns, "/run/sysctl.d/91-lab.conf").is_file()
    assert set(os.listdir("/etc/sysctl.d")) == host_etc
    assert os.path.exists("/run/sysctl.d") == host_run_exists

    # boot-time loading applies exactly the private files, inside the netns only
    host_before = {k: _host_sysctl(k) for k in (
        "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce")}
    load_sysctl_config(ns)
    assert ns_sysctl_get(ns, "net.ipv4.conf.all.arp_ignore") == "1"
    assert ns_sysctl_get(ns, "net.ipv4.conf.all.arp_announce") == "2"
    assert ns_sysctl_get(ns, "net.ipv4.conf.default.arp_announce") == "2"
    assert {k: _host_sysctl(k) for k in host_before} == host_before


def test_guard_refuses_non_net_settings(lab):
    ns = lab.add_netns("g")
    (vendor_sysctl_dir(ns) / "50-pid-max.conf").write_text("kernel.pid_max = 4194304\n")
    p = load_sysctl_config(ns, check=False)
    assert p.returncode == 124 and "lvst-guard" in p.stderr


def test_without_isolation_only_etc_is_private(lab):
    ns = lab.add_netns("n")
    out = ns_exec(ns, ["ls", "-A", "/etc/sysctl.d", "/usr/lib/sysctl.d"],
                  isolate_sysctl_dirs=False).stdout
    assert sorted(os.listdir("/usr/lib/sysctl.d")) == sorted(
        out.split("/usr/lib/sysctl.d:")[1].split())
    assert out.split("/usr/lib/sysctl.d:")[0].split() == ["/etc/sysctl.d:"]


# --------------------------------------------------------------------------
# running Ansible modules inside a "host"
# --------------------------------------------------------------------------

THROWAWAY_MODULE = '''\
from ansible.module_utils.basic import AnsibleModule


def main():
    m = AnsibleModule(argument_spec=dict(key=dict(type="str", required=True),
                                         path=dict(type="path", required=True)),
                      supports_check_mode=True)
    key, path = m.params["key"], m.params["path"]
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        live = f.read().strip()
    content = "%s = %s\\n" % (key, live)
    try:
        with open(path) as f:
            before = f.read()
    except FileNotFoundError:
        before = ""
    changed = before != content
    if changed and not m.check_mode:
        with open(path, "w") as f:
            f.write(content)
    res = dict(changed=changed, live=live, check=m.check_mode)
    if m._diff:
        res["diff"] = dict(before=before, after=content)
    m.exit_json(**res)


if __name__ == "__main__":
    main()
'''


@pytest.fixture
def throwaway_collection(tmp_path):
    root = tmp_path / "ansible_collections" / "lvs" / "realserver"
    (root / "plugins" / "modules").mkdir(parents=True)
    (root / "plugins" / "modules" / "labprobe.py").write_text(THROWAWAY_MODULE)
    return root


@pytest.mark.parametrize("method", ["direct", "ansible"])
def test_run_module_throwaway(lab, lvs_python, throwaway_collection, method):
    ns = lab.add_netns("m")
    ns_sysctl(ns, {"net.ipv4.conf.all.arp_ignore": 1})     # differs from a fresh netns
    args = {"key": "net.ipv4.conf.all.arp_ignore", "path": "/etc/sysctl.d/60-probe.conf"}
    target = private_path(ns, "/etc/sysctl.d/60-probe.conf")

    r = run_module(ns, "lvs.realserver.labprobe", args, check=True, diff=True,
                   method=method, collection_root=throwaway_collection)
    assert r.rc == 0, r.stderr
    assert r["changed"] is True and r["check"] is True and r["live"] == "1"
    assert r["diff"]["after"] == "net.ipv4.conf.all.arp_ignore = 1\n"
    assert not target.exists()

    r = run_module(ns, "lvs.realserver.labprobe", args, method=method,
                   collection_root=throwaway_collection)
    assert r["changed"] is True and r["check"] is False and "diff" not in r
    assert target.read_text() == "net.ipv4.conf.all.arp_ignore = 1\n"
    assert not Path("/etc/sysctl.d/60-probe.conf").exists()

    r = run_module(ns, "lvs.realserver.labprobe", args, method=method,
                   collection_root=throwaway_collection)
    assert r["changed"] is False

    r = run_module(ns, "lvs.realserver.labprobe", {"key": "net.ipv4.conf.all.arp_ignore"},
                   method=method, collection_root=throwaway_collection)
    assert r.get("failed") is True and "path" in r["msg"]


def test_run_module_builtin_ping(lab, lvs_python):
    ns = lab.add_netns("p")
    r = run_module(ns, "ansible.builtin.ping", {}, method="ansible")
    assert r.rc == 0 and r["ping"] == "pong", (r, r.stderr)
