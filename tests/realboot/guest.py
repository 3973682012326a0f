# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
"""One qemu guest of the real-boot tier: start, ssh, qemu monitor, real reboot.

The guest is the image tests/realboot/build.sh makes (Debian 12, systemd as
PID 1, udev). Its NICs (MACs fixed here, matched by the image's networkd
files):
  mgmt  qemu user net, restrict=on, net=198.51.100.0/24; ssh reaches it
        through a hostfwd bound to 127.0.0.1 only
  rs    the real server's ARP-facing NIC, on qemu hub 0
  lab   a second NIC on hub 0: macvlans for the client and director netns
  hot   hot-plugged later (device_add) into a PCIe root port, also on hub 0
The disk is attached with snapshot=on: the guest's writes survive its reboots
(qemu keeps running: no -no-reboot) and never reach the cached image.
"""

import os
import shlex
import socket
import subprocess
import time

MAC = {
    "mgmt": "52:54:00:00:00:99",
    "rs": "02:00:00:00:00:21",
    "lab": "02:00:00:00:00:0b",
    "hot": "02:00:00:00:00:31",
}


class GuestError(RuntimeError):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accel_args():
    accel = os.environ.get("LVSRS_VM_ACCEL", "auto")
    if accel == "auto":
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            hw = any(w in f.read().split() for w in ("vmx", "svm"))
        # a paravirtual /dev/kvm (kvm_pvm) hangs stock kernels: KVM only with real VT-x/AMD-V
        accel = "kvm" if os.access("/dev/kvm", os.W_OK) and hw else "tcg"
    if accel == "kvm":
        return accel, ["-accel", "kvm", "-cpu", "host"]
    if accel == "tcg":
        return accel, ["-accel", "tcg,thread=multi", "-cpu", os.environ.get("LVSRS_VM_CPU", "max")]
    raise GuestError("LVSRS_VM_ACCEL=%s: use auto, kvm or tcg" % accel)


