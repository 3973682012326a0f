# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared helpers for the module unit tests.

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
* ``FakeLock``: the host lock of the fake hosts passed to the modules' ``main``.
* ``FakeFiles`` / ``systemctl_status``: the boot unit's files (a fake host
  passed to ``boot_unit.main``) and systemctl queries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.lvs.realserver.plugins.module_utils import _boot_unit as boot


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


# The boot unit (lvs.realserver.boot_unit, and loopback_vip with boot_unit: true)
UNIT = boot.UNIT_NAME
SYSTEMCTL = "/testbin/systemctl"


class FakeLock(object):
    """The host lock of a fake host: ``take(module)`` as ``_step.host_lock`` (None in check mode);
    ``fd`` is not None while it is held, ``taken`` counts the acquisitions."""

    def __init__(self):
        self.fd = None
        self.taken = 0

    def take(self, module):
        return None if module.check_mode else self.acquire()

    def acquire(self):
        assert self.fd is None, "the host lock was taken twice"
        self.fd, self.taken = "held", self.taken + 1
        return self

    def release(self):
        self.fd = None


class FakeFiles(object):
    """A fake host for ``boot_unit.main(host)``: the unit's files in a dict (``fs``: this object, with the
    ``_files`` edges), a ``root`` below ``tmp`` (systemd running: ``/run/systemd/system`` exists there) and a
    ``FakeLock`` (``held``; ``lock`` takes it)."""

    def __init__(self, monkeypatch, tmp, existing=None, systemd_running=True):
        self.held = FakeLock()
        self.lock = self.held.take
        self.files = dict(existing or {})
        self.written = []
        self.removed = []
        self.restored = []
        self.dirs = []
        self.fs = self
        self.root = str(tmp)
        if systemd_running:
            os.makedirs(os.path.join(self.root, "run", "systemd", "system"))
        self.warnings = []
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda m, msg: self.warnings.append(msg))

    def read_text(self, path):
        if path not in self.files:
            return None, None
        text, mode = self.files[path]

        class Stat(object):
            st_mode, st_uid, st_gid = 0o100000 | mode, 0, 0
        return text, Stat()

    def write_atomic(self, module, path, text, mode, own_dir=False):
        self.written.append(path)
        self.files[path] = (text, mode)

    def restore(self, path, text, mode=0o644):
        self.restored.append((path, text))
        if text is None:
            self.files.pop(path, None)
        else:
            self.files[path] = (text, mode)

    def remove(self, path):
        self.removed.append(path)
        del self.files[path]

    def ensure_dir(self, directory, own=False):
        self.dirs.append((directory, own))

    def sweep_temp(self, directory):
        return []


def systemctl_status(enabled, active, unit=UNIT):
    """The two systemctl queries ``_boot_unit_apply`` makes on a host where systemd runs (for ``unit``)."""
    return [
        ([SYSTEMCTL, "is-enabled", unit], (0 if enabled else 1, "enabled\n" if enabled else "disabled\n", "")),
        ([SYSTEMCTL, "is-active", unit], (0 if active else 3, "active\n" if active else "inactive\n", "")),
    ]
