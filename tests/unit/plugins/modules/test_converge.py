# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lvs.realserver.converge: the role's whole job in one module run, in the one safe order.

The steps (the shared module_utils of arp_sysctl, loopback_vip, boot_unit and
arp_facts) are replaced by recorders: these tests prove the order of the
steps, what each gets, and how the module reports, fails and diffs. The steps
themselves are tested with their modules (test_arp_sysctl, test_loopback_vip,
test_boot_unit, test_arp_facts) and on real kernels (tests/netns, molecule).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.lvs.realserver.plugins.module_utils import _converge_args
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d
from ansible_collections.lvs.realserver.plugins.modules import converge
from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    AnsibleExitJson,
    AnsibleFailJson,
    FakeLock,
    RunCommandMock,
    set_module_args,
)

ROLE_DEFAULTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "realserver", "defaults", "main.yml")
VIPS = ["192.0.2.10", "2001:db8::10"]
SYSCTL_CHANGE = {"interface": "all", "key": "arp_ignore", "name": "net.ipv4.conf.all.arp_ignore", "before": 0, "after": 1}
COMPLIANT = {"compliant": True, "state": "compliant", "violations": [],
             "at_boot": {"compliant": True, "state": "compliant", "violations": []}}


class Steps(converge.Steps):
    """Recorders for every step, passed to ``converge.main(steps=...)``; ``calls`` is the order in which they ran."""

    def __init__(self, monkeypatch, changed=(), facts=None, runtime_changes=(), skipped=False):
        self.calls = []
        self.skipped = skipped
        self.runtimes = {}
        self.changed = set(changed)
        self.facts = facts or COMPLIANT
        self.runtime_changes = list(runtime_changes)
        self.guard_conf = None
        self.fact_interfaces = None
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self_, name, required=False: "/testbin/" + name)
        self.reads = 0
        self.held = FakeLock()
        self.lock = self.held.take

    def _step(self, name, diff=None, **fields):
        self.calls.append(name)
        result = dict(changed=name in self.changed, **fields)
        if diff is not None:
            result["diff"] = diff
        return result

    def runtime_fields(self, requested):
        if self.skipped or requested == "skip":
            return dict(runtime="skipped", runtime_reasons=["/proc/sys is mounted read-only"] if self.skipped else [])
        return dict(runtime="applied", runtime_reasons=[])

    def sysctl(self, module, state, conf, path, force=False, on_conflict="fail", runtime="apply", backup=False,
               outer=None, outer_key="sysctl", lock=None):
        self.sysctl_conf = conf
        self.sysctl_lock = lock
        self.runtimes["sysctl"] = runtime
        diff = [{"before": "", "after": "sysctl file"}] if module._diff else None
        return self._step("sysctl " + state, diff, runtime_changes=self.runtime_changes if state == "present" else [],
                          **self.runtime_fields(runtime))

    def read_arp_conf(self, module):
        return {"all": {"arp_ignore": 0}}

    def boot_view(self, interfaces, device, addresses):
        return ("boot view of", interfaces, device, addresses)

    def run(self, args, check=False, diff=False):
        with set_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
            with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as exc:
                converge.main(steps=self)
        return exc.value.result

    def boot_unit(self, module, state, vips=(), device="lo", scope="host", label=None, mode="dr", python=None, outer=None, **kw):
        self.unit_args = (list(vips), device, scope, label, mode, python)
        self.unit_kw = kw
        return self._step("boot_unit " + state, [{"before": "", "after": "unit"}] if module._diff else None)

    def vips(self, module, desired, interfaces, guard_conf, ip_bin, require_arp_protection=True, outer=None,
             runtime="apply"):
        self.guard_conf = guard_conf
        self.desired = desired
        self.runtimes["vips"] = runtime
        fields = self.runtime_fields(runtime)
        skipped = fields["runtime"] == "skipped"
        return self._step("vips " + desired["state"], {"before": "", "after": "vips"} if module._diff else None,
                          applied=not module.check_mode and not skipped and "vips " + desired["state"] in self.changed,
                          boot_after=["the unit's addresses"] if skipped else None, **fields)

    def tun(self, module, ip_bin, prefix, outer):
        return self._step("tun")

    def read_interfaces(self, module, ip_bin):
        self.reads += 1
        self.calls.append("read_interfaces")
        return ["interfaces read #%d" % self.reads]

    def gather_facts(self, conf, interfaces, mode="dr", expected_vips=None, boot_interfaces=None, **kw):
        self.calls.append("verdict")
        self.fact_interfaces = interfaces
        self.fact_boot_interfaces = boot_interfaces
        self.fact_args = (mode, expected_vips)
        return dict(self.facts)


