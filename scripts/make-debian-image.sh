#!/usr/bin/env bash
# Builds a real distribution disk image for the "trace your own VM" tests:
# a Debian bookworm userland made by debootstrap from the distribution's
# packages (the mirror of the host's own apt sources), with systemd, the
# distribution kernel (linux-image-amd64) and an initramfs-tools initrd, in
# an ext4 filesystem (mkfs.ext4 -d: no loop device, no mount) converted to
# qcow2. Cached: a second run prints the directory and does nothing else.
#
# Output, in $VSTRACE_CACHE/images/debian-bookworm/ (printed on stdout):
#   disk.qcow2   the root filesystem (whole disk, ext4, label "root")
#   vmlinuz      the image's kernel, initrd.img its initrd (for -kernel/-initrd)
#
# Boot: qemu-system-x86_64 -kernel vmlinuz -initrd initrd.img
#   -append "root=/dev/vda console=ttyS0" -drive file=disk.qcow2,if=virtio ...
# Add `vstrace.workload` to the kernel command line and systemd runs the
# workload unit (vstrace-workload.service: the script below, output on the
# serial console) after boot, then powers the machine off. Root logs in on
# ttyS0 without a password (a test image, never a server).
#
# Needs root (debootstrap), installs debootstrap if missing. Environment:
# VSTRACE_CACHE (default ~/.cache/vstrace), VSTRACE_DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/debian-mirror.sh
. scripts/lib/debian-mirror.sh

CACHE="${VSTRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace}"
OUT="$CACHE/images/debian-bookworm"
if [ -s "$OUT/disk.qcow2" ] && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ]; then
    echo "$OUT"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "make-debian-image: debootstrap needs root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get install -y -qq debootstrap >&2 || { apt-get update -qq && apt-get install -y -qq debootstrap >&2; }
fi
mirror=$(debian_mirror)
mkdir -p "$CACHE/images"
work=$(mktemp -d "$CACHE/images/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"

echo "make-debian-image: debootstrap bookworm from $mirror (a few minutes)" >&2
debootstrap --variant=minbase \
    --include=systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,kmod,procps,iproute2,strace \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    echo "make-debian-image: debootstrap failed (log above)" >&2
    exit 1
}

echo vstrace-debian >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vstrace-debian\n' >"$root/etc/hosts"
printf 'LABEL=root / ext4 defaults 0 1\n' >"$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat >"$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
EOF

# The workload: a few file, process and network-free calls from a systemd
# service, then power-off. Its output goes to the serial console so a
# test sees it next to the trace.
cat >"$root/usr/local/bin/vstrace-workload" <<'EOF'
#!/bin/sh
echo "vstrace-workload: pid=$$ start"
cat /etc/hostname
ls / >/dev/null
sh -c 'echo "vstrace-workload: child pid=$$"'
echo "vstrace-workload: done"
EOF
chmod 755 "$root/usr/local/bin/vstrace-workload"
cat >"$root/etc/systemd/system/vstrace-workload.service" <<'EOF'
[Unit]
Description=vstrace test workload
ConditionKernelCommandLine=vstrace.workload
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/bin/vstrace-workload
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStopPost=/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
EOF
chroot "$root" systemctl enable vstrace-workload.service >/dev/null 2>&1
# Boot faster under TCG: nothing waits for a network that is not there.
chroot "$root" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1 || true
chroot "$root" apt-get clean

kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)
[ -s "$kernel" ] && [ -s "$initrd" ] || { echo "make-debian-image: no kernel/initrd in the image" >&2; exit 1; }
cp "$kernel" "$work/vmlinuz"
cp "$initrd" "$work/initrd.img"

echo "make-debian-image: ext4 + qcow2" >&2
truncate -s 3G "$work/disk.raw"
mkfs.ext4 -q -L root -d "$root" "$work/disk.raw"
qemu-img convert -O qcow2 "$work/disk.raw" "$work/disk.qcow2"

mkdir -p "$OUT"
mv "$work/vmlinuz" "$work/initrd.img" "$OUT/"
mv "$work/disk.qcow2" "$OUT/disk.qcow2"
echo "$OUT"
