# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The sysctl.d resolver and the drop-in renderer.

Pure functions answer "which value does this key get at the next boot, and
which file and line set it?" following systemd-sysctl's rules (sysctl.d(5)):

* files named ``*.conf`` in ``SEARCH_DIRS``; a file in an earlier directory
  masks a same-named file in a later one (``/etc`` beats ``/usr/lib``), a
  symlink to ``/dev/null`` masks without contributing anything;
* all surviving files are read in lexicographic order of their *name*,
  whatever directory they live in; within a file, line order;
* the last assignment of a key wins; an explicit key is never touched by a
  glob (``net.ipv4.conf.*.rp_filter``), whatever the file order, and a
  ``-key`` line without ``=`` only excludes the key from globs;
* ``/etc/sysctl.conf`` is not read by systemd-sysctl itself (Debian links it
  in as ``/etc/sysctl.d/99-sysctl.conf``); procps ``sysctl --system`` reads it
  last, which ``resolve(..., procps=True)`` models.

Only ``read_config_files`` and ``read_sysctl_conf`` touch the file system.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
from collections import namedtuple

SEARCH_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"
# The two entries of net/ipv4/conf that are not interfaces.
SPECIAL = ("all", "default")
CONF_PREFIX = "net/ipv4/conf/"
MANAGED_MARKER = "# Managed by lvs.realserver.arp_sysctl."
GLOB_CHARS = "*?["

Assignment = namedtuple("Assignment", "key value path line ignore_failure")
"""One ``key = value`` line. ``key`` is in slash form; ``value`` is None for a ``-key`` exclusion line."""

ParseProblem = namedtuple("ParseProblem", "path line text reason")


def normalize_key(key):
    """Return the slash form of a sysctl key, as systemd-sysctl and procps map it to /proc/sys.

    If the first separator is a slash, the key is already a path. If it is a
    dot, dots and slashes swap, so ``net.ipv4.conf.eth0/100.arp_ignore`` is
    ``net/ipv4/conf/eth0.100/arp_ignore``.
    """
    key = key.strip()
    for char in key:
        if char == "/":
            return key
        if char == ".":
            return key.translate(_SWAP_DOT_SLASH)
    return key


_SWAP_DOT_SLASH = {ord("."): u"/", ord("/"): u"."}


def dotted_key(slash_key):
    """Return the dotted display form of a slash key (dots inside names become slashes)."""
    return slash_key.translate(_SWAP_DOT_SLASH)


def conf_key(interface, key):
    """Slash key of ``net.ipv4.conf.<interface>.<key>``; the interface name is kept literally."""
    return CONF_PREFIX + interface + "/" + key


def conf_name(interface, key):
    """The dotted display name of ``net.ipv4.conf.<interface>.<key>`` (dots in the interface name become slashes)."""
    return dotted_key(conf_key(interface, key))


def split_conf_key(slash_key):
    """Return ``(interface, key)`` for a ``net/ipv4/conf/<if>/<key>`` slash key, else None."""
    if not slash_key.startswith(CONF_PREFIX):
        return None
    interface, sep, key = slash_key[len(CONF_PREFIX):].rpartition("/")
    if not sep or not interface or "/" in interface:
        return None
    return interface, key


def is_glob(slash_key):
    return any(char in slash_key for char in GLOB_CHARS)


def parse_text(text, path):
    """Parse one sysctl.d file. Returns ``(assignments, problems)``.

    Comments start with ``#`` or ``;``. A leading ``-`` marks a key whose
    write failure is ignored; ``-key`` alone excludes ``key`` from globs.
    """
    assignments = []
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        ignore_failure = line.startswith("-")
        if ignore_failure:
            line = line[1:].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            if ignore_failure and key:
                assignments.append(Assignment(normalize_key(key), None, path, number, True))
            else:
                problems.append(ParseProblem(path, number, raw, "line is not an assignment"))
            continue
        if not key:
            problems.append(ParseProblem(path, number, raw, "empty key"))
            continue
        assignments.append(Assignment(normalize_key(key), value.strip(), path, number, ignore_failure))
    return assignments, problems


ConfigFile = namedtuple("ConfigFile", "directory name masked text")
"""A file found in a configuration directory (sysctl.d, or a network stack's); ``masked``: a symlink to /dev/null
(or, where the reader was told so, an empty file: systemd-networkd's rule)."""


