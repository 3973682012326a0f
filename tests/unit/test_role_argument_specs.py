# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every role's defaults/main.yml and meta/argument_specs.yml agree.

Same keys, every default of a type its spec accepts, the same default value
in both files, defaults within their choices, every option documented,
every default preceded by a comment block, every public variable prefixed
with the role name. The defaults also pass ansible-core's own validator for
the spec, as the role's automatic argument validation would run it.

Runs under plain pytest from the repository root and under ./tasks units.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES_DIR = os.path.join(REPO, "roles")
ROLES = sorted(
    name for name in (os.listdir(ROLES_DIR) if os.path.isdir(ROLES_DIR) else [])
    if os.path.isfile(os.path.join(ROLES_DIR, name, "meta", "argument_specs.yml"))
)

# Python types a default may have, per argument_spec type.
TYPES = {
    "str": (str,),
    "path": (str,),
    "bool": (bool,),
    "int": (int,),
    "float": (float, int),
    "list": (list,),
    "dict": (dict,),
}
# Keys ansible's role argument validation does not pass on to the validator.
DOC_ONLY = ("description", "short_description", "version_added", "author", "notes", "seealso")


def _load(role, *parts):
    with open(os.path.join(ROLES_DIR, role, *parts)) as handle:
        return handle.read()


def _defaults(role):
    return yaml.safe_load(_load(role, "defaults", "main.yml")) or {}


