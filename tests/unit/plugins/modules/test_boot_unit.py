# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""boot_unit's main(): files and systemctl calls, with the file system and systemctl replaced by fakes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import basic

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


def run(host, monkeypatch, args, calls, check=False):
    mock = RunCommandMock(calls)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kw: mock(argv, **kw))
    with set_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=True)):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
            boot_unit.main(host)
    mock.assert_done()
    return info.value


def test_install_enable_start(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    calls = status(False, False) + [
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
        ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "start", UNIT], (0, "", "")),
    ]
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10", "2001:db8::10"]}, calls)
    assert isinstance(outcome, AnsibleExitJson) and outcome.result["changed"]
    assert boot.UNIT_PATH in fs.written and boot.CLI_PATH in fs.written
    assert boot.MODULES_LOAD_PATH not in fs.written
    assert '"192.0.2.10"' in fs.files["/etc/lvs-realserver/vips.json"][0]
    assert "_vipctl.main(" in fs.files[boot.CLI_PATH][0]
    assert "def guard_problems" in fs.files[boot.LIBEXEC + "/_vipctl.py"][0]  # the real controller source
    assert "def evaluate(" in fs.files[boot.LIBEXEC + "/_arp_rules.py"][0]
    assert sorted(apply.LIBRARY_MODULES) == sorted(boot.LIBRARY)