def path_of(config_file):
    return os.path.join(config_file.directory, config_file.name)


def effective_files(files, directories=SEARCH_DIRS, suffix=".conf"):
    """The ``ConfigFile`` entries that count, in reading order (systemd's drop-in directory rule).

    One entry per name ending in ``suffix``: the one of the earliest directory
    in ``directories``; sorted by name; masked names contribute nothing.
    """
    rank = dict((directory, index) for index, directory in enumerate(directories))
    chosen = {}
    for f in files:
        if not f.name.endswith(suffix):
            continue
        current = chosen.get(f.name)
        if current is None or rank.get(f.directory, len(rank)) < rank.get(current.directory, len(rank)):
            chosen[f.name] = f
    return [chosen[name] for name in sorted(chosen) if not chosen[name].masked]


def with_file(candidates, path, text):
    """``candidates`` as they are once ``path`` holds ``text`` (``text=None``: once ``path`` is gone)."""
    directory, name = os.path.split(path)
    kept = [c for c in candidates if (c.directory, c.name) != (directory, name)]
    if text is None:
        return kept
    return kept + [ConfigFile(directory, name, False, text)]


def masking_file(candidates, path, search_dirs=SEARCH_DIRS):
    """The path of a same-named file in an earlier directory that hides ``path``, or None."""
    directory, name = os.path.split(path)
    rank = dict((d, i) for i, d in enumerate(search_dirs))
    for c in candidates:
        if c.name == name and rank.get(c.directory, len(rank)) < rank.get(directory, len(rank)):
            return os.path.join(c.directory, c.name)
    return None


class Resolution:
    """The outcome of reading a whole sysctl.d tree in order."""

    def __init__(self, explicit, globs, problems):
        self._explicit = explicit  # key -> [Assignment, ...] in reading order
        self._globs = globs  # [Assignment, ...] in effective order
        self.problems = problems

    def history(self, key):
        """Every assignment that reaches ``key`` (slash form), in the order they are applied."""
        key = normalize_key(key)
        if key in self._explicit:
            return [a for a in self._explicit[key] if a.value is not None]
        return [a for a in self._globs if fnmatch.fnmatchcase(key, a.key)]

    def winner(self, key):
        """The assignment that decides ``key`` at boot, or None when nothing sets it."""
        history = self.history(key)
        return history[-1] if history else None

    def glob_assignments(self):
        """The glob assignments in the order they are applied (later ones win)."""
        return list(self._globs)

    def explicit_keys(self):
        return sorted(k for k, items in self._explicit.items() if any(a.value is not None for a in items))


def resolve(files):
    """Resolve files given as ``[(path, text), ...]`` in reading order (see ``boot_files``).

    procps-ng 4 ``sysctl --system`` follows the same rules as systemd-sysctl,
    so one resolver serves both once /etc/sysctl.conf is placed.
    """
    explicit = {}
    globs = []
    problems = []
    for path, text in files:
        assignments, file_problems = parse_text(text, path)
        problems.extend(file_problems)
        for assignment in assignments:
            if is_glob(assignment.key):
                globs = _reassign(globs, assignment)
            else:
                explicit.setdefault(assignment.key, []).append(assignment)
    return Resolution(explicit, globs, problems)


def _reassign(globs, assignment):
    """systemd keeps one entry per pattern: a new value moves it to the end, an equal one is a no-op."""
    for existing in globs:
        if existing.key == assignment.key and existing.value == assignment.value:
            return globs
    return [g for g in globs if g.key != assignment.key] + [assignment]


def int_value(text):
    """The integer systemd-sysctl would write for ``text``, or None when it is not one."""
    if text is None:
        return None
    text = text.strip()
    digits = text[1:] if text[:1] in "+-" else text
    return int(text) if digits.isdigit() else None


def boot_report(resolution, keys):
    """``{dotted key: boot_entry}`` for the slash ``keys``."""
    return dict((dotted_key(key), boot_entry(resolution, key)) for key in keys)


def boot_entry(resolution, slash_key):
    """``{value, file, line}`` of the assignment that decides ``slash_key`` at boot; all None when nothing sets it.

    A winning line whose value is not an integer keeps its file and line with value None.
    """
    winner = resolution.winner(slash_key)
    if winner is None:
        return {"value": None, "file": None, "line": None}
    return {"value": int_value(winner.value), "file": winner.path, "line": winner.line}


