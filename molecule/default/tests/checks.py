# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""What a converged real server must look like, as plain functions.

The tests in test_realserver.py call them on a converged (and on a
restarted) host; test_negative_control.py calls the same functions on a host
whose boot was sabotaged and requires them to fail, which proves that these
checks can fail at all.
"""

import ipaddress
import json
import os
import subprocess
import time

import yaml

SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE_DIR = os.path.join(SCENARIO_DIR, "..", "..", "roles", "realserver")

UNIT = "lvs-realserver-vips.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT
DATA_FILE = "/etc/lvs-realserver/vips.json"
PHASE_FILE = "/var/lib/lvsrs-molecule/phase"
NEGATIVE_FILE = "/etc/sysctl.d/99-zzzz-lvsrs-negative-control.conf"


def load_config():
    """The role's defaults overlaid with the scenario's vars.yml (what converge.yml applies)."""
    with open(os.path.join(ROLE_DIR, "defaults", "main.yml")) as handle:
        cfg = yaml.safe_load(handle)
    with open(os.path.join(SCENARIO_DIR, "vars.yml")) as handle:
        cfg.update(yaml.safe_load(handle) or {})
    conf = {k: dict(v) for k, v in cfg["realserver_arp_conf"].items()}
    if cfg["realserver_mode"] == "tun":
        for iface, keys in cfg["realserver_tun_conf"].items():
            conf.setdefault(iface, {}).update(keys)
    cfg["conf"] = conf
    cfg["label"] = cfg["realserver_vip_label"] or cfg["realserver_vip_device"] + ":lvs"
    cfg["vips"] = [ipaddress.ip_interface(v) for v in cfg["realserver_vips"]]
    return cfg


def addr_info(host, device):
    """``ip -j addr show dev DEVICE`` entries that carry an address."""
    out = host.check_output("ip -j addr show dev %s", device)
    return [a for a in json.loads(out)[0]["addr_info"] if "local" in a]


def arp_facing(host):
    """IPv4 interfaces other than lo, all and default."""
    names = host.check_output("ls /proc/sys/net/ipv4/conf").split()
    return [n for n in names if n not in ("all", "default", "lo")]


def unit_journal(host, attempts=10):
    """The unit's journal for this boot: its current invocation's lines, else every line of the unit since boot.

    Right after a boot journald may not have written the lines yet, and on
    Debian 13 the invocation match once came back empty for a unit that had
    failed as expected: sync, fall back to the unit's lines of this boot
    (``-b``: the restart is a real boot), and retry for a few seconds.
    """
    for _attempt in range(attempts):
        host.run("journalctl --sync")
        invocation = host.check_output("systemctl show -P InvocationID %s", UNIT).strip()
        if invocation:
            text = host.run("journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=%s", invocation).stdout
            if text.strip():
                return text
        text = host.run("journalctl --no-pager -o cat -b -u %s", UNIT).stdout
        if text.strip():
            return text
        time.sleep(1)
    return ""


def check_dropin(host, cfg):
    """The drop-in exists, mode 0644, root, with exactly the expected assignments."""
    f = host.file(cfg["realserver_sysctl_path"])
    assert f.exists, "%s is missing" % cfg["realserver_sysctl_path"]
    assert f.mode == 0o644, "mode %o" % f.mode
    assert f.user == "root"
    lines = [line.strip() for line in f.content_string.splitlines()]
    assignments = sorted(line for line in lines if line and not line.startswith(("#", ";")))
    expected = sorted(
        "net.ipv4.conf.%s.%s = %d" % (iface.replace(".", "/"), key, value)
        for iface, keys in cfg["conf"].items() for key, value in keys.items())
    assert assignments == expected
    assert lines[0].startswith("# Managed by lvs.realserver"), lines[0]


def check_effective_arp(host, cfg):
    """The running values of the drop-in, and effective (max) arp_ignore 1/2 and arp_announce 2 everywhere."""
    for iface, keys in cfg["conf"].items():
        for key, value in keys.items():
            name = "net.ipv4.conf.%s.%s" % (iface, key)
            if iface in ("all", "default") or host.file("/proc/sys/net/ipv4/conf/" + iface).exists:
                assert host.sysctl(name) == value, "%s = %s, expected %s" % (name, host.sysctl(name), value)
    # The rest in one read: /proc/sys/net/ipv4/conf/<interface>/<key> for both keys.
    out = host.check_output("grep -H . /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce")
    raw = {}
    for line in out.splitlines():
        path, value = line.rsplit(":", 1)
        iface, key = path.split("/")[-2:]
        raw[(iface, key)] = int(value)
    faces = arp_facing(host)
    assert faces, "no ARP-facing interface found"
    for iface in faces:
        ignore = max(raw[("all", "arp_ignore")], raw[(iface, "arp_ignore")])
        announce = max(raw[("all", "arp_announce")], raw[(iface, "arp_announce")])
        assert ignore in (1, 2), "%s: effective arp_ignore %d" % (iface, ignore)
        assert announce == 2, "%s: effective arp_announce %d" % (iface, announce)


def check_vips(host, cfg):
    """Every VIP on the device: IPv4 /32 with scope and label, IPv6 /128 deprecated; nothing else labelled."""
    device = cfg["realserver_vip_device"]
    info = addr_info(host, device)
    by_local = {a["local"]: a for a in info}
    for vip in cfg["vips"]:
        local = str(vip.ip)
        assert local in by_local, "VIP %s is not on %s: %s" % (local, device, sorted(by_local))
        entry = by_local[local]
        if vip.version == 4:
            assert entry["prefixlen"] == 32, entry
            assert entry["scope"] == cfg["realserver_vip_scope"], entry
            assert entry.get("label") == cfg["label"], entry
        else:
            assert entry["prefixlen"] == 128, entry
            assert entry.get("preferred_life_time") == 0, entry
    labelled = sorted(a["local"] for a in info if a.get("label") == cfg["label"])
    assert labelled == sorted(str(v.ip) for v in cfg["vips"] if v.version == 4)


def check_loopback_intact(host, cfg):
    """127.0.0.1/8 and ::1/128 still on lo."""
    info = addr_info(host, "lo")
    assert any(a["local"] == "127.0.0.1" and a["prefixlen"] == 8 for a in info), info
    assert any(a["local"] == "::1" and a["prefixlen"] == 128 for a in info), info


def check_no_vip_on_arp_facing(host, cfg):
    """No VIP sits on an interface that answers ARP for its own addresses."""
    vips = set(str(v.ip) for v in cfg["vips"])
    for iface in arp_facing(host):
        on = vips.intersection(a["local"] for a in addr_info(host, iface))
        assert not on, "VIP(s) %s on %s" % (sorted(on), iface)


def check_unit(host, cfg):
    """The unit is enabled and active (RemainAfterExit), ordered as the design says."""
    state = host.check_output("systemctl is-active %s || true", UNIT).strip()
    enabled = host.check_output("systemctl is-enabled %s || true", UNIT).strip()
    assert (state, enabled) == ("active", "enabled"), (state, enabled, unit_journal(host))
    props = host.check_output(
        "systemctl show -p DefaultDependencies -p After -p Before -p Wants -p Type -p RemainAfterExit %s", UNIT)
    props = dict(line.split("=", 1) for line in props.splitlines() if "=" in line)
    assert props["DefaultDependencies"] == "no"
    assert props["Type"] == "oneshot" and props["RemainAfterExit"] == "yes"
    for dep in ("systemd-sysctl.service", "systemd-modules-load.service", "local-fs.target"):
        assert dep in props["After"].split(), props["After"]
    assert "network-pre.target" in props["Before"].split(), props["Before"]
    assert "network-pre.target" in props["Wants"].split(), props["Wants"]


def check_data_file(host, cfg):
    """The unit's VIP list is the role's, in a data file (not in the unit)."""
    data = json.loads(host.file(DATA_FILE).content_string)
    assert [str(ipaddress.ip_interface(a).ip) for a in data["addresses"]] == [str(v.ip) for v in cfg["vips"]]
    assert data["device"] == cfg["realserver_vip_device"]
    assert data["label"] == cfg["label"]
    assert data["scope"] == cfg["realserver_vip_scope"]
    assert data["mode"] == cfg["realserver_mode"]
    unit = host.file(UNIT_PATH).content_string
    for vip in cfg["vips"]:
        assert str(vip.ip) not in unit


def segment_peer(host):
    """The eth0 address of the scenario's other instance (podman inspect, from the controller).

    The scenario's network is internal: no gateway on the machine's side, so
    the CNI bridge plugin does not turn on the machine's net.ipv4.ip_forward.
    """
    own = host.backend.get_hostname()
    names = subprocess.run(
        ["podman", "ps", "--filter", "label=lvsrs-scenario=default", "--format", "{{.Names}}"],
        check=True, capture_output=True, text=True).stdout.split()
    peers = sorted(n for n in names if n != own)
    assert peers, "no other instance of the scenario beside %s (podman ps: %s)" % (own, names)
    out = subprocess.run(
        ["podman", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", peers[0]],
        check=True, capture_output=True, text=True).stdout.split()
    assert out, "no IPv4 address for %s" % peers[0]
    return out[0]


def check_no_arp_reply_for_vips(host, cfg):
    """Real traffic: ARP requests for the IPv4 VIPs get no reply on the segment (the other instance
    holds the same VIPs); the other instance's own address does answer, so the probe itself works."""
    peer = segment_peer(host)
    control = host.run("arping -c 1 -w 2 -I eth0 %s", peer)
    assert "Received 1 response" in control.stdout, control.stdout + control.stderr
    vips = [str(v.ip) for v in cfg["vips"] if v.version == 4]
    # All probes at once (each waits 2 s for replies that must not come).
    out = host.run(
        "for vip in %s; do (arping -c 2 -w 2 -I eth0 $vip | sed \"s/^/$vip: /\") & done; wait" % " ".join(vips)).stdout
    for vip in vips:
        assert "%s: Received 0 response" % vip in out, "ARP reply for VIP %s:\n%s" % (vip, out)


# The checks a converged host passes, before and after a restart.
STATE_CHECKS = [
    check_dropin,
    check_effective_arp,
    check_vips,
    check_loopback_intact,
    check_no_vip_on_arp_facing,
    check_unit,
    check_data_file,
    check_no_arp_reply_for_vips,
]
