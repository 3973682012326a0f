# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The boot model (plugins/module_utils/_boot_model.py) against the real kernel and systemd-sysctl.

* The reported bug, with real module runs: only ``default.rp_filter = 2`` in
  sysctl.d; ``arp_sysctl state=absent`` then ``arp_facts`` must report no
  drift for eth0.
* The model's ``early``/``late`` values against a boot replayed in a fresh
  namespace with the real tools: interfaces that exist (with an address)
  before ``systemd-sysctl`` runs, the full ``systemd-sysctl`` run over a
  private sysctl.d tree, then interfaces added after it, each given udev's
  ``systemd-sysctl --prefix=/net/ipv4/conf/IF`` pass (99-systemd.rules).
* A device that exists before ``systemd-sysctl`` without ever having had its
  keys set ends with ``late`` all the same: the write to ``default`` reaches it.
"""

import json
import os
import textwrap

import pytest

from lab import (_module_env, collections_dir, load_sysctl_config, lvs_python, ns_exec, private_path,
                 run_module, udev_sysctl_pass)

pytestmark = pytest.mark.usefixtures("lvs_python")

SYSTEMD_SYSCTL = "/lib/systemd/systemd-sysctl"
KEYS = ("arp_ignore", "arp_announce", "arp_filter", "rp_filter", "arp_notify")


def need_systemd_sysctl():
    if not os.path.exists(SYSTEMD_SYSCTL):
        pytest.skip("systemd-sysctl is not installed")


def value(ns, interface, key):
    return int(ns_exec(ns, ["cat", "/proc/sys/net/ipv4/conf/%s/%s" % (interface, key)],
                       isolate_sysctl_dirs=False).stdout)


def write_tree(ns, tree):
    for inside, text in tree.items():
        path = private_path(ns, inside)
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.symlink_to("/dev/null")
        else:
            path.write_text(text)


def test_absent_then_arp_facts_reports_no_drift_for_eth0(topo):
    """Only default.rp_filter = 2 stays in sysctl.d: what absent restores is what arp_facts expects."""
    need_systemd_sysctl()
    rs, eth0 = topo.rs, topo.rs_if
    write_tree(rs, {"/etc/sysctl.d/10-rp.conf": "net.ipv4.conf.default.rp_filter = 2\n"})
    load_sysctl_config(rs, "systemd-sysctl")  # as at boot: default gets 2
    assert value(rs, "default", "rp_filter") == 2
    conf = {"all": {"arp_ignore": 1, "arp_announce": 2}, eth0: {"rp_filter": 1}}
    applied = run_module(rs, "lvs.realserver.arp_sysctl", {"conf": conf})
    assert applied.status == "ok" and value(rs, eth0, "rp_filter") == 1, applied

    removed = run_module(rs, "lvs.realserver.arp_sysctl", {"state": "absent"}, method="ansible")
    assert removed.status == "ok" and removed["changed"], removed
    facts = run_module(rs, "lvs.realserver.arp_facts", {}, method="ansible")
    assert facts.status == "ok", facts
    lvs = facts["ansible_facts"]["lvs_realserver"]
    print("eth0 rp_filter after absent: %d; drift: %s" % (value(rs, eth0, "rp_filter"), lvs["drift"]))
    assert [d for d in lvs["drift"] if d["interface"] == eth0] == []
    assert value(rs, eth0, "rp_filter") == 2  # default's boot value, as a NIC gets it at boot
    predicted = dict(((p["interface"], p["key"]), p) for p in lvs["boot_prediction"])
    assert predicted[(eth0, "rp_filter")] == {
        "interface": eth0, "key": "rp_filter", "early": 0, "late": 2, "value": None, "order_dependent": True,
        "basis": "default", "file": "/etc/sysctl.d/10-rp.conf", "line": 1}
    assert predicted[("lo", "rp_filter")]["value"] == 0 and predicted[("default", "rp_filter")]["value"] == 2
    assert set(predicted) == set((i, k) for i in ("all", "default", "lo", eth0) for k in KEYS)
    assert run_module(rs, "lvs.realserver.arp_sysctl", {"state": "absent"})["changed"] is False


# A matrix in one tree: systemd's glob with its exclusion, a later-winning file,
# an /etc mask of a /usr/lib file, default-only keys, a narrower glob, an
# explicit key beating a glob, a /dev/null mask, a non-integer line.
BOOT_TREE = {
    "/usr/lib/sysctl.d/50-default.conf": (
        "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n"),
    "/etc/sysctl.d/10-defaults.conf": (
        "net.ipv4.conf.default.arp_ignore = 1\nnet.ipv4.conf.default.arp_notify = 1\n"
        "net.ipv4.conf.default.arp_announce = 2\n"),
    "/etc/sysctl.d/20-e.conf": "net.ipv4.conf.e*.arp_filter = 1\nnet.ipv4.conf.erly.rp_filter = 0\n",
    "/usr/lib/sysctl.d/60-vendor.conf": "net.ipv4.conf.all.arp_ignore = 8\n",
    "/etc/sysctl.d/60-vendor.conf": "net.ipv4.conf.all.arp_ignore = 1\n",
    "/etc/sysctl.d/05-first.conf": "net.ipv4.conf.all.arp_announce = 2\nnet.ipv4.conf.lte2.arp_ignore = 2\n",
    "/etc/sysctl.d/90-later.conf": "net.ipv4.conf.all.arp_announce = 1\nnet.ipv4.conf.lte1.arp_notify = bogus\n",
    "/usr/lib/sysctl.d/70-masked.conf": "net.ipv4.conf.default.arp_filter = 1\n",
    "/etc/sysctl.d/70-masked.conf": None,
}
EARLY = ("erly", "peer")  # exist, with an address, before systemd-sysctl: IPv4 settings fixed
LATE = ("ext9", "lte1", "lte2")  # added after it, each with udev's --prefix pass

MODEL = textwrap.dedent("""
    import json, sys
    from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as s
    from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model as m
    r = s.resolve(s.boot_files(s.read_candidates()))
    print(json.dumps([m.as_fact(p) for p in m.predictions(r, json.loads(sys.argv[1]))]))
