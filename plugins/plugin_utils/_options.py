# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The collection's actions check their options on the controller the way ``AnsibleModule`` would, with the same
argument spec, before anything is sent to a host."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError


def spec_errors(spec, args):
    """``(messages, params)``: every argument-spec problem of ``args`` (an unknown option marked ``unsupported
    options:``), each naming the option and the value, and the validated parameters (None when there are problems)."""
    result = ArgumentSpecValidator(spec).validate(dict(args))
    if result.error_messages:
        return [("unsupported options: " if isinstance(e, UnsupportedError) else "") + e.msg
                for e in result.errors.errors], None
    return [], result.validated_parameters
