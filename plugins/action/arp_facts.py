# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action of ``lvs.realserver.arp_facts``: the module's facts for a fraction of the host's CPU.

The options are validated on the controller, with the module's spec and validators (``module_utils/_arp_gather``),
so bad input costs no round trip. Then, in one round trip either way:

- **direct** (the default where it can run): the host's Python gets, on its standard input, the collection's
  module_utils sources, a small importer for them and ``_arp_gather.direct`` as the entry. It runs the module's own
  ``gather`` without ansible-core's module framework, whose import is most of a module run's CPU on the host
  (``ansible.builtin.ping`` costs about 0.22 s of CPU there, this gather about 0.06 s). Nothing is written on the host.
- **module**: the module, as ansible-core runs any module. Used when the connection does not pipeline, the task is
  async or delegated, the shell is not POSIX, or the host variable ``lvs_realserver_arp_facts_direct`` is false.

The host's Python is the one ansible-core would run the module with: ``ansible_python_interpreter`` or
``interpreter_python``, and in their ``auto`` modes the discovered one, found by ansible-core's own discovery (one
more round trip, as a module pays too) and returned as ``ansible_facts.discovered_interpreter_python``.
"""

from __future__ import annotations

import base64
import json
import os
import zlib

from ansible import constants as C
from ansible.executor.interpreter_discovery import discover_interpreter
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_gather
from ansible_collections.lvs.realserver.plugins.plugin_utils import _options

MODULE = "lvs.realserver.arp_facts"
PACKAGE = "ansible_collections.lvs.realserver.plugins.module_utils"
MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")
DIRECT_VAR = "lvs_realserver_arp_facts_direct"
DISCOVERED_FACT = "discovered_interpreter_python"

# Runs first on the host: serves ``SOURCES`` (module name -> (is a package, source)) to ``import``.
IMPORTER = '''
import sys
from importlib.machinery import ModuleSpec


class _Sources(object):
    def find_spec(self, name, path=None, target=None):
        if name in SOURCES:
            return ModuleSpec(name, self, is_package=SOURCES[name][0])
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        is_package, source = SOURCES[module.__name__]
        if is_package:
            module.__path__ = []
        exec(compile(source, "<lvs.realserver>/%s.py" % module.__name__.replace(".", "/"), "exec"), module.__dict__)


sys.meta_path.insert(0, _Sources())
'''


def option_errors(task_args):
    """``(errors, params)``: every problem with ``task_args`` (each naming the option and the value) and the
    validated parameters, as the module would have them."""
    errors, params = _options.spec_errors(_arp_gather.ARGUMENT_SPEC, task_args)
    return (errors, None) if errors else (_arp_gather.param_errors(params), params)


def read_sources(directory=MODULE_UTILS):
    """The collection's module_utils as ``SOURCES``: the packages above them, then every ``*.py`` file."""
    parts = PACKAGE.split(".")
    found = dict((".".join(parts[:i]), (True, "")) for i in range(1, len(parts) + 1))
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py") and name != "__init__.py":
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                found["%s.%s" % (PACKAGE, name[:-3])] = (False, handle.read())
    return found


def direct_script(params, sources):
    """The Python program the host runs: the sources (deflated, about a quarter of their size), the importer, then
    ``_arp_gather.direct(params)``."""
    packed = base64.b64encode(zlib.compress(json.dumps(sources, sort_keys=True).encode("utf-8"), 9)).decode("ascii")
    return ("import base64, json, zlib\nSOURCES = json.loads(zlib.decompress(base64.b64decode(%r)).decode('utf-8'))\n"
            "%s\nfrom %s._arp_gather import direct\ndirect(%r)\n") % (
        packed, IMPORTER, PACKAGE, json.dumps(params, sort_keys=True))


def python_or_discovery(value, discovered):
    """``(python, discovery_mode)`` for ``ansible_python_interpreter``/``interpreter_python`` ``value``: the host's
    Python when it is known (set, or an ``auto`` mode already ``discovered``), else the discovery mode to run."""
    value = str(value or "").strip()
    if not value.startswith("auto"):
        return value or None, None
    discovered = str(discovered or "").strip()
    return (discovered, None) if discovered else (None, value)


def direct_wanted(value):
    """``(wanted, error)`` for the ``lvs_realserver_arp_facts_direct`` host variable's ``value``."""
    try:
        return boolean(value, strict=True), None
    except TypeError:
        return False, "%s: %r is not a boolean" % (DIRECT_VAR, value)


def direct_blockers(pipelining, async_val, delegated, shell_family, wanted):
    """Why the direct way cannot run here ([] when it can)."""
    reasons = []
    if not wanted:
        reasons.append("%s is false" % DIRECT_VAR)
    if not pipelining:
        reasons.append("the connection does not pipeline")
    if async_val:
        reasons.append("the task is async")
    if delegated:
        reasons.append("the task is delegated")
    if shell_family != "sh":
        reasons.append("the shell is not POSIX (%s)" % shell_family)
    return reasons


def direct_outcome(response, python):
    """The task result from the host's reply (``_low_level_execute_command``): the module's result it printed, or a
    failure naming the interpreter, the exit status and what the host wrote."""
    try:
        result = json.loads(response.get("stdout") or "")
    except ValueError:
        result = None
    if isinstance(result, dict):
        return result
    said = (response.get("stderr") or response.get("stdout") or "").strip()
    return dict(failed=True, changed=False, rc=response.get("rc"), stdout=response.get("stdout", ""),
                stderr=response.get("stderr", ""),
                msg="%s: the direct gather with %s failed (rc %s): %s" % (
                    MODULE, python, response.get("rc"), said[-1000:] or "no output"))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        errors, params = option_errors(self._task.args)
        if errors:
            return dict(result, failed=True, changed=False, msg="; ".join(errors), errors=errors)
        wanted, error = direct_wanted(self._templar.template(task_vars.get(DIRECT_VAR, True)))
        if error:
            return dict(result, failed=True, changed=False, msg=error)
        wrap_async = self._task.async_val
        blockers = direct_blockers(
            pipelining=self._is_pipelining_enabled("new"), async_val=wrap_async,
            delegated=bool(self._task.delegate_to), shell_family=getattr(self._connection._shell, "SHELL_FAMILY", None),
            wanted=wanted)
        python, discovered = (None, None) if blockers else self._python(task_vars)
        if not python:
            result.update(self._execute_module(module_name=MODULE, module_args=params, task_vars=task_vars,
                                               wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        command = self._connection._shell.build_module_command(self._compute_environment_string(), "#!" + python, "")
        response = self._low_level_execute_command(
            command.strip(), sudoable=True, in_data=direct_script(params, read_sources()).encode("utf-8"))
        result.update(direct_outcome(response, python))
        if discovered:
            result.setdefault("ansible_facts", {})[DISCOVERED_FACT] = discovered
        return result

    def _python(self, task_vars):
        """``(python, discovered)``: the host's Python, as ansible-core would run the module with it, and the same
        path when this run discovered it (None when it was known)."""
        value = task_vars.get("ansible_python_interpreter")
        if value is None:
            value = C.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
        python, mode = python_or_discovery(self._templar.template(value),
                                           (task_vars.get("ansible_facts") or {}).get(DISCOVERED_FACT))
        if mode is None:
            return python, None
        found = discover_interpreter(action=self, interpreter_name="python", discovery_mode=mode, task_vars=task_vars)
        return (str(found), str(found)) if found else (None, None)