""")


def test_model_matches_a_replayed_boot(lab):
    need_systemd_sysctl()
    rs = lab.add_netns("rs")  # all/default/lo start at 0 (the kernel's compile-time values), lo up
    write_tree(rs, BOOT_TREE)
    ns_exec(rs, ["ip", "link", "add", EARLY[0], "type", "veth", "peer", "name", EARLY[1]], isolate_sysctl_dirs=False)
    for index, name in enumerate(EARLY):
        ns_exec(rs, ["ip", "addr", "add", "192.0.2.%d/32" % (index + 1), "dev", name], isolate_sysctl_dirs=False)
    load_sysctl_config(rs, "systemd-sysctl")  # systemd-sysctl.service
    ns_exec(rs, ["ip", "link", "add", LATE[0], "type", "veth", "peer", "name", LATE[1]], isolate_sysctl_dirs=False)
    ns_exec(rs, ["ip", "link", "add", LATE[2], "type", "veth", "peer", "name", "lte3"], isolate_sysctl_dirs=False)
    for name in LATE + ("lte3",):
        done = udev_sysctl_pass(rs, name, check=False)  # 99-systemd.rules, once per added device
        # only the non-integer line fails (systemd-sysctl writes the rest and exits 1)
        assert done.returncode == (1 if name == "lte1" else 0), done.stderr

    env = _module_env(collections_dir())
    env["PYTHONPATH"] = str(collections_dir())
    names = ["all", "default", "lo"] + list(EARLY) + list(LATE)
    out = ns_exec(rs, [lvs_python(), "-c", MODEL, json.dumps(names)], env=env).stdout
    rows = []
    mismatches = []
    for p in json.loads(out):
        expected = p["late"] if p["interface"] in LATE else p["early"]
        observed = value(rs, p["interface"], p["key"])
        rows.append("%-8s %-13s early %2s late %2s observed %2s%s" % (
            p["interface"], p["key"], p["early"], p["late"], observed, "  order-dependent" if p["order_dependent"] else ""))
        if observed != expected:
            mismatches.append((p["interface"], p["key"], p["early"], p["late"], observed))
    print("\n".join(rows))
    print("model vs replayed boot: %d predictions, %d mismatches" % (len(rows), len(mismatches)))
    assert len(rows) == len(names) * len(KEYS)
    assert not mismatches
    dependent = set((p["interface"], p["key"]) for p in json.loads(out) if p["order_dependent"])
    # the layout really exercises both sides: default-only keys differ early and late
    assert ("erly", "arp_ignore") in dependent and ("ext9", "arp_notify") in dependent
    assert ("lo", "arp_ignore") not in dependent


def test_a_nic_without_an_address_before_systemd_sysctl_ends_with_the_late_value(lab):
    """systemd-sysctl's write to ``default`` reaches a device that never had its key set (devinet_copy_dflt_conf).

    The namespace is not reset, so its ``default`` keys are unwritten here and
    the bare devices created first have nothing marked. Whether a key's mark
    is clear is checked, not assumed (the machine's own boot may have written
    ``default`` before this namespace copied it): a sentinel written to
    ``default`` must reach the device. Those keys then go back to 0, the boot
    is replayed, and each must equal the model's ``late`` value, even though
    the device existed before systemd-sysctl ran.
    """
    need_systemd_sysctl()
    rs = lab.add_netns("rs", reset=False)
    ns_exec(rs, ["ip", "link", "add", "bare", "type", "veth", "peer", "name", "bar2"], isolate_sysctl_dirs=False)
    reachable = []
    for key in KEYS:
        for number in (7, 0):  # the sentinel, then the compile-time value
            ns_exec(rs, ["sh", "-c", 'echo %d > /proc/sys/net/ipv4/conf/default/%s' % (number, key)],
                    isolate_sysctl_dirs=False)
            if number == 7 and value(rs, "bare", key) == 7:
                reachable.append(key)
        ns_exec(rs, ["sh", "-c", 'echo 0 > /proc/sys/net/ipv4/conf/all/%s' % key], isolate_sysctl_dirs=False)
    print("keys whose write to default reaches the bare device: %s" % reachable)
    if not reachable:
        pytest.skip("this machine's default marks every key as written; a bare device cannot be built here")
    write_tree(rs, {"/etc/sysctl.d/10-defaults.conf": "".join(
        "net.ipv4.conf.default.%s = %d\n" % (key, 2 if key == "arp_announce" else 1) for key in KEYS)})
    load_sysctl_config(rs, "systemd-sysctl")
    env = _module_env(collections_dir())
    env["PYTHONPATH"] = str(collections_dir())
    out = ns_exec(rs, [lvs_python(), "-c", MODEL, json.dumps(["bare", "bar2"])], env=env).stdout
    checked = 0
    for p in json.loads(out):
        if p["key"] not in reachable:
            continue
        observed = value(rs, p["interface"], p["key"])
        print("%-5s %-13s early %s late %s observed %s" % (p["interface"], p["key"], p["early"], p["late"], observed))
        assert p["order_dependent"] and observed == p["late"], p
        checked += 1
    assert checked == 2 * len(reachable)
