# shellcheck shell=sh
# Source this file (bash, zsh; plain sh only from the repo root) before running
# podman for the lvs.realserver tests:
#
#   . tests/images/env.sh
#
# It selects the repository's podman configuration (containers.conf beside this
# file) instead of anything under /etc/containers.

if [ -n "${BASH_SOURCE:-}" ]; then
    _lvsrs_images_dir=$(cd -- "$(dirname -- "${BASH_SOURCE}")" && pwd -P)
elif [ -n "${ZSH_VERSION:-}" ]; then
    # shellcheck disable=SC2296
    _lvsrs_images_dir=$(cd -- "$(dirname -- "${(%):-%x}")" && pwd -P)
else
    # POSIX sh cannot tell a sourced file its own path: assume the repo root
    # (or this directory) is the current directory.
    if [ -f tests/images/containers.conf ]; then
        _lvsrs_images_dir=$(cd tests/images && pwd -P)
    else
        _lvsrs_images_dir=$(pwd -P)
    fi
fi

if [ ! -f "$_lvsrs_images_dir/containers.conf" ]; then
    echo "env.sh: cannot find containers.conf in $_lvsrs_images_dir" >&2
    unset _lvsrs_images_dir
    # shellcheck disable=SC2317
    return 1 2>/dev/null || exit 1
fi

export CONTAINERS_CONF="$_lvsrs_images_dir/containers.conf"
# Image names built by build.sh, for molecule and other test scripts.
export LVSRS_IMAGE_DEBIAN12="localhost/lvs-realserver-debian12:latest"
export LVSRS_IMAGE_DEBIAN13="localhost/lvs-realserver-debian13:latest"
unset _lvsrs_images_dir
