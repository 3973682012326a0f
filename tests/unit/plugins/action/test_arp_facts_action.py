# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The arp_facts action: validation on the controller, when the direct way runs, and that the program it pipes
to the host's Python gives the module's result (a real interpreter, reading this machine read-only)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess
import sys

import pytest

from ansible_collections.lvs.realserver.plugins.action import arp_facts as action
from ansible_collections.lvs.realserver.plugins.module_utils import _arp_gather

DEFAULTS = dict(mode="dr", vips=[], interfaces=[], runtime="auto", detail="full")


@pytest.mark.parametrize("args, fragment", [
    (dict(mode="bogus"), "value of mode must be one of: dr, tun, got: bogus"),
    (dict(vips=["192.0.2.10/24"]), "vips: '192.0.2.10/24'"),
    (dict(interfaces=["eth0;reboot"]), "interfaces: 'eth0;reboot'"),
    (dict(detail="some"), "value of detail must be one of: full, verdict, got: some"),
    (dict(colour="red"), "unsupported options: colour"),
])
def test_bad_options_are_named_with_their_value_and_nothing_runs(args, fragment):
    errors, params = action.option_errors(args)
    assert params is None or errors
    assert any(fragment in e for e in errors), errors


def test_good_options_come_back_with_the_module_defaults():
    errors, params = action.option_errors(dict(detail="verdict", vips=["192.0.2.10"]))
    assert errors == [] and params == dict(DEFAULTS, detail="verdict", vips=["192.0.2.10"])


@pytest.mark.parametrize("value, discovered, known", [
    ("/usr/bin/python3", None, ("/usr/bin/python3", None)),
    (" /opt/py/bin/python3 ", "/usr/bin/python3", ("/opt/py/bin/python3", None)),
    ("auto", None, (None, "auto")),
    ("auto_silent", "/usr/bin/python3.11", ("/usr/bin/python3.11", None)),
    ("auto_legacy_silent", "", (None, "auto_legacy_silent")),
    ("", None, (None, None)),
])
def test_the_hosts_python_is_the_one_set_or_discovered_else_discovery_runs(value, discovered, known):
    assert action.python_or_discovery(value, discovered) == known


class Templar:
    def template(self, value):
        return value


@pytest.mark.parametrize("task_vars, discovers, outcome", [
    ({"ansible_python_interpreter": "/usr/bin/python3"}, None, ("/usr/bin/python3", None)),
    ({"ansible_python_interpreter": "auto", "ansible_facts": {"discovered_interpreter_python": "/usr/bin/python3.11"}},
     None, ("/usr/bin/python3.11", None)),
    ({"ansible_python_interpreter": "auto_silent"}, "/usr/bin/python3.13", ("/usr/bin/python3.13", "/usr/bin/python3.13")),
])
def test_discovery_runs_once_per_host_and_only_in_an_auto_mode(monkeypatch, task_vars, discovers, outcome):
    """The action asks ansible-core's discovery (replaced here) only when no interpreter is set or discovered."""
    calls = []

    def discover(action, interpreter_name, discovery_mode, task_vars):
        calls.append((interpreter_name, discovery_mode))
        return discovers

    monkeypatch.setattr(action, "discover_interpreter", discover)
    fake = type("Fake", (), {"_templar": Templar()})()
    assert action.ActionModule._python(fake, task_vars) == outcome
    assert calls == ([("python", task_vars["ansible_python_interpreter"])] if discovers else [])


def test_the_direct_way_runs_only_where_the_module_would_pipeline():
    ok = dict(pipelining=True, async_val=0, delegated=False, shell_family="sh", wanted=True)
    assert action.direct_blockers(**ok) == []
    for key, value, reason in [("pipelining", False, "does not pipeline"), ("async_val", 30, "async"),
                               ("delegated", True, "delegated"), ("shell_family", "powershell", "not POSIX"),
                               ("wanted", False, action.DIRECT_VAR)]:
        blockers = action.direct_blockers(**dict(ok, **{key: value}))
        assert len(blockers) == 1 and reason in blockers[0], (key, blockers)


@pytest.mark.parametrize("value, wanted, error", [
    (True, True, None), ("yes", True, None), ("false", False, None), (0, False, None),
    ("maybe", False, "lvs_realserver_arp_facts_direct: 'maybe' is not a boolean"),
])
def test_the_switch_is_a_boolean_or_a_named_error(value, wanted, error):
    assert action.direct_wanted(value) == (wanted, error)


def test_a_reply_that_is_not_the_result_fails_naming_the_interpreter_and_what_the_host_said():
    outcome = action.direct_outcome(dict(rc=127, stdout="", stderr="sh: 1: /usr/bin/python3: not found\n"),
                                    "/usr/bin/python3")
    assert outcome["failed"] and outcome["rc"] == 127
    assert outcome["msg"] == ("lvs.realserver.arp_facts: the direct gather with /usr/bin/python3 failed (rc 127): "
                              "sh: 1: /usr/bin/python3: not found")
    result = _arp_gather.module_result({"compliant": True})
    assert action.direct_outcome(dict(rc=0, stdout=json.dumps(result), stderr=""), "/p") == result