def under(root, path):
    """The absolute ``path`` as seen below ``root`` (the one root joiner of the readers)."""
    return os.path.join(root, path.lstrip("/"))


def read_text(path):
    """The text of ``path`` (UTF-8, undecodable bytes replaced); raises IOError/OSError (the one plain reader)."""
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def read_config_files(root, directories, suffix, unreadable=None, empty_masks=False, listdir=os.listdir,
                      read_text=read_text):
    """I/O edge, the one directory reader: a ``ConfigFile`` for each ``*suffix`` entry of ``directories`` under ``root``.

    Paths are as seen from ``root``. Directories that resolve to the same
    place (``/lib`` -> ``/usr/lib`` on merged-usr systems) are listed once.
    A directory or file that cannot be read is appended to ``unreadable`` (its
    path as seen from ``root``) and skipped; with ``unreadable`` None it raises
    an ``IOError`` naming that path. ``empty_masks``: an empty file masks too.
    ``listdir`` and ``read_text`` are the readers (tests pass fakes).
    """
    found = []
    seen_dirs = set()
    for directory in directories:
        real = os.path.realpath(under(root, directory))
        if real in seen_dirs or not os.path.isdir(real):
            continue
        seen_dirs.add(real)
        try:
            names = sorted(listdir(real))
        except (IOError, OSError) as exc:
            _not_readable(unreadable, directory, exc)
            continue
        for name in names:
            full = os.path.join(real, name)
            if not name.endswith(suffix):
                continue
            if os.path.islink(full) and os.path.realpath(full) == "/dev/null":
                found.append(ConfigFile(directory, name, True, ""))
            elif os.path.isfile(full):
                try:
                    text = read_text(full)
                except (IOError, OSError) as exc:
                    _not_readable(unreadable, os.path.join(directory, name), exc)
                    continue
                found.append(ConfigFile(directory, name, empty_masks and text == "", text))
    return found


def _not_readable(unreadable, path, exc):
    if unreadable is None:
        raise IOError(getattr(exc, "errno", None), "cannot read %s: %s" % (path, getattr(exc, "strerror", None) or exc))
    unreadable.append(path)


def read_candidates(root="/", search_dirs=SEARCH_DIRS, unreadable=None):
    """I/O edge: every ``*.conf`` entry of the sysctl.d directories under ``root`` (``read_config_files``)."""
    return read_config_files(root, search_dirs, ".conf", unreadable)


def read_sysctl_conf(root="/"):
    """I/O edge: the text of /etc/sysctl.conf, or None."""
    path = under(root, SYSCTL_CONF)
    return read_text(path) if os.path.isfile(path) else None


def boot_files(candidates, sysctl_conf_text=None):
    """Reading order at boot: systemd-sysctl's, plus /etc/sysctl.conf last for procps ``sysctl --system``."""
    files = [(path_of(f), f.text) for f in effective_files(candidates)]
    if sysctl_conf_text is not None:
        files.append((SYSCTL_CONF, sysctl_conf_text))
    return files


def render_dropin(conf, key_order, source="lvs.realserver.arp_sysctl"):
    """Render the managed drop-in for ``conf`` (interface -> {key: int}).

    ``all`` comes first, then ``default``, then interfaces by name; keys in
    ``key_order``. Dotted interface names are written in the slash form that
    both systemd-sysctl and procps read correctly.
    """
    lines = [
        MANAGED_MARKER + " Do not edit: changes are overwritten.",
        "# LVS-DR/TUN real-server ARP protection (%s; see arp_ignore in ip-sysctl.rst)." % source,
    ]
    for interface in sorted(conf, key=interface_order):
        keys = conf[interface]
        for key in key_order:
            if key in keys:
                lines.append("%s = %d" % (conf_name(interface, key), keys[key]))
    return "\n".join(lines) + "\n"


def interface_order(interface):
    """Sort key: ``all``, then ``default``, then interfaces by name."""
    return (SPECIAL.index(interface) if interface in SPECIAL else len(SPECIAL), interface)


def is_managed_text(text):
    """True when ``text`` is a drop-in this collection wrote (its first line is the marker)."""
    return text.startswith(MANAGED_MARKER)
