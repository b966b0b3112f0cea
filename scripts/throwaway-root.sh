#!/bin/sh
# A throwaway copy of this machine: / under an overlay whose changes go to a tmpfs, with /dev,
# /proc, /run and /tmp of its own, tsd.deb copied to /root, then COMMAND chrooted into it.
# Run as PID 1 of new mount and PID namespaces (unshare --mount --pid --fork), so everything it
# mounts and starts ends with it. WORK must hold empty directories layer/ and root/.
# Usage: throwaway-root.sh [--sys] WORK DEB COMMAND...   (--sys: also /sys and cgroup2, for systemd)
set -e
sys=no
if [ "$1" = "--sys" ]; then sys=yes; shift; fi
work=$1
deb=$2
shift 2
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tsd-throwaway-layer "$work/layer"
mkdir -p "$work/layer/upper" "$work/layer/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/layer/upper,workdir=$work/layer/work" "$work/root"
mount --rbind /dev "$work/root/dev"
mount -t proc proc "$work/root/proc"
if [ "$sys" = yes ]; then
  mount -t sysfs sysfs "$work/root/sys"
  mount -t cgroup2 cgroup2 "$work/root/sys/fs/cgroup"
fi
mount -t tmpfs -o mode=0755 tmpfs "$work/root/run"
mount -t tmpfs -o mode=1777 tmpfs "$work/root/tmp"
cp "$deb" "$work/root/root/tsd.deb"
exec chroot "$work/root" "$@"
