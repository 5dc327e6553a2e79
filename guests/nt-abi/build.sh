#!/bin/sh
# Builds the NT-ABI test guest (both flavours) with nasm into OUTDIR
# (default: the current directory): nt-abi-x64.bin and nt-abi-x86.bin,
# multiboot images for `qemu-system-x86_64 -kernel` / `vstrace run --kernel`,
# and nt-abi-x64-loop.bin, which repeats its program for a few seconds (a
# running guest for `vstrace attach`). nt-abi-x64-shadow.bin and
# nt-abi-x64-shadow-loop.bin are the same with KVA shadow (separate user
# and kernel CR3, as Windows' Meltdown mitigation).
#
# Every image holds a PE kernel image (exported accessors, the
# PsInitialSystemProcess list) and a PE ntdll on the PEB's loader lists.
# Builds no built-in table knows (NT 10.0 build 29999, service numbers of
# no real build), for names and offsets read from the guest itself:
#   nt-abi-x64-unknown.bin, nt-abi-x86-unknown.bin      the second offset
#                                                      layout (-DLAYOUT_B)
#   nt-abi-x64-unknown-a.bin, nt-abi-x86-unknown-a.bin  the first layout
#                                                      (Windows 10 22H2 /
#                                                      7 SP1 offsets)
# nt-abi-x64-shadow-unknown.bin: the x64 unknown build under KVA shadow;
# nt-abi-x64-mismatch.bin: claims build 19045 (Windows 10 22H2) but
# its ntdll has other service numbers than the j00ru table's; and
# nt-abi-{x64,x86}-unknown-noidt.bin: the unknown builds whose
# KPCR.IdtBase names an empty table (-DHIDE_IDT), so that the kernel
# image is found from the system call path only;
# nt-abi-{x64,x86}-win32u.bin: the unknown builds with a win32u.dll on the
# loader lists whose stubs the program calls (win32k services, table 1).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-.}
mkdir -p "$out"
command -v nasm >/dev/null 2>&1 || {
    echo "build.sh: nasm not found (scripts/setup-host.sh installs it)" >&2
    exit 1
}
for flavour in x64 x86; do
    nasm -f bin -w+all -I "$here/" -o "$out/nt-abi-$flavour.bin" "$here/$flavour.asm"
done
nasm -f bin -w+all -I "$here/" -DLOOPS=50 -DSPIN=20000000 \
    -o "$out/nt-abi-x64-loop.bin" "$here/x64.asm"
nasm -f bin -w+all -I "$here/" -DKVA_SHADOW \
    -o "$out/nt-abi-x64-shadow.bin" "$here/x64.asm"
nasm -f bin -w+all -I "$here/" -DKVA_SHADOW -DLOOPS=50 -DSPIN=20000000 \
    -o "$out/nt-abi-x64-shadow-loop.bin" "$here/x64.asm"
for flavour in x64 x86; do
    nasm -f bin -w+all -I "$here/" -DLAYOUT_B -DALT_SSN -DBUILD=29999 \
        -o "$out/nt-abi-$flavour-unknown.bin" "$here/$flavour.asm"
    nasm -f bin -w+all -I "$here/" -DALT_SSN -DBUILD=29999 \
        -o "$out/nt-abi-$flavour-unknown-a.bin" "$here/$flavour.asm"
done
nasm -f bin -w+all -I "$here/" -DKVA_SHADOW -DLAYOUT_B -DALT_SSN -DBUILD=29999 \
    -o "$out/nt-abi-x64-shadow-unknown.bin" "$here/x64.asm"
nasm -f bin -w+all -I "$here/" -DALT_SSN \
    -o "$out/nt-abi-x64-mismatch.bin" "$here/x64.asm"
for flavour in x64 x86; do
    nasm -f bin -w+all -I "$here/" -DLAYOUT_B -DALT_SSN -DBUILD=29999 -DWIN32U \
        -o "$out/nt-abi-$flavour-win32u.bin" "$here/$flavour.asm"
    nasm -f bin -w+all -I "$here/" -DLAYOUT_B -DALT_SSN -DBUILD=29999 -DHIDE_IDT \
        -o "$out/nt-abi-$flavour-unknown-noidt.bin" "$here/$flavour.asm"
done
