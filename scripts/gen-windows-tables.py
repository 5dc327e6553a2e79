#!/usr/bin/env python3
"""Generate crates/windows/data/syscalls_{x64,x86}.rs from the Windows system
call CSVs (j00ru/windows-syscalls layout: first column the call name, one
column per Windows version, cells = service number in hex, empty = absent).

Usage: scripts/gen-windows-tables.py [DATA_DIR]
DATA_DIR defaults to ../shared/data/windows-syscalls relative to the repo.
The output is committed; the build never reads DATA_DIR.

Output per architecture:
  NAMES   every call name (nt names first, then win32k), sorted per table
  TABLES  deduplicated service tables: service number -> index into NAMES
          (0xffff = no call at that number)
  VERSIONS one WindowsVersion per CSV column, with its nt/win32k table index,
          build number and the aliases version_by_name() matches against.
"""

import csv
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = "j00ru/windows-syscalls (commit 8a6806ac, 2025-12-30)"
NONE = 0xFFFF

# Build numbers and NT versions are not in the CSV header: public release
# facts, keyed by (arch, CSV label). XP x64 was built from Server 2003 (3790).
WIN10_BUILDS = {
    "1507": 10240, "1511": 10586, "1607": 14393, "1703": 15063, "1709": 16299,
    "1803": 17134, "1809": 17763, "1903": 18362, "1909": 18363, "2004": 19041,
    "20H2": 19042, "21H1": 19043, "21H2": 19044, "22H2": 19045,
}
WIN11_BUILDS = {
    "Server 2022": 20348, "11 21H2": 22000, "11 22H2": 22621, "11 23H2": 22631,
    "Server 23H2": 25398, "11 24H2": 26100, "Server 2025": 26100, "11 25H2": 26200,
}


def describe(arch, label):
    """Return (id, slug, build, major, minor, aliases) for a CSV column label."""
    m = re.fullmatch(r"(.*) \((.*)\)", label)
    if not m:
        sys.exit(f"unexpected version label {label!r}")
    family, rel = m.group(1), m.group(2)
    aliases = [label]
    if family == "Windows NT 3.x":
        build = {"3.1": 528, "3.5": 807, "3.51": 1057}[rel]
        ident, slug = f"Windows NT {rel}", f"nt{rel}"
        major, minor = 3, {"3.1": 10, "3.5": 50, "3.51": 51}[rel]
    elif family == "Windows NT 4.0":
        build, major, minor = 1381, 4, 0
        ident, slug = f"Windows NT 4.0 {rel}", f"nt4-{rel.lower().replace(' ', '-')}"
        aliases.append(f"nt4 {rel}")
    elif family == "Windows 2000":
        build, major, minor = 2195, 5, 0
        ident, slug = f"Windows 2000 {rel}", f"win2000-{rel.lower()}"
    elif family == "Windows XP":
        if arch == "x64":
            build, major, minor = 3790, 5, 2
        else:
            build, major, minor = 2600, 5, 1
        ident, slug = f"Windows XP {rel}", f"xp-{rel.lower()}"
    elif family == "Windows Server 2003":
        build, major, minor = 3790, 5, 2
        ident = f"Windows Server 2003 {rel}"
        slug = f"server2003-{rel.lower().replace(' ', '-')}"
        aliases.append(f"2003 {rel}")
    elif family == "Windows Vista":
        build = {"SP0": 6000, "SP1": 6001, "SP2": 6002}[rel]
        major, minor = 6, 0
        ident, slug = f"Windows Vista {rel}", f"vista-{rel.lower()}"
    elif family == "Windows 7":
        build = {"SP0": 7600, "SP1": 7601}[rel]
        major, minor = 6, 1
        ident, slug = f"Windows 7 {rel}", f"win7-{rel.lower()}"
    elif family == "Windows 8":
        if rel == "8.0":
            build, major, minor = 9200, 6, 2
            ident, slug = "Windows 8", "win8"
            aliases.append("8.0")
        else:
            build, major, minor = 9600, 6, 3
            ident, slug = "Windows 8.1", "win8.1"
    elif family == "Windows 10":
        build, major, minor = WIN10_BUILDS[rel], 10, 0
        ident, slug = f"Windows 10 {rel}", f"win10-{rel.lower()}"
    elif family == "Windows 11 and Server":
        build, major, minor = WIN11_BUILDS[rel], 10, 0
        if rel.startswith("Server"):
            ident = f"Windows {rel}"
            slug = rel.lower().replace(" ", "-")
            aliases.append(rel)
        else:
            ident = f"Windows {rel}"
            slug = "win" + rel.lower().replace(" ", "-")
    else:
        sys.exit(f"unknown Windows family {family!r}")
    aliases += [ident, slug]
    norm = []
    for a in aliases:
        n = normalize(a)
        if n and n not in norm:
            norm.append(n)
    return ident, slug, build, major, minor, norm


