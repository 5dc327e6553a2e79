#!/usr/bin/env python3
"""Writes a Volatility 3 symbol table (ISF JSON, the format dwarf2json
produces from a kernel's DWARF) for an x86_64 Linux kernel image, from the
image's own BTF (type layouts) and exported-symbol tables (addresses).

    scripts/btf2isf.py VMLINUX OUT.json[.xz|.gz]

Why: `vstrace --linux-profile` reads ISF for kernels without BTF, and its
test needs an ISF for a kernel it can boot; dwarf2json is not packaged and
Debian's kernels ship no DWARF, but they keep BTF. This script is a second,
independent reader of BTF and ksymtab (Python, not vstrace's Rust parsers),
so the test compares two implementations. What it writes follows the ISF
schema dwarf2json uses (metadata.format 6.2.0):
  user_types  every named or anonymous struct/union: size, fields with byte
              offset and type descriptor (anonymous ones named
              "unnamed_<btf id>", their members "unnamed_field_<n>")
  base_types  every integer and float type, plus "pointer" (8) and "void"
  enums       every enum: size, base, constants
  symbols     every exported symbol (EXPORT_SYMBOL*, per-cpu ones too) with
              its link-time address; no types (ksymtab does not say them)
Only the exported symbols are known (a full System.map is not in the image):
enough for vstrace (init_task, current_task / pcpu_hot, __per_cpu_offset).
"""
import gzip
import json
import lzma
import struct
import sys

KIND_NAMES = {
    1: "INT", 2: "PTR", 3: "ARRAY", 4: "STRUCT", 5: "UNION", 6: "ENUM",
    7: "FWD", 8: "TYPEDEF", 9: "VOLATILE", 10: "CONST", 11: "RESTRICT",
    12: "FUNC", 13: "FUNC_PROTO", 14: "VAR", 15: "DATASEC", 16: "FLOAT",
    17: "DECL_TAG", 18: "TYPE_TAG", 19: "ENUM64",
}


def die(msg):
    sys.exit(f"btf2isf: {msg}")


