"""lvs.realserver.loopback_vip on a real kernel: a real server netns with a client on a veth.

What the wire must show:
* protection off: the module refuses and no VIP appears;
* protection on: the VIP is added, the client's ARP request for it gets no
  reply, a TCP connection to the VIP sent to the real server's MAC (as a
  director forwards it) is accepted, and the real server's own ARP requests
  carry its RIP, not the VIP;
* absent removes only the VIP; 127.0.0.1 and ::1 survive everything;
* negative control: all.arp_ignore=1 but eth0.arp_ignore=4 is refused, and a
  VIP added by hand in that state IS answered on the wire.
"""

import json
import subprocess
import time

import pytest

from lab import (CL_IP, RS_IP, RS_IP6, SYSTEM_PYTHON, VIP, VIP6, arp_probe, arp_sender_for_traffic,
                 ns_argv, ns_exec, ns_sysctl, run_module, run_tmpdir, tool_missing_reason)

pytestmark = pytest.mark.usefixtures("lvs_python")

MODULE = "lvs.realserver.loopback_vip"
PROTECT = {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2}
PORT = 8080
LOOPBACK = {"127.0.0.1/8", "::1/128"}

# connect to VIP:PORT, send one HTTP request, print "<peer> <status line>"
_CLIENT = (
    "import socket,sys\n"
    "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)\n"
    "s.sendall(b'GET / HTTP/1.0\\r\\nHost: vip\\r\\n\\r\\n')\n"
    "d=s.recv(200)\n"
    "print(s.getpeername()[0], d.split(b'\\r\\n')[0].decode())\n"
)


def lo(ns):
    """{"addr/len": entry} of lo, as ip -j shows it."""
    out = ns_exec(ns, ["ip", "-j", "addr", "show", "dev", "lo"], isolate_sysctl_dirs=False).stdout
    return dict(("%s/%s" % (a["local"], a["prefixlen"]), a) for a in json.loads(out)[0]["addr_info"])


def assert_loopback_intact(ns):
    entries = lo(ns)
    assert LOOPBACK <= set(entries), entries
    assert entries["127.0.0.1/8"]["label"] == "lo"


