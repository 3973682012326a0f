#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# Build the real-boot tier's guest: a Debian 12 root (debootstrap, systemd as
# PID 1, udev, sshd, python3, ipvsadm) on an ext4 disk image made with
# `mkfs.ext4 -d`, and a small initramfs (static busybox) that loads virtio_pci,
# virtio_blk and ext4, mounts /dev/vda and switches root to it. The kernel is
# the one tests/vm/build.sh fetches (Debian's linux-image-amd64, booted as an
# ELF vmlinux through PVH): that script is run (cached) and its output reused,
# its kernel .deb gives the guest its modules.
#
#   tests/realboot/build.sh [--force] [--print-dir]
#
# Output, cached by a hash of this recipe and of the vm base it uses:
#   $LVSRS_REALBOOT_CACHE/img-<hash>/{disk.img,initrd.cpio,vmlinux,id_ed25519,kver,ok}
# (default .cache/realboot; LVSRS_VM_CACHE picks the vm cache as for ./tasks vm).
# Environment: LVSRS_DEBIAN_MIRROR (default: the machine's apt sources),
# LVSRS_DEBOOTSTRAP_CACHE (.deb cache, default the one tests/images/build.sh uses).
set -euo pipefail
export LC_ALL=C

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
CACHE=${LVSRS_REALBOOT_CACHE:-$ROOT/.cache/realboot}
VMCACHE=${LVSRS_VM_CACHE:-$ROOT/.cache/vm}
export LVSRS_VM_CACHE=$VMCACHE
DEB_CACHE=${LVSRS_DEBOOTSTRAP_CACHE-/var/cache/lvs-realserver-images/debootstrap}
FORCE=0
PRINT_DIR=0
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        --print-dir) PRINT_DIR=1 ;;
        *) echo "usage: $0 [--force] [--print-dir]" >&2; exit 2 ;;
    esac
done

# The guest's packages (debootstrap --variant=minbase --include=...). The
# network stacks of the netstack phase (issue 14) are installed but disabled:
# systemd-networkd runs by default, the phase switches stacks itself.
PACKAGES=systemd-sysv,udev,iproute2,kmod,python3,procps,openssh-server,ipvsadm,iputils-arping,iputils-ping
# (network-manager fails to configure inside debootstrap's second stage: these go in with apt-get after it)
STACK_PACKAGES=(network-manager netplan.io ifupdown isc-dhcp-client dnsmasq-base)
# Kernel modules in the guest root, with their dependencies; all of kernel/net
# is copied too (virtio_net needs net_failover, which needs failover).
MODULES=(virtio_pci virtio_blk virtio_net ext4 crc32c_generic macvlan veth bridge ip_vs ip_vs_rr ipip)
# Modules the initramfs loads to reach the root disk, in this order after
# their dependencies (crc32c_generic first: libcrc32c only soft-depends on it).
INITRD_MODULES=(crc32c_generic virtio_pci virtio_blk ext4)

VMBASE=$("$ROOT/tests/vm/build.sh" --print-dir)
recipe_hash() { { sha256sum <"$HERE/build.sh"; basename "$VMBASE"; } | sha256sum | cut -c1-12; }
OUT=$CACHE/img-$(recipe_hash)
if [[ $PRINT_DIR == 1 ]]; then
    echo "$OUT"
    exit 0
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[realboot-build] %s\n' "$*" >&2; }

mkdir -p "$CACHE"
exec 9>"$CACHE/build.lock"
flock 9
if [[ $FORCE == 0 && -f $OUT/ok ]]; then
    log "cached: $OUT ($(cat "$OUT/kver"))"
    exit 0
fi
T0=$(now)
"$ROOT/tests/vm/build.sh" >&2
KVER=$(cat "$VMBASE/kver")
KDEB=$(compgen -G "$VMCACHE/debs/linux-image-${KVER}_*.deb" | head -n1) || true
[[ -n $KDEB ]] || { log "no kernel package for $KVER in $VMCACHE/debs"; exit 1; }
BBDEB=$(compgen -G "$VMCACHE/debs/busybox-static_*.deb" | head -n1) || true
[[ -n $BBDEB ]] || { log "no busybox-static package in $VMCACHE/debs"; exit 1; }

