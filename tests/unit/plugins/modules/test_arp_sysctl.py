# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""arp_sysctl's main(): every exit and fail path, with the file system and /proc replaced by fakes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils._sysctl_d import Candidate
from ansible_collections.lvs.realserver.plugins.modules import arp_sysctl
from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    AnsibleExitJson,
    AnsibleFailJson,
    set_module_args,
)

PATH = "/etc/sysctl.d/99-zz-lvs-realserver.conf"
OURS = sysctl_d.render_dropin({"all": {"arp_ignore": 1, "arp_announce": 2}}, ("arp_ignore", "arp_announce"))


class FakeStat(object):
    def __init__(self, mode=0o100644, uid=0, gid=0):
        self.st_mode, self.st_uid, self.st_gid = mode, uid, gid


class FakeHost(object):
    """The module's I/O edges over in-memory state; records every write."""

    def __init__(self, monkeypatch, current=None, stat=None, tree=(), sysctl_conf=None, running=None,
                 readonly=(), failing=(), sticky=()):
        self.files = {PATH: current} if current is not None else {}
        self.kernel = running if running is not None else {"all": {"arp_ignore": 0, "arp_announce": 0}}
        self.writes = []
        self.file_ops = []
        self.readonly, self.failing, self.sticky = set(readonly), set(failing), set(sticky)
        self.state = {
            "current_text": current,
            "file_stat": stat or (FakeStat() if current is not None else None),
            "candidates": list(tree) + ([Candidate("/etc/sysctl.d", os.path.basename(PATH), False, current)]
                                        if current is not None else []),
            "sysctl_conf_text": sysctl_conf,
            "running": {k: dict(v) for k, v in self.kernel.items()},
        }
        monkeypatch.setattr(_sysctl_apply, "read_state", lambda path: self.state)
        monkeypatch.setattr(_sysctl_apply, "write_file", self.write_file)
        monkeypatch.setattr(_sysctl_apply, "restore_file", self.restore_file)
        monkeypatch.setattr(_sysctl_apply.os, "unlink", self.unlink)
        monkeypatch.setattr(_runtime, "write_value", self.write_value)
        monkeypatch.setattr(_runtime, "read_value", lambda i, k, *a: self.kernel.get(i, {}).get(k))
        monkeypatch.setattr(_runtime, "unwritable", lambda pairs, *a: [p for p in pairs if p in self.readonly])
        monkeypatch.setattr(arp_sysctl.AnsibleModule, "backup_local", lambda self_, path: path + ".bak~")
        self.warnings = []
        monkeypatch.setattr(arp_sysctl.AnsibleModule, "warn", lambda self_, msg: self.warnings.append(msg))

    def write_file(self, module, path, text):
        self.file_ops.append(("write", path))
        self.files[path] = text

    def restore_file(self, path, text):
        self.file_ops.append(("restore", path))
        if text is None:
            self.files.pop(path, None)
        else:
            self.files[path] = text

    def unlink(self, path):
        self.file_ops.append(("unlink", path))
        self.files.pop(path)

    def write_value(self, interface, key, value, *args):
        if (interface, key) in self.failing:
            raise IOError(22, "Invalid argument")
        self.writes.append((interface, key, value))
        if (interface, key) not in self.sticky:
            self.kernel.setdefault(interface, {})[key] = value