def tcp_to_vip(topo):
    """A director's view: frames for the VIP go to the real server's MAC. Returns the client's output."""
    ns_exec(topo.cl, ["ip", "neigh", "replace", VIP, "lladdr", topo.rs_mac, "dev", topo.cl_if, "nud", "permanent"],
            isolate_sysctl_dirs=False)
    docroot = run_tmpdir() / ("www-" + topo.rs)
    docroot.mkdir(exist_ok=True)
    server = subprocess.Popen(
        ns_argv(topo.rs, [SYSTEM_PYTHON, "-I", "-m", "http.server", "--bind", VIP, "--directory", str(docroot),
                          str(PORT)], isolate_sysctl_dirs=False),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            p = ns_exec(topo.cl, [SYSTEM_PYTHON, "-I", "-c", _CLIENT, VIP, str(PORT)], isolate_sysctl_dirs=False,
                        check=False, timeout=10, cwd="/")
            if p.returncode == 0 or time.monotonic() > deadline or server.poll() is not None:
                return p
            time.sleep(0.2)
    finally:
        server.terminate()          # only the listener we started, by its pid
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        ns_exec(topo.cl, ["ip", "neigh", "del", VIP, "dev", topo.cl_if], isolate_sysctl_dirs=False, check=False)


def test_refused_without_arp_protection_and_no_vip_appears(topo, arp_tools):
    before = lo(topo.rs)
    for check in (True, False):
        result = run_module(topo.rs, MODULE, {"addresses": [VIP]}, check=check)
        assert result.status == "failed", result
        assert result["changed"] is False and result["added"] == []
        assert result["guard"]["verdict"] == "fail"
        assert "eth0: arp_ignore is 0 (expected 1 or 2)" in result["msg"]
        assert "set net.ipv4.conf.all.arp_ignore = 1" in result["msg"]
        assert "eth0: arp_announce is 0 (expected 2)" in result["msg"]
    assert lo(topo.rs) == before
    assert arp_probe(topo.cl, topo.cl_if, VIP, CL_IP)[0] == "NOREPLY"
    assert_loopback_intact(topo.rs)


def test_protected_vip_is_hidden_serves_tcp_and_is_removed_alone(make_topology, arp_tools):
    topo = make_topology(ipv6=True)
    ns_sysctl(topo.rs, PROTECT)
    ns_exec(topo.rs, ["ip", "addr", "add", "203.0.113.77/32", "dev", "lo"], isolate_sysctl_dirs=False)  # not ours
    before = lo(topo.rs)
    args = {"addresses": [VIP, VIP6]}

    predicted = run_module(topo.rs, MODULE, args, check=True, diff=True)
    assert predicted.status == "ok" and predicted["changed"] is True
    assert lo(topo.rs) == before                                    # check mode: nothing added

    added = run_module(topo.rs, MODULE, args, diff=True)
    assert added.status == "ok", added
    assert added["changed"] is True
    assert added["added"] == [VIP + "/32", VIP6 + "/128"]
    assert added["guard"]["verdict"] == "pass" and added["guard"]["arp_facing"] == ["eth0"]
    assert added["diff"] == predicted["diff"]
    assert added["diff"]["after"] == ("%s/32 scope host label lo:lvs\n203.0.113.77/32 scope global label lo\n"
                                      "%s/128 preferred_lft 0\n" % (VIP, VIP6))
    assert {k: v for k, v in added.items() if k != "diff"} == {k: v for k, v in predicted.items() if k != "diff"}
    now = lo(topo.rs)
    assert now[VIP + "/32"]["scope"] == "host" and now[VIP + "/32"]["label"] == "lo:lvs"
    assert now[VIP6 + "/128"]["preferred_life_time"] == 0 and now[VIP6 + "/128"].get("deprecated") is True
    assert set(now) == set(before) | {VIP + "/32", VIP6 + "/128"}

    again = run_module(topo.rs, MODULE, args, method="ansible", check=True, diff=True)
    assert again.status == "ok" and again["changed"] is False       # idempotent, through real ansible

    # the wire: ARP for the VIP unanswered (the RIP is, so the probe works), NDP likewise
    assert arp_probe(topo.cl, topo.cl_if, RS_IP, CL_IP) == ("REPLY", topo.rs_mac)
    assert arp_probe(topo.cl, topo.cl_if, VIP, CL_IP)[0] == "NOREPLY"
    if not tool_missing_reason("ndisc6"):
        ns6 = ns_exec(topo.cl, ["ndisc6", "-1", "-r2", "-w700", VIP6, topo.cl_if], isolate_sysctl_dirs=False,
                      check=False)
        assert "Timed out" in ns6.stdout + ns6.stderr, ns6
        rip6 = ns_exec(topo.cl, ["ndisc6", "-1", "-r2", "-w700", RS_IP6, topo.cl_if], isolate_sysctl_dirs=False,
                       check=False)
        assert topo.rs_mac.upper() in rip6.stdout.upper(), rip6
    # ... TCP to the VIP at the real server's MAC is accepted and answered from the VIP
    tcp = tcp_to_vip(topo)
    assert tcp.returncode == 0, tcp.stderr
    print("client -> %s:%d via %s:" % (VIP, PORT, topo.rs_mac), tcp.stdout.strip())
    assert tcp.stdout.split()[:2] == [VIP, "HTTP/1.0"], tcp.stdout
    # ... and traffic the real server sends from the VIP asks ARP with the RIP as sender
    assert arp_sender_for_traffic(topo.rs, topo.cl, VIP, CL_IP) == RS_IP

    removed = run_module(topo.rs, MODULE, {"addresses": [VIP, VIP6], "state": "absent"}, diff=True)
    assert removed.status == "ok" and removed["removed"] == [VIP + "/32", VIP6 + "/128"]
    assert lo(topo.rs) == before                                    # only the VIPs went; 203.0.113.77 stayed
    assert run_module(topo.rs, MODULE, {"addresses": [VIP], "state": "absent"})["changed"] is False
    exact = run_module(topo.rs, MODULE, {"addresses": [], "state": "exact"})
    assert exact.status == "ok" and exact["changed"] is False       # 203.0.113.77 carries no lvs label
    assert_loopback_intact(topo.rs)


def test_planted_per_interface_leak_is_refused_and_really_leaks(topo, arp_tools):
    """Negative control: all.arp_ignore=1 but eth0.arp_ignore=4 (max = 4, which the kernel treats as 0)."""
    ns_sysctl(topo.rs, dict(PROTECT, **{"net.ipv4.conf.eth0.arp_ignore": 4}))
    before = lo(topo.rs)

    refused = run_module(topo.rs, MODULE, {"addresses": [VIP]})
    assert refused.status == "failed"
    assert "eth0: arp_ignore is 4 (expected 1 or 2)" in refused["msg"]
    assert "set net.ipv4.conf.eth0.arp_ignore = 1" in refused["msg"]
    [violation] = refused["guard"]["violations"]
    assert (violation["interface"], violation["key"], violation["actual"]) == ("eth0", "arp_ignore", 4)
    assert lo(topo.rs) == before                                    # fail closed

    # the module was right: the same VIP added by hand is answered on the wire
    topo.add_vip(VIP, 32, "lo")
    try:
        leak = arp_probe(topo.cl, topo.cl_if, VIP, CL_IP)
        print("planted eth0.arp_ignore=4, VIP added by hand:", leak)
        assert leak == ("REPLY", topo.rs_mac)
    finally:
        ns_exec(topo.rs, ["ip", "addr", "del", VIP + "/32", "dev", "lo"], isolate_sysctl_dirs=False)
    assert lo(topo.rs) == before

    # positive control: fix the interface value and the module adds the VIP, which stays hidden
    ns_sysctl(topo.rs, {"net.ipv4.conf.eth0.arp_ignore": 1})
    added = run_module(topo.rs, MODULE, {"addresses": [VIP]})
    assert added.status == "ok" and added["added"] == [VIP + "/32"]
    hidden = arp_probe(topo.cl, topo.cl_if, VIP, CL_IP)
    print("eth0.arp_ignore=1, VIP added by the module:", hidden)
    assert hidden == ("NOREPLY", None)
    assert_loopback_intact(topo.rs)


def test_wrong_form_is_fixed_and_exact_keeps_foreign_addresses(topo):
    """ip addr replace keeps a wrong label/scope: the module deletes and re-adds; exact removes only ours."""
    ns_sysctl(topo.rs, PROTECT)
    other = "198.51.100.101"
    ns_exec(topo.rs, ["ip", "addr", "add", VIP + "/32", "dev", "lo", "label", "lo:0"], isolate_sysctl_dirs=False)
    ns_exec(topo.rs, ["ip", "addr", "add", other + "/32", "dev", "lo", "scope", "host", "label", "lo:lvs"],
            isolate_sysctl_dirs=False)
    ns_exec(topo.rs, ["ip", "addr", "add", "203.0.113.78/32", "dev", "lo", "label", "lo:keep"],
            isolate_sysctl_dirs=False)

    result = run_module(topo.rs, MODULE, {"addresses": [VIP], "state": "exact"})
    assert result.status == "ok", result
    assert result["removed"] == [VIP + "/32", other + "/32"] and result["added"] == [VIP + "/32"]
    now = lo(topo.rs)
    assert (now[VIP + "/32"]["scope"], now[VIP + "/32"]["label"]) == ("host", "lo:lvs")
    assert other + "/32" not in now and "203.0.113.78/32" in now
    assert run_module(topo.rs, MODULE, {"addresses": [VIP], "state": "exact"})["changed"] is False
    assert_loopback_intact(topo.rs)


def test_bad_input_and_missing_tunl0_change_nothing(topo):
    ns_sysctl(topo.rs, PROTECT)
    before = lo(topo.rs)
    for args, fragment in (
        ({"addresses": [VIP + "/24"]}, "addresses[0]: '%s/24' has prefix length /24" % VIP),
        ({"addresses": [VIP], "device": "eth0"}, "device: 'eth0' is not allowed"),
        ({"addresses": [VIP], "label": "lo:0123456789abc"}, "label: 'lo:0123456789abc' is 16 characters"),
    ):
        result = run_module(topo.rs, MODULE, args)
        assert result.status == "failed" and fragment in result["msg"], result
    if ns_exec(topo.rs, ["ip", "link", "show", "tunl0"], isolate_sysctl_dirs=False, check=False).returncode != 0:
        result = run_module(topo.rs, MODULE, {"addresses": [VIP], "device": "tunl0"})
        assert result.status == "failed" and "device: 'tunl0' does not exist" in result["msg"]
    assert lo(topo.rs) == before
