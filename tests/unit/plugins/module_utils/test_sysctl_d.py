# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils._sysctl_d import ConfigFile


def cand(path, text="", masked=False):
    directory, name = os.path.split(path)
    return ConfigFile(directory, name, masked, text)


def winner_of(candidates, key, sysctl_conf=None):
    resolution = sysctl_d.resolve(sysctl_d.boot_files(candidates, sysctl_conf))
    winner = resolution.winner(key)
    return (winner.value, winner.path, winner.line) if winner else None


@pytest.mark.parametrize("key, expected", [
    ("net.ipv4.conf.all.arp_ignore", "net/ipv4/conf/all/arp_ignore"),
    ("net.ipv4.conf.eth0/100.arp_ignore", "net/ipv4/conf/eth0.100/arp_ignore"),
    ("net/ipv4/conf/eth0.100/arp_ignore", "net/ipv4/conf/eth0.100/arp_ignore"),
    ("  net.ipv4.conf.lo.arp_announce ", "net/ipv4/conf/lo/arp_announce"),
    ("net.ipv4.conf.*.rp_filter", "net/ipv4/conf/*/rp_filter"),
])
def test_normalize_key_follows_the_first_separator(key, expected):
    assert sysctl_d.normalize_key(key) == expected


def test_dotted_key_writes_dotted_interface_names_with_slashes():
    assert sysctl_d.dotted_key("net/ipv4/conf/eth0.100/arp_ignore") == "net.ipv4.conf.eth0/100.arp_ignore"
    assert sysctl_d.normalize_key(sysctl_d.dotted_key("net/ipv4/conf/eth0.100/arp_ignore")) == \
        "net/ipv4/conf/eth0.100/arp_ignore"


@pytest.mark.parametrize("key, expected", [
    ("net/ipv4/conf/all/arp_ignore", ("all", "arp_ignore")),
    ("net/ipv4/conf/eth0.100/rp_filter", ("eth0.100", "rp_filter")),
    ("net/ipv4/ip_forward", None),
    ("net/ipv4/conf/a/b/c", None),
])
def test_split_conf_key(key, expected):
    assert sysctl_d.split_conf_key(key) == expected


def test_parse_text_comments_dash_prefix_and_problems():
    text = "\n".join([
        "# comment",
        "; also a comment",
        "",
        "net.ipv4.conf.all.arp_ignore = 1",
        "-net.ipv4.conf.eth9.arp_ignore=1",
        "-net.ipv4.conf.all.rp_filter",
        "garbage line",
        "= 3",
        "  net.ipv4.conf.all.arp_announce=2  ",
    ])
    assignments, problems = sysctl_d.parse_text(text, "/etc/sysctl.d/x.conf")
    assert [(a.key, a.value, a.line, a.ignore_failure) for a in assignments] == [
        ("net/ipv4/conf/all/arp_ignore", "1", 4, False),
        ("net/ipv4/conf/eth9/arp_ignore", "1", 5, True),
        ("net/ipv4/conf/all/rp_filter", None, 6, True),
        ("net/ipv4/conf/all/arp_announce", "2", 9, False),
    ]
    assert [(p.line, p.reason) for p in problems] == [(7, "line is not an assignment"), (8, "empty key")]


def test_files_sort_by_name_across_directories():
    tree = [
        cand("/etc/sysctl.d/05-early.conf", "net.ipv4.conf.all.arp_announce = 2\n"),
        cand("/usr/lib/sysctl.d/20-vendor.conf", "net.ipv4.conf.all.arp_announce = 1\n"),
    ]
    assert winner_of(tree, "net/ipv4/conf/all/arp_announce") == ("1", "/usr/lib/sysctl.d/20-vendor.conf", 1)


