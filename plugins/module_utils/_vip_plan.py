# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The loopback_vip planner: input validation, then ``plan(desired, current) -> operations``.

Pure functions: the module reads ``ip -j -d addr show`` and the running
``/proc/sys/net/ipv4/conf`` values, asks for a plan, and runs its argv lists.

Facts the plan relies on (iproute2 6.1, kernel 6.18, checked in a netns):

* ``ip addr replace`` of an IPv4 address that already exists with the same
  prefix only refreshes its lifetimes: a different ``label`` or ``scope`` is
  silently ignored (rc 0). A VIP with the wrong label or scope is therefore
  deleted and re-added.
* ``ip -6 addr replace X/128`` over an existing ``X/64`` keeps the /64
  (lifetimes only). A VIP with the wrong prefix length, either family, is
  deleted and re-added.
* ``ip -6 addr replace`` does update the preferred lifetime in place, so an
  IPv6 VIP that is merely not deprecated is fixed without a delete.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.lvs.realserver.plugins.module_utils import _arp_rules as rules
from ansible_collections.lvs.realserver.plugins.module_utils import _iproute

DEVICES = ("lo", rules.TUN_DEVICE)
STATES = ("present", "absent", "exact")
SCOPES = ("host", "global")
LABEL_SUFFIX = ":lvs"

# Guard verdicts (RV guard.verdict).
PASS = "pass"                # no ARP leak once the change is made
FAIL = "fail"                # an IPv4 VIP would be added while ARP leaks: refused
OVERRIDDEN = "overridden"    # the same, but require_arp_protection=false: added anyway
EXPOSED = "exposed"          # nothing IPv4 to add, but IPv4 VIPs sit on the device while ARP leaks
NOT_NEEDED = "not_needed"    # no IPv4 VIP on the device afterwards: ARP cannot leak one


def default_label(device):
    return device + LABEL_SUFFIX


def validate(addresses, device, state, label, scope, mode=None):
    """Check the options; return ``(errors, desired)``.

    ``errors`` is a list of messages, each naming the option and the bad
    value. ``desired`` (None when there are errors) is a dict with
    ``vips`` (``ipaddress`` objects, duplicates removed, order kept),
    ``device``, ``state``, ``label`` (the default filled in), ``scope`` and
    ``mode`` (:func:`mode_of`: the one the guard judges, as the boot guard
    reads it from the unit's data file).
    """
    errors = []
    device_ok = True
    reason = _iproute.interface_name_error(device)
    if reason:
        errors.append("device: %r %s" % (device, reason))
        device_ok = False
    elif device not in DEVICES:
        errors.append(
            "device: %r is not allowed: VIPs belong on lo (LVS-DR) or %s (LVS-TUN); on an interface that "
            "faces the LAN the kernel answers ARP for them whatever arp_ignore says" % (device, rules.TUN_DEVICE))
        device_ok = False

    if state not in STATES:
        errors.append("state: %r must be one of %s" % (state, ", ".join(STATES)))
    if scope not in SCOPES:
        errors.append("scope: %r must be one of %s" % (scope, ", ".join(SCOPES)))

    if label is None and device_ok:
        label = default_label(device)
    if label is not None and device_ok:
        reason = _iproute.label_error(label, device)
        if reason:
            errors.append("label: %r %s" % (label, reason))
        elif label == device:
            errors.append(
                "label: %r is the device's own label, which every address added without a label carries "
                "(127.0.0.1 included); use a label of its own such as %r so that state=exact can tell "
                "this module's VIPs apart" % (label, default_label(device)))

    vips = []
    if not isinstance(addresses, list):
        errors.append("addresses: %r must be a list of IPv4 and IPv6 addresses" % (addresses,))
        addresses = []
    for index, text in enumerate(addresses):
        where = "addresses[%d]" % index
        if not isinstance(text, str):
            errors.append("%s: %r must be a string such as 192.0.2.10 or 2001:db8::10/128" % (where, text))
            continue
        try:
            vip = _iproute.parse_vip(text)[0]
        except ValueError as exc:
            errors.append("%s: %r %s" % (where, text, exc))
            continue
        if vip.version == 6 and device == rules.TUN_DEVICE:
            errors.append(
                "%s: %r is an IPv6 address; %s (IPIP) decapsulates IPv4 only, so IPv6 VIPs belong on lo" % (
                    where, text, rules.TUN_DEVICE))
            continue
        if vip not in vips:
            vips.append(vip)
    if errors:
        return errors, None
    return [], dict(vips=vips, device=device, state=state, label=label, scope=scope, mode=mode_of(device, mode))