def test_present_runs_sysctls_then_vips_then_unit_then_verdict(monkeypatch):
    steps = Steps(monkeypatch, changed={"sysctl present", "vips exact"})
    result = steps.run(dict(vips=VIPS))
    assert steps.calls == ["sysctl present", "read_interfaces", "vips exact", "read_interfaces",
                           "boot_unit present", "verdict"]
    assert result["changed"] and result["verdict"] == "compliant"
    assert result["ansible_facts"]["lvs_realserver"] == dict(COMPLIANT, runtime="applied", runtime_reasons=[])
    assert steps.fact_boot_interfaces is None
    # the verdict judges the interfaces as the VIP step left them, and expects the VIPs
    assert steps.fact_interfaces == ["interfaces read #2"]
    assert steps.fact_args == ("dr", VIPS)
    # the unit re-adds exactly the VIPs, with the VIP step's device, scope and label
    assert steps.unit_args == (VIPS, "lo", "host", "lo:lvs", "dr", "/usr/bin/python3")
    assert steps.desired["state"] == "exact"
    assert steps.sysctl_conf == {"all": {"arp_ignore": 1, "arp_announce": 2}}


def test_the_steps_get_the_host_lock_force_false_and_the_metrics_options(monkeypatch):
    steps = Steps(monkeypatch)
    steps.run(dict(vips=VIPS, metrics=True, metrics_interval=30, metrics_dir="/srv/textfile"))
    assert steps.sysctl_lock is not None and steps.unit_kw["lock"] is steps.sysctl_lock
    assert steps.unit_kw["force"] is False and "lvs.realserver.boot_unit with force: true" in steps.unit_kw["force_hint"]
    assert steps.unit_kw["metrics"] == (30, "/srv/textfile") and steps.unit_kw["metrics_dir"] == "/srv/textfile"
    assert steps.sysctl_lock.fd is None  # released when the module exits


@pytest.mark.parametrize("state, args", [("absent", {}), ("present", dict(boot_unit=False))])
def test_the_unit_and_the_timer_are_removed_from_the_metrics_dir_without_force(monkeypatch, state, args):
    steps = Steps(monkeypatch)
    steps.run(dict(args, vips=VIPS, state=state, metrics_dir="/srv/textfile"))
    assert steps.unit_kw["metrics_dir"] == "/srv/textfile" and steps.unit_kw["force"] is False
    assert "metrics" not in steps.unit_kw


def test_no_metrics_removes_the_timer(monkeypatch):
    steps = Steps(monkeypatch)
    steps.run(dict(vips=VIPS))
    assert steps.unit_kw["metrics"] is None


def test_check_mode_takes_no_lock(monkeypatch):
    steps = Steps(monkeypatch)
    steps.run(dict(vips=VIPS), check=True)
    assert steps.sysctl_lock is None and steps.unit_kw["lock"] is None


def test_an_unsafe_interpreter_fails_on_the_host_before_any_step(monkeypatch, tmp_path):
    steps = Steps(monkeypatch)
    python = tmp_path / "missing" / "python3"
    result = steps.run(dict(vips=VIPS, python=str(python), variable_prefix="realserver_"))
    assert result["failed"] and result["changed"] is False and steps.calls == []
    assert result["msg"].startswith("realserver_python: %r does not exist" % str(python)), result["msg"]


def test_an_unchanged_host_reads_its_interfaces_once(monkeypatch):
    steps = Steps(monkeypatch)
    result = steps.run(dict(vips=VIPS))
    assert steps.calls == ["sysctl present", "read_interfaces", "vips exact", "boot_unit present", "verdict"]
    assert not result["changed"]
    assert steps.fact_interfaces == ["interfaces read #1"]


def test_tun_brings_tunl0_up_after_the_sysctls_and_before_the_vips(monkeypatch):
    steps = Steps(monkeypatch)
    steps.run(dict(vips=["192.0.2.10"], mode="tun", vip_device="tunl0"))
    assert steps.calls == ["sysctl present", "tun", "read_interfaces", "vips exact", "boot_unit present", "verdict"]
    # tun_conf merged per interface into arp_conf
    assert steps.sysctl_conf == {"all": {"arp_ignore": 1, "arp_announce": 2, "rp_filter": 0},
                                 "default": {"rp_filter": 0}, "tunl0": {"rp_filter": 0}}
    assert steps.unit_args[1] == "tunl0" and steps.unit_args[4] == "tun"


