# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared helpers for the module unit tests (generic: no module-specific code here).

* ``set_module_args(args)``: a context manager exposing ``args`` to every
  ``AnsibleModule`` built inside it. It uses ansible-core's
  ``ansible.module_utils.testing.patch_module_args`` (2.19+, which also sets
  the serialization profile) and falls back to patching
  ``basic._ANSIBLE_ARGS`` on older cores. The import is tried in
  ``try/except ImportError/else`` so that an ImportError raised by the test
  body is never swallowed.
* ``AnsibleExitJson`` / ``AnsibleFailJson``: raised by the patched
  ``exit_json`` / ``fail_json``; ``.result`` is the dict the module returned.
* ``exit_json`` / ``fail_json``: the replacements (see ``conftest.py``, which
  patches them on ``AnsibleModule`` for every test in this directory).
* ``RunCommandMock``: a ``run_command`` replacement that asserts the exact
  argv list of each call, in order, and records every call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


class AnsibleExitJson(Exception):
    """Raised instead of exiting when the module calls ``exit_json``."""

    def __init__(self, kwargs):
        super(AnsibleExitJson, self).__init__(kwargs)
        self.result = kwargs


class AnsibleFailJson(Exception):
    """Raised instead of exiting when the module calls ``fail_json``."""

    def __init__(self, kwargs):
        super(AnsibleFailJson, self).__init__(kwargs)
        self.result = kwargs


def exit_json(*args, **kwargs):
    """Replacement for ``AnsibleModule.exit_json``."""
    kwargs.setdefault("changed", False)
    raise AnsibleExitJson(kwargs)


def fail_json(*args, **kwargs):
    """Replacement for ``AnsibleModule.fail_json``."""
    kwargs["failed"] = True
    raise AnsibleFailJson(kwargs)


@contextlib.contextmanager
def set_module_args(args=None):
    """Expose ``args`` (a dict; ``_ansible_check_mode`` etc. allowed) to AnsibleModule."""
    args = dict(args or {})
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:
        pass
    else:
        with patch_module_args(args):
            yield
        return

    # ansible-core < 2.19
    serialized = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    old = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = serialized
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = old


class RunCommandMock(object):
    """A ``run_command`` stand-in driven by a list of expected calls.

    ``expected`` is a list of ``(argv, (rc, stdout, stderr))``. Each call
    must pass exactly ``argv`` (a list, never a string); a call beyond the
    list, or one with another argv, fails the test with both argvs shown.
    ``calls`` records every argv; ``assert_done()`` checks all were made.
    """

    def __init__(self, expected):
        self.expected = list(expected)
        self.calls = []
        self.kwargs = []

    def __call__(self, args, *unused, **kwargs):
        assert isinstance(args, list), "run_command must get an argv list, got %r" % (args,)
        index = len(self.calls)
        self.calls.append(list(args))
        self.kwargs.append(kwargs)
        assert index < len(self.expected), "unexpected run_command call #%d: %r" % (index + 1, args)
        want, answer = self.expected[index]
        assert list(args) == list(want), "run_command call #%d:\n  got  %r\n  want %r" % (index + 1, args, want)
        return answer

    def assert_done(self):
        assert len(self.calls) == len(self.expected), "expected %d run_command calls, got %d: %r" % (
            len(self.expected), len(self.calls), self.calls)