def test_second_run_is_a_no_op(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    run(fs, monkeypatch, {"addresses": ["192.0.2.10"]}, status(False, False) + [
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")), ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "start", UNIT], (0, "", ""))])
    fs.written = []
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"]}, status(True, True))
    assert outcome.result["changed"] is False and fs.written == []


def test_without_running_systemd_the_unit_is_enabled_not_started(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path, systemd_running=False)
    calls = [([SYSTEMCTL, "is-enabled", UNIT], (1, "disabled\n", "")), ([SYSTEMCTL, "enable", UNIT], (0, "", ""))]
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "mode": "tun"}, calls)
    assert outcome.result["systemd_running"] is False
    assert boot.MODULES_LOAD_PATH in fs.written
    assert any("not started" in w for w in fs.warnings)


def test_check_mode_runs_only_status_queries(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"]}, status(False, False), check=True)
    assert outcome.result["changed"] and fs.written == []
    assert outcome.result["systemctl"] == [["daemon-reload"], ["enable", UNIT], ["start", UNIT]]
    assert [d["after_header"] for d in outcome.result["diff"]] == outcome.result["files"]


def test_guard_refusal_fails_with_the_journal(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    calls = status(False, False) + [
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
        ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "start", UNIT], (1, "", "Job failed")),
        (["/testbin/journalctl", "--no-pager", "-n", "20", "-u", UNIT], (0, "REFUSED: eth0 arp_ignore\n", "")),
    ]
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"]}, calls)
    assert isinstance(outcome, AnsibleFailJson)
    assert "start lvs-realserver-vips.service failed" in outcome.result["msg"]
    assert "REFUSED: eth0 arp_ignore" in outcome.result["msg"]


def test_absent_stops_disables_removes_then_reloads(monkeypatch, get_bin_path, tmp_path):
    existing = dict((p, (boot.MANAGED_HEADER + "\nx\n", 0o644)) for p in boot.all_paths())
    fs = FakeFiles(monkeypatch, tmp_path, existing=existing)
    calls = status(True, True) + status(True, True, boot.METRICS_TIMER) + [
        ([SYSTEMCTL, "stop", boot.METRICS_TIMER], (0, "", "")),
        ([SYSTEMCTL, "disable", boot.METRICS_TIMER], (0, "", "")),
        ([SYSTEMCTL, "stop", UNIT], (0, "", "")),
        ([SYSTEMCTL, "disable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
    ]
    outcome = run(fs, monkeypatch, {"state": "absent"}, calls)
    assert outcome.result["changed"] and sorted(fs.removed) == sorted(boot.all_paths())
    assert fs.files == {}


@pytest.mark.parametrize("args, fragment", [
    ({"addresses": ["192.0.2.0/24"]}, "addresses[0]: '192.0.2.0/24' has prefix length /24"),
    ({"addresses": []}, "addresses: [] is empty"),
    ({"addresses": ["192.0.2.10"], "device": "eth0"}, "device: 'eth0' is not allowed"),
    ({"addresses": ["192.0.2.10"], "device": "tunl0", "mode": "dr"}, "device: 'tunl0' needs mode=tun (got 'dr')"),
    ({"addresses": [], "device": "tunl0", "mode": "dr"}, "addresses: [] is empty"),
    ({"addresses": ["192.0.2.10"], "label": "lo:waytoolonglabel"}, "label: 'lo:waytoolonglabel'"),
])
def test_bad_input_fails_and_touches_nothing(monkeypatch, get_bin_path, args, fragment, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    outcome = run(fs, monkeypatch, args, [])
    assert isinstance(outcome, AnsibleFailJson) and fragment in outcome.result["msg"]
    assert fs.written == []


def test_tunl0_derives_mode_tun_ipip_is_loaded_at_boot(monkeypatch, get_bin_path, tmp_path):
    """No mode given: tunl0 is LVS-TUN, so the unit loads ipip at boot (as mode: tun does)."""
    fs = FakeFiles(monkeypatch, tmp_path, systemd_running=False)
    calls = [([SYSTEMCTL, "is-enabled", UNIT], (1, "disabled\n", "")), ([SYSTEMCTL, "enable", UNIT], (0, "", ""))]
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "device": "tunl0"}, calls)
    assert isinstance(outcome, AnsibleExitJson)
    assert boot.MODULES_LOAD_PATH in fs.written and '"tunl0"' in fs.files["/etc/lvs-realserver/vips.json"][0]


def test_lo_derives_mode_dr_no_ipip(monkeypatch, get_bin_path, tmp_path):
    """Negative control of the derivation: lo without a mode is LVS-DR, nothing for ipip."""
    fs = FakeFiles(monkeypatch, tmp_path, systemd_running=False)
    calls = [([SYSTEMCTL, "is-enabled", UNIT], (1, "disabled\n", "")), ([SYSTEMCTL, "enable", UNIT], (0, "", ""))]
    run(fs, monkeypatch, {"addresses": ["192.0.2.10"]}, calls)
    assert boot.MODULES_LOAD_PATH not in fs.written


def test_main_returns_after_refusing_bad_input_even_where_fail_json_returns(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    calls = []
    monkeypatch.setattr(boot_unit.AnsibleModule, "fail_json", lambda self, **kw: calls.append(("fail", kw["msg"])))
    monkeypatch.setattr(boot_unit.AnsibleModule, "exit_json", lambda self, **kw: calls.append(("exit", kw)))
    with set_module_args({"addresses": []}):
        assert boot_unit.main(fs) is None
    assert [call[0] for call in calls] == ["fail"] and "addresses: [] is empty" in calls[0][1]
    assert fs.written == []


def test_remove_owned_dirs_only_when_empty(tmp_path, monkeypatch):
    libexec, etc = tmp_path / "libexec", tmp_path / "etc"
    (libexec / "__pycache__").mkdir(parents=True)
    etc.mkdir()
    (etc / "local-notes.txt").write_text("keep me\n")
    apply.remove_owned_dirs(dirs=[str(libexec), str(etc)])
    assert not libexec.exists()
    assert (etc / "local-notes.txt").read_text() == "keep me\n"


FOREIGN = "[Unit]\nDescription=someone else's unit\n"


@pytest.mark.parametrize("path", [boot.UNIT_PATH, boot.MODULES_LOAD_PATH, boot.CLI_PATH, "/etc/lvs-realserver/vips.json",
                                  boot.LIBEXEC + "/_vipctl.py"])
def test_a_foreign_file_is_neither_replaced_nor_removed_without_force(monkeypatch, get_bin_path, path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path, existing={path: (FOREIGN, 0o644)})
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "mode": "tun"}, [])
    assert isinstance(outcome, AnsibleFailJson) and outcome.result["changed"] is False
    assert path in outcome.result["msg"] and "force: true" in outcome.result["msg"]
    assert fs.written == [] and fs.removed == []
    outcome = run(fs, monkeypatch, {"state": "absent"}, [])
    assert isinstance(outcome, AnsibleFailJson) and path in outcome.result["msg"]
    assert fs.files[path] == (FOREIGN, 0o644) and fs.removed == []


def test_force_replaces_and_removes_a_foreign_file(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path, existing={boot.UNIT_PATH: (FOREIGN, 0o644)})
    calls = status(False, False) + [([SYSTEMCTL, "daemon-reload"], (0, "", "")), ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
                                    ([SYSTEMCTL, "start", UNIT], (0, "", ""))]
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "force": True}, calls)
    assert isinstance(outcome, AnsibleExitJson) and boot.UNIT_PATH in fs.written
    assert fs.files[boot.UNIT_PATH][0].startswith(boot.MANAGED_HEADER)


