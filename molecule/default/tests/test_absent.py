# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""After the role ran with realserver_state=absent: nothing of it is left."""

import checks


def test_boot_unit_removed(host, absent):
    for path in (checks.UNIT_PATH, checks.DATA_FILE, "/usr/libexec/lvs-realserver/lvs-realserver-vips",
                 "/etc/systemd/system/multi-user.target.wants/" + checks.UNIT):
        assert not host.file(path).exists, path
    assert host.run("systemctl is-enabled %s", checks.UNIT).rc != 0
    assert host.check_output("systemctl is-active %s || true", checks.UNIT).strip() == "inactive"


def test_vips_removed(host, cfg, absent):
    present = set(a["local"] for a in checks.addr_info(host, cfg["realserver_vip_device"]))
    assert not present.intersection(str(v.ip) for v in cfg["vips"]), present


def test_loopback_intact(host, cfg, absent):
    checks.check_loopback_intact(host, cfg)


def test_dropin_removed_and_values_restored(host, cfg, absent):
    """No remaining sysctl.d file sets the ARP keys in these images, so they go back to the kernel default 0."""
    assert not host.file(cfg["realserver_sysctl_path"]).exists
    others = host.run("grep -rhs 'arp_ignore\\|arp_announce' /etc/sysctl.d /run/sysctl.d /usr/lib/sysctl.d "
                      "/usr/local/lib/sysctl.d /lib/sysctl.d /etc/sysctl.conf").stdout
    assert not [line for line in others.splitlines() if line.strip() and not line.lstrip().startswith(("#", ";"))]
    for iface, keys in cfg["conf"].items():
        for key in keys:
            if key in ("arp_ignore", "arp_announce"):
                assert host.sysctl("net.ipv4.conf.%s.%s" % (iface, key)) == 0
