# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""arp_sysctl's main(): every exit and fail path, with the file system and /proc replaced by fakes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d
from ansible_collections.lvs.realserver.plugins.module_utils._sysctl_d import ConfigFile
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
                 readonly=(), failing=(), sticky=(), detected=()):
        self.files = {PATH: current} if current is not None else {}
        self.kernel = running if running is not None else {"all": {"arp_ignore": 0, "arp_announce": 0}}
        self.writes = []
        self.file_ops = []
        self.locks = []
        self.readonly, self.failing, self.sticky = set(readonly), set(failing), set(sticky)
        self.state = {
            "current_text": current,
            "file_stat": stat or (FakeStat() if current is not None else None),
            "candidates": list(tree) + ([ConfigFile("/etc/sysctl.d", os.path.basename(PATH), False, current)]
                                        if current is not None else []),
            "sysctl_conf_text": sysctl_conf,
            "running": {k: dict(v) for k, v in self.kernel.items()},
        }
        self.read_state = lambda path: self.state
        self.remove_file = self.unlink
        self.swept = []
        self.detect = lambda: list(detected)  # what runtime: auto finds ([]: a capable host)
        monkeypatch.setattr(basic.AnsibleModule, "backup_local", lambda self_, path: path + ".bak~")
        self.warnings = []
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self_, msg: self.warnings.append(msg))

    def edges(self):
        """The module's ``_sysctl_apply.Edges`` over this host (a test may replace ``read_state``/``remove_file``)."""
        return _sysctl_apply.Edges(
            self.read_state, self.write_file, self.restore_file, self.remove_file, self.swept.append,
            lambda i, k: self.kernel.get(i, {}).get(k), self.write_value,
            lambda pairs: [p for p in pairs if p in self.readonly])

    def lock(self, module):
        """The host lock: a record of it taken (None in check mode, as ``_step.host_lock``)."""
        if module.check_mode:
            return None
        self.locks.append("taken")
        return self

    def release(self):
        self.locks.append("released")

    def write_file(self, module, path, text):
        self.file_ops.append(("write", path))
        self.files[path] = text

    def restore_file(self, path, text, mode=0o644):
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


