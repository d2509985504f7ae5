"""Just enough ELF64 reading to vet a race object and list its symbols.

racert must reject a file that cannot be a race object before putting it into a
GOROOT (a truncated build, a text file, an object for another architecture), and it
recognises the official LLVM object by its symbol names. Both need only the section
headers and the symbol table, so this reader handles little-endian ELF64 and nothing
else. Malformed input raises ElfFormatError, never IndexError or struct.error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_REL = 1
EM_X86_64 = 62

SHT_SYMTAB = 2
SHN_UNDEF = 0
STT_FUNC = 2
STB_GLOBAL = 1
STB_WEAK = 2

_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")


class ElfFormatError(Exception):
    """The bytes are not a well-formed little-endian ELF64 file."""


@dataclass(frozen=True)
class ElfSymbol:
    name: str
    size: int
    is_function: bool
    is_defined: bool
    is_global: bool  # global or weak binding: visible to the linker from other objects


def relocatable_x86_64_problem(data: bytes) -> str | None:
    """Why `data` cannot be linked as a linux/amd64 .syso, or None if it can."""
    if len(data) < _ELF_HEADER.size or not data.startswith(ELF_MAGIC):
        return "not an ELF file"
    ident, e_type, e_machine = _ELF_HEADER.unpack_from(data)[:3]
    if ident[4] != ELFCLASS64 or ident[5] != ELFDATA2LSB:
        return "not a little-endian 64-bit ELF file"
    if e_type != ET_REL:
        return f"ELF type {e_type} is not a relocatable object (ET_REL)"
    if e_machine != EM_X86_64:
        return f"ELF machine {e_machine} is not x86-64"
    return None


def read_symbols(data: bytes) -> list[ElfSymbol]:
    """All named symbols of the (first) SHT_SYMTAB section."""
    try:
        return list(_iter_symbols(data))
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise ElfFormatError(f"malformed ELF file: {error}") from None


def _iter_symbols(data: bytes):
    if not data.startswith(ELF_MAGIC):
        raise ElfFormatError("not an ELF file")
    header = _ELF_HEADER.unpack_from(data)
    section_offset, entry_size, section_count = header[6], header[11], header[12]
    if entry_size != _SECTION_HEADER.size:
        raise ElfFormatError("unexpected section header size")
    sections = [
        _SECTION_HEADER.unpack_from(data, section_offset + index * entry_size)
        for index in range(section_count)
    ]
    for section in sections:
        if section[1] != SHT_SYMTAB:
            continue
        symtab_offset, symtab_size, strtab_index = section[4], section[5], section[6]
        strtab_offset = sections[strtab_index][4]
        for offset in range(symtab_offset, symtab_offset + symtab_size, _SYMBOL.size):
            name_offset, info, _other, section_index, _value, size = _SYMBOL.unpack_from(data, offset)
            if name_offset == 0:
                continue
            name_end = data.index(b"\0", strtab_offset + name_offset)
            name = data[strtab_offset + name_offset:name_end].decode("utf-8")
            yield ElfSymbol(
                name=name,
                size=size,
                is_function=(info & 0xF) == STT_FUNC,
                is_defined=section_index != SHN_UNDEF,
                is_global=(info >> 4) in (STB_GLOBAL, STB_WEAK),
            )
        return
