# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The runtime mode: may a module change the running kernel here, or only what persists?

``runtime`` (``auto``, ``apply``, ``skip``) is an option of the modules that
touch the running kernel. A host that cannot take runtime changes is the
usual CI container (Docker's or podman's default, no ``--privileged``):
``/proc/sys`` is mounted read-only and ``CAP_NET_ADMIN`` is missing. There,
``auto`` converges what persists (the sysctl drop-in, the modules-load file,
the boot unit and its data) and leaves the running ARP values and the live
VIPs alone; the verdict then judges the next boot.

Pure functions, plus one thin edge (``detect``) that reads
``/proc/self/status`` and asks ``statvfs`` whether ``/proc/sys`` is
read-only. Nothing here writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lvs.realserver.plugins.module_utils import _iproute

AUTO = "auto"
APPLY = "apply"
SKIP = "skip"
CHOICES = (AUTO, APPLY, SKIP)

# ansible_facts.lvs_realserver.runtime and the modules' RV runtime.
APPLIED = "applied"
SKIPPED = "skipped"

CAP_NET_ADMIN = 12  # linux/capability.h
PROC_SYS_PROBE = "/proc/sys/net/ipv4/conf/all"
PROC_STATUS = "/proc/self/status"
SKIP_REQUESTED = "runtime=skip was requested"

# The end of _vip_plan's warning about a VIP that also sits on another interface (kept when skipping).
ELSEWHERE_SUFFIX = "where the kernel answers ARP/NDP for it"

# The guard verdict (loopback_vip RV guard.verdict) when no VIP is added now.
GUARD_SKIPPED = "skipped"


def cap_effective(status_text):
    """The effective capability mask from the text of ``/proc/<pid>/status``, or None when it has none."""
    for line in status_text.splitlines():
        name, _sep, value = line.partition(":")
        if name == "CapEff":
            try:
                return int(value.strip(), 16)
            except ValueError:
                return None
    return None


def has_capability(mask, bit):
    """Whether ``bit`` is set in ``mask``; an unknown mask (None) counts as set (nothing to go on)."""
    return mask is None or bool(mask >> bit & 1)


def is_read_only(statvfs_flags):
    return bool(statvfs_flags & os.ST_RDONLY)


def reasons(proc_sys_read_only, cap_mask):
    """Why this host cannot take runtime changes, one phrase each; [] when it can."""
    found = []
    if proc_sys_read_only:
        found.append("/proc/sys is mounted read-only, so the running ARP values cannot be written")
    if not has_capability(cap_mask, CAP_NET_ADMIN):
        found.append("the module runs without CAP_NET_ADMIN (CapEff %016x), so addresses cannot be added" % cap_mask)
    return found


def decide(requested, detected):
    """``(runtime, reasons)`` for the option ``requested`` and the ``detected`` reasons (None: not detected).

    ``skip`` reports what was detected (the role passes ``skip`` on after an
    ``auto`` task skipped), else that it was requested.
    """
    if requested == APPLY:
        return APPLIED, []
    if requested == SKIP:
        return SKIPPED, list(detected or [SKIP_REQUESTED])
    return (SKIPPED, list(detected)) if detected else (APPLIED, [])


def warning(found):
    """The one warning of an ``auto`` run that skips the running kernel."""
    return (
        "runtime skipped: this host cannot take runtime changes (%s; an unprivileged container?). "
        "Only what persists was converged (the sysctl drop-in, the modules-load file, the boot unit and its data; "
        "the unit is enabled, not started); the running ARP values and the live VIPs were left alone, and the "
        "verdict judges the next boot (ansible_facts.lvs_realserver.runtime: skipped). "
        "runtime=apply (role: realserver_runtime: apply) fails here instead; runtime=skip asks for this "
        "mode without the warning." % "; ".join(found))


def report(runtime, found):
    """The fields a module returns (and puts in its facts) about the runtime mode."""
    return {"runtime": runtime, "runtime_reasons": list(found)}