def run(host, args, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with set_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            arp_sysctl.main(host)
    return info.value


def test_fresh_host_writes_file_then_runtime(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleExitJson)
    assert outcome.result["changed"] and outcome.result["file_changed"]
    assert host.files[PATH] == OURS
    assert host.writes == [("all", "arp_ignore", 1), ("all", "arp_announce", 2)]
    assert host.file_ops == [("write", PATH)]


def test_converged_host_changes_nothing(monkeypatch):
    host = FakeHost(monkeypatch, current=OURS, running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    outcome = run(host, {})
    assert outcome.result["changed"] is False
    assert host.writes == [] and host.file_ops == []


def test_wrong_mode_is_fixed_even_with_identical_content(monkeypatch):
    host = FakeHost(monkeypatch, current=OURS, stat=FakeStat(mode=0o100600),
                    running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    assert run(host, {}).result["file_changed"] is True
    assert host.file_ops == [("write", PATH)]


def test_check_mode_predicts_and_writes_nothing(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run(host, {}, check=True, diff=True)
    assert outcome.result["changed"] is True
    assert [c["name"] for c in outcome.result["runtime_changes"]] == [
        "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce"]
    assert host.writes == [] and host.file_ops == []
    file_diff, runtime_diff = outcome.result["diff"]
    assert (file_diff["before"], file_diff["after"]) == ("", OURS)
    assert runtime_diff["before"] == "net.ipv4.conf.all.arp_ignore = 0\nnet.ipv4.conf.all.arp_announce = 0\n"
    assert runtime_diff["after"] == "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n"


def test_runtime_skip_manages_only_the_file(monkeypatch):
    host = FakeHost(monkeypatch, readonly=[("all", "arp_ignore"), ("all", "arp_announce")])
    outcome = run(host, {"runtime": "skip"})
    assert outcome.result["changed"] and outcome.result["runtime_changes"] == []
    assert outcome.result["runtime"] == "skipped"
    assert host.writes == [] and host.files[PATH] == OURS


def test_the_removed_apply_option_is_refused_and_changes_nothing(monkeypatch):
    """apply: false was runtime: skip under another name; it is gone (changelog: breaking_changes)."""
    host = FakeHost(monkeypatch)
    outcome = run(host, {"apply": False})
    assert isinstance(outcome, AnsibleFailJson)
    assert "Unsupported parameters" in outcome.result["msg"] and "apply" in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


@pytest.mark.parametrize("args, fragment", [
    ({"conf": {"all": {"arp_ignore": 5}}}, "conf.all.arp_ignore=5: arp_ignore 5 is reserved"),
    ({"conf": {"eth0 ; id": {"arp_ignore": 1}}}, "interface name 'eth0 ; id'"),
    ({"path": "/etc/sysctl.conf"}, "path '/etc/sysctl.conf' must be directly inside one of"),
    ({"path": "/etc/sysctl.d/lvs.cfg"}, "must name a '*.conf' file"),
])
def test_bad_input_fails_naming_option_and_value_and_changes_nothing(monkeypatch, args, fragment):
    host = FakeHost(monkeypatch)
    outcome = run(host, args)
    assert isinstance(outcome, AnsibleFailJson)
    assert fragment in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


def test_foreign_file_is_refused(monkeypatch):
    host = FakeHost(monkeypatch, current="net.ipv4.conf.all.arp_ignore = 1\n")
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleFailJson)
    assert "not written by lvs.realserver.arp_sysctl" in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


def test_force_takes_over_a_foreign_file_with_a_backup(monkeypatch):
    host = FakeHost(monkeypatch, current="net.ipv4.conf.all.arp_ignore = 1\n")
    outcome = run(host, {"force": True, "backup": True})
    assert outcome.result["backup_file"] == PATH + ".bak~"
    assert host.files[PATH] == OURS


def test_conflict_fails_before_any_change_with_path_and_line(monkeypatch):
    later = ConfigFile("/etc/sysctl.d", "99-zzz-local.conf", False, "\nnet.ipv4.conf.all.arp_ignore = 0\n")
    host = FakeHost(monkeypatch, tree=[later])
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleFailJson)
    assert "net.ipv4.conf.all.arp_ignore = 0 at /etc/sysctl.d/99-zzz-local.conf:2 beats our 1" in outcome.result["msg"]
    assert "nothing was changed" in outcome.result["msg"]
    assert outcome.result["conflicts"][0]["line"] == 2
    assert host.writes == [] and host.file_ops == []


def test_conflict_warns_and_proceeds_when_asked(monkeypatch):
    later = ConfigFile("/etc/sysctl.d", "99-zzz-local.conf", False, "net.ipv4.conf.all.arp_ignore = 0\n")
    host = FakeHost(monkeypatch, tree=[later])
    outcome = run(host, {"on_conflict": "warn"})
    assert isinstance(outcome, AnsibleExitJson)
    assert any("99-zzz-local.conf" in w for w in host.warnings)
    assert host.files[PATH] == OURS


def test_read_only_proc_fails_before_writing_the_file(monkeypatch):
    host = FakeHost(monkeypatch, readonly=[("all", "arp_ignore")])
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleFailJson)
    assert "/proc/sys/net/ipv4/conf/all/arp_ignore" in outcome.result["msg"] and "runtime=auto or runtime=skip" in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


def test_runtime_write_failure_rolls_back_values_and_file(monkeypatch):
    host = FakeHost(monkeypatch, failing=[("all", "arp_announce")])
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleFailJson)
    assert "rolled back" in outcome.result["msg"] and "net.ipv4.conf.all.arp_announce" in outcome.result["msg"]
    assert host.writes == [("all", "arp_ignore", 1), ("all", "arp_ignore", 0)]
    assert host.kernel["all"] == {"arp_ignore": 0, "arp_announce": 0}
    assert host.file_ops == [("write", PATH), ("restore", PATH)] and PATH not in host.files


