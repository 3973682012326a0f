# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action of ``lvs.realserver.converge`` (the module of the same name does the work on the host).

Validates the options on the controller, with the module's own argument spec
and validators (``module_utils/_converge_args``, which call those of
``loopback_vip``, ``boot_unit`` and ``arp_sysctl``), so that bad input fails
before anything is sent to the host and costs no round trip. Then runs the
module once: the one round trip of the ``lvs.realserver.realserver`` role.
"""

from __future__ import annotations

import re

from ansible.plugins.action import ActionBase

from ansible_collections.lvs.realserver.plugins.module_utils import _converge_args as converge_args
from ansible_collections.lvs.realserver.plugins.plugin_utils import _options

MODULE = "lvs.realserver.converge"


def option_errors(task_args):
    """Every problem with ``task_args``, each naming the option (behind ``variable_prefix``) and the value; [] if none."""
    errors, params = _options.spec_errors(converge_args.ARGUMENT_SPEC, task_args)
    prefix = task_args.get("variable_prefix") or ""
    if not isinstance(prefix, str):
        prefix = ""
    if errors:
        return [prefixed(error, prefix) for error in errors]
    return converge_args.errors(params)


def prefixed(message, prefix):
    """An argument-spec message with the option names behind ``prefix`` (``'vips'`` -> ``'realserver_vips'``)."""
    if not prefix:
        return message
    names = "|".join(sorted(converge_args.ARGUMENT_SPEC, key=len, reverse=True))
    message = re.sub(r"'(%s)'" % names, lambda m: "'%s%s'" % (prefix, m.group(1)), message)
    return re.sub(r"^value of (%s) " % names, lambda m: "value of %s%s " % (prefix, m.group(1)), message)


def run_once(task_args, execute, base=None):
    """The action's result: ``base`` with the option errors (``execute`` not called: nothing sent to the host), or
    with what ``execute(task_args)`` (the one module run) returned."""
    result = dict(base or {})
    errors = option_errors(task_args)
    if errors:
        return dict(result, failed=True, changed=False, msg="; ".join(errors), errors=errors)
    result.update(execute(task_args))
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        def execute(module_args):
            result = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
            self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        return run_once(self._task.args, execute, super().run(tmp, task_vars))