@pytest.mark.parametrize("python, words", [
    ("/usr/bin/python3\nExecStartPost=/bin/sh -c id", "absolute path of letters"),
    ("python3", "absolute path of letters"),
    ("/nonexistent/python3", "does not exist"),
    ("/tmp", "not a regular file"),
])
def test_a_bad_interpreter_is_refused_naming_option_and_value(monkeypatch, get_bin_path, python, words, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "python": python}, [])
    assert isinstance(outcome, AnsibleFailJson) and outcome.result["changed"] is False
    assert "python: %r" % python in outcome.result["msg"] and words in outcome.result["msg"]
    assert fs.written == []


def test_a_failed_write_puts_the_written_files_back(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    restored = fs.restored

    def write(module, path, text, mode, own_dir=False):
        if path == boot.UNIT_PATH:
            raise apply.files.FileError("cannot write %s: No space left on device" % path)
        fs.written.append(path)
        fs.files[path] = (text, mode)
    fs.write_atomic = write
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"]}, status(False, False))
    assert isinstance(outcome, AnsibleFailJson) and outcome.result["changed"] is False
    assert "No space left on device" in outcome.result["msg"] and boot.UNIT_PATH in outcome.result["msg"]
    assert sorted(p for p, _t in restored) == sorted(fs.written) and all(t is None for _p, t in restored)


def metrics_install_calls():
    return status(False, False) + status(False, False, boot.METRICS_TIMER) + [
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
        ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "start", UNIT], (0, "", "")),
        ([SYSTEMCTL, "enable", boot.METRICS_TIMER], (0, "", "")),
        ([SYSTEMCTL, "start", boot.METRICS_SERVICE], (0, "", "")),
        ([SYSTEMCTL, "start", boot.METRICS_TIMER], (0, "", "")),
    ]


def test_metrics_installs_timer_service_and_library_then_runs_it(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    args = {"addresses": ["192.0.2.10"], "metrics": True, "metrics_interval": 5, "metrics_dir": "/srv/textfile"}
    outcome = run(fs, monkeypatch, args, metrics_install_calls())
    assert outcome.result["changed"]
    assert "OnUnitActiveSec=5s" in fs.files[boot.METRICS_TIMER_PATH][0]
    assert "metrics --out /srv/textfile/lvs_realserver.prom" in fs.files[boot.METRICS_SERVICE_PATH][0]
    assert "def render(" in fs.files[boot.LIBEXEC + "/_metrics.py"][0]
    assert sorted(apply.METRICS_MODULES) == sorted(boot.METRICS_LIBRARY)
    assert outcome.result["systemctl"] == [argv[1:] for argv, _result in metrics_install_calls()[4:]]


def test_metrics_check_mode_predicts_the_same_calls_and_writes_nothing(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    args = {"addresses": ["192.0.2.10"], "metrics": True}
    outcome = run(fs, monkeypatch, args, metrics_install_calls()[:4], check=True)
    assert outcome.result["changed"] and fs.written == []
    assert outcome.result["systemctl"] == [argv[1:] for argv, _result in metrics_install_calls()[4:]]
    assert boot.METRICS_TIMER_PATH in [d["after_header"] for d in outcome.result["diff"]]


def test_metrics_false_removes_an_installed_timer_and_its_file(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    args = {"addresses": ["192.0.2.10"], "metrics": True}
    run(fs, monkeypatch, args, metrics_install_calls())
    fs.files[boot.metrics_path(boot.METRICS_DIR)] = (boot.MANAGED_HEADER + "\nlvs_realserver_compliant 1\n", 0o644)
    calls = status(True, True) + status(True, True, boot.METRICS_TIMER) + [
        ([SYSTEMCTL, "stop", boot.METRICS_TIMER], (0, "", "")),
        ([SYSTEMCTL, "disable", boot.METRICS_TIMER], (0, "", "")),
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
    ]
    outcome = run(fs, monkeypatch, dict(args, metrics=False), calls)
    assert outcome.result["changed"]
    for path in boot.metrics_paths():
        assert path not in fs.files, path


def test_metrics_refuses_a_foreign_prom_file_without_force(monkeypatch, get_bin_path, tmp_path):
    prom = boot.metrics_path(boot.METRICS_DIR)
    fs = FakeFiles(monkeypatch, tmp_path, existing={prom: ("my_own 1\n", 0o644)})
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "metrics": True}, [])
    assert isinstance(outcome, AnsibleFailJson) and outcome.result["foreign"] == [prom]
    assert fs.files[prom][0] == "my_own 1\n" and not fs.written


@pytest.mark.parametrize("args, fragment", [
    ({"metrics_interval": 0}, "metrics_interval: 0 must be"),
    ({"metrics_dir": "var/lib"}, "metrics_dir: 'var/lib' must be"),
])
def test_bad_metrics_options_change_nothing(monkeypatch, get_bin_path, args, fragment, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path)
    outcome = run(fs, monkeypatch, dict({"addresses": ["192.0.2.10"], "metrics": True}, **args), [])
    assert isinstance(outcome, AnsibleFailJson) and fragment in outcome.result["msg"] and not fs.written


@pytest.mark.parametrize("path", [boot.METRICS_TIMER_PATH, boot.METRICS_SERVICE_PATH, boot.LIBEXEC + "/_metrics.py"])
def test_metrics_never_replaces_a_foreign_unit_file_without_force(monkeypatch, get_bin_path, path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path, existing={path: ("[Unit]\nDescription=someone else's\n", 0o644)})
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "metrics": True}, [])
    assert isinstance(outcome, AnsibleFailJson) and outcome.result["foreign"] == [path] and not fs.written
    assert "force: true" in outcome.result["msg"]
    fs.written[:] = []
    calls = metrics_install_calls()
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "metrics": True, "force": True}, calls)
    assert isinstance(outcome, AnsibleExitJson) and path in fs.written


