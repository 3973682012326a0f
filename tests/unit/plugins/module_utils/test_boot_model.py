# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The boot model: per interface and key, the value at the next boot, early and late."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_model as model
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

ETC = "/etc/sysctl.d"
USR = "/usr/lib/sysctl.d"
RUN = "/run/sysctl.d"

SYSTEMD_50_DEFAULT = (
    "net.ipv4.conf.default.rp_filter = 2\n"
    "net.ipv4.conf.*.rp_filter = 2\n"
    "-net.ipv4.conf.all.rp_filter\n"
)

# name: (tree [(directory, name, text or None for a /dev/null mask)], [(interface, key, early, late, basis, file, line)])
CASES = {
    "nothing set: kernel defaults everywhere, interfaces inherit default's": (
        [],
        [("all", "arp_ignore", 0, 0, "kernel_default", None, None),
         ("default", "arp_ignore", 0, 0, "kernel_default", None, None),
         ("lo", "arp_ignore", 0, 0, "kernel_default", None, None),
         ("eth0", "arp_ignore", 0, 0, "default", None, None),
         ("tunl0", "rp_filter", 0, 0, "default", None, None)]),
    "the reported bug: only default.rp_filter=2": (
        [(ETC, "10-rp.conf", "net.ipv4.conf.default.rp_filter = 2\n")],
        [("default", "rp_filter", 2, 2, "file", ETC + "/10-rp.conf", 1),
         ("all", "rp_filter", 0, 0, "kernel_default", None, None),
         ("eth0", "rp_filter", 0, 2, "default", ETC + "/10-rp.conf", 1),
         ("lo", "rp_filter", 0, 0, "kernel_default", None, None),
         ("tunl0", "rp_filter", 0, 2, "default", ETC + "/10-rp.conf", 1)]),
    "systemd's glob reaches every interface and lo, the exclusion keeps all out": (
        [(USR, "50-default.conf", SYSTEMD_50_DEFAULT)],
        [("all", "rp_filter", 0, 0, "kernel_default", None, None),
         ("default", "rp_filter", 2, 2, "file", USR + "/50-default.conf", 1),
         ("eth0", "rp_filter", 2, 2, "file", USR + "/50-default.conf", 2),
         ("lo", "rp_filter", 2, 2, "file", USR + "/50-default.conf", 2),
         ("tunl0", "rp_filter", 2, 2, "file", USR + "/50-default.conf", 2)]),
    "an explicit key beats a glob even from an earlier file": (
        [(ETC, "05-tun.conf", "net.ipv4.conf.tunl0.rp_filter = 0\n"),
         (USR, "50-default.conf", SYSTEMD_50_DEFAULT)],
        [("tunl0", "rp_filter", 0, 0, "file", ETC + "/05-tun.conf", 1),
         ("eth0", "rp_filter", 2, 2, "file", USR + "/50-default.conf", 2)]),
    "a narrower glob matches only its interfaces": (
        [(ETC, "60-e.conf", "net.ipv4.conf.e*.arp_announce = 2\n")],
        [("eth0", "arp_announce", 2, 2, "file", ETC + "/60-e.conf", 1),
         ("lo", "arp_announce", 0, 0, "kernel_default", None, None),
         ("tunl0", "arp_announce", 0, 0, "default", None, None),
         ("all", "arp_announce", 0, 0, "kernel_default", None, None)]),
    "a later-winning file reverts all": (
        [(ETC, "10-lvs.conf", "net.ipv4.conf.all.arp_ignore = 1\n"),
         (USR, "90-revert.conf", "# local\nnet.ipv4.conf.all.arp_ignore = 0\n")],
        [("all", "arp_ignore", 0, 0, "file", USR + "/90-revert.conf", 2)]),
    "an /etc file masks a same-named /usr/lib file": (
        [(USR, "60-x.conf", "net.ipv4.conf.default.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n"),
         (ETC, "60-x.conf", "net.ipv4.conf.all.arp_announce = 1\n")],
        [("default", "arp_ignore", 0, 0, "kernel_default", None, None),
         ("eth0", "arp_ignore", 0, 0, "default", None, None),
         ("all", "arp_announce", 1, 1, "file", ETC + "/60-x.conf", 1)]),
    "a /dev/null mask removes the vendor file": (
        [(USR, "60-x.conf", "net.ipv4.conf.default.arp_ignore = 1\n"), (ETC, "60-x.conf", None)],
        [("eth0", "arp_ignore", 0, 0, "default", None, None)]),
    "a default-only key: order dependent for NICs and tunl0, not for lo": (
        [(ETC, "20-d.conf", "net.ipv4.conf.default.arp_ignore = 1\nnet.ipv4.conf.default.arp_announce = 2\n")],
        [("eth0", "arp_ignore", 0, 1, "default", ETC + "/20-d.conf", 1),
         ("eth0", "arp_announce", 0, 2, "default", ETC + "/20-d.conf", 2),
         ("tunl0", "arp_ignore", 0, 1, "default", ETC + "/20-d.conf", 1),
         ("lo", "arp_ignore", 0, 0, "kernel_default", None, None),
         ("all", "arp_ignore", 0, 0, "kernel_default", None, None)]),
    "arp_filter and arp_notify: a glob and a default": (
        [(ETC, "30-arp.conf", "net.ipv4.conf.*.arp_filter = 1\nnet.ipv4.conf.default.arp_notify = 1\n")],
        [("all", "arp_filter", 1, 1, "file", ETC + "/30-arp.conf", 1),
         ("eth0", "arp_filter", 1, 1, "file", ETC + "/30-arp.conf", 1),
         ("lo", "arp_filter", 1, 1, "file", ETC + "/30-arp.conf", 1),
         ("eth0", "arp_notify", 0, 1, "default", ETC + "/30-arp.conf", 2),
         ("lo", "arp_notify", 0, 0, "kernel_default", None, None),
         ("default", "arp_notify", 1, 1, "file", ETC + "/30-arp.conf", 2)]),
    "a non-integer line is not written: the key falls back, and still shields it from globs": (
        [(ETC, "40-bad.conf", "net.ipv4.conf.eth0.rp_filter = strict\nnet.ipv4.conf.all.arp_ignore = one\n"),
         (USR, "50-default.conf", SYSTEMD_50_DEFAULT)],
        [("eth0", "rp_filter", 0, 2, "default", USR + "/50-default.conf", 1),
         ("all", "arp_ignore", 0, 0, "kernel_default", None, None)]),
    "a glob exclusion line keeps an interface on inheritance": (
        [(USR, "50-default.conf", SYSTEMD_50_DEFAULT), (ETC, "70-x.conf", "-net.ipv4.conf.eth1.rp_filter\n")],
        [("eth1", "rp_filter", 0, 2, "default", USR + "/50-default.conf", 1),
         ("eth0", "rp_filter", 2, 2, "file", USR + "/50-default.conf", 2)]),
    "a dotted VLAN name in slash form, from /run": (
        [(RUN, "60-vlan.conf", "net.ipv4.conf.eth0/100.arp_ignore = 1\n")],
        [("eth0.100", "arp_ignore", 1, 1, "file", RUN + "/60-vlan.conf", 1),
         ("eth0", "arp_ignore", 0, 0, "default", None, None)]),
    "the interface's own line beats default whatever the file order": (
        [(ETC, "10-eth0.conf", "net.ipv4.conf.eth0.arp_ignore = 2\n"),
         (ETC, "90-d.conf", "net.ipv4.conf.default.arp_ignore = 1\n")],
        [("eth0", "arp_ignore", 2, 2, "file", ETC + "/10-eth0.conf", 1),
         ("eth1", "arp_ignore", 0, 1, "default", ETC + "/90-d.conf", 1)]),
}


