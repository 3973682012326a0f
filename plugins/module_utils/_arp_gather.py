# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What ``lvs.realserver.arp_facts`` does on the host, one copy for its two ways there.

- The module (``plugins/modules/arp_facts.py``) runs ``gather`` with its ``AnsibleModule`` as the host.
- The action (``plugins/action/arp_facts.py``) validates the options on the controller with the same spec and
  ``param_errors``, then pipes these sources to the host's Python with ``direct`` as the entry: the same
  ``gather``, without ansible-core's module framework, whose import is most of a module run's CPU on the host.

``gather`` needs from its ``host``: ``get_bin_path(name, required)``, ``run_command(argv)`` and
``fail_json(msg, **kw)`` (never returns). This file imports nothing from ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _facts
from ansible_collections.lvs.realserver.plugins.module_utils import _host_state
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_d as sysctl_d

DETAILS = ("full", "verdict")
# The per-key tables detail=verdict leaves out: the verdicts, violations, drift and hazards already say what they
# found wrong and where.
TABLES = ("interfaces", "conf_all", "conf_default", "boot", "boot_tool", "boot_prediction")

ARGUMENT_SPEC = dict(
    mode=dict(type="str", choices=list(rules.MODES), default="dr"),
    vips=dict(type="list", elements="str", default=[]),
    interfaces=dict(type="list", elements="str", default=[]),
    runtime=dict(type="str", choices=list(_runtime_mode.CHOICES), default=_runtime_mode.AUTO),
    detail=dict(type="str", choices=list(DETAILS), default="full"),
)
# The C locale for the one command (``ip``), whose output is parsed.
COMMAND_ENVIRONMENT = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")
# Where ``get_bin_path`` looks besides PATH, as ansible-core's does.
SBIN_DIRS = ("/sbin", "/usr/sbin", "/usr/local/sbin")


def param_errors(params):
    """The problems with validated ``params`` that the spec cannot express, each naming the option and the value."""
    errors = []
    for vip in params["vips"]:
        try:
            _iproute.parse_vip(vip)
        except ValueError as exc:
            errors.append("vips: %r %s" % (vip, exc))
    for name in params["interfaces"]:
        reason = _iproute.interface_name_error(name)
        if reason:
            errors.append("interfaces: %r %s" % (name, reason))
    return errors


def _vipctl():
    """``_vipctl``, imported only on a host whose runtime is skipped (the only one that reads the unit's data)."""
    from ansible_collections.lvs.realserver.plugins.module_utils import _vipctl as vipctl
    return vipctl


def read_unit_data(path):
    """The boot unit's data file, or None when there is none (or it cannot be read)."""
    try:
        return _vipctl().load_data(sysctl_d.read_text(path))
    except (IOError, OSError, ValueError):
        return None


def select_detail(facts, detail):
    """``facts`` at the ``detail`` level (see DETAILS), with ``detail`` recorded in them."""
    kept = dict(facts) if detail == "full" else dict((k, v) for k, v in facts.items() if k not in TABLES)
    kept["detail"] = detail
    return kept


def gather(host, params, root="/", detect=None, now=None):
    """``ansible_facts['lvs_realserver']`` of this host for validated ``params``.

    ``root``: the directory everything is read below; ``detect``: the runtime-capability probe
    (``_runtime_mode.detect``); ``now() -> str``: the ``collected_at`` clock (``_host_state.utc_now``).
    """
    interfaces = _host_state.read_interfaces(host, host.get_bin_path("ip", required=True))
    conf = _host_state.read_arp_conf(host, root)
    runtime, reasons, _warn = _runtime_mode.resolve(params["runtime"], detector=detect)
    boot = None
    if runtime == _runtime_mode.SKIPPED:
        boot = _runtime_mode.with_unit_vips(interfaces, read_unit_data(sysctl_d.under(root, _vipctl().DATA_FILE)))
    facts = _host_state.gather_facts(conf, interfaces, mode=params["mode"], expected_vips=params["vips"],
                                     judge=params["interfaces"], root=root, boot_interfaces=boot, now=now)
    facts.update(_runtime_mode.report(runtime, reasons))
    return select_detail(facts, params["detail"])


def module_result(facts):
    """What the module returns for ``facts``."""
    return dict(changed=False, ansible_facts={_facts.FACTS_KEY: facts})


# --------------------------------------------------------------------------
# the direct way: the host's Python with these sources and no module framework
# --------------------------------------------------------------------------

class Failed(Exception):
    """``DirectHost.fail_json``: the result of a failed run."""

    def __init__(self, result):
        Exception.__init__(self, result["msg"])
        self.result = result


class DirectHost:
    """What ``gather`` needs from a host, without ``AnsibleModule``."""

    def __init__(self, path=None, run=subprocess.run, sbin_dirs=SBIN_DIRS):
        self.path = os.environ.get("PATH", os.defpath) if path is None else path
        self.run = run
        self.sbin_dirs = list(sbin_dirs)

    def get_bin_path(self, name, required=False):
        directories = [d for d in self.path.split(os.pathsep) if d] + self.sbin_dirs
        for directory in directories:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        if required:
            self.fail_json(msg="Failed to find required executable \"%s\" in paths: %s"
                           % (name, os.pathsep.join(directories)))
        return None

    def run_command(self, argv):
        env = dict(os.environ)
        env.update(COMMAND_ENVIRONMENT)
        try:
            # (no AnsibleModule.run_command here: the direct way runs without ansible-core's module framework)
            done = self.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)  # pylint: disable=ansible-bad-function
        except OSError as exc:
            return 127, "", str(exc)
        return (done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))

    def fail_json(self, msg, **kwargs):
        raise Failed(dict(kwargs, failed=True, msg=msg))


def direct_result(params, host=None, gather_with=gather):
    """The module's result for validated ``params`` (a failure as ``fail_json`` would give it)."""
    try:
        return module_result(gather_with(host or DirectHost(), params))
    except Failed as failure:
        return failure.result


def direct(params_json, out=None):
    """Entry of the direct way: print the result of ``params_json`` (validated on the controller) as JSON."""
    (out or sys.stdout).write(json.dumps(direct_result(json.loads(params_json))))
