"""The boot unit's controller for real: installed as boot_unit installs it, run by the system python
(no Ansible on the path, proving it is standard-library only) inside a real-server namespace."""

import json
import os
import stat
from pathlib import Path

from lab import CL_IP, VIP, arp_probe, ns_exec, ns_sysctl, run_tmpdir

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl

REPO = Path(__file__).resolve().parents[2]
UTILS = REPO / "plugins" / "module_utils"
SYSTEM_PYTHON = "/usr/bin/python3"
VIP6 = "2001:db8:100::100"


def install(tmp, addresses, mode="dr"):
    """Lay the controller out like boot_unit does, under a temp dir instead of /usr/libexec."""
    libexec = tmp / "libexec"
    libexec.mkdir()
    cli = libexec / "lvs-realserver-vips"
    cli.write_text(_vipctl.ENTRY_SCRIPT % {"python": SYSTEM_PYTHON})
    cli.chmod(cli.stat().st_mode | stat.S_IXUSR)
    for name in boot.LIBRARY:
        (libexec / name).write_text((UTILS / name).read_text())
    data = tmp / "vips.json"
    data.write_text(json.dumps({"addresses": addresses, "device": "lo", "scope": "host",
                                "label": "lo:lvs", "mode": mode}))
    return cli, data


def vipctl(ns, cli, data, verb):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    return ns_exec(ns, [SYSTEM_PYTHON, "-I", "-B", str(cli), verb, "--data", str(data)], check=False,
                   isolate_sysctl_dirs=False, env=env, cwd="/")


def lo_addresses(ns):
    out = ns_exec(ns, ["ip", "-j", "addr", "show", "dev", "lo"], isolate_sysctl_dirs=False).stdout
    return sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in json.loads(out)[0]["addr_info"])


def test_guard_refuses_then_start_and_stop_manage_exactly_the_vips(topo, arp_tools):
    tmp = Path(os.path.realpath(run_tmpdir())) / "vipctl"
    tmp.mkdir()
    cli, data = install(tmp, [VIP, VIP6])
    before = lo_addresses(topo.rs)

    refused = vipctl(topo.rs, cli, data, "start")
    assert refused.returncode == 3, refused.stderr
    assert "REFUSED: eth0 arp_ignore: effective 0" in refused.stderr
    assert lo_addresses(topo.rs) == before  # fail closed: nothing added

    ns_sysctl(topo.rs, {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2})
    assert vipctl(topo.rs, cli, data, "guard").returncode == 0
    started = vipctl(topo.rs, cli, data, "start")
    assert started.returncode == 0, started.stderr
    assert lo_addresses(topo.rs) == sorted(before + [VIP + "/32", VIP6 + "/128"])
    assert vipctl(topo.rs, cli, data, "start").returncode == 0  # replace: idempotent
    assert arp_probe(topo.cl, topo.cl_if, VIP, CL_IP)[0] == "NOREPLY"

    ns_exec(topo.rs, ["ip", "addr", "add", "198.51.100.222/32", "dev", "lo"], isolate_sysctl_dirs=False)
    stopped = vipctl(topo.rs, cli, data, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert lo_addresses(topo.rs) == sorted(before + ["198.51.100.222/32"])  # only ours removed
    assert "127.0.0.1/8" in lo_addresses(topo.rs)


def test_guard_catches_a_per_interface_leak_the_kernel_really_has(topo, arp_tools):
    """Negative control: all.arp_ignore=1 but eth0=4 -- refused, and the wire shows why."""
    tmp = Path(os.path.realpath(run_tmpdir())) / "vipctl-leak"
    tmp.mkdir()
    cli, data = install(tmp, [VIP])
    ns_sysctl(topo.rs, {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2,
                        "net.ipv4.conf.eth0.arp_ignore": 4})
    refused = vipctl(topo.rs, cli, data, "start")
    assert refused.returncode == 3 and "eth0 arp_ignore: effective 4" in refused.stderr
    topo.add_vip()
    assert arp_probe(topo.cl, topo.cl_if, VIP, CL_IP)[0] == "REPLY"
