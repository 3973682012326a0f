#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright (c) lvs.realserver contributors
#
# rs-enter.sh HOST CMD [ARG...]  (run as: ip netns exec HOST /lvs/rs-enter.sh HOST CMD...)
#
# `ip netns exec HOST` already gave CMD HOST's network namespace, a private
# mount namespace and HOST's files under /etc: iproute2 binds every entry of
# /etc/netns/HOST/ (sysctl.d, modules-load.d, lvs-realserver, systemd) over
# the same name in /etc. This adds the one directory outside /etc the role
# writes, /usr/libexec/lvs-realserver (the boot unit's controller).
host=$1
shift
src=/lvs/$host/libexec
[ -d "$src" ] || src=/lvs/empty
mount --bind "$src" /usr/libexec/lvs-realserver || { echo "rs-enter: cannot bind $src" >&2; exit 125; }
exec "$@"