class Guest:
    def __init__(self, image, work, log=print):
        self.image = image
        self.work = work
        self.log = log
        self.port = None
        self.proc = None
        self.boot_id = None
        self.console = os.path.join(work, "console.log")
        self.monitor_path = os.path.join(work, "monitor.sock")
        self.key = os.path.join(image, "id_ed25519")
        self.control = os.path.join(work, "ssh-cm")
        self.accel = None

    # ------------------------------------------------------------ qemu
    def start(self):
        self.port = free_port()
        self.accel, acc = accel_args()
        qemu = os.environ.get("LVSRS_VM_QEMU", "qemu-system-x86_64")
        nic = "virtio-net-pci,netdev=%s,mac=%s,addr=%s"
        cmd = [qemu, *acc, "-machine", "q35", "-m", os.environ.get("LVSRS_REALBOOT_MEM", "1024"),
               "-smp", os.environ.get("LVSRS_REALBOOT_SMP", "1"),
               "-kernel", os.path.join(self.image, "vmlinux"),
               "-initrd", os.path.join(self.image, "initrd.cpio"),
               "-append", "console=ttyS0 quiet loglevel=3 mitigations=off nowatchdog systemd.show_status=false "
               + os.environ.get("LVSRS_VM_APPEND", ""),
               "-drive", "file=%s,format=raw,if=virtio,snapshot=on" % os.path.join(self.image, "disk.img"),
               "-netdev", "user,id=mg,net=198.51.100.0/24,host=198.51.100.2,restrict=on,"
               "hostfwd=tcp:127.0.0.1:%d-198.51.100.15:22" % self.port,
               "-device", nic % ("mg", MAC["mgmt"], "0x3"),
               "-netdev", "hubport,id=n0,hubid=0", "-device", nic % ("n0", MAC["rs"], "0x4"),
               "-netdev", "hubport,id=n1,hubid=0", "-device", nic % ("n1", MAC["lab"], "0x5"),
               "-netdev", "hubport,id=n2,hubid=0",
               "-device", "pcie-root-port,id=hp1,chassis=1,addr=0x6",
               "-monitor", "unix:%s,server,nowait" % self.monitor_path,
               "-serial", "file:%s" % self.console,
               "-display", "none", "-nodefaults"]
        with open(os.path.join(self.work, "qemu.log"), "wb") as qlog:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.alive():
            return
        try:
            self.monitor("quit", wait=False)
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, GuestError):
            self.proc.kill()
            self.proc.wait(timeout=10)
        subprocess.run(self._ssh_base() + ["-O", "exit", "root@127.0.0.1"], capture_output=True, check=False)

    def monitor(self, command, wait=True):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(self.monitor_path)
            buf = b""
            while b"(qemu)" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    raise GuestError("qemu monitor closed")
                buf += chunk
            s.sendall(command.encode() + b"\n")
            if not wait:
                return ""
            buf = b""
            while buf.count(b"(qemu)") < 1:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        text = buf.decode(errors="replace").replace("\r", "")
        # the echo of the command and the prompt are not the answer
        lines = [ln for ln in text.split("\n") if ln.strip() and "(qemu)" not in ln and command not in ln]
        return "\n".join(ln for ln in lines if not ln.startswith("\x1b"))

    # ------------------------------------------------------------ ssh
    def _ssh_base(self):
        return ["ssh", "-i", self.key, "-p", str(self.port)] + self._ssh_options()

    def _ssh_options(self):
        return ["-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                "-o", "ControlMaster=auto", "-o", "ControlPath=%s" % self.control, "-o", "ControlPersist=600"]

    def ssh_args(self):
        """The ssh options for ansible (ansible_ssh_common_args)."""
        return " ".join(shlex.quote(a) for a in self._ssh_options())

    def sh(self, script, check=True, timeout=180):
        """Run a bash script as root in the guest; returns stdout."""
        if not self.alive():
            raise GuestError("qemu is not running (see %s)" % self.console)
        r = subprocess.run(self._ssh_base() + ["root@127.0.0.1", "bash -s"], input=script, text=True,
                           capture_output=True, timeout=timeout, check=False)
        if check and r.returncode != 0:
            raise GuestError("guest script failed (rc=%d): %s\n--- script ---\n%s\n--- stderr ---\n%s"
                             % (r.returncode, r.stdout[-2000:], script[:1500], r.stderr[-2000:]))
        return r.stdout if check else r

    def wait_up(self, timeout, old_boot_id=None):
        """Wait until ssh answers in a boot other than old_boot_id; returns seconds waited."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if not self.alive():
                raise GuestError("qemu exited (rc=%s); console: %s" % (self.proc.returncode, self.console))
            try:
                r = self.sh("cat /proc/sys/kernel/random/boot_id", check=False, timeout=20)
            except subprocess.TimeoutExpired:
                r = None
            if r is not None and r.returncode == 0 and r.stdout.strip() and r.stdout.strip() != old_boot_id:
                # wait for the boot to finish its jobs (the order checks read finished units)
                self.sh("systemctl is-system-running --wait >/dev/null 2>&1 || true", check=False, timeout=timeout)
                self.boot_id = r.stdout.strip()
                return time.monotonic() - t0
            time.sleep(2)
        raise GuestError("the guest did not answer ssh within %d s; console: %s" % (timeout, self.console))

    def reboot(self, timeout):
        """A real `systemctl reboot`; qemu restarts the machine, the disk stays."""
        old = self.boot_id
        self.sh("systemd-run --no-block --on-active=1 systemctl reboot >/dev/null 2>&1", timeout=30)
        subprocess.run(self._ssh_base() + ["-O", "exit", "root@127.0.0.1"], capture_output=True, check=False)
        time.sleep(3)
        return self.wait_up(timeout, old_boot_id=old)