def test_tun_load_now_false_leaves_tunl0_to_the_boot(monkeypatch):
    steps = Steps(monkeypatch)
    steps.run(dict(vips=["192.0.2.10"], mode="tun", tun_load_now=False, compliance_check=False))
    assert "tun" not in steps.calls


def test_an_unwanted_unit_goes_before_the_vips_and_none_is_installed(monkeypatch):
    steps = Steps(monkeypatch)
    steps.run(dict(vips=VIPS, boot_unit=False))
    assert steps.calls == ["sysctl present", "boot_unit absent", "read_interfaces", "vips exact", "verdict"]


def test_absent_runs_the_reverse_order_and_no_verdict(monkeypatch):
    steps = Steps(monkeypatch, changed={"boot_unit absent"})
    result = steps.run(dict(state="absent", vips=VIPS))
    assert steps.calls == ["boot_unit absent", "read_interfaces", "vips absent", "sysctl absent"]
    assert result["verdict"] == "not_checked" and "ansible_facts" not in result and result["changed"]


def test_absent_without_vips_removes_every_labelled_vip(monkeypatch):
    steps = Steps(monkeypatch)
    steps.run(dict(state="absent"))
    assert steps.desired["state"] == "exact" and steps.desired["vips"] == []


def test_check_mode_guard_judges_the_values_the_sysctl_step_would_write(monkeypatch):
    steps = Steps(monkeypatch, changed={"sysctl present"}, runtime_changes=[SYSCTL_CHANGE])
    result = steps.run(dict(vips=VIPS), check=True)
    assert steps.guard_conf == {"all": {"arp_ignore": 1}}
    # changes pending: the host is not in its final state, the verdict is not judged
    assert result["verdict"] == "pending" and result["changed"]


def test_real_mode_guard_judges_the_values_read_after_the_sysctl_step(monkeypatch):
    steps = Steps(monkeypatch, changed={"sysctl present"}, runtime_changes=[SYSCTL_CHANGE])
    steps.run(dict(vips=VIPS))
    assert steps.guard_conf == {"all": {"arp_ignore": 0}}


def test_check_mode_on_a_converged_host_judges_the_verdict(monkeypatch):
    steps = Steps(monkeypatch)
    assert steps.run(dict(vips=VIPS), check=True)["verdict"] == "compliant"


LEAK = {"code": "arp_ignore_leak", "severity": "error", "interface": "eth0", "key": "arp_ignore", "actual": 0,
        "expected": "1 or 2", "message": "the kernel answers ARP for every local address", "fix": "set arp_ignore = 1"}
NOT_AT_BOOT = {"compliant": True, "state": "compliant", "violations": [],
               "at_boot": {"compliant": False, "state": "non_compliant", "violations": [dict(LEAK, interface=None, key=None)]}}


def test_a_host_that_is_not_compliant_fails_with_every_violation_and_its_fix(monkeypatch):
    facts = {"compliant": False, "state": "exposed", "violations": [LEAK],
             "at_boot": {"compliant": True, "state": "compliant", "violations": []}}
    steps = Steps(monkeypatch, facts=facts)
    result = steps.run(dict(vips=VIPS))
    assert result["failed"]
    assert result["msg"].splitlines() == [
        "Not compliant: state now exposed, after the next boot compliant; 1 violation(s):",
        "now: arp_ignore_leak (error) on eth0 arp_ignore=0, expected 1 or 2: the kernel answers ARP for every local "
        "address; fix: set arp_ignore = 1"]
    assert result["violations"] == [dict(LEAK, when="now")]
    assert result["ansible_facts"]["lvs_realserver"] == dict(facts, runtime="applied", runtime_reasons=[])


def test_boot_violations_fail_unless_conflicts_were_let_through(monkeypatch):
    steps = Steps(monkeypatch, facts=NOT_AT_BOOT)
    result = steps.run(dict(vips=VIPS))
    assert result["failed"] and "after the next boot: arp_ignore_leak (error): " in result["msg"]
    assert result["verdict"] == "non_compliant"  # the failing state, not now's "compliant"
    assert steps.run(dict(vips=VIPS, sysctl_on_conflict="warn"))["verdict"] == "compliant"