def test_read_back_mismatch_fails(monkeypatch):
    host = FakeHost(monkeypatch, sticky=[("all", "arp_announce")])
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleFailJson)
    assert "net.ipv4.conf.all.arp_announce reads back 0 instead of 2" in outcome.result["msg"]
    assert host.file_ops[-1] == ("restore", PATH)


def test_absent_removes_file_and_restores_boot_values(monkeypatch):
    vendor = ConfigFile("/usr/lib/sysctl.d", "60-vendor.conf", False, "net.ipv4.conf.all.arp_announce = 1\n")
    host = FakeHost(monkeypatch, current=OURS, tree=[vendor], running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    outcome = run(host, {"state": "absent"})
    assert outcome.result["changed"] and outcome.result["file_changed"]
    assert host.file_ops == [("unlink", PATH)]
    assert host.kernel["all"] == {"arp_ignore": 0, "arp_announce": 1}


def test_absent_is_idempotent(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run(host, {"state": "absent"})
    assert outcome.result["changed"] is False
    assert host.writes == [] and host.file_ops == []


def test_pending_interface_is_warned_not_failed(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run(host, {"conf": {"all": {"arp_ignore": 1}, "eth9": {"arp_ignore": 1}}})
    assert outcome.result["pending"] == ["net.ipv4.conf.eth9.arp_ignore"]
    assert any("eth9" in w for w in host.warnings)


def test_read_state_and_write_file_on_a_real_directory(tmp_path):
    """The two file edges for real, under a temporary directory (fsync watched, chown a no-op: ``ops=``)."""
    synced = []
    real = _sysctl_apply.files.os_ops()
    ops = real._replace(fsync=lambda fd: synced.append(fd) or real.fsync(fd),
                        chown=lambda *a: None, fchown=lambda *a: None)
    target = tmp_path / "sysctl.d" / "99-x.conf"
    _sysctl_apply.write_file(None, str(target), OURS, ops=ops)
    assert target.read_text() == OURS
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert len(synced) >= 2  # the temp file, then the directory
    assert [p.name for p in target.parent.iterdir()] == ["99-x.conf"]
    empty = tmp_path / "host"  # no sysctl.d tree, no interface below /proc/sys
    (empty / "proc" / "sys" / "net" / "ipv4" / "conf").mkdir(parents=True)
    state = _sysctl_apply.read_state(str(target), root=str(empty))
    assert state["current_text"] == OURS and state["file_stat"].st_size == len(OURS)
    assert (state["candidates"], state["sysctl_conf_text"], state["running"]) == ([], None, {})
    assert _sysctl_apply.read_state(str(tmp_path / "missing.conf"), root=str(empty))["current_text"] is None


@pytest.mark.parametrize("value", [5, 6, 7])
def test_reserved_arp_ignore_is_refused_with_the_reason(monkeypatch, value):
    host = FakeHost(monkeypatch)
    outcome = run(host, {"conf": {"eth0": {"arp_ignore": value}}})
    assert isinstance(outcome, AnsibleFailJson)
    assert ("conf.eth0.arp_ignore=%d: arp_ignore %d is reserved: the kernel treats 4-7 and values above 8 like 0"
            % (value, value)) in outcome.result["msg"]
    assert "answers ARP for every local address, VIPs included; use 1 (or 2)" in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


@pytest.mark.parametrize("uid, gid", [(1000, 0), (0, 1000), (1000, 1000)])
def test_wrong_owner_is_fixed_even_with_identical_content(monkeypatch, uid, gid):
    host = FakeHost(monkeypatch, current=OURS, stat=FakeStat(uid=uid, gid=gid),
                    running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    outcome = run(host, {})
    assert outcome.result["changed"] is True and outcome.result["file_changed"] is True
    assert host.file_ops == [("write", PATH)]
    assert host.writes == []


def test_a_rolled_back_run_reports_no_change(monkeypatch):
    host = FakeHost(monkeypatch, failing=[("all", "arp_announce")])
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleFailJson) and "rolled back" in outcome.result["msg"]
    assert outcome.result["changed"] is False and outcome.result["file_changed"] is False


def test_an_odd_thing_at_path_is_a_clear_error_with_nothing_changed(monkeypatch, tmp_path):
    link = tmp_path / "99-zz.conf"
    link.symlink_to(tmp_path / "nowhere")
    host = FakeHost(monkeypatch)
    host.read_state = lambda path: _sysctl_apply.read_state(str(link), root=str(tmp_path))
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleFailJson) and outcome.result["changed"] is False
    assert str(link) in outcome.result["msg"] and "symbolic link" in outcome.result["msg"]
    assert not (tmp_path / "nowhere").exists()


def test_absent_restores_the_values_before_it_removes_the_drop_in(monkeypatch):
    """A run killed in between leaves the drop-in, which tells the rerun what to restore (issue 15)."""
    host = FakeHost(monkeypatch, current=OURS, running={"all": {"arp_ignore": 1, "arp_announce": 2}})
    seen = []
    host.remove_file = lambda path: seen.append(dict(host.kernel["all"])) or host.unlink(path)
    outcome = run(host, {"state": "absent"})
    assert outcome.result["changed"] and seen == [{"arp_ignore": 0, "arp_announce": 0}]


def test_absent_puts_the_values_back_when_the_drop_in_cannot_be_removed(monkeypatch):
    host = FakeHost(monkeypatch, current=OURS, running={"all": {"arp_ignore": 1, "arp_announce": 2}})

    def fail(path):
        raise _sysctl_apply.files.FileError("cannot remove %s: Read-only file system" % path)
    host.remove_file = fail
    outcome = run(host, {"state": "absent"})
    assert isinstance(outcome, AnsibleFailJson) and "Read-only file system" in outcome.result["msg"]
    assert outcome.result["changed"] is False
    assert host.kernel["all"] == {"arp_ignore": 1, "arp_announce": 2} and PATH in host.files


# --------------------------------------------------------------------------
# runtime: auto | apply | skip
# --------------------------------------------------------------------------

UNPRIVILEGED = ["/proc/sys is mounted read-only, so the running ARP values cannot be written"]
READ_ONLY = [("all", "arp_ignore"), ("all", "arp_announce")]


def test_auto_in_an_unprivileged_container_writes_only_the_file_and_warns_once(monkeypatch):
    host = FakeHost(monkeypatch, readonly=READ_ONLY, detected=UNPRIVILEGED)
    outcome = run(host, {"runtime": "auto"})
    assert isinstance(outcome, AnsibleExitJson)
    assert outcome.result["changed"] and outcome.result["file_changed"]
    assert outcome.result["runtime"] == "skipped" and outcome.result["runtime_reasons"] == UNPRIVILEGED
    assert outcome.result["runtime_changes"] == []
    assert host.writes == [] and host.files[PATH] == OURS
    assert len(host.warnings) == 1 and host.warnings[0].startswith("runtime skipped:")
    # second run: nothing to do, and still exactly one warning
    host2 = FakeHost(monkeypatch, current=OURS, readonly=READ_ONLY, detected=UNPRIVILEGED)
    again = run(host2, {"runtime": "auto"})
    assert again.result["changed"] is False and host2.writes == [] and len(host2.warnings) == 1


def test_auto_check_mode_predicts_only_the_file(monkeypatch):
    host = FakeHost(monkeypatch, readonly=READ_ONLY, detected=UNPRIVILEGED)
    outcome = run(host, {"runtime": "auto"}, check=True, diff=True)
    assert outcome.result["changed"] and outcome.result["runtime_changes"] == []
    assert len(outcome.result["diff"]) == 1  # the file's diff only, no /proc/sys diff
    assert host.files == {} and host.writes == []


def test_auto_on_a_capable_host_applies(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run(host, {"runtime": "auto"})
    assert outcome.result["runtime"] == "applied" and outcome.result["runtime_reasons"] == []
    assert host.writes == [("all", "arp_ignore", 1), ("all", "arp_announce", 2)] and host.warnings == []


def test_apply_keeps_failing_in_an_unprivileged_container(monkeypatch):
    """Negative control: without auto/skip the read-only /proc/sys still fails, changing nothing."""
    host = FakeHost(monkeypatch, readonly=READ_ONLY, detected=UNPRIVILEGED)
    outcome = run(host, {"runtime": "apply"})
    assert isinstance(outcome, AnsibleFailJson)
    assert "cannot write /proc/sys/net/ipv4/conf/all/arp_ignore" in outcome.result["msg"]
    assert outcome.result["runtime"] == "applied"
    assert host.files == {} and host.writes == []


def test_skip_on_a_capable_host_writes_only_the_file_without_a_warning(monkeypatch):
    host = FakeHost(monkeypatch)
    outcome = run(host, {"runtime": "skip"})
    assert outcome.result["runtime"] == "skipped" and outcome.result["runtime_changes"] == []
    assert host.writes == [] and host.files[PATH] == OURS and host.warnings == []


def test_runtime_apply_on_a_read_only_proc_fails_naming_runtime_skip(monkeypatch):
    """What apply: false was for (a read-only /proc/sys) is runtime: skip; runtime: apply there changes nothing."""
    host = FakeHost(monkeypatch, readonly=[("all", "arp_ignore"), ("all", "arp_announce")])
    outcome = run(host, {"runtime": "apply"})
    assert isinstance(outcome, AnsibleFailJson)
    assert "runtime=skip" in outcome.result["msg"] and "read-only" in outcome.result["msg"]
    assert host.writes == [] and host.file_ops == []


def test_main_returns_after_refusing_bad_input_even_where_fail_json_returns(monkeypatch):
    """main() does not rely on fail_json never returning: no lock, no write, no exit_json after the refusal."""
    host = FakeHost(monkeypatch)
    calls = []
    monkeypatch.setattr(arp_sysctl.AnsibleModule, "fail_json", lambda self, **kw: calls.append(("fail", kw["msg"])))
    monkeypatch.setattr(arp_sysctl.AnsibleModule, "exit_json", lambda self, **kw: calls.append(("exit", kw)))
    with set_module_args({"conf": {"all": {"arp_ignore": 5}}}):
        assert arp_sysctl.main(host) is None
    assert [call[0] for call in calls] == ["fail"] and "conf.all.arp_ignore=5" in calls[0][1]
    assert host.writes == [] and host.file_ops == [] and host.locks == []


def test_an_unreadable_sysctl_d_file_fails_naming_it_with_nothing_changed(monkeypatch, tmp_path):
    """_sysctl_d raises IOError naming the file it cannot read; the module fails with it, no traceback."""
    (tmp_path / "etc" / "sysctl.d").mkdir(parents=True)
    (tmp_path / "etc" / "sysctl.d" / "50-secret.conf").write_text("net.ipv4.conf.all.arp_ignore = 0\n")

    def refuse(path):
        raise IOError(13, "Permission denied", path)
    host = FakeHost(monkeypatch)
    host.read_state = lambda path: dict(host.state, candidates=sysctl_d.read_config_files(
        str(tmp_path), sysctl_d.SEARCH_DIRS, ".conf", read_text=refuse))
    outcome = run(host, {})
    assert isinstance(outcome, AnsibleFailJson)
    assert outcome.result["msg"] == ("cannot read /etc/sysctl.d/50-secret.conf: Permission denied; "
                                     "nothing was changed")
    assert outcome.result["changed"] is False and host.writes == [] and host.file_ops == []


def test_the_lock_is_taken_and_released_around_the_change(monkeypatch):
    host = FakeHost(monkeypatch)
    assert isinstance(run(host, {}), AnsibleExitJson)
    assert host.locks == ["taken", "released"] and host.swept == ["/etc/sysctl.d"]
    check = FakeHost(monkeypatch)
    run(check, {}, check=True)
    assert check.locks == [] and check.swept == []


def test_the_default_host_is_the_machine():
    """Without a host, main() uses the real edges, detector and lock (what the fakes above stand in for)."""
    from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode, _step
    host = arp_sysctl.Host()
    assert (host.edges, host.detect, host.lock) == (_sysctl_apply.host_edges, _runtime_mode.detect, _step.host_lock)
