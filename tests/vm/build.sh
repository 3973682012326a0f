#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# Build the VM tier's guest: Debian 12's stock kernel (the ELF vmlinux, booted
# through its PVH entry) and a base initramfs, all from Debian packages
# fetched with `apt-get download` and unpacked with `dpkg -x` (nothing is
# installed on this machine). The guest userland:
#   busybox-static          shell, httpd, nc, arping, the usual tools
#   iproute2, ipvsadm       the real `ip` (netns, veth, bridge) and the director
#   kmod                    modprobe (the controller's fallback) and depmod
#   python3.11              the collection's boot controller and fact module
#                           run on the guest's own python (trimmed stdlib, .pyc)
#   systemd                 the real systemd-sysctl and systemd-modules-load,
#                           and 99-systemd.rules (the udev sysctl hook)
# Kernel modules: ip_vs, ip_vs_rr, ipip, veth, bridge and their dependencies,
# indexed with depmod so modprobe/systemd-modules-load work as on a host.
#
#   tests/vm/build.sh [--force] [--print-dir]
#
# Output (cached by a hash of the recipe = this file):
#   .cache/vm/base-<hash>/vmlinux   .cache/vm/base-<hash>/base.cpio   manifest.txt
#   .cache/vm/base-<hash>/root/     the initramfs tree (its python byte-compiles guest payloads)
# Rebuilt only when the recipe changes (or with --force). Timings printed.
set -euo pipefail
export LC_ALL=C

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
CACHE=${LVSRS_VM_CACHE:-$ROOT/.cache/vm}
FORCE=0
PRINT_DIR=0
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        --print-dir) PRINT_DIR=1 ;;
        *) echo "usage: $0 [--force] [--print-dir]" >&2; exit 2 ;;
    esac
done

# Userland packages (the kernel image package is resolved from linux-image-amd64).
PACKAGES=(
    busybox-static
    iproute2 libbpf1 libelf1 libmnl0 libbsd0 libcap2 libmd0 zlib1g libc6 libxtables12
    ipvsadm libnl-3-200 libnl-genl-3-200 libpopt0
    kmod libkmod2 liblzma5 libzstd1 libssl3
    python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libexpat1 libffi8 libbz2-1.0
    libuuid1
    systemd libsystemd-shared libacl1 libblkid1 libcrypt1 libgcrypt20 libip4tc2 liblz4-1 libmount1
    libpam0g libseccomp2 libselinux1 libgpg-error0 libaudit1 libpcre2-8-0 libcap-ng0
)
# Modules wanted in the guest (dependencies are added from modules.dep).
MODULES=(veth bridge ip_vs ip_vs_rr ipip crc32c_generic)
# Parts of the python stdlib the guest never needs.
# (what the guest runs imports none of them: the boot controller, the fact module
# through AnsiballZ, verdict.py; checked with -X importtime)
PY_DROP=(test idlelib tkinter turtledemo ensurepip lib2to3 pydoc_data venv distutils
         config-3.11-x86_64-linux-gnu sqlite3 curses dbm asyncio email unittest xml http html
         xmlrpc wsgiref multiprocessing tomllib turtle.py pydoc.py doctest.py _pydecimal.py)

recipe_hash() { sha256sum <"$HERE/build.sh" | cut -c1-12; }
OUT=$CACHE/base-$(recipe_hash)
if [[ $PRINT_DIR == 1 ]]; then
    echo "$OUT"
    exit 0
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[vm-build] %s\n' "$*" >&2; }

mkdir -p "$CACHE"
exec 9>"$CACHE/build.lock"
flock 9
if [[ $FORCE == 0 && -f $OUT/ok ]]; then
    log "cached: ${OUT#"$ROOT"/} ($(cat "$OUT/kver"))"
    exit 0
fi