def test_etc_masks_same_named_file_in_every_later_directory():
    tree = [
        cand("/usr/lib/sysctl.d/10-lvs.conf", "net.ipv4.conf.all.arp_ignore = 0\n"),
        cand("/run/sysctl.d/10-lvs.conf", "net.ipv4.conf.all.arp_ignore = 2\n"),
        cand("/etc/sysctl.d/10-lvs.conf", "\n\nnet.ipv4.conf.all.arp_ignore = 1\n"),
    ]
    assert winner_of(tree, "net/ipv4/conf/all/arp_ignore") == ("1", "/etc/sysctl.d/10-lvs.conf", 3)
    run_over_usr = tree[:2]
    assert winner_of(run_over_usr, "net/ipv4/conf/all/arp_ignore") == ("2", "/run/sysctl.d/10-lvs.conf", 1)


def test_symlink_to_dev_null_masks_a_vendor_file():
    tree = [
        cand("/usr/lib/sysctl.d/50-default.conf", "net.ipv4.conf.*.rp_filter = 2\n"),
        cand("/etc/sysctl.d/50-default.conf", masked=True),
    ]
    assert winner_of(tree, "net/ipv4/conf/tunl0/rp_filter") is None


def test_non_conf_files_are_ignored():
    tree = [cand("/etc/sysctl.d/70-x.conf.disabled", "net.ipv4.conf.all.arp_ignore = 8\n")]
    assert winner_of(tree, "net/ipv4/conf/all/arp_ignore") is None


def test_last_assignment_wins_within_and_across_files():
    tree = [
        cand("/etc/sysctl.d/10-a.conf", "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_ignore = 2\n"),
        cand("/etc/sysctl.d/20-b.conf", "net/ipv4/conf/all/arp_ignore = 3\n"),
    ]
    assert winner_of(tree, "net.ipv4.conf.all.arp_ignore") == ("3", "/etc/sysctl.d/20-b.conf", 1)
    resolution = sysctl_d.resolve(sysctl_d.boot_files(tree))
    assert [a.value for a in resolution.history("net/ipv4/conf/all/arp_ignore")] == ["1", "2", "3"]


def test_explicit_key_beats_glob_regardless_of_order():
    tree = [
        cand("/etc/sysctl.d/45-explicit.conf", "net.ipv4.conf.veth9.rp_filter = 1\n"),
        cand("/usr/lib/sysctl.d/50-default.conf",
             "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n"),
    ]
    assert winner_of(tree, "net/ipv4/conf/veth9/rp_filter") == ("1", "/etc/sysctl.d/45-explicit.conf", 1)
    assert winner_of(tree, "net/ipv4/conf/tunl0/rp_filter") == ("2", "/usr/lib/sysctl.d/50-default.conf", 2)
    # '-key' without a value only excludes the key from globs: nothing sets it
    assert winner_of(tree, "net/ipv4/conf/all/rp_filter") is None


def test_later_glob_wins_and_equal_reassignment_keeps_position():
    tree = [
        cand("/etc/sysctl.d/10-a.conf", "net.ipv4.conf.*.rp_filter = 1\n"),
        cand("/etc/sysctl.d/20-b.conf", "net.ipv4.conf.e*.rp_filter = 2\n"),
        cand("/etc/sysctl.d/30-c.conf", "net.ipv4.conf.*.rp_filter = 1\n"),
    ]
    # systemd-sysctl skips an identical reassignment, so the 20-b glob stays last
    assert winner_of(tree, "net/ipv4/conf/eth0/rp_filter") == ("2", "/etc/sysctl.d/20-b.conf", 1)
    tree[2] = cand("/etc/sysctl.d/30-c.conf", "net.ipv4.conf.*.rp_filter = 0\n")
    assert winner_of(tree, "net/ipv4/conf/eth0/rp_filter") == ("0", "/etc/sysctl.d/30-c.conf", 1)


def test_dotted_interface_names_in_both_forms():
    tree = [
        cand("/etc/sysctl.d/10-a.conf", "net.ipv4.conf.eth0/100.arp_ignore = 1\n"),
        cand("/etc/sysctl.d/20-b.conf", "net/ipv4/conf/eth0.100/arp_ignore = 2\n"),
        cand("/etc/sysctl.d/30-wrong.conf", "net.ipv4.conf.eth0.100.arp_ignore = 8\n"),
    ]
    # the all-dots form addresses /proc/sys/net/ipv4/conf/eth0/100/..., a different (missing) key
    assert winner_of(tree, "net/ipv4/conf/eth0.100/arp_ignore") == ("2", "/etc/sysctl.d/20-b.conf", 1)


