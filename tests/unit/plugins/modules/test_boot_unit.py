# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""boot_unit's main(): files and systemctl calls, with the file system and systemctl replaced by fakes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot
from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit_apply as apply
from ansible_collections.lvs.realserver.plugins.modules import boot_unit
from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    SYSTEMCTL,
    UNIT,
    AnsibleExitJson,
    AnsibleFailJson,
    FakeFiles,
    RunCommandMock,
    set_module_args,
    systemctl_status as status,
)


def run(monkeypatch, args, calls, check=False):
    mock = RunCommandMock(calls)
    monkeypatch.setattr(boot_unit.AnsibleModule, "run_command", lambda self, argv, **kw: mock(argv, **kw))
    with set_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=True)):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            boot_unit.main()
    mock.assert_done()
    return info.value


def test_install_enable_start(monkeypatch, get_bin_path):
    fs = FakeFiles(monkeypatch)
    calls = status(False, False) + [
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
        ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "start", UNIT], (0, "", "")),
    ]
    outcome = run(monkeypatch, {"addresses": ["192.0.2.10", "2001:db8::10"]}, calls)
    assert isinstance(outcome, AnsibleExitJson) and outcome.result["changed"]
    assert boot.UNIT_PATH in fs.written and boot.CLI_PATH in fs.written
    assert boot.MODULES_LOAD_PATH not in fs.written
    assert '"192.0.2.10"' in fs.files["/etc/lvs-realserver/vips.json"][0]
    assert "_vipctl.main(" in fs.files[boot.CLI_PATH][0]
    assert "def guard_problems" in fs.files[boot.LIBEXEC + "/_vipctl.py"][0]  # the real controller source
    assert "def evaluate(" in fs.files[boot.LIBEXEC + "/_arp_rules.py"][0]
    assert sorted(apply.LIBRARY_MODULES) == sorted(boot.LIBRARY)


def test_second_run_is_a_no_op(monkeypatch, get_bin_path):
    fs = FakeFiles(monkeypatch)
    run(monkeypatch, {"addresses": ["192.0.2.10"]}, status(False, False) + [
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")), ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "start", UNIT], (0, "", ""))])
    fs.written = []
    outcome = run(monkeypatch, {"addresses": ["192.0.2.10"]}, status(True, True))
    assert outcome.result["changed"] is False and fs.written == []


def test_without_running_systemd_the_unit_is_enabled_not_started(monkeypatch, get_bin_path):
    fs = FakeFiles(monkeypatch, systemd_running=False)
    calls = [([SYSTEMCTL, "is-enabled", UNIT], (1, "disabled\n", "")), ([SYSTEMCTL, "enable", UNIT], (0, "", ""))]
    outcome = run(monkeypatch, {"addresses": ["192.0.2.10"], "mode": "tun"}, calls)
    assert outcome.result["systemd_running"] is False
    assert boot.MODULES_LOAD_PATH in fs.written
    assert any("not started" in w for w in fs.warnings)


def test_check_mode_runs_only_status_queries(monkeypatch, get_bin_path):
    fs = FakeFiles(monkeypatch)
    outcome = run(monkeypatch, {"addresses": ["192.0.2.10"]}, status(False, False), check=True)
    assert outcome.result["changed"] and fs.written == []
    assert outcome.result["systemctl"] == [["daemon-reload"], ["enable", UNIT], ["start", UNIT]]
    assert [d["after_header"] for d in outcome.result["diff"]] == outcome.result["files"]


def test_guard_refusal_fails_with_the_journal(monkeypatch, get_bin_path):
    FakeFiles(monkeypatch)
    calls = status(False, False) + [
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
        ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "start", UNIT], (1, "", "Job failed")),
        (["/testbin/journalctl", "--no-pager", "-n", "20", "-u", UNIT], (0, "REFUSED: eth0 arp_ignore\n", "")),
    ]
    outcome = run(monkeypatch, {"addresses": ["192.0.2.10"]}, calls)
    assert isinstance(outcome, AnsibleFailJson)
    assert "start lvs-realserver-vips.service failed" in outcome.result["msg"]
    assert "REFUSED: eth0 arp_ignore" in outcome.result["msg"]


def test_absent_stops_disables_removes_then_reloads(monkeypatch, get_bin_path):
    existing = dict((p, ("x\n", 0o644)) for p in boot.all_paths())
    fs = FakeFiles(monkeypatch, existing=existing)
    calls = status(True, True) + [
        ([SYSTEMCTL, "stop", UNIT], (0, "", "")),
        ([SYSTEMCTL, "disable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
    ]
    outcome = run(monkeypatch, {"state": "absent"}, calls)
    assert outcome.result["changed"] and sorted(fs.removed) == sorted(boot.all_paths())
    assert fs.files == {}


@pytest.mark.parametrize("args, fragment", [
    ({"addresses": ["192.0.2.0/24"]}, "addresses[0]: '192.0.2.0/24' has prefix length /24"),
    ({"addresses": []}, "addresses: [] is empty"),
    ({"addresses": ["192.0.2.10"], "device": "eth0"}, "device: 'eth0' is not allowed"),
    ({"addresses": ["192.0.2.10"], "device": "tunl0"}, "device: 'tunl0' needs mode=tun"),
    ({"addresses": ["192.0.2.10"], "label": "lo:waytoolonglabel"}, "label: 'lo:waytoolonglabel'"),
])
def test_bad_input_fails_and_touches_nothing(monkeypatch, get_bin_path, args, fragment):
    fs = FakeFiles(monkeypatch)
    outcome = run(monkeypatch, args, [])
    assert isinstance(outcome, AnsibleFailJson) and fragment in outcome.result["msg"]
    assert fs.written == []


def test_remove_owned_dirs_only_when_empty(tmp_path, monkeypatch):
    libexec, etc = tmp_path / "libexec", tmp_path / "etc"
    (libexec / "__pycache__").mkdir(parents=True)
    etc.mkdir()
    (etc / "local-notes.txt").write_text("keep me\n")
    monkeypatch.setattr(boot, "owned_dirs", lambda: [str(libexec), str(etc)])
    apply.remove_owned_dirs()
    assert not libexec.exists()
    assert (etc / "local-notes.txt").read_text() == "keep me\n"
