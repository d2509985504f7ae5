#!/usr/bin/env python3
"""Checks that an ELF object can be linked by Go as its race runtime (race_linux.syso).

Usage: tools/syso_check.py [--floor] [--allowlist FILE] [--quiet] FILE

Exit status 0 when every check passes, 1 when any fails (each problem is printed
on its own line naming the offending symbol, section or relocation), 2 on bad
usage or an unreadable file.

The rules mirror what Go's internal linker (cmd/link/internal/loadelf) and the
cgo dynimport step accept, as recorded in docs/go-race-abi-notes.md §14:
a problem this tool misses surfaces later as an obscure link error in every
user's `go build -race`, so the checks err on the side of strictness.

The ELF file is read by tools/racert_cli/elf.py, the reader the racert tool uses.
"""

from __future__ import annotations

import argparse
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from racert_cli.elf import (  # noqa: E402  (needs the path above)
    BINDING_NAMES, ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_REL, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS,
    SHF_WRITE, SHT_FINI_ARRAY, SHT_GROUP, SHT_INIT_ARRAY, SHT_PREINIT_ARRAY, SHT_PROGBITS, SHT_REL, SHT_RELA,
    STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_COMMON, STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE, STT_OBJECT,
    STT_SECTION, STT_TLS, ElfFormatError, ElfObject, Relocation, Section, Symbol)

# The entry points Go 1.19 to 1.27 may reference (39 names: the union over
# those versions, read from the runtime sources of each release; 1.19 to 1.22
# reference 35 of them, without the atomic And/Or ones); a missing one is an
# undefined-symbol link error in some Go version. `racert` itself checks each
# release's own list (tools/racert_cli/abi.py), so later releases need no edit here.
REQUIRED_FUNCTIONS = [
    "__tsan_init", "__tsan_fini", "__tsan_map_shadow", "__tsan_proc_create",
    "__tsan_proc_destroy", "__tsan_go_start", "__tsan_go_end",
    "__tsan_finalizer_goroutine", "__tsan_malloc", "__tsan_free",
    "__tsan_read", "__tsan_write", "__tsan_read_pc", "__tsan_write_pc",
    "__tsan_read_range", "__tsan_write_range", "__tsan_func_enter",
    "__tsan_func_exit", "__tsan_acquire", "__tsan_release",
    "__tsan_release_merge", "__tsan_release_acquire",
    "__tsan_go_ignore_sync_begin", "__tsan_go_ignore_sync_end",
    "__tsan_report_count",
] + [
    f"__tsan_go_atomic{width}_{op}"
    for width in (32, 64)
    for op in ("load", "store", "exchange", "fetch_add", "fetch_and",
               "fetch_or", "compare_exchange")
]
assert len(REQUIRED_FUNCTIONS) == 39

# Defined global symbols must live in these namespaces. Anything else is an
# internal symbol that leaked out and could clash with a user's cgo code.
EXPORTED_PREFIXES = ("__tsan_", "__racert_")

# Undefined symbols that are never acceptable, whatever the allowlist says,
# with the reason given to whoever meets the error.
FORBIDDEN_UNDEFINED = [
    (re.compile(r"__libc_"), "glibc-internal symbol (not a stable interface)"),
    (re.compile(r"getauxval$"), "getauxval is not available to the race object"),
    (re.compile(r"__tls_get_addr$"), "TLS access: Go's internal linker rejects TLS"),
    (re.compile(r"__cxa_"), "C++ ABI runtime (static init guards, atexit, pure virtual)"),
    (re.compile(r"_Z"), "libstdc++ symbol (operator new/delete or another C++ library function)"),
    (re.compile(r"__stack_chk_fail"), "stack protector (build with -fno-stack-protector)"),
    (re.compile(r"__gxx_personality_v0$"), "C++ exceptions (build with -fno-exceptions)"),
    (re.compile(r"_Unwind_"), "C++ exceptions or unwinding runtime"),
]

