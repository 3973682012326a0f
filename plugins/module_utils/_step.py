# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What every module of the collection does the same way: its start, its refusal of bad input, the host lock,
and what a failing step reports when several steps run in one module (``lvs.realserver.converge``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.realserver.plugins.module_utils import _runtime
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode


C_LOCALE = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")


def start(module):
    """``module``, its commands set to run in the C locale (their messages are parsed and quoted); returns it."""
    module.run_command_environ_update = dict(C_LOCALE)
    return module


def refuse(module, errors):
    """Fail ``module`` with every problem in ``errors`` (each naming the option and the value); nothing changed.

    Returns normally only where ``fail_json`` does (a test harness): the
    caller returns right after.
    """
    module.fail_json(msg="; ".join(errors), errors=list(errors), changed=False)


def failure_fields(result, outer, key):
    """This step's ``result`` alone (``outer`` None), or the caller's ``outer`` result with it under ``key``.

    ``changed`` is true when the caller or this step changed something
    before the failure, so that a failed run never hides a change.
    """
    if outer is None:
        return result
    return dict(outer, changed=bool(outer.get("changed") or result["changed"]), **{key: result})


def host_lock(module):
    """The host lock (``_runtime.HostLock``), taken; None in check mode. Fails the module on a timeout.

    Shared by every module that changes the host (``arp_sysctl``, ``loopback_vip``,
    ``boot_unit``, ``converge``); the boot unit's controller takes it too.
    """
    if module.check_mode:
        return None
    try:
        return _runtime.HostLock().acquire()
    except _runtime.LockTimeout as exc:
        module.fail_json(msg=str(exc), changed=False)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot open the host lock %s: %s" % (_runtime.LOCK_PATH, exc.strerror or exc), changed=False)
    return None


class Host(object):
    """What every module that changes the host asks of it, as production defaults (a test passes a fake host).

    ``detect() -> reasons`` runtime changes are impossible here ([] if possible);
    ``lock(module)``: the host lock, taken (None in check mode). A module's own
    ``Host`` adds its readers and writers.
    """

    detect = staticmethod(_runtime_mode.detect)
    lock = staticmethod(host_lock)


def locked(module, work, take=host_lock):
    """``work(lock)`` under the host lock (``take(module)``, None in check mode), released however it ends.

    Returns what ``work`` returns. The lock is released on a failure too
    (``fail_json`` raises ``SystemExit``), before the process would drop it.
    """
    lock = take(module)
    try:
        return work(lock)
    finally:
        if lock is not None:
            lock.release()