def test_sysctl_conf_is_read_last_only_for_procps():
    tree = [cand("/etc/sysctl.d/99-zz-lvs-realserver.conf", "net.ipv4.conf.all.arp_ignore = 1\n")]
    sysctl_conf = "net.ipv4.conf.all.arp_ignore = 0\n"
    assert winner_of(tree, "net/ipv4/conf/all/arp_ignore")[0] == "1"
    assert winner_of(tree, "net/ipv4/conf/all/arp_ignore", sysctl_conf) == ("0", "/etc/sysctl.conf", 1)


def test_debian_99_sysctl_symlink_sorts_before_the_default_dropin_name():
    tree = [
        cand("/etc/sysctl.d/99-sysctl.conf", "net.ipv4.conf.all.arp_ignore = 0\n"),
        cand("/etc/sysctl.d/99-zz-lvs-realserver.conf", "net.ipv4.conf.all.arp_ignore = 1\n"),
    ]
    assert winner_of(tree, "net/ipv4/conf/all/arp_ignore")[1] == "/etc/sysctl.d/99-zz-lvs-realserver.conf"


def test_with_file_and_masking_file():
    tree = [cand("/usr/lib/sysctl.d/90-x.conf", "a = 1\n"), cand("/etc/sysctl.d/90-x.conf", "a = 2\n")]
    assert sysctl_d.masking_file(tree, "/usr/lib/sysctl.d/90-x.conf") == "/etc/sysctl.d/90-x.conf"
    assert sysctl_d.masking_file(tree, "/etc/sysctl.d/90-x.conf") is None
    removed = sysctl_d.with_file(tree, "/etc/sysctl.d/90-x.conf", None)
    assert sysctl_d.effective_files(removed) == [ConfigFile("/usr/lib/sysctl.d", "90-x.conf", False, "a = 1\n")]
    replaced = sysctl_d.with_file(tree, "/etc/sysctl.d/90-x.conf", "a = 3\n")
    assert sysctl_d.effective_files(replaced) == [ConfigFile("/etc/sysctl.d", "90-x.conf", False, "a = 3\n")]


def test_read_candidates_reads_a_real_tree(tmp_path):
    etc = tmp_path / "etc" / "sysctl.d"
    usr = tmp_path / "usr" / "lib" / "sysctl.d"
    etc.mkdir(parents=True)
    usr.mkdir(parents=True)
    (usr / "50-default.conf").write_text("net.ipv4.conf.*.rp_filter = 2\n")
    (usr / "60-other.conf").write_text("net.ipv4.conf.all.arp_ignore = 0\n")
    os.symlink("/dev/null", str(etc / "50-default.conf"))
    (etc / "README").write_text("not a conf file\n")
    (tmp_path / "lib").symlink_to("usr/lib")
    (tmp_path / "etc" / "sysctl.conf").write_text("net.ipv4.conf.all.arp_ignore = 1\n")
    candidates = sysctl_d.read_candidates(str(tmp_path))
    assert sorted((c.directory, c.name, c.masked) for c in candidates) == [
        ("/etc/sysctl.d", "50-default.conf", True),
        ("/usr/lib/sysctl.d", "50-default.conf", False),
        ("/usr/lib/sysctl.d", "60-other.conf", False),
    ]
    assert [path for path, _text in sysctl_d.boot_files(candidates, sysctl_d.read_sysctl_conf(str(tmp_path)))] == [
        "/usr/lib/sysctl.d/60-other.conf", "/etc/sysctl.conf"]
    assert sysctl_d.read_sysctl_conf(str(tmp_path / "nowhere")) is None


def _tree(tmp_path):
    for directory in ("etc/sysctl.d", "run/sysctl.d", "usr/lib/sysctl.d"):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "etc" / "sysctl.d" / "10-a.conf").write_text("net.ipv4.conf.all.arp_ignore = 1\n")
    (tmp_path / "etc" / "sysctl.d" / "20-b.conf").write_text("net.ipv4.conf.all.arp_announce = 2\n")
    (tmp_path / "usr" / "lib" / "sysctl.d" / "30-c.conf").write_text("net.ipv4.conf.all.rp_filter = 1\n")