def mode_of(device, mode=None):
    """The LVS method: ``mode`` when given, else derived from the device (``tunl0`` is TUN, ``lo`` DR)."""
    if mode is not None:
        return mode
    return "tun" if device == rules.TUN_DEVICE else "dr"


def unit_errors(addresses, device, mode, needs_vips, names=None, hint=""):
    """The rules shared by every caller that installs VIPs for the boot: ``[]`` or messages.

    * ``tunl0`` needs ``mode=tun`` (it is the IPIP fallback device; LVS-DR VIPs go on ``lo``);
    * the VIP list must not be empty when ``needs_vips`` (the caller installs them).

    ``names`` maps ``addresses``, ``device`` and ``mode`` to the caller's own
    option names (with any prefix), so that each message names the option the
    user wrote and its value; ``hint`` ends the empty-list message (the way out).
    """
    names = dict(dict(addresses="addresses", device="device", mode="mode"), **(names or {}))
    errors = []
    if needs_vips and not addresses:
        errors.append("%s: [] is empty: list at least one VIP (IPv4 /32 or IPv6 /128)%s" % (names["addresses"], hint))
    if device == rules.TUN_DEVICE and mode != "tun":
        errors.append("%s: %r needs %s=tun (got %r): %s is the IPIP fallback device, LVS-DR VIPs go on lo" % (
            names["device"], device, names["mode"], mode, rules.TUN_DEVICE))
    return errors


def ip_of(local):
    return ipaddress.ip_address(local)


def is_protected(address):
    """Loopback (127/8, ::1) and link-local addresses: never removed, never listed as VIPs."""
    ip = ip_of(address.local)
    return ip.is_loopback or ip.is_link_local


def is_ours(address, label):
    """Would ``state=exact`` treat this address on the device as one of this module's VIPs?

    IPv4: it carries our label. IPv6 addresses have no label, so: a /128
    with preferred lifetime 0 (the deprecated form this module gives every
    IPv6 VIP, which nothing else on a real server uses on lo). Loopback and
    link-local addresses never are.
    """
    if is_protected(address):
        return False
    if address.family == "inet":
        return address.label == label
    return address.prefixlen == 128 and address.preferred_life_time == 0


def _ipv6_scope(ip):
    """The scope the kernel gives an IPv6 address (link-local and loopback are rejected earlier)."""
    return "site" if ip.is_site_local else "global"


def desired_address(vip, device, label, scope):
    """The ``_iproute.Address`` a VIP has on the device once this module added it."""
    if vip.version == 4:
        return _iproute.address(str(vip), 32, scope=scope, label=label)
    return _iproute.address(str(vip), 128, scope=_ipv6_scope(vip), preferred_life_time=0)


def _satisfies(address, vip, label, scope):
    """Is ``address`` (same local as ``vip``) already exactly what the module would add?"""
    if address.prefixlen != vip.max_prefixlen:
        return False
    if vip.version == 4:
        return address.scope == scope and address.label == label
    return address.preferred_life_time == 0