def test_compliance_check_false_reads_no_facts(monkeypatch):
    steps = Steps(monkeypatch, facts=NOT_AT_BOOT)
    result = steps.run(dict(vips=VIPS, compliance_check=False))
    assert "verdict" not in steps.calls and "ansible_facts" not in result and result["verdict"] == "not_checked"


def test_diff_mode_gives_one_diff_per_step_in_order(monkeypatch):
    steps = Steps(monkeypatch)
    result = steps.run(dict(vips=VIPS), diff=True)
    assert [d["after"] for d in result["diff"]] == ["sysctl file", "vips", "unit"]
    assert not any("diff" in result[k] for k in ("sysctl", "vips", "boot_unit"))


def test_bad_options_fail_before_any_step(monkeypatch):
    steps = Steps(monkeypatch)
    result = steps.run(dict(vips=["192.0.2.10/24"], variable_prefix="realserver_"))
    assert steps.calls == []
    assert result["failed"] and result["msg"].startswith("realserver_vips[0]: '192.0.2.10/24'")


def test_the_module_defaults_are_the_role_defaults():
    with open(ROLE_DEFAULTS) as handle:
        defaults = yaml.safe_load(handle)
    spec = dict((k, v.get("default")) for k, v in _converge_args.ARGUMENT_SPEC.items() if k != "variable_prefix")
    assert spec == dict((k[len("realserver_"):], v) for k, v in defaults.items())


# ------------------------------------------------------------ the tunl0 step

class Module(object):
    def __init__(self, check_mode, run_command):
        self.check_mode = check_mode
        self.run_command = run_command

    def get_bin_path(self, name, required=False):
        return "/testbin/" + name

    def fail_json(self, **kwargs):
        raise AnsibleFailJson(kwargs)


@pytest.fixture
def sysfs(tmp_path):
    return tmp_path / "tunl0"


def test_tunl0_up_already_changes_nothing(sysfs):
    sysfs.mkdir()
    (sysfs / "flags").write_text("0x81\n")
    calls = RunCommandMock([])
    assert converge.tun_device_up(Module(False, calls), "/testbin/ip", "", {}, sysfs=str(sysfs))["changed"] is False
    calls.assert_done()


def test_tunl0_down_is_brought_up(sysfs):
    sysfs.mkdir()
    (sysfs / "flags").write_text("0x80\n")
    calls = RunCommandMock([(["/testbin/ip", "link", "set", "dev", "tunl0", "up"], (0, "", ""))])
    result = converge.tun_device_up(Module(False, calls), "/testbin/ip", "", {}, sysfs=str(sysfs))
    assert result == {"changed": True, "loaded": False, "brought_up": True}
    calls.assert_done()


def test_tunl0_missing_in_check_mode_runs_nothing(sysfs):
    calls = RunCommandMock([])
    result = converge.tun_device_up(Module(True, calls), "/testbin/ip", "", {}, sysfs=str(sysfs))
    assert result == {"changed": True, "loaded": True, "brought_up": True}
    calls.assert_done()


def test_ipip_that_cannot_load_fails_naming_the_variable(sysfs):
    calls = RunCommandMock([(["/testbin/modprobe", "ipip"], (1, "", "modprobe: FATAL: Module ipip not found"))])
    with pytest.raises(AnsibleFailJson) as exc:
        converge.tun_device_up(Module(False, calls), "/testbin/ip", "realserver_", {"changed": True},
                               sysfs=str(sysfs))
    result = exc.value.result
    assert "Module ipip not found" in result["msg"] and "set realserver_tun_load_now: false" in result["msg"]
    # what was done before is still reported
    assert result["changed"] is True and result["tun"]["changed"] is False


# ---------------------------------------------------------------- runtime (unprivileged containers)

def test_runtime_is_decided_once_by_the_sysctl_step_and_auto_is_the_default(monkeypatch):
    steps = Steps(monkeypatch, changed={"sysctl present"})
    result = steps.run(dict(vips=VIPS, mode="tun"))
    assert steps.runtimes == {"sysctl": "auto", "vips": "apply"}
    assert "tun" in steps.calls and steps.unit_kw["start"] is True
    assert result["runtime"] == "applied" and result["msg"].endswith("no ARP leak now or after the next boot.")