W=$(mktemp -d "$CACHE/build.XXXXXX")
R=$W/root
cleanup() {
    local m
    # debootstrap mounts proc/sys inside the target: never rm -rf across a mount
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
        awk -v r="$W" 'index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
    rm -rf --one-file-system -- "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- debootstrap
t=$(now)
mirror=${LVSRS_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
    mirror=$({
        for f in /etc/apt/sources.list.d/*.sources; do
            if [[ -f $f ]]; then awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"; fi
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            if [[ -f $f ]]; then awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' "$f"; fi
        done
    } | grep -v -e security -e '^cdrom:' -e 'packages.cloud.google' | head -n1)
fi
[[ -n $mirror ]] || { log "no Debian mirror in /etc/apt: set LVSRS_DEBIAN_MIRROR"; exit 1; }
cache_opt=()
if [[ -n $DEB_CACHE ]]; then
    mkdir -p "$DEB_CACHE/bookworm"
    cache_opt=(--cache-dir="$DEB_CACHE/bookworm")
fi
mkdir -p "$R"
# The bootstrapped tree is cached on its own (keyed by the package list): a
# change to the configuration below rebuilds the image in seconds.
BOOTSTRAP=$CACHE/debootstrap-$(echo "bookworm $PACKAGES ${STACK_PACKAGES[*]}" | sha256sum | cut -c1-12).tar
if [[ -f $BOOTSTRAP ]]; then
    tar -C "$R" --numeric-owner -xpf "$BOOTSTRAP"
    log "debootstrap: cached tree ${BOOTSTRAP##*/} unpacked in $(since "$t") s"
else
    if ! debootstrap --variant=minbase --components=main "${cache_opt[@]}" --include="$PACKAGES" \
        bookworm "$R" "$mirror" >"$W/debootstrap.log" 2>&1; then
        log "debootstrap failed; last lines:"
        tail -n 30 "$W/debootstrap.log" >&2
        exit 1
    fi
    printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
    chmod 0755 "$R/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$R/etc/resolv.conf"
    mount -t proc proc "$R/proc"
    if ! { chroot "$R" apt-get update && DEBIAN_FRONTEND=noninteractive chroot "$R" apt-get install -y \
        --no-install-recommends "${STACK_PACKAGES[@]}"; } >"$W/apt.log" 2>&1; then
        umount "$R/proc"
        log "apt-get install ${STACK_PACKAGES[*]} failed; last lines:"
        tail -n 30 "$W/apt.log" >&2
        exit 1
    fi
    umount "$R/proc"
    rm -f "$R/usr/sbin/policy-rc.d"
    tar -C "$R" --numeric-owner -cpf "$BOOTSTRAP.tmp" . && mv "$BOOTSTRAP.tmp" "$BOOTSTRAP"
    log "debootstrap: $(since "$t") s"
fi

# ---------------------------------------------------------------- kernel modules
t=$(now)
P=$W/kpkg
mkdir -p "$P"
dpkg -x "$KDEB" "$P"
MODROOT=$P/lib/modules/$KVER
depmod -b "$P" "$KVER"
declare -A seen=()
deps_of() { # deps_of NAME: the module's file and its dependencies, dependencies first
    local line self dep out=()
    line=$(grep -E "/$1\.ko(\.xz|\.zst|\.gz)?:" "$MODROOT/modules.dep") || { log "module $1 not in $KDEB"; return 1; }
    self=${line%%:*}
    for dep in ${line#*:}; do out=("$dep" "${out[@]}"); done
    printf '%s\n' "${out[@]}" "$self"
}
for m in "${MODULES[@]}"; do
    while read -r f; do seen[$f]=1; done < <(deps_of "$m")
done
while read -r f; do seen[${f#"$MODROOT"/}]=1; done < <(find "$MODROOT/kernel/net" -name '*.ko*')
DEST=$R/usr/lib/modules/$KVER
copy_mod() { # copy_mod RELPATH DESTDIR: uncompressed
    mkdir -p "$2/$(dirname "$1")"
    case $1 in
        *.xz) xz -dc "$MODROOT/$1" >"$2/${1%.xz}" ;;
        *.zst) zstd -qdc "$MODROOT/$1" >"$2/${1%.zst}" ;;
        *) cp "$MODROOT/$1" "$2/$1" ;;
    esac
}
for f in "${!seen[@]}"; do copy_mod "$f" "$DEST"; done
cp "$MODROOT"/modules.{order,builtin,builtin.modinfo} "$DEST/"
depmod -b "$R" "$KVER"
log "modules: $(since "$t") s (${#seen[@]} .ko)"

# ---------------------------------------------------------------- initramfs
t=$(now)
I=$W/initrd
mkdir -p "$I"/{bin,dev,proc,sys,newroot,mods}
dpkg --fsys-tarfile "$BBDEB" | tar -x -C "$W" ./bin/busybox
mv "$W/bin/busybox" "$I/bin/busybox"
declare -A loaded=()
for m in "${INITRD_MODULES[@]}"; do
    while read -r f; do
        [[ -n ${loaded[$f]:-} ]] && continue
        loaded[$f]=1
        copy_mod "$f" "$I/mods"
        echo "/mods/${f%.*}.ko" >>"$I/mods/order"
    done < <(deps_of "$m")
done
sed -i 's/\.ko\.ko$/.ko/' "$I/mods/order"
cat >"$I/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "$m" 2>/dev/null || echo "initrd: insmod $m failed"; done </mods/order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw,noatime /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; sleep 5; poweroff -f; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod 0755 "$I/init"
(cd "$I" && find . -mindepth 1 | sort | cpio -o -H newc --quiet -R 0:0) >"$W/initrd.cpio"
log "initramfs: $(since "$t") s ($(du -k "$W/initrd.cpio" | cut -f1) KiB, ${#loaded[@]} modules)"

# ---------------------------------------------------------------- the guest's config
t=$(now)
echo rs1 >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\trs1\n' >"$R/etc/hosts"
: >"$R/etc/resolv.conf"
# no fstab entry for /: the initramfs mounted it rw (an entry makes systemd wait for dev-vda.device)
: >"$R/etc/fstab"
rm -f "$R/etc/machine-id"
echo 0123456789abcdef0123456789abcdef >"$R/etc/machine-id"
# units that cost boot time under TCG and do nothing for the test
for unit in apt-daily.timer apt-daily-upgrade.timer fstrim.timer e2scrub_all.timer e2scrub_reap.service \
    systemd-networkd-wait-online.service systemd-timesyncd.service getty@tty1.service \
    serial-getty@ttyS0.service getty-static.service getty.target systemd-firstboot.service systemd-logind.service dbus.service dbus.socket \
    modprobe@drm.service modprobe@dm_mod.service modprobe@fuse.service modprobe@loop.service \
    modprobe@efi_pstore.service modprobe@configfs.service systemd-pstore.service \
    proc-sys-fs-binfmt_misc.automount systemd-binfmt.service; do
    rm -f "$R"/etc/systemd/system/*.wants/"$unit"
    ln -sfn /dev/null "$R/etc/systemd/system/$unit"
done
# first-boot and housekeeping jobs the image does not need (done here or irrelevant)
for unit in ldconfig.service systemd-hwdb-update.service systemd-journal-catalog-update.service \
    systemd-update-done.service systemd-sysusers.service systemd-random-seed.service \
    systemd-update-utmp.service systemd-update-utmp-runlevel.service; do
    ln -sfn /dev/null "$R/etc/systemd/system/$unit"
done
# No generator is needed (no fstab, no crypt, no gpt-auto, no getty): masking
# them all saves seconds at boot and at every daemon-reload under TCG.
mkdir -p "$R/etc/systemd/system-generators"
for gen in "$R"/usr/lib/systemd/system-generators/* "$R"/lib/systemd/system-generators/*; do
    [[ -e $gen ]] && ln -sfn /dev/null "$R/etc/systemd/system-generators/${gen##*/}"
done
chroot "$R" systemd-hwdb update >/dev/null 2>&1 || true
chroot "$R" systemctl enable systemd-networkd.service >/dev/null 2>&1
# The other stacks stay off until the netstack phase turns one on (their
# postinst enabled them); /etc/network/interfaces leaves every link alone.
chroot "$R" systemctl disable NetworkManager.service NetworkManager-wait-online.service \
    NetworkManager-dispatcher.service networking.service ifupdown-wait-online.service >/dev/null 2>&1 || true
printf 'source /etc/network/interfaces.d/*\n' >"$R/etc/network/interfaces"
# Networks, matched by MAC (tests/realboot/guest.py fixes the MACs):
#   mgmt 52:54:00:00:00:99  qemu user net (restrict=on), ssh from 127.0.0.1 only
#   rs   02:00:00:00:00:21  the real server's ARP-facing NIC on the hub
#   lab  02:00:00:00:00:0b  the second NIC on the hub: macvlans for the client/director netns
#   hot  02:00:00:00:00:31  hot-plugged after boot (qemu monitor device_add)
mkdir -p "$R/etc/systemd/network"
netfile() { # netfile NAME MAC [ADDRESS]
    {
        printf '[Match]\nMACAddress=%s\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' "$2"
        [[ -n ${3:-} ]] && printf 'Address=%s\n' "$3"
        printf '\n'
    } >"$R/etc/systemd/network/$1.network"
}
netfile 10-mgmt 52:54:00:00:00:99 198.51.100.15/24
netfile 20-rs 02:00:00:00:00:21 192.0.2.21/24
netfile 30-lab 02:00:00:00:00:0b
netfile 40-hot 02:00:00:00:00:31 203.0.113.31/24
# ssh: root with a key made for this image
ssh-keygen -q -t ed25519 -N '' -C lvs-realboot -f "$W/id_ed25519"
install -d -m 0700 "$R/root/.ssh"
install -m 0600 "$W/id_ed25519.pub" "$R/root/.ssh/authorized_keys"
cat >"$R/etc/ssh/sshd_config.d/lvs-realboot.conf" <<'EOF'
UseDNS no
UsePAM no
PasswordAuthentication no
PermitRootLogin prohibit-password
EOF
chroot "$R" apt-get clean
rm -rf "$R/var/lib/apt/lists/"* "$R/usr/share/doc/"* "$R/usr/share/man/"* "$R/usr/share/locale/"* \
    "$R/var/log/"*.log "$R/var/cache/debconf/"*-old
log "config: $(since "$t") s"

# ---------------------------------------------------------------- disk image
t=$(now)
size=$(($(du -sm "$R" | cut -f1) + 600))
mkfs.ext4 -q -F -L lvsroot -E root_owner=0:0 -d "$R" "$W/disk.img" "${size}M"
log "disk image: $(since "$t") s (${size} MiB, $(du -m "$W/disk.img" | cut -f1) MiB allocated)"

STAGE=$OUT.new.$$
rm -rf "$STAGE"
mkdir -p "$STAGE"
mv "$W/disk.img" "$W/initrd.cpio" "$W/id_ed25519" "$W/id_ed25519.pub" "$STAGE/"
ln -s "$VMBASE/vmlinux" "$STAGE/vmlinux"
echo "$KVER" >"$STAGE/kver"
touch "$STAGE/ok"
rm -rf "$OUT"
mv "$STAGE" "$OUT"
find "$CACHE" -mindepth 1 -maxdepth 1 \( -name 'img-*' ! -path "$OUT" -o -name 'debootstrap-*.tar' ! -path "$BOOTSTRAP" \) \
    -mmin +60 -exec rm -rf -- {} +
log "built $OUT in $(since "$T0") s"