def _options(role):
    return yaml.safe_load(_load(role, "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]


def _validator_spec(options):
    """The argument spec without documentation keys, as ansible's role validation builds it."""
    spec = {}
    for name, option in options.items():
        spec[name] = dict((k, v) for k, v in option.items() if k not in DOC_ONLY)
        if "options" in option:
            spec[name]["options"] = _validator_spec(option["options"])
    return spec


def test_there_is_a_role():
    assert "realserver" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_same_keys(role):
    defaults, options = set(_defaults(role)), set(_options(role))
    assert not defaults - options, "in defaults/main.yml but not in meta/argument_specs.yml: %s" % sorted(defaults - options)
    assert not options - defaults, "in meta/argument_specs.yml but not in defaults/main.yml: %s" % sorted(options - defaults)


@pytest.mark.parametrize("role", ROLES)
def test_public_names_are_prefixed(role):
    bad = [name for name in _options(role) if not name.startswith(role + "_")]
    assert not bad, "variables without the %s_ prefix: %s" % (role, bad)


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_documented_and_typed(role):
    for name, option in _options(role).items():
        assert option.get("description"), "%s has no description" % name
        assert option.get("type") in TYPES or option.get("type") == "raw", "%s: type %r" % (name, option.get("type"))
        if option["type"] == "list":
            assert option.get("elements"), "%s: a list needs elements" % name


@pytest.mark.parametrize("role", ROLES)
def test_types_and_defaults_agree(role):
    defaults, options = _defaults(role), _options(role)
    problems = []
    for name in sorted(set(defaults) & set(options)):
        value, option = defaults[name], options[name]
        if value is None:
            # null in defaults/main.yml: the spec must not claim another default, nor require a value
            if option.get("default") is not None or option.get("required"):
                problems.append("%s: null in defaults, spec default %r, required %r" % (
                    name, option.get("default"), option.get("required")))
            continue
        wanted = TYPES.get(option["type"], (object,))
        if not isinstance(value, wanted) or (option["type"] in ("int", "float") and isinstance(value, bool)):
            problems.append("%s: default %r is a %s, spec type %s" % (name, value, type(value).__name__, option["type"]))
        if option["type"] != "bool" and isinstance(value, bool) and option["type"] != "raw":
            problems.append("%s: default %r is a bool, spec type %s" % (name, value, option["type"]))
        if "default" not in option:
            problems.append("%s: defaults/main.yml has %r, the spec has no default" % (name, value))
        elif option["default"] != value or type(option["default"]) is not type(value):
            problems.append("%s: defaults/main.yml has %r, the spec default is %r" % (name, value, option["default"]))
        if "choices" in option and value not in option["choices"]:
            problems.append("%s: default %r not in choices %r" % (name, value, option["choices"]))
        if option["type"] == "list" and option.get("elements") in TYPES:
            bad = [v for v in value if not isinstance(v, TYPES[option["elements"]])]
            if bad:
                problems.append("%s: elements %r are not %s" % (name, bad, option["elements"]))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_defaults_pass_ansibles_validator(role):
    defaults, options = _defaults(role), _options(role)
    result = ArgumentSpecValidator(_validator_spec(options)).validate(defaults)
    assert not result.error_messages, result.error_messages
    # The validator fills in spec defaults: it must not change any role default.
    for name, value in defaults.items():
        if value is not None:
            assert result.validated_parameters[name] == value, name


@pytest.mark.parametrize("role", ROLES)
def test_every_default_has_a_comment_block(role):
    lines = _load(role, "defaults", "main.yml").splitlines()
    missing = []
    for number, line in enumerate(lines):
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):", line)
        if match and not (number > 0 and lines[number - 1].startswith("#")):
            missing.append(match.group(1))
    assert not missing, "defaults without a comment block directly above: %s" % missing


# ---------------------------------------------------------------- ordering
# "Ordering is the product" (DESIGN.md): the role's module calls, in file
# order, for each state. A reordering must be a deliberate change here too.

def _module_calls(role, tasks_file):
    tasks = yaml.safe_load(_load(role, "tasks", tasks_file)) or []
    calls = []
    for task in tasks:
        for key in task:
            if key in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks"):
                included = task[key]["file"] if isinstance(task[key], dict) else task[key]
                calls.extend(_module_calls(role, included.replace("{{ role_path }}/tasks/", "")))
            elif key.startswith("lvs.realserver."):
                state = task[key].get("state") if isinstance(task[key], dict) else None
                calls.append((key.split(".")[-1], state))
    return calls


def _task_args(role, tasks_file, module):
    tasks = yaml.safe_load(_load(role, "tasks", tasks_file)) or []
    return [task["lvs.realserver." + module] for task in tasks if "lvs.realserver." + module in task]


def test_realserver_present_order():
    calls = [c for c in _module_calls("realserver", "present.yml") if c != ("boot_unit", "absent")]
    assert calls == [
        ("arp_sysctl", "present"),
        ("loopback_vip", "exact"),
        ("arp_facts", None),  # only when the VIP task did not run (--tags)
    ]
    # The VIP task also installs the boot unit (after the VIPs, in the same
    # module run) and reads the verdict's facts (after both).
    vip_task = _task_args("realserver", "present.yml", "loopback_vip")[0]
    assert vip_task["boot_unit"] == "{{ realserver_boot_unit }}"
    assert vip_task["facts"] == "{{ realserver_compliance_check }}"
    assert vip_task["mode"] == "{{ realserver_mode }}"
    # A boot unit that is no longer wanted goes before the VIPs are set
    # (stopping it removes them), and never after.
    names = _module_calls("realserver", "present.yml")
    assert names.index(("boot_unit", "absent")) < names.index(("loopback_vip", "exact"))
    assert names.index(("arp_sysctl", "present")) < names.index(("boot_unit", "absent"))


def test_realserver_absent_order():
    calls = _module_calls("realserver", "absent.yml")
    assert [call[0] for call in calls] == ["boot_unit", "loopback_vip", "arp_sysctl"]
    assert calls[0][1] == "absent" and calls[2][1] == "absent"


def test_realserver_runtime_reaches_every_module_that_touches_the_running_kernel():
    """realserver_runtime goes to arp_sysctl and arp_facts as it is, and to loopback_vip as skip once
    arp_sysctl skipped the runtime (one warning per run); absent passes it as well."""
    present = dict((module, _task_args("realserver", "present.yml", module)[0])
                   for module in ("arp_sysctl", "loopback_vip", "arp_facts"))
    assert present["arp_sysctl"]["runtime"] == "{{ realserver_runtime }}"
    assert present["arp_facts"]["runtime"] == "{{ realserver_runtime }}"
    assert present["loopback_vip"]["runtime"] == "{{ __realserver_runtime_vip }}"
    for module in ("loopback_vip", "arp_sysctl"):
        assert _task_args("realserver", "absent.yml", module)[0]["runtime"] == "{{ realserver_runtime }}"
    assert _task_args("realserver", "verify.yml", "arp_facts")[0]["runtime"] == "{{ realserver_runtime }}"


def test_verify_entry_point_shares_the_main_specs():
    specs = yaml.safe_load(_load("realserver", "meta", "argument_specs.yml"))["argument_specs"]
    verify = specs["verify"]["options"]
    assert set(verify) == {"realserver_vips", "realserver_mode", "realserver_vip_device", "realserver_runtime",
                           "realserver_sysctl_on_conflict"}
    for name, spec in verify.items():
        assert spec == specs["main"]["options"][name], name
    # the kit changes nothing: only the fact module and an assert
    tasks = yaml.safe_load(_load("realserver", "tasks", "verify.yml"))
    assert [sorted(k for k in t if k != "name")[0] for t in tasks] == ["lvs.realserver.arp_facts", "ansible.builtin.assert"]