@pytest.mark.parametrize("requested", ["auto", "skip"])
def test_a_skipped_runtime_skips_the_vips_and_tunl0_enables_the_unit_without_starting_it(monkeypatch, requested):
    steps = Steps(monkeypatch, changed={"sysctl present"}, skipped=requested == "auto")
    result = steps.run(dict(vips=VIPS, mode="tun", runtime=requested))
    assert steps.runtimes == {"sysctl": requested, "vips": "skip"}
    assert "tun" not in steps.calls
    assert steps.unit_kw["start"] is False
    # the verdict judges the next boot with the VIPs the unit adds (the boot view of the device)
    assert steps.fact_boot_interfaces == ("boot view of", ["interfaces read #1"], "lo", ["the unit's addresses"])
    facts = result["ansible_facts"]["lvs_realserver"]
    assert facts["runtime"] == "skipped" and result["runtime"] == "skipped"
    assert result["verdict"] == "compliant"
    assert "after the next boot (runtime skipped" in result["msg"]


def test_a_skipped_runtime_judges_only_the_next_boot(monkeypatch):
    leaking_now = {"compliant": False, "state": "exposed", "violations": [LEAK],
                   "at_boot": {"compliant": True, "state": "compliant", "violations": []}}
    steps = Steps(monkeypatch, facts=leaking_now, skipped=True)
    assert steps.run(dict(vips=VIPS))["verdict"] == "compliant"  # nothing was allowed to change now
    leaking_at_boot = {"compliant": True, "state": "compliant", "violations": [],
                       "at_boot": {"compliant": False, "state": "exposed", "violations": [LEAK]}}
    steps = Steps(monkeypatch, facts=leaking_at_boot, skipped=True)
    result = steps.run(dict(vips=VIPS))
    assert result["failed"] and result["violations"] == [dict(LEAK, when="after the next boot")]


def test_absent_passes_the_runtime_to_the_vips_and_skips_the_sysctls_once_the_vips_were_skipped(monkeypatch):
    steps = Steps(monkeypatch, skipped=True)
    result = steps.run(dict(vips=VIPS, state="absent"))
    assert steps.runtimes == {"vips": "auto", "sysctl": "skip"}
    assert result["runtime"] == "skipped"
    steps = Steps(monkeypatch)
    steps.run(dict(vips=VIPS, state="absent", runtime="apply"))
    assert steps.runtimes == {"vips": "apply", "sysctl": "apply"}


# --------------------------------------------------------------------------
# one verdict: the module and the verify kit's filter judge the same facts the same way
# --------------------------------------------------------------------------

SKIPPED_OK = {"compliant": False, "state": "exposed", "violations": [LEAK], "runtime": "skipped",
              "runtime_reasons": ["/proc/sys is mounted read-only"],
              "at_boot": {"compliant": True, "state": "compliant", "violations": []}}
SKIPPED_LEAK = dict(SKIPPED_OK, at_boot={"compliant": False, "state": "exposed", "violations": [LEAK]})
NOW_LEAK = {"compliant": False, "state": "exposed", "violations": [LEAK],
            "at_boot": {"compliant": True, "state": "compliant", "violations": []}}


@pytest.mark.parametrize("facts, on_conflict, holds", [
    (COMPLIANT, "fail", True),
    (NOW_LEAK, "fail", False),
    (NOT_AT_BOOT, "fail", False),
    (NOT_AT_BOOT, "warn", True),
    (SKIPPED_OK, "fail", True),
    (SKIPPED_LEAK, "fail", False),
], ids=["compliant", "leak-now", "leak-at-boot", "leak-at-boot-warn", "skipped-ok-at-boot", "skipped-leak-at-boot"])
def test_the_verify_filter_gives_the_modules_verdict(monkeypatch, request, facts, on_conflict, holds):
    from ansible_collections.lvs.realserver.plugins.filter import verdict as verdict_filter
    skipped = facts.get("runtime") == "skipped"
    steps = Steps(monkeypatch, facts=facts, skipped=skipped)
    result = steps.run(dict(vips=VIPS, sysctl_on_conflict=on_conflict))
    # what the module adds to the facts it gathered (the runtime of the run)
    judged = verdict_filter.verdict(result["ansible_facts"]["lvs_realserver"], VIPS, "lo", on_conflict)
    assert judged["holds"] is holds
    assert bool(result.get("failed")) is not holds
    assert result["verdict"] == judged["state"] == (
        "compliant" if holds else {"leak-now": "exposed", "leak-at-boot": "non_compliant", "skipped-leak-at-boot": "exposed"}[
            request.node.callspec.id])
    if holds:
        assert result["msg"] == judged["success"]
    else:
        assert result["msg"].splitlines() == judged["failure"] and result["violations"] == judged["violations"]