def run(args, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with set_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            arp_sysctl.main()
    return info.value


def test_fresh_host_writes_file_then_runtime(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run({})
    assert isinstance(outcome, AnsibleExitJson)
    assert outcome.result["changed"] and outcome.result["file_changed"]
    assert host.files[PATH] == OURS
    assert host.writes == [("all", "arp_ignore", 1), ("all", "arp_announce", 2)]
    assert host.file_ops == [("write", PATH)]


def test_converged_host_changes_nothing(monkeypatch):
    host = FakeHost(monkeypatch, current=OURS, running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    outcome = run({})
    assert outcome.result["changed"] is False
    assert host.writes == [] and host.file_ops == []


def test_wrong_mode_is_fixed_even_with_identical_content(monkeypatch):
    host = FakeHost(monkeypatch, current=OURS, stat=FakeStat(mode=0o100600),
                    running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    assert run({}).result["file_changed"] is True
    assert host.file_ops == [("write", PATH)]


def test_check_mode_predicts_and_writes_nothing(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run({}, check=True, diff=True)
    assert outcome.result["changed"] is True
    assert [c["name"] for c in outcome.result["runtime_changes"]] == [
        "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce"]
    assert host.writes == [] and host.file_ops == []
    file_diff, runtime_diff = outcome.result["diff"]
    assert (file_diff["before"], file_diff["after"]) == ("", OURS)
    assert runtime_diff["before"] == "net.ipv4.conf.all.arp_ignore = 0\nnet.ipv4.conf.all.arp_announce = 0\n"
    assert runtime_diff["after"] == "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n"


def test_apply_false_manages_only_the_file(monkeypatch):
    host = FakeHost(monkeypatch, readonly=[("all", "arp_ignore"), ("all", "arp_announce")])
    outcome = run({"apply": False})
    assert outcome.result["changed"] and outcome.result["runtime_changes"] == []
    assert host.writes == [] and host.files[PATH] == OURS


@pytest.mark.parametrize("args, fragment", [
    ({"conf": {"all": {"arp_ignore": 5}}}, "conf.all.arp_ignore=5: arp_ignore 5 is reserved"),
    ({"conf": {"eth0 ; id": {"arp_ignore": 1}}}, "interface name 'eth0 ; id'"),
    ({"path": "/etc/sysctl.conf"}, "path '/etc/sysctl.conf' must be directly inside one of"),
    ({"path": "/etc/sysctl.d/lvs.cfg"}, "must name a '*.conf' file"),
])
def test_bad_input_fails_naming_option_and_value_and_changes_nothing(monkeypatch, args, fragment):
    host = FakeHost(monkeypatch)
    outcome = run(args)
    assert isinstance(outcome, AnsibleFailJson)
    assert fragment in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


def test_foreign_file_is_refused(monkeypatch):
    host = FakeHost(monkeypatch, current="net.ipv4.conf.all.arp_ignore = 1\n")
    outcome = run({})
    assert isinstance(outcome, AnsibleFailJson)
    assert "not written by lvs.realserver.arp_sysctl" in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


def test_force_takes_over_a_foreign_file_with_a_backup(monkeypatch):
    host = FakeHost(monkeypatch, current="net.ipv4.conf.all.arp_ignore = 1\n")
    outcome = run({"force": True, "backup": True})
    assert outcome.result["backup_file"] == PATH + ".bak~"
    assert host.files[PATH] == OURS


def test_conflict_fails_before_any_change_with_path_and_line(monkeypatch):
    later = Candidate("/etc/sysctl.d", "99-zzz-local.conf", False, "\nnet.ipv4.conf.all.arp_ignore = 0\n")
    host = FakeHost(monkeypatch, tree=[later])
    outcome = run({})
    assert isinstance(outcome, AnsibleFailJson)
    assert "net.ipv4.conf.all.arp_ignore = 0 at /etc/sysctl.d/99-zzz-local.conf:2 beats our 1" in outcome.result["msg"]
    assert "nothing was changed" in outcome.result["msg"]
    assert outcome.result["conflicts"][0]["line"] == 2
    assert host.writes == [] and host.file_ops == []


def test_conflict_warns_and_proceeds_when_asked(monkeypatch):
    later = Candidate("/etc/sysctl.d", "99-zzz-local.conf", False, "net.ipv4.conf.all.arp_ignore = 0\n")
    host = FakeHost(monkeypatch, tree=[later])
    outcome = run({"on_conflict": "warn"})
    assert isinstance(outcome, AnsibleExitJson)
    assert any("99-zzz-local.conf" in w for w in host.warnings)
    assert host.files[PATH] == OURS


def test_read_only_proc_fails_before_writing_the_file(monkeypatch):
    host = FakeHost(monkeypatch, readonly=[("all", "arp_ignore")])
    outcome = run({})
    assert isinstance(outcome, AnsibleFailJson)
    assert "/proc/sys/net/ipv4/conf/all/arp_ignore" in outcome.result["msg"] and "apply=false" in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


def test_runtime_write_failure_rolls_back_values_and_file(monkeypatch):
    host = FakeHost(monkeypatch, failing=[("all", "arp_announce")])
    outcome = run({})
    assert isinstance(outcome, AnsibleFailJson)
    assert "rolled back" in outcome.result["msg"] and "net.ipv4.conf.all.arp_announce" in outcome.result["msg"]
    assert host.writes == [("all", "arp_ignore", 1), ("all", "arp_ignore", 0)]
    assert host.kernel["all"] == {"arp_ignore": 0, "arp_announce": 0}
    assert host.file_ops == [("write", PATH), ("restore", PATH)] and PATH not in host.files


def test_read_back_mismatch_fails(monkeypatch):
    host = FakeHost(monkeypatch, sticky=[("all", "arp_announce")])
    outcome = run({})
    assert isinstance(outcome, AnsibleFailJson)
    assert "net.ipv4.conf.all.arp_announce reads back 0 instead of 2" in outcome.result["msg"]
    assert host.file_ops[-1] == ("restore", PATH)


def test_absent_removes_file_and_restores_boot_values(monkeypatch):
    vendor = Candidate("/usr/lib/sysctl.d", "60-vendor.conf", False, "net.ipv4.conf.all.arp_announce = 1\n")
    host = FakeHost(monkeypatch, current=OURS, tree=[vendor], running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    outcome = run({"state": "absent"})
    assert outcome.result["changed"] and outcome.result["file_changed"]
    assert host.file_ops == [("unlink", PATH)]
    assert host.kernel["all"] == {"arp_ignore": 0, "arp_announce": 1}


def test_absent_is_idempotent(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run({"state": "absent"})
    assert outcome.result["changed"] is False
    assert host.writes == [] and host.file_ops == []


def test_pending_interface_is_warned_not_failed(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run({"conf": {"all": {"arp_ignore": 1}, "eth9": {"arp_ignore": 1}}})
    assert outcome.result["pending"] == ["net.ipv4.conf.eth9.arp_ignore"]
    assert any("eth9" in w for w in host.warnings)


def test_read_state_and_write_file_on_a_real_directory(tmp_path, monkeypatch):
    """The two file edges for real, under a temporary directory."""
    calls = []

    class Module(object):
        def atomic_move(self, src, dest, unsafe_writes=False):
            calls.append((src, dest))
            os.rename(src, dest)

    monkeypatch.setattr(_sysctl_apply.files.os, "chown", lambda *a: None)
    target = tmp_path / "sysctl.d" / "99-x.conf"
    _sysctl_apply.write_file(Module(), str(target), OURS)
    assert target.read_text() == OURS
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert calls and os.path.dirname(calls[0][0]) == str(target.parent)
    assert [p.name for p in target.parent.iterdir()] == ["99-x.conf"]
    monkeypatch.setattr(_sysctl_apply.sysctl_d, "read_candidates", lambda: [])
    monkeypatch.setattr(_sysctl_apply.sysctl_d, "read_sysctl_conf", lambda: None)
    monkeypatch.setattr(_runtime, "read_conf", lambda keys: {})
    state = _sysctl_apply.read_state(str(target))
    assert state["current_text"] == OURS and state["file_stat"].st_size == len(OURS)
    assert _sysctl_apply.read_state(str(tmp_path / "missing.conf"))["current_text"] is None
