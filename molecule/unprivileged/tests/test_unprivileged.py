# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""The role in an unprivileged container: what persists is exactly as on a privileged host, the running
kernel is untouched, and the modules say so (warning, runtime fields, facts)."""

import json
import os

import pytest

import checks

RUNTIME_WARNING = "runtime skipped: this host cannot take runtime changes"


def role_args(cfg):
    """The role's one task as it runs it (realserver_netstack and realserver_runtime: auto, their defaults)."""
    return "vips=%s netstack=auto runtime=auto" % ",".join(cfg["realserver_vips"])


def vip_args(cfg):
    """lvs.realserver.loopback_vip alone (no boot unit, no facts: issue 18), as a standalone user runs it."""
    return "addresses=%s state=exact runtime=auto" % ",".join(cfg["realserver_vips"])


@pytest.mark.parametrize("check", [
    checks.check_dropin,
    checks.check_data_file,
    checks.check_no_vip_on_arp_facing,
], ids=lambda f: f.__name__)
def test_what_persists_is_as_on_a_privileged_host(host, cfg, check):
    check(host, cfg)


def test_loopback_intact(host):
    """127.0.0.1/8 on lo, and ::1/128 where the engine leaves IPv6 on (Docker turns it off by default)."""
    info = checks.addr_info(host, "lo")
    assert any(a["local"] == "127.0.0.1" and a["prefixlen"] == 8 for a in info), info
    if host.file("/proc/sys/net/ipv6/conf/lo/disable_ipv6").content_string.strip() == "0":
        assert any(a["local"] == "::1" and a["prefixlen"] == 128 for a in info), info


def test_the_unit_is_installed_and_enabled_but_not_started(host, cfg):
    """As on a privileged host (check_unit's ordering), but inactive: starting it would add the VIPs now."""
    wants = host.file("/etc/systemd/system/multi-user.target.wants/" + checks.UNIT)
    assert wants.is_symlink and wants.linked_to == checks.UNIT_PATH
    if not host.file("/run/systemd/system").is_directory:  # Docker: no systemd to ask
        unit = host.file(checks.UNIT_PATH).content_string.splitlines()
        assert "After=local-fs.target systemd-sysctl.service systemd-modules-load.service" in unit
        assert "Before=network-pre.target shutdown.target" in unit
        return
    state = host.check_output("systemctl is-active %s || true", checks.UNIT).strip()
    enabled = host.check_output("systemctl is-enabled %s || true", checks.UNIT).strip()
    assert (state, enabled) == ("inactive", "enabled")
    props = host.check_output("systemctl show -p After -p Before -p Type -p RemainAfterExit %s", checks.UNIT)
    props = dict(line.split("=", 1) for line in props.splitlines() if "=" in line)
    assert props["Type"] == "oneshot" and props["RemainAfterExit"] == "yes"
    assert "systemd-sysctl.service" in props["After"].split() and "network-pre.target" in props["Before"].split()


def test_no_privileges(host):
    """Default capabilities: no CAP_NET_ADMIN, /proc/sys read-only."""
    cap_eff = [line for line in host.file("/proc/self/status").content_string.splitlines()
               if line.startswith("CapEff:")][0]
    assert not int(cap_eff.split()[1], 16) >> 12 & 1, cap_eff
    assert "ro" in host.mount_point("/proc/sys").options


def test_systemd_is_pid_1_where_the_engine_allows_it(host):
    """podman (--systemd=always): yes, without privileges. Docker's defaults: no (see its molecule.yml)."""
    pid1 = host.check_output("cat /proc/1/comm").strip()
    if os.environ.get("MOLECULE_SCENARIO_NAME", "unprivileged") == "unprivileged":
        assert pid1 == "systemd"
    else:
        assert pid1 != "systemd"


def test_the_running_kernel_is_untouched(host, cfg):
    """runtime skipped: no VIP on the device, the ARP values as the container started (0)."""
    assert host.sysctl("net.ipv4.conf.all.arp_ignore") == 0
    assert host.sysctl("net.ipv4.conf.all.arp_announce") == 0
    on_device = set(a["local"] for a in checks.addr_info(host, cfg["realserver_vip_device"]))
    assert on_device.isdisjoint(str(v.ip) for v in cfg["vips"]), on_device


def test_arp_sysctl_warns_once_says_skipped_and_check_mode_predicts_no_change(adhoc):
    rc, output = adhoc("lvs.realserver.arp_sysctl", "runtime=auto")
    assert rc == 0, output
    result = json.loads(output[output.index("=> {") + 3:])
    assert result["changed"] is False and result["runtime"] == "skipped"
    assert len(result["runtime_reasons"]) == 2, result["runtime_reasons"]
    warnings = [line for line in output.splitlines() if line.startswith("[WARNING]: " + RUNTIME_WARNING)]
    assert len(warnings) == 1, output
    for part in ("/proc/sys is mounted read-only", "without CAP_NET_ADMIN",
                 "ansible_facts.lvs_realserver.runtime: skipped"):
        assert part in warnings[0]


def test_loopback_vip_in_check_mode_predicts_no_change_and_says_skipped(ansible_host, cfg):
    result = ansible_host.ansible("lvs.realserver.loopback_vip", vip_args(cfg), check=True)
    assert result["changed"] is False
    assert result["runtime"] == "skipped" and result["guard"]["verdict"] == "skipped"
    assert sorted(result["runtime_skipped"]) == sorted(
        "add %s/%d" % (v.ip, v.max_prefixlen) for v in cfg["vips"])


def test_converge_in_check_mode_predicts_no_change_and_the_fact_says_skipped(ansible_host, cfg):
    result = ansible_host.ansible("lvs.realserver.converge", role_args(cfg), check=True)
    assert result["changed"] is False and result["boot_unit"]["changed"] is False
    assert result["runtime"] == "skipped" and result["vips"]["guard"]["verdict"] == "skipped"
    assert sorted(result["vips"]["runtime_skipped"]) == sorted(
        "add %s/%d" % (v.ip, v.max_prefixlen) for v in cfg["vips"])
    assert result["verdict"] == "compliant"
    facts = result["ansible_facts"]["lvs_realserver"]
    assert facts["runtime"] == "skipped" and facts["at_boot"]["compliant"] is True


def test_runtime_apply_fails_with_the_message(adhoc):
    """Negative control: runtime=apply keeps today's behaviour and fails, changing nothing (check mode)."""
    rc, output = adhoc("lvs.realserver.arp_sysctl", "runtime=apply")
    assert rc != 0, output
    assert "cannot write /proc/sys/net/ipv4/conf/all/arp_ignore" in output and "runtime=auto" in output
    assert RUNTIME_WARNING not in output