def test_main_returns_after_refusing_bad_input_even_where_fail_json_returns(monkeypatch):
    """main() does not rely on fail_json never returning: no step and no exit_json after the refusal."""
    steps = Steps(monkeypatch)
    calls = []
    monkeypatch.setattr(converge.AnsibleModule, "fail_json", lambda self, **kw: calls.append(("fail", kw["msg"])))
    monkeypatch.setattr(converge.AnsibleModule, "exit_json", lambda self, **kw: calls.append(("exit", kw)))
    with set_module_args({"vips": ["192.0.2.10/24"], "variable_prefix": "realserver_"}):
        assert converge.main(steps=steps) is None
    assert [call[0] for call in calls] == ["fail"] and calls[0][1].startswith("realserver_vips[0]: '192.0.2.10/24'")
    assert steps.calls == []


def test_a_failed_verdict_is_the_only_exit_even_where_fail_json_returns(monkeypatch):
    """The verdict's failure ends the run: main() does not exit_json after it."""
    steps = Steps(monkeypatch, facts=NOT_AT_BOOT)
    calls = []
    monkeypatch.setattr(converge.AnsibleModule, "fail_json", lambda self, **kw: calls.append(("fail", kw["msg"])))
    monkeypatch.setattr(converge.AnsibleModule, "exit_json", lambda self, **kw: calls.append(("exit", kw)))
    with set_module_args({"vips": VIPS}):
        converge.main(steps=steps)
    assert [call[0] for call in calls] == ["fail"] and calls[0][1].startswith("Not compliant")


class FailingVips(Steps):
    """The VIP step fails the module (the guard refused) and returns None, as _vip_apply.converge does."""

    def vips(self, module, desired, interfaces, guard_conf, ip_bin, require_arp_protection=True, outer=None,
             runtime="apply"):
        self.calls.append("vips " + desired["state"])
        module.fail_json(msg="refused: ARP leaks", **dict(outer or {}, vips={"changed": False}))
        return None


@pytest.mark.parametrize("state, after", [("present", ["sysctl present", "read_interfaces", "vips exact"]),
                                          ("absent", ["boot_unit absent", "read_interfaces", "vips absent"])])
def test_a_failed_vip_step_ends_the_run_even_where_fail_json_returns(monkeypatch, state, after):
    """No boot unit, no verdict, no sysctl removal and no exit_json after the VIP step failed the module."""
    steps = FailingVips(monkeypatch)
    calls = []
    monkeypatch.setattr(converge.AnsibleModule, "fail_json", lambda self, **kw: calls.append(("fail", kw["msg"])))
    monkeypatch.setattr(converge.AnsibleModule, "exit_json", lambda self, **kw: calls.append(("exit", kw)))
    with set_module_args({"vips": VIPS, "state": state}):
        converge.main(steps=steps)
    assert calls == [("fail", "refused: ARP leaks")]
    assert steps.calls == after


def test_an_unreadable_sysctl_d_file_fails_the_run_naming_it_before_any_change(monkeypatch, tmp_path):
    """The real sysctl step over a sysctl.d tree with a file it cannot read: a clear failure, no traceback."""
    (tmp_path / "etc" / "sysctl.d").mkdir(parents=True)
    (tmp_path / "etc" / "sysctl.d" / "50-secret.conf").write_text("net.ipv4.conf.all.arp_ignore = 0\n")
    written = []

    def refuse(path):
        raise IOError(13, "Permission denied", path)

    def read_state(path):
        return {"candidates": _sysctl_d.read_config_files(str(tmp_path), _sysctl_d.SEARCH_DIRS, ".conf",
                                                          read_text=refuse)}
    edges = _sysctl_apply.host_edges()._replace(
        read_state=read_state, write_file=lambda *a: written.append(a), write_value=lambda *a: written.append(a))

    class Unreadable(Steps):
        def sysctl(self, *args, **kw):
            self.calls.append("sysctl")
            return _sysctl_apply.converge(*args, edges=edges, detector=lambda: [], **kw)
    steps = Unreadable(monkeypatch)
    result = steps.run(dict(vips=VIPS))
    assert result["msg"] == "cannot read /etc/sysctl.d/50-secret.conf: Permission denied; nothing was changed"
    assert result["changed"] is False and result["sysctl"]["changed"] is False
    assert steps.calls == ["sysctl"] and written == []