def resolution_of(tree):
    candidates = [sysctl_d.ConfigFile(d, n, text is None, text or "") for d, n, text in tree]
    return sysctl_d.resolve(sysctl_d.boot_files(candidates))


@pytest.mark.parametrize("name", sorted(CASES))
def test_truth_table(name):
    tree, rows = CASES[name]
    resolution = resolution_of(tree)
    got = []
    for interface, key, _early, _late, _basis, _file, _line in rows:
        p = model.predict(resolution, interface, key)
        source = p.expected
        got.append((interface, key, p.early.value, p.late.value, source.basis, source.file, source.line))
    assert got == rows


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_order_dependence_follow_early_and_late(name):
    tree, rows = CASES[name]
    resolution = resolution_of(tree)
    for interface, key, early, late, _basis, _file, _line in rows:
        p = model.predict(resolution, interface, key)
        assert p.order_dependent is (early != late)
        assert p.value == (None if early != late else early)
        if interface in ("all", "default", "lo"):
            assert not p.order_dependent


def test_early_is_the_kernel_default_and_late_inherits_default():
    p = model.predict(resolution_of([(ETC, "10-rp.conf", "net.ipv4.conf.default.rp_filter = 2\n")]), "eth0", "rp_filter")
    assert p.early == model.Source(0, "kernel_default", None, None)
    assert p.late == model.Source(2, "default", ETC + "/10-rp.conf", 1)