def _denying(tmp_path, name):
    """A ``listdir`` and ``read_text`` pair that fail (EACCES) for the path below ``tmp_path`` ending in ``name``."""
    def listdir(path):
        if path.endswith(name):
            raise OSError(13, "Permission denied", path)
        return os.listdir(path)

    def read_text(path):
        if path.endswith(name):
            raise IOError(13, "Permission denied", path)
        with open(path) as handle:
            return handle.read()
    return listdir, read_text


@pytest.mark.parametrize("denied, reported, kept", [
    ("run/sysctl.d", "/run/sysctl.d", ["10-a.conf", "20-b.conf", "30-c.conf"]),
    ("usr/lib/sysctl.d", "/usr/lib/sysctl.d", ["10-a.conf", "20-b.conf"]),
    ("20-b.conf", "/etc/sysctl.d/20-b.conf", ["10-a.conf", "30-c.conf"]),
])
def test_read_config_files_collects_what_it_cannot_read(tmp_path, denied, reported, kept):
    _tree(tmp_path)
    listdir, read_text = _denying(tmp_path, denied)
    unreadable = []
    found = sysctl_d.read_config_files(str(tmp_path), sysctl_d.SEARCH_DIRS, ".conf", unreadable,
                                       listdir=listdir, read_text=read_text)
    assert unreadable == [reported]
    assert sorted(f.name for f in found) == kept
    # negative control: with the real readers nothing is left out
    unreadable = []
    assert len(sysctl_d.read_config_files(str(tmp_path), sysctl_d.SEARCH_DIRS, ".conf", unreadable)) == 3
    assert unreadable == []


def test_read_config_files_without_a_list_raises_an_error_naming_the_path(tmp_path):
    _tree(tmp_path)
    listdir, read_text = _denying(tmp_path, "20-b.conf")
    with pytest.raises(IOError) as caught:
        sysctl_d.read_config_files(str(tmp_path), sysctl_d.SEARCH_DIRS, ".conf", listdir=listdir, read_text=read_text)
    assert str(caught.value) == "[Errno 13] cannot read /etc/sysctl.d/20-b.conf: Permission denied"


def test_read_config_files_empty_masks_for_networkd(tmp_path):
    (tmp_path / "etc" / "systemd" / "network").mkdir(parents=True)
    (tmp_path / "etc" / "systemd" / "network" / "10-lo.network").write_text("")
    (tmp_path / "etc" / "systemd" / "network" / "20-eth.network").write_text("[Match]\nName=eth0\n")
    dirs = ("/etc/systemd/network",)
    masked = sysctl_d.read_config_files(str(tmp_path), dirs, ".network", [], empty_masks=True)
    assert [(f.name, f.masked) for f in masked] == [("10-lo.network", True), ("20-eth.network", False)]
    plain = sysctl_d.read_config_files(str(tmp_path), dirs, ".network", [])
    assert [(f.name, f.masked) for f in plain] == [("10-lo.network", False), ("20-eth.network", False)]


def test_render_dropin_is_deterministic_and_managed():
    conf = {"eth0.100": {"arp_ignore": 1}, "default": {"rp_filter": 0}, "all": {"arp_announce": 2, "arp_ignore": 1}}
    text = sysctl_d.render_dropin(conf, ("arp_ignore", "arp_announce", "rp_filter"))
    assert sysctl_d.is_managed_text(text)
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert text.splitlines()[2:] == [
        "net.ipv4.conf.all.arp_ignore = 1",
        "net.ipv4.conf.all.arp_announce = 2",
        "net.ipv4.conf.default.rp_filter = 0",
        "net.ipv4.conf.eth0/100.arp_ignore = 1",
    ]
    assert text == sysctl_d.render_dropin(dict(reversed(list(conf.items()))), ("arp_ignore", "arp_announce", "rp_filter"))
    assert not sysctl_d.is_managed_text("net.ipv4.conf.all.arp_ignore = 1\n")