def test_the_sources_are_every_module_util_below_their_packages():
    sources = action.read_sources()
    assert sources["ansible_collections"] == (True, "")
    assert sources[action.PACKAGE] == (True, "")
    assert not sources[action.PACKAGE + "._arp_gather"][0]
    assert "def gather(" in sources[action.PACKAGE + "._arp_gather"][1]
    assert action.PACKAGE + "._arp_rules" in sources and action.PACKAGE + "._facts" in sources


class FakeRun:
    def __init__(self, rc=0, out=b"[]", err=b""):
        self.calls = []
        self.reply = (rc, out, err)

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs["env"]))
        rc, out, err = self.reply
        return subprocess.CompletedProcess(argv, rc, out, err)


def test_the_direct_host_finds_ip_in_sbin_and_runs_it_in_the_c_locale(tmp_path):
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    ip = sbin / "ip"
    ip.write_text("#!/bin/sh\n")
    ip.chmod(0o755)
    run = FakeRun(out=b'[{"ifname": "lo"}]')
    host = _arp_gather.DirectHost(path=str(sbin), run=run)
    assert host.get_bin_path("ip", required=True) == str(ip)
    assert host.run_command([str(ip), "-j"]) == (0, '[{"ifname": "lo"}]', "")
    assert run.calls[0][1]["LC_ALL"] == "C" and run.calls[0][1]["LANG"] == "C"


def test_the_direct_host_fails_like_the_module_when_ip_is_missing(tmp_path):
    host = _arp_gather.DirectHost(path=str(tmp_path), run=FakeRun(), sbin_dirs=())
    result = _arp_gather.direct_result(DEFAULTS, host=host)
    assert result == dict(failed=True, msg="Failed to find required executable \"ip\" in paths: %s" % tmp_path)


def test_a_failing_ip_is_reported_as_the_module_reports_it(tmp_path):
    sbin = tmp_path / "bin"
    sbin.mkdir()
    (sbin / "ip").write_text("")
    (sbin / "ip").chmod(0o755)
    host = _arp_gather.DirectHost(path=str(sbin), run=FakeRun(rc=1, err=b"RTNETLINK answers: Operation not permitted"))
    result = _arp_gather.direct_result(DEFAULTS, host=host)
    assert result["failed"] and result["rc"] == 1
    assert result["msg"] == "'%s/ip -j -d addr show' failed (rc=1): RTNETLINK answers: Operation not permitted" % sbin


def run_direct_program(params, cwd):
    """The program the action pipes, run by a real, isolated Python (no PYTHONPATH, no user site) in which ansible
    cannot be imported, as on a host: only the importer can give it the collection's code."""
    script = "import sys\nsys.modules['ansible'] = None\n" + action.direct_script(params, action.read_sources())
    done = subprocess.run([sys.executable, "-I", "-"], input=script,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, cwd=str(cwd),
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("detail, runtime", [("full", "auto"), ("verdict", "auto"), ("verdict", "skipped")])
def test_the_piped_program_gives_the_modules_facts_for_this_machine(tmp_path, detail, runtime):
    """Both read this machine (read-only): the program's result equals ``gather`` run here, but the clock.
    ``skipped`` takes the path that imports the boot unit's code (``_vipctl``, ``_vip_plan``)."""
    params = dict(DEFAULTS, detail=detail, vips=["192.0.2.10"], runtime=runtime)
    piped = run_direct_program(params, tmp_path)
    here = _arp_gather.direct_result(params)
    assert set(piped) == {"changed", "ansible_facts"} and piped["changed"] is False
    piped_facts, here_facts = piped["ansible_facts"]["lvs_realserver"], here["ansible_facts"]["lvs_realserver"]
    piped_facts.pop("collected_at")
    here_facts.pop("collected_at")
    assert piped_facts == here_facts
    assert piped_facts["detail"] == detail and "violations" in piped_facts


def test_the_program_carries_the_sources_deflated():
    sources = action.read_sources()
    script = action.direct_script(DEFAULTS, sources)
    assert len(script) < sum(len(text) for unused, text in sources.values()) / 2
    assert "def gather(" not in script  # nothing readable: the sources are packed


def test_the_piped_program_fails_without_the_importer(tmp_path):
    """Negative control: the same program without its importer cannot find the collection's code."""
    script = action.direct_script(DEFAULTS, action.read_sources()).replace("sys.meta_path.insert(0, _Sources())", "")
    done = subprocess.run([sys.executable, "-I", "-"], input=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, cwd=str(tmp_path), check=False)
    assert done.returncode != 0 and "No module named 'ansible_collections" in done.stderr