def normalize(s):
    """Must match windows::versions::normalize() in Rust."""
    s = re.sub(r"[\s\-_().]", "", s.lower())
    for prefix in ("microsoft", "windows", "win"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    return s


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    cols = header[1:]
    per_col = {c: {} for c in cols}
    for row in body:
        name = row[0].strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            sys.exit(f"{path}: bad call name {name!r}")
        for col, cell in zip(cols, row[1:]):
            cell = cell.strip()
            if not cell:
                continue
            svc = int(cell, 16) & 0xFFF
            table = per_col[col]
            if svc in table and table[svc] != name:
                print(f"warning: {path} {col}: {svc:#x} both {table[svc]} and {name}; keeping first",
                      file=sys.stderr)
                continue
            table[svc] = name
    return cols, per_col


def gen_arch(arch, data_dir):
    nt_cols, nt = read_csv(os.path.join(data_dir, arch, "nt.csv"))
    wk_cols, wk = read_csv(os.path.join(data_dir, arch, "win32k.csv"))
    nt_names = sorted({n for t in nt.values() for n in t.values()})
    wk_names = sorted({n for t in wk.values() for n in t.values()} - set(nt_names))
    names = nt_names + wk_names
    index = {n: i for i, n in enumerate(names)}
    if len(names) >= NONE:
        sys.exit("too many names for u16 indices")

    tables, table_ids = [], {}

    def intern(svc_map):
        size = max(svc_map) + 1 if svc_map else 0
        row = tuple(index[svc_map[s]] if s in svc_map else NONE for s in range(size))
        if row not in table_ids:
            table_ids[row] = len(tables)
            tables.append(row)
        return table_ids[row]

    # Column order: the nt CSV order, with win32k-only columns (none today)
    # appended; NT 3.x has no win32k table.
    cols = list(nt_cols) + [c for c in wk_cols if c not in nt_cols]
    versions = []
    for col in cols:
        nt_t = intern(nt[col]) if col in nt else NONE
        wk_t = intern(wk[col]) if col in wk else NONE
        versions.append((col, describe(arch, col), nt_t, wk_t))

    up = arch.upper()
    out = []
    out.append(f"// @generated by scripts/gen-windows-tables.py -- do not edit.\n")
    out.append(f"// Source: {SOURCE}, {arch}/nt.csv and {arch}/win32k.csv\n")
    out.append(f"// ({len(nt_names)} nt + {len(wk_names)} win32k names, {len(versions)} versions, "
               f"{len(tables)} distinct tables). Build numbers: public release data.\n\n")
    out.append(f"pub(crate) static {up}_NAMES: [&str; {len(names)}] = [\n")
    for n in names:
        out.append(f'    "{n}",\n')
    out.append("];\n\n")
    out.append(f"pub(crate) static {up}_TABLES: [&[u16]; {len(tables)}] = [\n")
    for t in tables:
        out.append("    &[\n")
        for i in range(0, len(t), 16):
            out.append("        " + ", ".join(str(x) for x in t[i:i + 16]) + ",\n")
        out.append("    ],\n")
    out.append("];\n\n")
    out.append(f"pub(crate) static {up}_VERSIONS: [WindowsVersion; {len(versions)}] = [\n")
    for col, (ident, slug, build, major, minor, aliases), nt_t, wk_t in versions:
        al = ", ".join(f'"{a}"' for a in aliases)
        out.append("    WindowsVersion {\n")
        out.append(f"        arch: Arch::{arch.capitalize()},\n")
        out.append(f'        id: "{ident}",\n')
        out.append(f'        label: "{col}",\n')
        out.append(f'        slug: "{slug}",\n')
        out.append(f"        build: {build},\n")
        out.append(f"        nt_version: ({major}, {minor}),\n")
        out.append(f"        aliases: &[{al}],\n")
        out.append(f"        nt_table: {nt_t},\n")
        out.append(f"        win32k_table: {wk_t},\n")
        out.append("    },\n")
    out.append("];\n")
    path = os.path.join(REPO, "crates", "windows", "data", f"syscalls_{arch}.rs")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("".join(out))
    print(f"wrote {path}: {len(names)} names, {len(versions)} versions, {len(tables)} tables")


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        REPO, "..", "shared", "data", "windows-syscalls")
    for arch in ("x64", "x86"):
        gen_arch(arch, data_dir)


if __name__ == "__main__":
    main()
