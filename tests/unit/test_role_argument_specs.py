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


# ---------------------------------------------------------------- one task
# "Ordering is the product" (DESIGN.md). The role is one task, one module run
# per host (issue 16): the order of the steps is the module's, proven in
# tests/unit/plugins/modules/test_converge.py. Here: the role is that one
# task, and it hands every role variable to the module under its name.

def test_realserver_is_one_task_calling_converge_with_every_variable():
    tasks = yaml.safe_load(_load("realserver", "tasks", "main.yml"))
    assert len(tasks) == 1, [t.get("name") for t in tasks]
    (task,) = tasks
    modules = [key for key in task if "." in key]
    assert modules == ["lvs.realserver.converge"], modules
    assert not set(task) & {"when", "loop", "with_items", "include_tasks", "import_tasks", "delegate_to"}
    args = task["lvs.realserver.converge"]
    assert args.pop("variable_prefix") == "realserver_"
    # each module option is the role variable without the prefix
    assert args == dict((name[len("realserver_"):], "{{ %s }}" % name) for name in _defaults("realserver"))
    # besides it only the verify kit (tasks_from: verify), which changes nothing
    assert sorted(os.listdir(os.path.join(ROLES_DIR, "realserver", "tasks"))) == ["main.yml", "verify.yml"]
    assert not os.path.exists(os.path.join(ROLES_DIR, "realserver", "vars"))


def test_verify_entry_point_shares_the_main_specs():
    specs = yaml.safe_load(_load("realserver", "meta", "argument_specs.yml"))["argument_specs"]
    verify = specs["verify"]["options"]
    assert set(verify) == {"realserver_vips", "realserver_mode", "realserver_vip_device", "realserver_runtime",
                           "realserver_sysctl_on_conflict"}
    for name, spec in verify.items():
        assert spec == specs["main"]["options"][name], name
    # the kit changes nothing: only the fact module and an assert
    tasks = yaml.safe_load(_load("realserver", "tasks", "verify.yml"))
    assert tasks[0]["lvs.realserver.arp_facts"]["runtime"] == "{{ realserver_runtime }}"
    assert [sorted(k for k in t if k != "name")[0] for t in tasks] == ["lvs.realserver.arp_facts", "ansible.builtin.assert"]
