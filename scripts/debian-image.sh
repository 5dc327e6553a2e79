#!/usr/bin/env bash
# A real distribution disk image for the "trace your own VM" tests: a
# Debian bookworm userland built with debootstrap from the distribution's
# packages (systemd, the distribution kernel linux-image-amd64 and its
# initramfs-tools initrd) in an ext4 filesystem in a qcow2 disk, with a
# systemd unit that runs a small workload at boot, writes its output to
# the second serial port (ttyS1) and powers the VM off. With a second
# virtio disk (/dev/vdb, an ext4 filesystem, e.g. `mkfs.ext4 -d DIR`)
# holding an executable `run`, the unit mounts it read-only on /payload
# and runs /payload/run instead of the workload. Debian's strace (with
# -k) is installed. Built once and cached (needs root for debootstrap),
# rebuilt when this script changes (its hash is the cache's stamp):
#   ~/.cache/vstrace/debian-bookworm/{disk.qcow2,vmlinuz,initrd.img,stamp}
# Boot: qemu-system-x86_64 -kernel vmlinuz -initrd initrd.img
#   -append "root=/dev/vda rw console=ttyS0" -drive file=disk.qcow2,if=virtio ...
# The mirror is $VSTRACE_DEBIAN_MIRROR or the one the host's apt sources name.
#   scripts/debian-image.sh        prints the cache directory
set -euo pipefail
CACHE="${VSTRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vstrace}/debian-bookworm"
STAMP=$(sha256sum "$0" | cut -d' ' -f1)
# Tests run at once share the image: one builds it under the lock, the
# others wait and take it (or find it current).
mkdir -p "$CACHE"
exec 7>"$CACHE/.lock"
flock 7
if [ -f "$CACHE/disk.qcow2" ] && [ -f "$CACHE/vmlinuz" ] && [ -f "$CACHE/initrd.img" ] &&
    [ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$STAMP" ]; then
    echo "$CACHE"
    exit 0
fi
# shellcheck source=lib/debian-mirror.sh
. "$(dirname "$0")/lib/debian-mirror.sh"
# shellcheck source=lib/retry.sh
. "$(dirname "$0")/lib/retry.sh"
command -v debootstrap >/dev/null || retry apt-get install -y debootstrap >&2
command -v mkfs.ext4 >/dev/null || retry apt-get install -y e2fsprogs >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
# A failed fetch (the mirror mid-sync) starts again from an empty root.
bootstrap() {
    rm -rf "$root"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,bash,coreutils,strace \
        bookworm "$root" "$(debian_mirror)" >&2
}
retry bootstrap

# The root filesystem, the console on ttyS0, no password for root.
echo "/dev/vda / ext4 defaults 0 1" >"$root/etc/fstab"
echo vstrace-debian >"$root/etc/hostname"
chroot "$root" passwd -d root >&2
# The workload: a file read, a connect (the tests inject its error), a
# child process; its output on ttyS1; then power off.
cat >"$root/usr/local/bin/vstrace-workload" <<'EOF'
#!/bin/bash
if [ -b /dev/vdb ] && mkdir -p /payload && mount -o ro /dev/vdb /payload &&
    [ -x /payload/run ]; then
    exec /payload/run
fi
echo "workload pid=$$"
cat /etc/hostname
if exec 3<>/dev/tcp/127.0.0.1/9; then echo "connect ok"; else echo "connect failed"; fi
ls / >/dev/null
echo "workload done"
EOF
chmod 755 "$root/usr/local/bin/vstrace-workload"
cat >"$root/etc/systemd/system/vstrace-workload.service" <<'EOF'
[Unit]
Description=vstrace test workload
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/bin/vstrace-workload
ExecStartPost=/bin/systemctl poweroff --no-block
StandardOutput=file:/dev/ttyS1
StandardError=file:/dev/ttyS1

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/vstrace-workload.service \
    "$root/etc/systemd/system/multi-user.target.wants/vstrace-workload.service"
# Nothing waits for a network that the tests do not give.
rm -f "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service" \
    "$root/etc/systemd/system/network-online.target.wants/"* 2>/dev/null || true

mkdir -p "$CACHE"
cp "$(ls "$root"/boot/vmlinuz-* | head -1)" "$work/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | head -1)" "$work/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb
mkfs.ext4 -q -F -L root -d "$root" "$work/disk.raw" 2G >&2
qemu-img convert -O qcow2 "$work/disk.raw" "$work/disk.qcow2" >&2
mv "$work/vmlinuz" "$work/initrd.img" "$work/disk.qcow2" "$CACHE/"
echo "$STAMP" >"$CACHE/stamp"
echo "$CACHE"