def elf_sections(data):
    """{name: (addr, file offset, size)} of a little-endian ELF64."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        die("not a little-endian 64-bit ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    hdrs = []
    for i in range(shnum):
        name, _typ, _flags, addr, off, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + i * shentsize)
        hdrs.append((name, addr, off, size))
    strtab_off = hdrs[shstrndx][2]
    out = {}
    for name, addr, off, size in hdrs:
        end = data.index(b"\0", strtab_off + name)
        out[data[strtab_off + name:end].decode()] = (addr, off, size)
    return out


def parse_btf(blob):
    magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = \
        struct.unpack_from("<HBBIIIII", blob, 0)
    if magic != 0xEB9F:
        die("bad BTF magic")
    types_at = hdr_len + type_off
    strings = blob[hdr_len + str_off:hdr_len + str_off + str_len]

    def name(off):
        return strings[off:strings.index(b"\0", off)].decode()

    types = [None]  # id 0 is void
    pos, end = types_at, types_at + type_len
    while pos < end:
        name_off, info, size_type = struct.unpack_from("<III", blob, pos)
        pos += 12
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        t = {"kind": KIND_NAMES.get(kind, "?"), "name": name(name_off),
             "size": size_type, "type": size_type}
        if kind == 1:
            enc, = struct.unpack_from("<I", blob, pos)
            t["signed"] = bool((enc >> 24) & 1)
            t["char"] = bool((enc >> 24) & 2)
            t["bool"] = bool((enc >> 24) & 4)
            pos += 4
        elif kind == 3:
            t["elem"], _idx, t["nelems"] = struct.unpack_from("<III", blob, pos)
            pos += 12
        elif kind in (4, 5):
            members = []
            for _ in range(vlen):
                mn, mt, moff = struct.unpack_from("<III", blob, pos)
                pos += 12
                bits, bitsize = (moff & 0xFFFFFF, moff >> 24) if kflag else (moff, 0)
                members.append((name(mn), mt, bits, bitsize))
            t["members"] = members
        elif kind == 6:
            t["values"] = {}
            for _ in range(vlen):
                en, ev = struct.unpack_from("<Ii", blob, pos)
                pos += 8
                t["values"][name(en)] = ev
        elif kind == 19:
            t["values"] = {}
            for _ in range(vlen):
                en, lo, hi = struct.unpack_from("<III", blob, pos)
                pos += 12
                t["values"][name(en)] = (hi << 32) | lo
        elif kind == 13:
            pos += 8 * vlen
        elif kind in (14, 17):
            pos += 4
        elif kind == 15:
            pos += 12 * vlen
        elif kind not in (2, 7, 8, 9, 10, 11, 12, 16, 18):
            die(f"unknown BTF kind {kind}")
        types.append(t)
    return types


def isf_from_btf(types):
    def type_name(i):
        t = types[i]
        return t["name"] or f"unnamed_{i}"

    def desc(i, depth=0):
        """The ISF type descriptor of BTF type i."""
        if depth > 32:
            return {"kind": "base", "name": "void"}
        t = types[i] if i else None
        if t is None:
            return {"kind": "base", "name": "void"}
        k = t["kind"]
        if k in ("TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "TYPE_TAG"):
            return desc(t["type"], depth + 1)
        if k in ("INT", "FLOAT"):
            return {"kind": "base", "name": t["name"]}
        if k == "PTR":
            return {"kind": "pointer", "subtype": desc(t["type"], depth + 1)}
        if k == "ARRAY":
            return {"kind": "array", "count": t["nelems"],
                    "subtype": desc(t["elem"], depth + 1)}
        if k in ("STRUCT", "UNION"):
            return {"kind": k.lower(), "name": type_name(i)}
        if k == "FWD":
            return {"kind": "union" if t["type"] else "struct", "name": t["name"]}
        if k in ("ENUM", "ENUM64"):
            return {"kind": "enum", "name": type_name(i)}
        return {"kind": "function"}

    user_types, base_types, enums = {}, {}, {}
    for i, t in enumerate(types):
        if t is None:
            continue
        k = t["kind"]
        if k in ("STRUCT", "UNION"):
            name = type_name(i)
            fields = {}
            for n, (mname, mtype, bits, bitsize) in enumerate(t["members"]):
                d = desc(mtype)
                if bitsize:
                    d = {"kind": "bitfield", "bit_position": bits % 8,
                         "bit_length": bitsize, "type": d}
                fields[mname or f"unnamed_field_{n}"] = {"offset": bits // 8, "type": d}
            old = user_types.get(name)
            # A name BTF holds twice (rare): keep the fuller definition.
            if old is None or len(fields) > len(old["fields"]):
                user_types[name] = {"kind": k.lower(), "size": t["size"], "fields": fields}
        elif k in ("INT", "FLOAT"):
            kind = "float" if k == "FLOAT" else (
                "bool" if t.get("bool") else "char" if t.get("char") or t["size"] == 1 else "int")
            base_types[t["name"]] = {"kind": kind, "size": t["size"],
                                     "signed": bool(t.get("signed")), "endian": "little"}
        elif k in ("ENUM", "ENUM64"):
            enums[type_name(i)] = {"size": t["size"], "base": "int",
                                   "constants": t["values"]}
    base_types["pointer"] = {"kind": "int", "size": 8, "signed": False, "endian": "little"}
    base_types["void"] = {"kind": "void", "size": 0, "signed": False, "endian": "little"}
    return user_types, base_types, enums


def ksymtab(data, secs):
    """{name: link address} from __ksymtab and __ksymtab_gpl (PREL32
    entries: value, name and namespace as 32-bit offsets from each field)."""
    out = {}
    for sec in ("__ksymtab", "__ksymtab_gpl"):
        if sec not in secs:
            continue
        addr, off, size = secs[sec]
        for e in range(0, size - size % 12, 12):
            voff, noff, _ns = struct.unpack_from("<iii", data, off + e)
            value = (addr + e + voff) % (1 << 64)
            name_addr = (addr + e + 4 + noff) % (1 << 64)
            for saddr, soff, ssize in secs.values():
                if saddr and saddr <= name_addr < saddr + ssize:
                    start = soff + name_addr - saddr
                    out[data[start:data.index(b"\0", start)].decode()] = value
                    break
    return out


def main():
    if len(sys.argv) != 3:
        die("usage: btf2isf.py VMLINUX OUT.json[.xz|.gz]")
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    secs = elf_sections(data)
    if ".BTF" not in secs:
        die("the image has no .BTF section")
    _addr, off, size = secs[".BTF"]
    user_types, base_types, enums = isf_from_btf(parse_btf(data[off:off + size]))
    syms = ksymtab(data, secs)
    if "init_task" not in syms:
        die("no init_task in the exported symbols (not an x86_64 Linux vmlinux?)")
    isf = {
        "metadata": {
            "format": "6.2.0",
            "producer": {"name": "vstrace scripts/btf2isf.py", "version": "1"},
        },
        "base_types": base_types,
        "user_types": user_types,
        "enums": enums,
        "symbols": {n: {"address": a} for n, a in sorted(syms.items())},
    }
    text = json.dumps(isf, separators=(",", ":")).encode()
    out = sys.argv[2]
    if out.endswith(".xz"):
        text = lzma.compress(text, preset=1)
    elif out.endswith(".gz"):
        text = gzip.compress(text, compresslevel=3)
    with open(out, "wb") as f:
        f.write(text)
    print(f"btf2isf: {len(user_types)} types, {len(syms)} symbols -> {out}")


main()
