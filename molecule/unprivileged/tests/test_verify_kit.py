# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""The testinfra verify kit of roles/realserver/README.md, run as written, with a negative control."""

NEGATIVE = "/etc/sysctl.d/99-zzzz-lvsunpriv-negative.conf"


def lvs_realserver_verdict(host, vips):
    """README: the verdict of lvs.realserver.arp_facts, for now or, where the runtime was skipped, the next boot."""
    facts = host.ansible("lvs.realserver.arp_facts", "vips=" + ",".join(vips), check=False)
    facts = facts["ansible_facts"]["lvs_realserver"]
    if facts["runtime"] == "skipped":  # an unprivileged container: judge what the host gets at its next boot
        return facts["at_boot"]["compliant"], facts["at_boot"]["violations"]
    return (facts["compliant"] and facts["at_boot"]["compliant"],
            facts["violations"] + facts["at_boot"]["violations"])


def test_the_kit_finds_the_host_compliant(ansible_host, cfg):
    compliant, violations = lvs_realserver_verdict(ansible_host, cfg["realserver_vips"])
    assert compliant, violations


def test_the_kit_catches_a_file_that_undoes_arp_ignore_at_boot(host, ansible_host, cfg):
    host.check_output("echo 'net.ipv4.conf.all.arp_ignore = 0' > %s", NEGATIVE)
    try:
        compliant, violations = lvs_realserver_verdict(ansible_host, cfg["realserver_vips"])
    finally:
        host.check_output("rm -f %s", NEGATIVE)
    assert not compliant
    assert "arp_ignore_leak" in [v["code"] for v in violations]
