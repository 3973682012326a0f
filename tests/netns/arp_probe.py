# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Send one ARP request and report the replies (run with Debian's /usr/bin/python3).

Usage (inside the client namespace, as root):

    ip netns exec CL /usr/bin/python3 -I arp_probe.py IFACE TARGET_IP SENDER_IP [TIMEOUT [all]]

Prints exactly one line on stdout:

    REPLY <mac> [<mac> ...]   the MAC(s) that answered "TARGET_IP is-at <mac>"
    NOREPLY                   nothing answered within TIMEOUT seconds (default 1.0)

Without ``all`` the probe returns at the first answer (fast); with ``all`` it
listens for the whole TIMEOUT and reports every distinct answering MAC.

Exit status 0 in both cases; anything else is a harness error (traceback on
stderr).  Run with ``-I`` so that neither the caller's cwd nor a venv's
PYTHONPATH can shadow the stdlib or scapy.  Only the scapy submodules that
are needed are imported (``scapy.all`` costs ~0.8 s, this ~0.2 s).
"""

import sys


def main(argv):
    iface, target, sender = argv[1:4]
    timeout = float(argv[4]) if len(argv) > 4 else 1.0
    collect_all = len(argv) > 5 and argv[5] == "all"

    from scapy.config import conf
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import srp
    from scapy.arch import get_if_hwaddr

    conf.verb = 0
    mac = get_if_hwaddr(iface)
    req = Ether(dst="ff:ff:ff:ff:ff:ff", src=mac) / ARP(
        op=1, hwsrc=mac, psrc=sender, hwdst="00:00:00:00:00:00", pdst=target)
    # multi=True keeps listening for the whole timeout so that several
    # answering interfaces/hosts are all reported.
    answered = srp(req, iface=iface, timeout=timeout, retry=0, multi=collect_all)[0]
    macs = []
    for _sent, rep in answered:
        if rep.haslayer(ARP) and rep[ARP].op == 2 and rep[ARP].psrc == target:
            hw = rep[ARP].hwsrc.lower()
            if hw not in macs:
                macs.append(hw)
    print("REPLY " + " ".join(macs) if macs else "NOREPLY", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
