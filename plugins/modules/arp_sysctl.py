#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: arp_sysctl
short_description: Own the LVS real-server ARP drop-in in /etc/sysctl.d, apply it, and prove it wins at boot
version_added: 1.0.0
author:
  - lvs.realserver developers (@lvs-realserver)
description:
  - Writes one drop-in file in a sysctl.d directory with the per-interface IPv4 keys an LVS-DR or
    LVS-TUN real server needs (C(arp_ignore), C(arp_announce), C(rp_filter), ...), atomically and
    byte-for-byte idempotently, with mode C(0644) and owner C(root).
  - Applies the values to the running kernel by writing C(/proc/sys) directly, only where they
    differ, and reads them back.
  - Resolves the whole sysctl.d search path the way C(systemd-sysctl) does at boot (file names
    sorted across C(/etc), C(/run), C(/usr/local/lib), C(/usr/lib) and C(/lib); C(/etc) masking
    same-named files; last assignment wins; explicit keys beat globs) and reports, for every
    managed key, the file and line that will decide it at the next boot.
  - Fails (or warns) when another file would undo a managed key at boot, and names that file and line.
  - O(state=absent) removes the drop-in and sets the running values back to what they get at the next
    boot with the remaining sysctl.d files, never a blind C(0). That is the value of the line that decides
    the key; where none does, the kernel default for C(all), C(default) and C(lo), and the boot value of
    C(default) for other interfaces, which a NIC gets at boot when it appears after C(systemd-sysctl) or
    exists before it without an address. This is the C(late) value of M(lvs.realserver.arp_facts)'s
    C(boot_prediction), so its C(drift) stays empty for the restored keys.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    description: Predicts the file change, the runtime writes and the conflicts exactly; writes nothing.
  diff_mode:
    support: full
    description: Shows the drop-in's diff and the runtime values that change.
  platform:
    platforms: posix
    support: full
    description: Linux only.
options:
  conf:
    description:
      - Mapping of interface name to a mapping of key to value, for C(net.ipv4.conf.<interface>.<key>).
      - Interface names are C(all), C(default) or a Linux interface name (at most 15 characters;
        letters, digits, C(_), C(-) and C(.)). Names with dots (VLANs such as C(eth0.100)) are
        written in the slash form C(net.ipv4.conf.eth0/100.arp_ignore) that both systemd-sysctl and
        procps read correctly.
      - Keys are C(arp_ignore) (0, 1, 2, 3 or 8; 4-7 are reserved and behave like 0, so they are
        rejected), C(arp_announce) (0-2), C(rp_filter) (0-2), C(arp_filter), C(accept_local) and
        C(arp_notify) (0 or 1).
      - The kernel combines C(all) and the interface value with max (or "or") when it uses them,
        so C(all) is what protects every present and future interface.
      - With O(state=absent), the keys listed here are restored in addition to those in the drop-in.
    type: dict
    default: {all: {arp_ignore: 1, arp_announce: 2}}
  path:
    description:
      - The drop-in this module owns. It must be a C(*.conf) file directly inside one of
        C(/etc/sysctl.d), C(/run/sysctl.d), C(/usr/local/lib/sysctl.d), C(/usr/lib/sysctl.d) or
        C(/lib/sysctl.d); files anywhere else are never read at boot.
      - The default name sorts after C(99-sysctl.conf), the name under which Debian links
        C(/etc/sysctl.conf) into C(/etc/sysctl.d), so values left in C(/etc/sysctl.conf) cannot
        silently undo it. Files that still sort later are reported as conflicts.
    type: path
    default: /etc/sysctl.d/99-zz-lvs-realserver.conf
  state:
    description:
      - V(present) writes the drop-in and applies it.
      - V(absent) removes it and restores the running values the remaining files give.
    type: str
    choices: [present, absent]
    default: present
  runtime:
    description:
      - Whether the running kernel is changed, or only what persists (the drop-in).
      - V(apply) writes the running values and fails, changing nothing, where C(/proc/sys) is read-only.
      - V(skip) manages only the file on any host, for images built offline or a read-only C(/proc/sys).
      - V(auto) detects, in the same run, a host that cannot take runtime changes (C(/proc/sys) mounted
        read-only, or no C(CAP_NET_ADMIN), as in an unprivileged container) and then manages only the file,
        with one warning. Elsewhere it is V(apply).
      - RV(runtime) tells which it was.
    type: str
    choices: [auto, apply, skip]
    default: apply
  force:
    description:
      - Take over (or, with O(state=absent), remove) a file at O(path) that this module did not write.
      - Without it such a file is never overwritten or removed.
    type: bool
    default: false
  backup:
    description:
      - Keep a timestamped copy of the previous drop-in next to it before changing it.
        The copy does not end in C(.conf), so it is never read at boot.
    type: bool
    default: false
  on_conflict:
    description:
      - What to do when another file in the sysctl.d search path (or C(/etc/sysctl.conf) for
        C(sysctl --system)) would give a managed key a different value at boot, either by setting
        the same key later or, for C(arp_ignore) and C(arp_announce) on C(all), by setting a value
        on an interface or glob that wins through the kernel's max rule and weakens the protection.
      - V(fail) fails before anything is changed; V(warn) goes ahead and warns.
    type: str
    choices: [fail, warn]
    default: fail
