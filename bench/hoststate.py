# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs INSIDE a benchmark container (``podman exec -i NAME python3 - ARGS``, source on stdin).

``python3 - snapshot`` prints the host state as JSON: the ARP sysctls of every
interface, the addresses on lo, the sysctl drop-in parsed into keys, the boot
unit and its enablement, the VIPs the unit would add at boot, and every file
under the paths either side of the benchmark writes.

``python3 - reset PRISTINE_JSON`` first undoes everything either side did
(VIPs on lo, the drop-in, the unit, its symlink, the role's data and code),
writing back the pristine values of the ARP sysctls (of this container's own
network namespace only), then prints the snapshot.

Standard library only; Python 3.7+ (the images have Debian's python3).
"""

import json
import os
import re
import shutil
import subprocess
import sys

SYSCTL_PATH = "/etc/sysctl.d/99-zz-lvs-realserver.conf"
UNIT = "/etc/systemd/system/lvs-realserver-vips.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/lvs-realserver-vips.service"
DATA = "/etc/lvs-realserver/vips.json"
FILES = (SYSCTL_PATH, UNIT, WANTS, "/etc/modules-load.d/lvs-realserver.conf")
TREES = ("/etc/lvs-realserver", "/usr/libexec/lvs-realserver")
WATCHED = ("/etc/sysctl.d", "/etc/systemd/system", "/etc/modules-load.d") + TREES
PROC_CONF = "/proc/sys/net/ipv4/conf"
KEYS = ("arp_ignore", "arp_announce", "rp_filter")
KEEP_ON_LO = ("127.0.0.1/8", "::1/128")
EXEC_VIP = re.compile(r"ip addr (?:add|replace) (\S+) dev (\S+) scope (\S+) label (\S+)")


def lo_addresses():
    out = subprocess.check_output(["ip", "-j", "addr", "show", "dev", "lo"])
    found = []
    for link in json.loads(out.decode()):
        for addr in link.get("addr_info", []):
            found.append("%s/%s scope %s label %s" % (
                addr["local"], addr["prefixlen"], addr.get("scope"), addr.get("label", "")))
    return sorted(found)


def sysctls():
    return dict(("%s.%s" % (iface, key), read(os.path.join(PROC_CONF, iface, key)).strip())
                for iface in sorted(os.listdir(PROC_CONF)) for key in KEYS)


def read(path):
    with open(path) as handle:
        return handle.read()


def sysctl_file():
    if not os.path.exists(SYSCTL_PATH):
        return None
    keys = {}
    for line in read(SYSCTL_PATH).splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        keys[key.strip()] = value.strip()
    return {"keys": keys, "mode": "%04o" % (os.stat(SYSCTL_PATH).st_mode & 0o7777)}


def unit_vips():
    """The VIPs the boot unit would add: from the role's data file, or the ExecStart lines of a plain unit."""
    if not os.path.exists(UNIT):
        return None
    text = read(UNIT)
    if "lvs-realserver-vips " in text and os.path.exists(DATA):
        data = json.loads(read(DATA))
        return sorted("%s/%s dev %s scope %s label %s" % (
            addr, 128 if ":" in addr else 32, data["device"], data["scope"], data["label"])
            for addr in data["addresses"])
    return sorted("%s dev %s scope %s label %s" % match.groups() for match in EXEC_VIP.finditer(text))


def watched_files():
    found = []
    for top in WATCHED:
        for directory, _dirs, names in os.walk(top):
            found.extend(os.path.join(directory, name) for name in names)
    return sorted(found)


def snapshot():
    wants = os.path.realpath(WANTS) if os.path.islink(WANTS) else None
    return {
        "sysctl": sysctls(),
        "lo": lo_addresses(),
        "sysctl_file": sysctl_file(),
        "unit_present": os.path.exists(UNIT),
        "unit_enabled": wants == UNIT,
        "unit_vips": unit_vips(),
        "files": watched_files(),
        "python": "%d.%d.%d" % sys.version_info[:3],
    }


def reset(pristine):
    for addr in lo_addresses():
        local = addr.split()[0]
        if local not in KEEP_ON_LO:
            subprocess.check_call(["ip", "addr", "del", local, "dev", "lo"])
    for path in FILES:
        if os.path.lexists(path):
            os.unlink(path)
    for tree in TREES:
        shutil.rmtree(tree, ignore_errors=True)
    current = sysctls()
    for name, value in sorted(pristine.items()):
        if current.get(name) not in (None, value):
            iface, key = name.rsplit(".", 1)
            with open(os.path.join(PROC_CONF, iface, key), "w") as handle:
                handle.write(value + "\n")


def main():
    if sys.argv[1:2] == ["reset"]:
        reset(json.loads(sys.argv[2]))
    json.dump(snapshot(), sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
