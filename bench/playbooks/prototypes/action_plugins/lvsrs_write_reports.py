# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PROTOTYPE for `./tasks bench --prototypes` (not shipped with the collection):
# the controller-side action the compliance playbook could use to write its
# reports. The files are written from the worker process itself, atomically,
# mode 0644. Today the playbook runs ansible.builtin.file, copy and two
# template tasks, i.e. 4 local module executions (about 2 s per run).
from __future__ import annotations

DOCUMENTATION = """
    name: lvsrs_write_reports
    short_description: write report files on the controller without running a module (benchmark prototype)
    description: Benchmark prototype of bench/ (not shipped with the collection).
"""

import os
import tempfile

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        directory = self._task.args["dir"]
        files = self._task.args["files"]
        os.makedirs(directory, mode=0o755, exist_ok=True)
        written = []
        for name, content in sorted(files.items()):
            path = os.path.join(directory, name)
            data = str(content).encode("utf-8")
            try:
                with open(path, "rb") as handle:
                    if handle.read() == data:
                        continue
            except FileNotFoundError:
                pass
            if not self._task.check_mode:
                fd, temp = tempfile.mkstemp(dir=directory, prefix="." + name)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.chmod(temp, 0o644)
                os.replace(temp, path)
            written.append(path)
        result.update(changed=bool(written), files=written)
        return result