# Relocation types loadelf understands on amd64; anything else fails the link
# with "unknown relocation type N; compiled without -fpic?".
ALLOWED_RELOCATIONS = {
    1: "R_X86_64_64", 2: "R_X86_64_PC32", 4: "R_X86_64_PLT32", 9: "R_X86_64_GOTPCREL",
    24: "R_X86_64_PC64", 41: "R_X86_64_GOTPCRELX", 42: "R_X86_64_REX_GOTPCRELX",
}
RELOCATION_NAMES = {
    0: "R_X86_64_NONE", 3: "R_X86_64_GOT32", 5: "R_X86_64_COPY", 6: "R_X86_64_GLOB_DAT",
    7: "R_X86_64_JUMP_SLOT", 8: "R_X86_64_RELATIVE", 10: "R_X86_64_32", 11: "R_X86_64_32S",
    12: "R_X86_64_16", 13: "R_X86_64_PC16", 14: "R_X86_64_8", 15: "R_X86_64_PC8",
    16: "R_X86_64_DTPMOD64", 17: "R_X86_64_DTPOFF64", 18: "R_X86_64_TPOFF64",
    19: "R_X86_64_TLSGD", 20: "R_X86_64_TLSLD", 21: "R_X86_64_DTPOFF32",
    22: "R_X86_64_GOTTPOFF", 23: "R_X86_64_TPOFF32", 25: "R_X86_64_GOTOFF64",
    26: "R_X86_64_GOTPC32", 27: "R_X86_64_GOT64", 28: "R_X86_64_GOTPCREL64",
    29: "R_X86_64_GOTPC64", 31: "R_X86_64_PLTOFF64", 32: "R_X86_64_SIZE32",
    33: "R_X86_64_SIZE64", 34: "R_X86_64_GOTPC32_TLSDESC", 35: "R_X86_64_TLSDESC_CALL",
    36: "R_X86_64_TLSDESC", 37: "R_X86_64_IRELATIVE", **ALLOWED_RELOCATIONS,
}

# Sections whose contents only a C runtime start-up sequence would run. Go's
# internal linker drops them silently, so the code in them would never execute.
CONSTRUCTOR_SECTION_TYPES = {SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY}
CONSTRUCTOR_SECTION_NAMES = re.compile(r"^\.(init_array|fini_array|preinit_array|ctors|dtors)(\.|$)")

DEFAULT_ALLOWLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "undefined_symbol_allowlist.txt")


def read_allowlist(path: str) -> set[str]:
    """One symbol name per line; `#` starts a comment."""
    names = set()
    with open(path, encoding="utf-8") as allowlist:
        for line in allowlist:
            name = line.split("#", 1)[0].strip()
            if name:
                names.add(name)
    return names


def check(elf: ElfObject, allowlist: set[str]) -> list[str]:
    """Returns one message per problem found; an empty list means linkable."""
    problems = check_format(elf)
    if not elf.is_64_bit_little_endian:
        return problems
    problems += check_sections(elf)
    symbol_problems, undefined = check_symbols(elf)
    problems += symbol_problems
    problems += check_required_functions(elf)
    problems += check_undefined(undefined, allowlist)
    problems += check_relocations(elf)
    return problems


def check_format(elf: ElfObject) -> list[str]:
    """ELF64, little-endian, a relocatable object for x86-64."""
    problems: list[str] = []
    if elf.elf_class != ELFCLASS64:
        problems.append(f"not ELF64 (EI_CLASS={elf.elf_class})")
    if elf.byte_order != ELFDATA2LSB:
        problems.append(f"not little-endian (EI_DATA={elf.byte_order})")
    if problems:
        return problems
    if elf.file_type != ET_REL:
        problems.append(f"e_type is {elf.file_type}, expected ET_REL (1): "
                        "Go links a relocatable object, not an executable or shared library")
    if elf.machine != EM_X86_64:
        problems.append(f"e_machine is {elf.machine}, expected EM_X86_64 (62)")
    return problems


# Initialized writable data the object may carry, in bytes. The runtime's big
# tables are zero-initialized (.bss: no bytes in the object, pages only where
# touched); one non-zero default in such a table moves all of it to .data,
# into every race-enabled binary (an 800 KiB slot pool did once).
MAX_WRITABLE_DATA_BYTES = 64 * 1024


