# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""Negative control: a later-winning sysctl.d file undid arp_ignore, then the host restarted.

The boot guard must have refused the VIPs, and the checks that pass on a
converged host must fail here: proof that the verify step can fail.
"""

import pytest

import checks


def test_planted_file_won_at_boot(host, negative):
    assert host.file(checks.NEGATIVE_FILE).exists
    assert host.sysctl("net.ipv4.conf.all.arp_ignore") == 0


def test_guard_refused_and_unit_failed(host, cfg, negative):
    state = host.check_output("systemctl is-active %s || true", checks.UNIT).strip()
    result = host.check_output("systemctl show -P Result %s", checks.UNIT).strip()
    assert (state, result) == ("failed", "exit-code")
    journal = checks.unit_journal(host)
    print(journal)
    assert "REFUSED: " in journal and "arp_ignore" in journal
    assert "refusing to add" in journal
    assert "addr replace" not in journal


def test_no_vip_on_lo(host, cfg, negative):
    present = set(a["local"] for a in checks.addr_info(host, cfg["realserver_vip_device"]))
    assert not present.intersection(str(v.ip) for v in cfg["vips"])


def test_loopback_still_intact(host, cfg, negative):
    checks.check_loopback_intact(host, cfg)


# Which positive checks must fail on the sabotaged host.
MUST_FAIL = [checks.check_effective_arp, checks.check_vips, checks.check_unit]


@pytest.mark.parametrize("check", MUST_FAIL, ids=lambda c: c.__name__[len("check_"):])
def test_positive_check_fails_here(host, cfg, negative, check):
    with pytest.raises(AssertionError) as caught:
        check(host, cfg)
    print("%s failed as it must: %s" % (check.__name__, str(caught.value).splitlines()[0][:200]))