notes:
  - The running values are written directly under C(/proc/sys/net/ipv4/conf), one file per key,
    only where they differ; the whole sysctl configuration is never re-applied.
  - A key for an interface that does not exist yet is persisted and reported in RV(pending); udev
    applies it when the interface appears.
  - In a container whose C(/proc/sys) is read-only the module fails before changing anything; use
    O(runtime=auto) (or O(runtime=skip)) to manage only the file there.
  - The drop-in is written (and, on a failure, put back) through a temp file, fsync and rename; the
    module holds the host lock C(/run/lvs-realserver.lock) (shared with M(lvs.realserver.loopback_vip),
    M(lvs.realserver.boot_unit) and the boot unit) while it changes the file and the running values, and
    fails after waiting 60 s for it. A symbolic link or a directory at O(path) is refused.
seealso:
  - module: lvs.realserver.loopback_vip
  - module: lvs.realserver.arp_facts
  - module: ansible.posix.sysctl
"""

EXAMPLES = r"""
- name: Protect a real server against the ARP problem (all interfaces, now and at boot)
  lvs.realserver.arp_sysctl:

- name: Also relax reverse-path filtering for an LVS-TUN real server
  lvs.realserver.arp_sysctl:
    conf:
      all: {arp_ignore: 1, arp_announce: 2, rp_filter: 0}
      default: {rp_filter: 0}
      tunl0: {rp_filter: 0}

- name: Persist only, for an image build
  lvs.realserver.arp_sysctl:
    runtime: skip

- name: Apply where the host allows it, else persist only (an unprivileged CI container)
  lvs.realserver.arp_sysctl:
    runtime: auto

- name: Remove the drop-in and restore what the other sysctl.d files give
  lvs.realserver.arp_sysctl:
    state: absent
"""

RETURN = r"""
path:
  description: The managed drop-in.
  returned: always
  type: str
  sample: /etc/sysctl.d/99-zz-lvs-realserver.conf
file_changed:
  description: Whether the drop-in was (or, in check mode, would be) created, changed or removed.
  returned: always
  type: bool
  sample: true