def check_sections(elf: ElfObject) -> list[str]:
    """No constructors, no TLS, no writable-and-executable section, little
    initialized writable data."""
    problems: list[str] = []
    writable_data = 0
    for section in elf.sections[1:]:
        where = f"section [{section.index}] {section.name}"
        if (section.type == SHT_PROGBITS and section.flags & SHF_ALLOC and section.flags & SHF_WRITE
                and not section.flags & SHF_EXECINSTR):
            writable_data += section.size
        if section.type in CONSTRUCTOR_SECTION_TYPES or CONSTRUCTOR_SECTION_NAMES.match(section.name):
            problems.append(f"{where}: static constructor/destructor section; Go's internal "
                            "linker drops it, so the code would never run (initialise from __tsan_init)")
        if section.flags & SHF_TLS:
            problems.append(f"{where}: thread-local storage section (SHF_TLS); "
                            "Go's internal linker cannot link TLS (no thread_local)")
        if (section.flags & SHF_ALLOC and section.flags & SHF_WRITE
                and section.flags & SHF_EXECINSTR):
            problems.append(f"{where}: allocated section is both writable and executable; "
                            "Go's linker fails with 'unexpected flags for ELF section'")
    if writable_data > MAX_WRITABLE_DATA_BYTES:
        problems.append(f"{writable_data} bytes of initialized writable data (limit "
                        f"{MAX_WRITABLE_DATA_BYTES}): a global with a non-zero default member or "
                        "initializer left .bss; keep big state zero-initialized")
    return problems


def check_symbols(elf: ElfObject) -> tuple[list[str], set[str]]:
    """Each symbol's type, binding and home section; returns the problems and
    the names of the undefined symbols."""
    problems: list[str] = []
    undefined: set[str] = set()
    for symbol in elf.symbols[1:]:
        if symbol.type == STT_TLS:
            problems.append(f"symbol {symbol.describe()}: thread-local symbol (STT_TLS); "
                            "Go's internal linker rejects TLS (no thread_local)")
        elif symbol.type == STT_GNU_IFUNC:
            problems.append(f"symbol {symbol.describe()}: indirect function (STT_GNU_IFUNC) "
                            "is not supported by Go's internal linker")
        if symbol.type not in (STT_FUNC, STT_OBJECT, STT_NOTYPE, STT_COMMON):
            continue  # section and file symbols are handled by the linker itself
        if symbol.binding not in (STB_LOCAL, STB_GLOBAL, STB_WEAK):
            problems.append(f"symbol {symbol.describe()}: binding "
                            f"{BINDING_NAMES.get(symbol.binding, symbol.binding)} is rejected by "
                            "Go's linker ('invalid symbol binding'; build with -fno-gnu-unique)")
        if not symbol.is_defined:
            if symbol.name:
                undefined.add(symbol.name)
            continue
        problems += check_defined_symbol(elf, symbol)
    return problems, undefined


def check_defined_symbol(elf: ElfObject, symbol: Symbol) -> list[str]:
    """A defined symbol lives in a section Go loads and, if global, is an entry point."""
    if symbol.special_index:
        return []  # absolute or common: not tied to a section
    if symbol.section_index >= len(elf.sections):
        return [f"symbol {symbol.describe()}: section index {symbol.section_index} out of range"]
    problems: list[str] = []
    home = elf.sections[symbol.section_index]
    if home.type == SHT_GROUP:
        problems.append(f"symbol {symbol.describe()} is defined in the SHT_GROUP section "
                        f"[{home.index}] {home.name}; Go's linker fails with "
                        "'ignoring symbol in section' (C5/D5 constructor/destructor groups)")
    elif not home.loaded_by_go:
        problems.append(f"symbol {symbol.describe()} is defined in section [{home.index}] "
                        f"{home.name}, which Go's linker does not load "
                        "('ignoring symbol in section')")
    if symbol.binding != STB_LOCAL and symbol.name and not symbol.name.startswith(EXPORTED_PREFIXES):
        problems.append(f"symbol {symbol.describe()} is a defined global outside "
                        f"{'/'.join(p + '*' for p in EXPORTED_PREFIXES)}; it could clash with "
                        "user code (localise it, as build_syso.sh does)")
    return problems


def check_required_functions(elf: ElfObject) -> list[str]:
    """Every entry point Go may call is a defined global function."""
    problems: list[str] = []
    by_name: dict[str, list[Symbol]] = {}
    for symbol in elf.symbols[1:]:
        by_name.setdefault(symbol.name, []).append(symbol)
    for name in REQUIRED_FUNCTIONS:
        definitions = [s for s in by_name.get(name, []) if s.is_defined]
        if not definitions:
            problems.append(f"missing required symbol {name}: not defined in the object")
            continue
        symbol = definitions[0]
        if symbol.binding != STB_GLOBAL:
            problems.append(f"required symbol {symbol.describe()}: must be GLOBAL")
        if symbol.type != STT_FUNC:
            problems.append(f"required symbol {symbol.describe()}: must be FUNC")
    return problems


