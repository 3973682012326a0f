# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Lossless per-host result dump for tests/netns/lab.py run_module(method="ansible").
# The builtin tree callback (-t) drops diff, invocation, warnings, exception and
# is deprecated for removal in ansible-core 2.23; this one keeps everything.
from __future__ import annotations

DOCUMENTATION = """
    name: lvst_result
    type: aggregate
    short_description: write each host's raw task result as JSON to $LVST_RESULT_DIR/<host>
    description: Test-harness callback of tests/netns (not shipped with the collection).
"""

import json
import os

from ansible.plugins.callback import CallbackBase


def _msgs(items):
    out = []
    for item in items or ():
        event = getattr(item, "event", None)
        out.append(getattr(event, "msg", None) or str(item))
    return out


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lvst_result"
    CALLBACK_NEEDS_ENABLED = False

    def _write(self, result, status):
        outdir = os.environ.get("LVST_RESULT_DIR")
        if not outdir:
            return
        res = getattr(result, "result", None)
        if res is None:
            res = result._result
        data = {k: v for k, v in dict(res).items() if not k.startswith("_ansible")}
        warnings = _msgs(getattr(result, "warnings", None))
        if warnings:
            data.setdefault("warnings", warnings)
        deprecations = _msgs(getattr(result, "deprecations", None))
        if deprecations:
            data.setdefault("deprecations", deprecations)
        exc = getattr(result, "exception", None)
        if exc is not None and "exception" not in data:
            data["exception"] = getattr(getattr(exc, "event", None), "formatted_traceback",
                                        None) or str(exc)
        # ansible-core >= 2.19 keeps failed/skipped/unreachable outside the dict
        if status != "ok":
            data.setdefault(status, True)
        data["_lvst_status"] = status
        os.makedirs(outdir, exist_ok=True)
        host = result.host.get_name() if hasattr(result, "host") else result._host.get_name()
        with open(os.path.join(outdir, host), "w") as f:
            json.dump(data, f, default=str, sort_keys=True)

    def v2_runner_on_ok(self, result, *args, **kwargs):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, *args, **kwargs):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result, *args, **kwargs):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result, *args, **kwargs):
        self._write(result, "unreachable")