@pytest.mark.parametrize("live, drifts", [(0, False), (2, False), (1, True), (None, False)])
def test_an_order_dependent_key_drifts_only_from_both_values(live, drifts):
    p = model.predict(resolution_of([(ETC, "10-rp.conf", "net.ipv4.conf.default.rp_filter = 2\n")]), "eth0", "rp_filter")
    assert p.possible_values() == [0, 2]
    assert p.drifts(live) is drifts


@pytest.mark.parametrize("live, drifts", [(2, False), (0, True), (1, True)])
def test_a_fixed_key_drifts_from_its_one_value(live, drifts):
    p = model.predict(resolution_of([(USR, "50-default.conf", SYSTEMD_50_DEFAULT)]), "eth0", "rp_filter")
    assert p.drifts(live) is drifts


@pytest.mark.parametrize("interface, value", [("eth0", 2), ("lo", 0), ("all", 0), ("default", 2), ("tunl0", 2)])
def test_restore_value_is_the_expected_late_value(interface, value):
    resolution = resolution_of([(ETC, "10-rp.conf", "net.ipv4.conf.default.rp_filter = 2\n")])
    assert model.restore_value(resolution, interface, "rp_filter") == value


def test_as_fact_has_exactly_the_contract_fields():
    resolution = resolution_of([(ETC, "10-rp.conf", "net.ipv4.conf.default.rp_filter = 2\n")])
    assert model.as_fact(model.predict(resolution, "eth0", "rp_filter")) == {
        "interface": "eth0", "key": "rp_filter", "early": 0, "late": 2, "value": None,
        "order_dependent": True, "basis": "default", "file": ETC + "/10-rp.conf", "line": 1}
    assert model.as_fact(model.predict(resolution, "default", "rp_filter")) == {
        "interface": "default", "key": "rp_filter", "early": 2, "late": 2, "value": 2,
        "order_dependent": False, "basis": "file", "file": ETC + "/10-rp.conf", "line": 1}


@pytest.mark.parametrize("arp_facing, present, mode, names", [
    (["eth0"], ["lo", "eth0"], "dr", ["all", "default", "lo", "eth0"]),
    (["eth0", "eth1"], ["lo", "eth0", "eth1", "tunl0"], "dr", ["all", "default", "lo", "eth0", "eth1", "tunl0"]),
    (["eth0"], ["lo", "eth0"], "tun", ["all", "default", "lo", "eth0", "tunl0"]),
    ([], ["lo"], "dr", ["all", "default", "lo"]),
])
def test_prediction_names(arp_facing, present, mode, names):
    assert model.prediction_names(arp_facing, present, mode) == names


def test_predictions_cover_every_interface_and_key_in_order():
    found = model.predictions(resolution_of([]), ["all", "eth0"])
    assert [(p.interface, p.key) for p in found] == [
        (i, k) for i in ("all", "eth0") for k in ("arp_ignore", "arp_announce", "arp_filter", "rp_filter", "arp_notify")]
    table = model.by_interface(found)
    assert [k for k in model.PREDICTION_KEYS if table.prediction("eth0", k) is not None] == list(model.PREDICTION_KEYS)
    assert table.prediction("eth9", "arp_ignore") is None
    assert table.expected("eth0", "arp_ignore") == table.prediction("eth0", "arp_ignore").late