def check_undefined(undefined: set[str], allowlist: set[str]) -> list[str]:
    """Undefined symbols: never a forbidden one, otherwise only allowlisted ones."""
    problems: list[str] = []
    for name in sorted(undefined):
        reason = next((why for pattern, why in FORBIDDEN_UNDEFINED if pattern.match(name)), None)
        if reason:
            problems.append(f"undefined symbol {name} is forbidden: {reason}")
        elif name not in allowlist:
            problems.append(f"undefined symbol {name} is not in the allowlist "
                            "(tools/undefined_symbol_allowlist.txt); add it there with the reason "
                            "if the object really needs it")
    return problems


def check_relocations(elf: ElfObject) -> list[str]:
    """Relocations of the sections Go loads: types Go's linker applies, against
    symbols in sections it loads."""
    problems: list[str] = []
    for section in elf.sections:
        if section.type not in (SHT_RELA, SHT_REL):
            continue
        if section.info >= len(elf.sections):
            problems.append(f"relocation section {section.name}: target section index out of range")
            continue
        target = elf.sections[section.info]
        if not target.loaded_by_go:
            continue  # e.g. .rela.debug_info: Go never applies these
        for relocation in elf.relocations(section):
            if relocation.type != 0:  # R_X86_64_NONE is skipped by the linker
                problems += check_relocation(elf, target, relocation)
    return problems


def check_relocation(elf: ElfObject, target: Section, relocation: Relocation) -> list[str]:
    problems: list[str] = []
    symbol = (elf.symbols[relocation.symbol_index]
              if relocation.symbol_index < len(elf.symbols) else None)
    if symbol is None:
        symbol_text = "?"
    else:
        symbol_text = symbol.name or (elf.sections[symbol.section_index].name
                                      if symbol.type == STT_SECTION
                                      and symbol.section_index < len(elf.sections) else "?")
    where = f"relocation in {target.name}+{relocation.offset:#x} against {symbol_text}"
    if relocation.type not in ALLOWED_RELOCATIONS:
        type_name = RELOCATION_NAMES.get(relocation.type, f"type {relocation.type}")
        problems.append(f"{where}: {type_name} is not accepted by Go's linker "
                        "('unknown relocation type'; compile with -fPIC, no TLS)")
    if symbol is None:
        problems.append(f"{where}: symbol index {relocation.symbol_index} out of range")
    elif (symbol.type == STT_SECTION and not symbol.special_index
          and symbol.section_index < len(elf.sections)
          and not elf.sections[symbol.section_index].loaded_by_go):
        problems.append(f"{where}: refers to a section Go's linker does not load "
                        "('reloc of invalid sym')")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Check that an object is linkable by Go as race_linux.syso.")
    parser.add_argument("--floor", action="store_true",
                        help="the object is the no-detection floor (same checks; labelled as such)")
    parser.add_argument("--allowlist", default=DEFAULT_ALLOWLIST,
                        help="undefined-symbol allowlist (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    parser.add_argument("file")
    args = parser.parse_args(argv)

    try:
        with open(args.file, "rb") as handle:
            data = handle.read()
        allowlist = read_allowlist(args.allowlist)
    except OSError as error:
        print(f"syso_check: {error}", file=sys.stderr)
        return 2

    label = f"{args.file}{' (floor object: detects no races)' if args.floor else ''}"
    try:
        elf = ElfObject(data)
        problems = check(elf, allowlist)
    except (ElfFormatError, struct.error, IndexError) as error:
        problems = [f"malformed ELF: {error}"]

    if problems:
        for problem in problems:
            print(f"syso_check: ERROR: {args.file}: {problem}", file=sys.stderr)
        print(f"syso_check: FAILED: {label}: {len(problems)} problem(s)", file=sys.stderr)
        return 1

    if not args.quiet:
        undefined = sorted({s.name for s in elf.symbols[1:] if not s.is_defined and s.name})
        print(f"syso_check: OK: {label}: {len(data)} bytes, {len(elf.sections)} sections, "
              f"{len(REQUIRED_FUNCTIONS)} entry points")
        print(f"syso_check: undefined symbols ({len(undefined)}): {' '.join(undefined) or '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