def address_text(address):
    """One diff line for an address, in ``ip addr`` words."""
    text = "%s/%d" % (address.local, address.prefixlen)
    if address.family == "inet":
        text += " scope %s" % address.scope
        if address.label:
            text += " label %s" % address.label
    elif address.preferred_life_time == 0:
        text += " preferred_lft 0"
    elif address.preferred_life_time == _iproute.FOREVER:
        text += " preferred_lft forever"
    else:
        text += " preferred_lft %ssec" % address.preferred_life_time
    return text


def address_dict(address, label):
    return {
        "address": "%s/%d" % (address.local, address.prefixlen),
        "family": address.family,
        "local": address.local,
        "prefixlen": address.prefixlen,
        "scope": address.scope,
        "label": address.label,
        "deprecated": address.family == "inet6" and address.preferred_life_time == 0,
        "managed": is_ours(address, label),
    }


def sort_key(address):
    ip = ip_of(address.local)
    return (ip.version, int(ip), address.prefixlen)


def vip_lines(addresses):
    """The diff text: every non-loopback, non-link-local address of the device, one per line, sorted."""
    return "".join(address_text(a) + "\n" for a in sorted(addresses, key=sort_key) if not is_protected(a))


def _find(interfaces, name):
    for iface in interfaces:
        if iface.name == name:
            return iface
    return None


def _violation_text(v):
    return "%s: %s is %s (expected %s): %s; fix: %s" % (
        v["interface"], v["key"], v["actual"], v["expected"], v["message"], v["fix"])


def guard_message(violations, vips, device):
    return (
        "refusing to add IPv4 VIP %s on %s: ARP protection is not in effect "
        "(require_arp_protection=true), so the kernel would answer ARP for it or announce it: %s. "
        "Nothing was changed; apply the fix (lvs.realserver.arp_sysctl) and rerun" % (
            ", ".join(vips), device, "; ".join(_violation_text(v) for v in violations)))


def with_runtime_changes(conf, changes):
    """``conf`` as it will be once ``changes`` (``arp_sysctl``'s ``runtime_changes``) are written; a new dict."""
    merged = dict((interface, dict(keys)) for interface, keys in conf.items())
    for change in changes:
        merged.setdefault(change["interface"], {})[change["key"]] = change["after"]
    return merged


