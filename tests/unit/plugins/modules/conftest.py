# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures shared by the module unit tests.

* ``module_exits`` (autouse): ``AnsibleModule.exit_json``/``fail_json`` raise
  ``utils.AnsibleExitJson``/``utils.AnsibleFailJson`` for every test here.
* ``patch_ansible_module``: ``@pytest.mark.parametrize("patch_ansible_module",
  [args, ...], indirect=True)`` runs the test inside ``set_module_args(args)``.
* ``capable_host`` (autouse): ``_runtime_mode.detect`` finds nothing that
  stops runtime changes, whatever machine runs the tests; a test sets
  ``_runtime_mode.detect`` itself to play an unprivileged container.
* ``get_bin_path``: ``AnsibleModule.get_bin_path`` returns ``/testbin/<name>``
  so argv assertions do not depend on the machine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode

from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    exit_json,
    fail_json,
    set_module_args,
)


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


@pytest.fixture(autouse=True)
def host_lock_in_tmp(monkeypatch, tmp_path):
    """The modules' host lock lives in the test's temp dir, not in the machine's /run."""
    from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
    monkeypatch.setattr(_runtime, "LOCK_PATH", str(tmp_path / "lvs-realserver.lock"), raising=False)


@pytest.fixture(autouse=True)
def capable_host(monkeypatch):
    monkeypatch.setattr(_runtime_mode, "detect", lambda *args: [])


@pytest.fixture
def patch_ansible_module(request):
    with set_module_args(getattr(request, "param", None) or {}):
        yield


@pytest.fixture
def get_bin_path(monkeypatch):
    def fake(self, arg, required=False, opt_dirs=None):
        return "/testbin/%s" % arg
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", fake)