T0=$(now)
W=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() { rm -rf -- "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
P=$W/pkgroot
R=$W/initramfs
DEBS=$CACHE/debs
mkdir -p "$P" "$R" "$DEBS"

# ---------------------------------------------------------------- packages
t=$(now)
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ && !n++ { print $2 }')
[[ -n $KPKG ]] || { log "cannot resolve linux-image-amd64 (apt-get update?)"; exit 1; }
KVER=${KPKG#linux-image-}
ALL=("$KPKG" "${PACKAGES[@]}")
declare -A VER=()
while read -r pkg ver; do VER[$pkg]=$ver; done < <(
    apt-cache policy "${ALL[@]}" | awk '/^[^ ].*:$/ { sub(":$", ""); p = $1 } /^  Candidate:/ { print p, $2 }')
for attempt in 1 2 3 4 5; do
    missing=()
    for pkg in "${ALL[@]}"; do
        ver=${VER[$pkg]:-}
        [[ -n $ver && $ver != "(none)" ]] || { log "no candidate for $pkg (apt-get update?)"; exit 1; }
        pat="${pkg}_${ver//:/%3a}_*.deb"
        compgen -G "$DEBS/$pat" >/dev/null && continue
        # apt's own download cache may already hold the very same file
        if ((attempt == 1)) && deb=$(compgen -G "/var/cache/apt/archives/$pat"); then
            cp "${deb%%$'\n'*}" "$DEBS/"
            continue
        fi
        missing+=("$pkg=$ver")
    done
    ((${#missing[@]})) || break
    ((attempt == 1)) || { log "retrying in $((attempt * 3)) s"; sleep $((attempt * 3)); }
    log "apt-get download ${#missing[@]} packages (attempt $attempt)"
    (cd "$DEBS" && apt-get download -q "${missing[@]}" 2>&1 |
        grep -e '^E:' -e '^Err' | tail -n 3 >&2) || true
done
: >"$W/manifest.txt"
for pkg in "${ALL[@]}"; do
    ver=${VER[$pkg]}
    deb=$(compgen -G "$DEBS/${pkg}_${ver//:/%3a}_*.deb") || { log "download of $pkg=$ver failed"; exit 1; }
    deb=${deb%%$'\n'*}
    dpkg -x "$deb" "$P"
    basename "$deb" >>"$W/manifest.txt"
done
log "packages: $(since "$t") s (${#ALL[@]} debs, kernel $KVER)"

# ---------------------------------------------------------------- kernel
t=$(now)
# Debian's bzImage carries an XZ-compressed ELF; QEMU boots that ELF directly
# through its PVH note (CONFIG_PVH=y): no firmware real-mode setup and no
# in-guest decompression, about 3 s faster per boot under TCG.
python3 - "$P/boot/vmlinuz-$KVER" "$W/vmlinux.xz" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
off = data.find(b"\xfd7zXZ\x00")
if off < 0:
    sys.exit("no XZ stream in " + sys.argv[1])
open(sys.argv[2], "wb").write(data[off:])
EOF
{ xz -dc --single-stream <"$W/vmlinux.xz" >"$W/vmlinux"; } 2>/dev/null || true
head -c 4 "$W/vmlinux" | grep -q 'ELF' || { log "vmlinux extraction failed"; exit 1; }
rm -f "$W/vmlinux.xz"
log "kernel: $(since "$t") s ($(du -m "$W/vmlinux" | cut -f1) MB ELF vmlinux)"

# ---------------------------------------------------------------- userland
t=$(now)
# usrmerged layout, as on a current Debian host
mkdir -p "$R"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64} "$R"/{proc,sys,dev,run,tmp,etc,var,root,srv}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
ln -s ../run "$R/var/run"
LIBDIRS="$P/lib/x86_64-linux-gnu:$P/usr/lib/x86_64-linux-gnu:$P/usr/lib/x86_64-linux-gnu/systemd"
LDSO=$P/lib64/ld-linux-x86-64.so.2
[[ -e $LDSO ]] || LDSO=$(readlink -f "$P/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")

usr_path() { # path inside pkgroot -> its usrmerged path
    case $1 in /usr/*) echo "$1" ;; *) echo "/usr$1" ;; esac
}
put() { # put PKGPATH [MODE]: copy a file from pkgroot to its usrmerged path
    local dest
    dest=$R$(usr_path "$1")
    mkdir -p "$(dirname "$dest")"
    cp -L "$P$1" "$dest"
}
put_libs() { # the shared libraries of pkgroot file $1, resolved with the package's ld.so
    local out lib
    out=$("$LDSO" --library-path "$LIBDIRS" --list "$1") || { log "ld.so --list $1 failed"; return 1; }
    if grep -q 'not found' <<<"$out"; then
        grep 'not found' <<<"$out" >&2
        return 1
    fi
    while read -r lib; do
        [[ -e $R$(usr_path "${lib#"$P"}") ]] || put "${lib#"$P"}"
    done < <(awk '/=>/ { print $3 }' <<<"$out")
}
put_bin() { # put_bin PKGPATH: a dynamic binary and its libraries
    put "$1"
    put_libs "$P$1"
}
put /bin/busybox
put_bin /sbin/ip
put_bin /sbin/ipvsadm
put_bin /bin/kmod
for tool in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf ../bin/kmod "$R/usr/sbin/$tool"; done
put_bin /lib/systemd/systemd-sysctl
put_bin /lib/systemd/systemd-modules-load
put /lib/udev/rules.d/99-systemd.rules
cp -L "$LDSO" "$R/usr/lib64/ld-linux-x86-64.so.2"
log "userland: $(since "$t") s"

# ---------------------------------------------------------------- python
t=$(now)
put_bin /usr/bin/python3.11
ln -s python3.11 "$R/usr/bin/python3"
cp -a "$P/usr/lib/python3.11" "$R/usr/lib/python3.11"
find "$R/usr/lib/python3.11" -name '__pycache__' -prune -exec rm -rf {} +
# .pyc beside the sources, used without checking the source (faster under TCG)
PYTHONHOME=$R/usr "$LDSO" --library-path "$LIBDIRS" "$R/usr/bin/python3.11" -m compileall -q -j0 \
    --invalidation-mode unchecked-hash -s "$R" -p / "$R/usr/lib/python3.11" >/dev/null
# extension modules: drop test ones and any whose libraries are not in the guest
for so in "$R"/usr/lib/python3.11/lib-dynload/*.so; do
    case $(basename "$so") in
        _test* | _ctypes_test* | xxlimited* | _xx* | audioop* | nis* | ossaudiodev* | _curses* | _dbm* | _sqlite3* | readline* | \
            _asyncio* | _multiprocessing* | _posixshmem* | _codecs_[a-z][a-z]* | _multibytecodec*)
            rm -f "$so"; continue ;;
    esac
    if ! put_libs "$so" 2>/dev/null; then rm -f "$so"; fi
done
for x in "${PY_DROP[@]}"; do rm -rf "${R:?}/usr/lib/python3.11/$x"; done
PYTHONHOME=$R/usr "$LDSO" --library-path "$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin/python3.11" -c \
    'import json, ipaddress, subprocess, fnmatch, zipfile, base64, datetime, shlex, tempfile, syslog, locale, hashlib, selectors, platform' \
    || { log "the guest python cannot import what the collection needs"; exit 1; }
log "python: $(since "$t") s ($(du -sm "$R/usr/lib/python3.11" | cut -f1) MB stdlib+pyc)"

# ---------------------------------------------------------------- modules
t=$(now)
MODROOT=$P/lib/modules/$KVER
kmod_as() { # kmod_as NAME ARGS...: the package's kmod, as depmod/modprobe/...
    local name=$1
    shift
    "$LDSO" --library-path "$LIBDIRS" --argv0 "$name" "$P/bin/kmod" "$@"
}
# the package ships no index (its postinst runs depmod): build it in pkgroot
kmod_as depmod -b "$P" "$KVER"
[[ -s $MODROOT/modules.dep ]] || { log "depmod gave no modules.dep for $KPKG"; exit 1; }
declare -A seen=()
want_mod() { # want_mod NAME: the module file and everything it depends on
    local line self dep
    line=$(grep -E "/$1\.ko(\.xz|\.zst|\.gz)?:" "$MODROOT/modules.dep") || { log "module $1 not in $KPKG"; return 1; }
    self=${line%%:*}
    for dep in ${line#*:}; do seen[$dep]=1; done
    seen[$self]=1
}
for m in "${MODULES[@]}"; do want_mod "$m"; done
DEST=$R/usr/lib/modules/$KVER
for f in "${!seen[@]}"; do
    mkdir -p "$DEST/$(dirname "$f")"
    case $f in
        *.xz) xz -dc "$MODROOT/$f" >"$DEST/${f%.xz}" ;;
        *.zst) zstd -qdc "$MODROOT/$f" >"$DEST/${f%.zst}" ;;
        *) cp "$MODROOT/$f" "$DEST/$f" ;;
    esac
done
cp "$MODROOT"/modules.{order,builtin,builtin.modinfo} "$DEST/"
kmod_as depmod -b "$R" "$KVER"
log "modules: $(since "$t") s (${#seen[@]} .ko)"

# ---------------------------------------------------------------- busybox applets
# Links for the applets no real binary provides (ip, modprobe... stay the real ones).
n=0
for applet in $("$R/usr/bin/busybox" --list-full); do
    dest=$R/usr/${applet#usr/}
    mkdir -p "$(dirname "$dest")"
    if [[ ! -e $dest && ! -L $dest ]]; then
        ln -s /usr/bin/busybox "$dest"
        n=$((n + 1))
    fi
done
log "busybox: $n applet links"

# ---------------------------------------------------------------- cpio
t=$(now)
echo "$KVER" >"$R/etc/lvs-vm-kver"
cp "$W/manifest.txt" "$R/etc/lvs-vm-manifest"
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"
(cd "$R" && find . -mindepth 1 | sort | cpio -o -H newc --quiet -R 0:0) >"$W/base.cpio"
STAGE=$OUT.new.$$
rm -rf "$STAGE"
mkdir -p "$STAGE"
mv "$W/vmlinux" "$W/base.cpio" "$W/manifest.txt" "$STAGE/"
# the tree itself: its python prepares payloads for the guest (tests/vm/boot.sh)
mv "$R" "$STAGE/root"
echo "$KVER" >"$STAGE/kver"
touch "$STAGE/ok"
rm -rf "$OUT"
mv "$STAGE" "$OUT"
log "cpio: $(since "$t") s ($(du -m "$OUT/base.cpio" | cut -f1) MB uncompressed)"
# drop other recipes' outputs once unused for an hour (a concurrent run of an
# older checkout may still boot one), and the packages this recipe does not use
find "$CACHE" -mindepth 1 -maxdepth 1 -name 'base-*' ! -path "$OUT" -mmin +60 -exec rm -rf -- {} +
for deb in "$DEBS"/*.deb; do
    grep -qxF "$(basename "$deb")" "$OUT/manifest.txt" || rm -f -- "$deb"
done
log "built ${OUT#"$ROOT"/} in $(since "$T0") s"