def plan(desired, interfaces, conf, ip_bin, require_arp_protection=True):
    """Work out what to do.

    ``desired``: the dict from :func:`validate`. ``interfaces``: the whole
    host from ``_iproute.parse_addr_json`` (the guard needs every ARP-facing
    interface). ``conf``: ``_runtime.read_conf(_arp_rules.READ_KEYS)``.

    Returns a dict:

    * ``error``: a message when the plan cannot be carried out (then nothing
      may be run), else None;
    * ``operations``: ordered ``{"action": "del"|"add", "address": "ip/len",
      "argv": [...]}``; deletions first (an address is deleted before it is
      re-added with the right form);
    * ``added`` / ``removed``: the ``ip/len`` strings of the adds and deletes;
    * ``before`` / ``after``: the device's addresses (``_iproute.Address``);
    * ``guard``: the verdict summary (see ``PASS``... above);
    * ``warnings``: messages for the user.
    """
    device = desired["device"]
    state = desired["state"]
    label = desired["label"]
    scope = desired["scope"]
    vips = desired["vips"]
    result = dict(error=None, operations=[], added=[], removed=[], before=[], after=[], warnings=[],
                  guard=dict(verdict=NOT_NEEDED, required=bool(require_arp_protection), ipv4_additions=[],
                             violations=[], arp_facing=[], message=None))

    iface = _find(interfaces, device)
    if iface is None:
        if state != "absent" and vips:
            hint = " (load the ipip module so that it exists)" if device == rules.TUN_DEVICE else ""
            result["error"] = "device: %r does not exist on this host%s; no VIP can be added to it" % (device, hint)
        return result
    before = list(iface.addresses)
    result["before"] = before

    to_remove = []
    to_add = []
    wanted = set(vips)
    if state == "absent":
        to_remove = [a for a in before if ip_of(a.local) in wanted and not is_protected(a)]
    else:
        for vip in vips:
            same = [a for a in before if ip_of(a.local) == vip]
            good = [a for a in same if _satisfies(a, vip, label, scope)]
            for a in same:
                if a in good:
                    continue
                if vip.version == 6 and a.prefixlen == 128:
                    continue  # only the lifetime is off: replace fixes it in place
                to_remove.append(a)
            if not good:
                to_add.append(vip)
        if state == "exact":
            to_remove.extend(a for a in before if is_ours(a, label) and ip_of(a.local) not in wanted)

    removed_set = set(to_remove)
    new = [desired_address(vip, device, label, scope) for vip in to_add]
    # what stays untouched (an IPv6 VIP whose lifetime replace fixes in place is superseded by its new form)
    kept = [a for a in before if a not in removed_set and ip_of(a.local) not in set(to_add)]
    after = kept + new
    result["after"] = after

    ipv4_add = [str(v) for v in to_add if v.version == 4]
    ipv4_after = [a for a in after if a.family == "inet" and not is_protected(a)]
    guard = result["guard"]
    after_interfaces = [i._replace(addresses=kept) if i.name == device else i for i in interfaces]
    after_interfaces = rules.with_vips(after_interfaces, device, new)
    report = rules.evaluate(conf, after_interfaces, mode=mode_of(device, desired.get("mode")))
    violations = rules.guard_violations(report)
    guard.update(ipv4_additions=ipv4_add, violations=violations, arp_facing=report["arp_facing"])
    if ipv4_add:
        # e.g. "interfaces created later (VLANs, bonds) would start with arp_ignore 0 ...": not a leak today
        result["warnings"].extend(report["warnings"])
    if not violations:
        guard["verdict"] = PASS if ipv4_after else NOT_NEEDED
    elif ipv4_add and require_arp_protection:
        guard["verdict"] = FAIL
        guard["message"] = guard_message(violations, ipv4_add, device)
        result["error"] = guard["message"]
        return result
    elif ipv4_add:
        guard["verdict"] = OVERRIDDEN
        guard["message"] = "require_arp_protection=false: adding IPv4 VIP %s on %s although ARP protection " \
            "is not in effect: %s" % (", ".join(ipv4_add), device, "; ".join(_violation_text(v) for v in violations))
        result["warnings"].append(guard["message"])
    elif ipv4_after:
        guard["verdict"] = EXPOSED
        guard["message"] = "IPv4 VIP %s on %s while ARP protection is not in effect: %s" % (
            ", ".join(a.local for a in ipv4_after), device, "; ".join(_violation_text(v) for v in violations))
        result["warnings"].append(guard["message"])
    else:
        guard["verdict"] = NOT_NEEDED

    for a in to_remove:
        result["operations"].append(dict(
            action="del", address="%s/%d" % (a.local, a.prefixlen),
            argv=_iproute.addr_del_argv(ip_bin, a.local, a.prefixlen, device)))
        result["removed"].append("%s/%d" % (a.local, a.prefixlen))
    for vip in to_add:
        result["operations"].append(dict(
            action="add", address="%s/%d" % (vip, vip.max_prefixlen),
            argv=_iproute.addr_replace_argv(ip_bin, vip, device, scope, label if vip.version == 4 else None)))
        result["added"].append("%s/%d" % (vip, vip.max_prefixlen))

    elsewhere = sorted(
        "%s is also on %s, where the kernel answers ARP/NDP for it" % (a.local, other.name)
        for other in interfaces if other.name != device and not other.loopback
        for a in other.addresses if ip_of(a.local) in wanted and state != "absent")
    result["warnings"].extend(elsewhere)
    if device == rules.TUN_DEVICE and not iface.up and state != "absent" and vips:
        result["warnings"].append("%s is down: it only decapsulates the director's IPIP packets while up "
                                  "(ip link set %s up)" % (device, device))
    return result