def read_status(path=PROC_STATUS):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return ""


def detect(probe=PROC_SYS_PROBE, status=PROC_STATUS, statvfs=os.statvfs, access=os.access):
    """The edge: the reasons this process cannot change the running kernel ([] when it can).

    ``statvfs`` and ``access`` (``os``'s by default) ask about the mount of
    ``probe`` and whether this process may write its ``arp_ignore``.
    """
    try:
        read_only = is_read_only(statvfs(probe).f_flag)
    except (IOError, OSError):
        read_only = False  # no IPv4 here: the modules fail on their own with a clearer message
    if not read_only:
        # A writable mount can still refuse this process (a user namespace that does not own the netns).
        read_only = not access(os.path.join(probe, "arp_ignore"), os.W_OK) and os.path.exists(probe)
    return reasons(read_only, cap_effective(read_status(status)))


def resolve(requested, detector=None):
    """``(runtime, reasons, warn)``: ``warn`` is True when ``auto`` found the host unable to take runtime changes.

    ``detector`` (default :func:`detect`) is not called for ``apply``.
    """
    runtime, found = decide(requested, (detector or detect)() if requested != APPLY else None)
    return runtime, found, requested == AUTO and runtime == SKIPPED


def skip_vip_plan(plan):
    """A ``_vip_plan.plan`` result turned into the file-only plan: no ``ip`` command runs now.

    The plan must have been made with ``require_arp_protection=False`` (the
    guard judges the live VIPs, and none is added now; the boot unit's own
    guard judges the next boot). ``boot_after`` keeps what the device holds
    once the boot unit has run; ``runtime_skipped`` lists the operations left
    out. Of the warnings only those about a VIP sitting on another interface
    stay: the others judge the live ARP values for VIPs added now.
    """
    skipped = dict(plan)
    skipped.update(
        operations=[], added=[], removed=[], after=list(plan["before"]), boot_after=list(plan["after"]),
        runtime_skipped=["%s %s" % (op["action"], op["address"]) for op in plan["operations"]],
        warnings=[w for w in plan["warnings"] if w.endswith(ELSEWHERE_SUFFIX)],
        guard=dict(plan["guard"], verdict=GUARD_SKIPPED, message=(
            "runtime skipped: no VIP is added now; the boot unit's guard judges the ARP values at boot")),
    )
    return skipped


def on_device(interfaces, device, addresses):
    """The interfaces with ``device`` holding exactly ``addresses`` (``_iproute.Address``), the others as they are."""
    return [iface._replace(addresses=list(addresses)) if iface.name == device else iface for iface in interfaces]


def _vip_plan():
    """``_vip_plan``, imported when a unit's VIPs are used (arp_facts needs it only where the runtime is skipped)."""
    from ansible_collections.lvs.realserver.plugins.module_utils import _vip_plan as vip_plan
    return vip_plan


def unit_addresses(data):
    """The ``_iproute.Address`` list the boot unit of ``data`` (``_vipctl.load_data``) puts on its device."""
    vip_plan = _vip_plan()
    return [vip_plan.desired_address(_iproute.parse_vip(a)[0], data["device"], data["label"], data["scope"])
            for a in data["addresses"]]


def with_unit_vips(interfaces, data):
    """The interfaces once the boot unit of ``data`` ran (None: no unit data, the interfaces as they are).

    Its VIPs replace any address with the same IP on its device; every other
    address stays, as in the rest of the boot view (``at_boot``).
    """
    if not data:
        return list(interfaces)
    vips = unit_addresses(data)
    vip_plan = _vip_plan()
    ips = set(vip_plan.ip_of(a.local) for a in vips)
    current = [i for i in interfaces if i.name == data["device"]]
    kept = [a for a in (current[0].addresses if current else []) if vip_plan.ip_of(a.local) not in ips]
    return on_device(interfaces, data["device"], kept + vips)