def test_metrics_false_never_removes_a_foreign_timer_file(monkeypatch, get_bin_path, tmp_path):
    fs = FakeFiles(monkeypatch, tmp_path, existing={boot.METRICS_TIMER_PATH: ("[Timer]\nOnCalendar=daily\n", 0o644)})
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"]}, [])
    assert isinstance(outcome, AnsibleFailJson) and outcome.result["foreign"] == [boot.METRICS_TIMER_PATH]
    assert boot.METRICS_TIMER_PATH in fs.files and fs.removed == []


def test_netstack_installs_the_watch_and_the_hook_and_absent_removes_them(monkeypatch, get_bin_path, tmp_path):
    from ansible_collections.lvs.realserver.plugins.module_utils import _netstack
    fs = FakeFiles(monkeypatch, tmp_path)
    watch = _netstack.WATCH_UNIT
    calls = status(False, False) + [
        ([SYSTEMCTL, "is-enabled", watch], (1, "disabled\n", "")), ([SYSTEMCTL, "is-active", watch], (3, "inactive\n", "")),
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")), ([SYSTEMCTL, "enable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "start", UNIT], (0, "", "")),
        ([SYSTEMCTL, "enable", watch], (0, "", "")), ([SYSTEMCTL, "start", watch], (0, "", "")),
    ]
    outcome = run(fs, monkeypatch, {"addresses": ["192.0.2.10"], "netstack": "ifupdown"}, calls)
    assert _netstack.WATCH_UNIT_PATH in fs.written and _netstack.IFUPDOWN_HOOK_PATH in fs.written
    assert outcome.result["netstack"]["chosen"] == ["ifupdown"]
    assert "BindsTo=" + UNIT in fs.files[_netstack.WATCH_UNIT_PATH][0]
    # removal: the watch stops before the VIP unit (it would put back what the stop removes)
    calls = status(True, True) + [
        ([SYSTEMCTL, "is-enabled", watch], (0, "enabled\n", "")), ([SYSTEMCTL, "is-active", watch], (0, "active\n", "")),
        ([SYSTEMCTL, "stop", watch], (0, "", "")), ([SYSTEMCTL, "disable", watch], (0, "", "")),
        ([SYSTEMCTL, "stop", UNIT], (0, "", "")), ([SYSTEMCTL, "disable", UNIT], (0, "", "")),
        ([SYSTEMCTL, "daemon-reload"], (0, "", "")),
    ]
    outcome = run(fs, monkeypatch, {"state": "absent"}, calls)
    assert _netstack.WATCH_UNIT_PATH not in fs.files and _netstack.IFUPDOWN_HOOK_PATH not in fs.files
    assert outcome.result["systemctl"][:3] == [["stop", watch], ["disable", watch], ["stop", UNIT]]


def test_the_default_host_is_the_machine():
    """Without a host, main() uses ``_files``, the real root and the real host lock (what FakeFiles stands in for)."""
    from ansible_collections.lvs.realserver.plugins.module_utils import _files, _step
    host = boot_unit.Host()
    assert (host.fs, host.root, host.lock) == (_files, "/", _step.host_lock)