runtime_changes:
  description: The running values written (or to be written in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The sysctl key, dotted form.
      type: str
      sample: net.ipv4.conf.all.arp_ignore
    interface:
      description: The interface part of the key.
      type: str
      sample: all
    key:
      description: The key within the interface.
      type: str
      sample: arp_ignore
    before:
      description: The value before.
      type: int
      sample: 0
    after:
      description: The value after.
      type: int
      sample: 1
pending:
  description: Keys persisted for interfaces that do not exist yet.
  returned: always
  type: list
  elements: str
  sample: [net.ipv4.conf.eth0/100.arp_ignore]
boot:
  description:
    - For every managed key (dotted form), the value it gets at the next boot and the file and line
      that decide it, resolved like systemd-sysctl. C(value), C(file) and C(line) are null where
      nothing sets the key.
  returned: always
  type: dict
  sample:
    net.ipv4.conf.all.arp_ignore: {value: 1, file: /etc/sysctl.d/99-zz-lvs-realserver.conf, line: 3}
conflicts:
  description: Files that would give a managed key another value at boot.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The key that loses (dotted form); for C(beats_all_via_max), the other file's key.
      type: str
    kind:
      description: C(later_file) (the same key set later or by a masking file) or C(beats_all_via_max).
      type: str
    ours:
      description: The value this module manages.
      type: int
    value:
      description: The other file's value.
      type: raw
    file:
      description: The other file.
      type: str
    line:
      description: The line in that file.
      type: int
    boot_tool:
      description: C(systemd-sysctl), or C(sysctl --system) for C(/etc/sysctl.conf), which only procps reads last.
      type: str
  sample:
    - {key: net.ipv4.conf.all.arp_ignore, kind: later_file, ours: 1, value: "0",
       file: /etc/sysctl.d/99-zzz-local.conf, line: 2, boot_tool: systemd-sysctl}
runtime:
  description:
    - V(applied) when the running kernel was managed, V(skipped) when only the file was (O(runtime=skip),
      or O(runtime=auto) on a host that cannot take runtime changes).
  returned: always
  type: str
  sample: skipped
runtime_reasons:
  description: Why the runtime was skipped (empty when it was applied).
  returned: always
  type: list
  elements: str
  sample: ["/proc/sys is mounted read-only, so the running ARP values cannot be written"]
backup_file:
  description: The backup of the previous drop-in.
  returned: when a backup was made
  type: str
  sample: /etc/sysctl.d/99-zz-lvs-realserver.conf.12345.2026-11-26@13:00:00~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _runtime_mode
from ansible_collections.lvs.realserver.plugins.module_utils import _step
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_apply
from ansible_collections.lvs.realserver.plugins.module_utils import _sysctl_plan as planner


class Host(_step.Host):
    """What the module reads and writes on the host (``_step.Host``: the detector and the lock); tests pass a fake."""

    edges = staticmethod(_sysctl_apply.host_edges)  # () -> _sysctl_apply.Edges: the drop-in and /proc/sys


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            conf=dict(type="dict", default=dict(rules.ARP_PROTECTION)),
            path=dict(type="path", default=planner.DEFAULT_PATH),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            force=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            on_conflict=dict(type="str", choices=["fail", "warn"], default="fail"),
            runtime=dict(type="str", choices=list(_runtime_mode.CHOICES), default=_runtime_mode.APPLY),
        ),
        supports_check_mode=True,
    )


def main(host=None):
    """Validate, then converge the drop-in and the running values under the lock; ``host`` (default :class:`Host`)."""
    module = _step.start(build_module())
    params = module.params
    path = params["path"]
    errors = planner.conf_errors(params["conf"])
    path_problem = planner.path_error(path)
    if path_problem:
        errors.insert(0, path_problem)
    if errors:
        _step.refuse(module, errors)
        return

    # The I/O (read, plan, write the file, write /proc, roll back) is shared with lvs.realserver.converge;
    # the file and the running values change under the host lock (loopback_vip and the boot unit share it).
    host = host or Host()
    module.exit_json(**_step.locked(module, lambda lock: _sysctl_apply.converge(
        module, params["state"], planner.normalized_conf(params["conf"]), path, params["force"],
        params["on_conflict"], params["runtime"], params["backup"], lock=lock, edges=host.edges(),
        detector=host.detect), take=host.lock))


if __name__ == "__main__":
    main()
