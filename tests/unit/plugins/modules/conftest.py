# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures shared by the module unit tests.

* ``module_exits`` (autouse): ``AnsibleModule.exit_json``/``fail_json`` raise
  ``utils.AnsibleExitJson``/``utils.AnsibleFailJson`` for every test here.
* ``patch_ansible_module``: ``@pytest.mark.parametrize("patch_ansible_module",
  [args, ...], indirect=True)`` runs the test inside ``set_module_args(args)``.
* ``get_bin_path``: ``AnsibleModule.get_bin_path`` returns ``/testbin/<name>``
  so argv assertions do not depend on the machine.

The host lock and the runtime detector are not patched here: every module's
``main`` takes them (with the file and /proc edges) from the fake host a test
passes (``utils.FakeLock``), so no test touches the machine's /run or asks
the machine what it can write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.realserver.tests.unit.plugins.modules.utils import (
    exit_json,
    fail_json,
    set_module_args,
)


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


@pytest.fixture
def patch_ansible_module(request):
    with set_module_args(getattr(request, "param", None) or {}):
        yield


@pytest.fixture
def get_bin_path(monkeypatch):
    def fake(self, arg, required=False, opt_dirs=None):
        return "/testbin/%s" % arg
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", fake)
