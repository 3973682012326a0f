# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``lvs.realserver.verdict`` filter: the verdict ``lvs.realserver.converge`` gives, on facts that were only read.

Documented in verdict.yml. The rule is ``module_utils/_verdict.py``, the same
code the module runs, so the role's verify kit cannot judge differently.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.realserver.plugins.module_utils import _verdict
from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan


def verdict(facts, vips, device="lo", on_conflict="fail"):
    """``_verdict.judge`` of ``facts`` for ``vips`` on ``device`` (duplicates counted once, as the module does)."""
    if not isinstance(facts, dict) or "at_boot" not in facts:
        raise AnsibleFilterError("lvs.realserver.verdict: the input must be ansible_facts.lvs_realserver as "
                                 "lvs.realserver.arp_facts returns it, got %r" % (facts,))
    if on_conflict not in ("fail", "warn"):
        raise AnsibleFilterError("lvs.realserver.verdict: on_conflict must be fail or warn, got %r" % (on_conflict,))
    desired = _vip_plan.validate(list(vips or []), device, "exact", None, "host")[1]
    count = len(desired["vips"]) if desired else len(vips or [])
    return _verdict.judge(facts, on_conflict, count, device)


class FilterModule(object):
    def filters(self):
        return {"verdict": verdict}
