"""The one ELF64 reader of racert's tools (little-endian files only).

Two users:
  - the racert tool rejects a file that cannot be a race object before putting it
    into a GOROOT (a truncated build, a text file, an object for another
    architecture), and recognises objects by their symbol names
    (relocatable_x86_64_problem, read_symbols);
  - tools/syso_check.py checks everything Go's internal linker looks at: section
    types and flags, symbol bindings, types and homes, relocations (ElfObject).

The file is parsed here with `struct` rather than through readelf/nm so the
result never depends on a binutils version's output format. Malformed input
raises ElfFormatError from read_symbols; ElfObject may also let struct.error or
IndexError through, which syso_check reports as a malformed file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# ELF constants (System V gABI and the x86-64 psABI).
ELF_MAGIC = b"\x7fELF"
ELFCLASS64, ELFDATA2LSB, ET_REL, EM_X86_64 = 2, 1, 1, 62
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS, SHT_REL = 1, 2, 3, 4, 8, 9
SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY, SHT_GROUP, SHT_SYMTAB_SHNDX = 14, 15, 16, 17, 18
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 0x1, 0x2, 0x4, 0x400
SHN_UNDEF, SHN_LORESERVE, SHN_XINDEX = 0, 0xFF00, 0xFFFF
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE, STT_COMMON, STT_TLS, STT_GNU_IFUNC = (
    0, 1, 2, 3, 4, 5, 6, 10)

SYMBOL_TYPE_NAMES = {0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE",
                     5: "COMMON", 6: "TLS", 10: "GNU_IFUNC"}
BINDING_NAMES = {0: "LOCAL", 1: "GLOBAL", 2: "WEAK", 10: "GNU_UNIQUE"}

_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")


class ElfFormatError(Exception):
    """The bytes are not a well-formed little-endian ELF64 file."""


@dataclass
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int

    @property
    def loaded_by_go(self) -> bool:
        """Whether Go's internal linker maps this section into the program."""
        return self.type in (SHT_PROGBITS, SHT_NOBITS) and bool(self.flags & SHF_ALLOC)


@dataclass
class Symbol:
    index: int
    name: str
    binding: int
    type: int
    visibility: int
    section_index: int  # already resolved through SHT_SYMTAB_SHNDX
    special_index: bool  # SHN_ABS, SHN_COMMON and the like: not a real section
    size: int

    @property
    def is_defined(self) -> bool:
        return self.section_index != SHN_UNDEF

    @property
    def is_function(self) -> bool:
        return self.type == STT_FUNC

    @property
    def is_global(self) -> bool:
        """Global or weak binding: visible to the linker from other objects."""
        return self.binding in (STB_GLOBAL, STB_WEAK)

    def describe(self) -> str:
        return (f"{self.name or '<unnamed>'} ({BINDING_NAMES.get(self.binding, self.binding)} "
                f"{SYMBOL_TYPE_NAMES.get(self.type, self.type)})")


@dataclass
class Relocation:
    offset: int
    type: int
    symbol_index: int


class ElfObject:
    """Sections and symbols of an ELF64 file; a file of another class or byte
    order has neither (elf_class and byte_order say why)."""

    def __init__(self, data: bytes):
        self.data = data
        if len(data) < _ELF_HEADER.size or not data.startswith(ELF_MAGIC):
            raise ElfFormatError("not an ELF file")
        self.elf_class, self.byte_order = data[4], data[5]
        if not self.is_64_bit_little_endian:
            # Nothing below can be parsed with the 64-bit little-endian layout.
            self.sections, self.symbols = [], []
            self.file_type = self.machine = None
            return
        (_ident, self.file_type, self.machine, _version, _entry, _phoff, shoff, _flags, _ehsize,
         _phentsize, _phnum, shentsize, shnum, shstrndx) = _ELF_HEADER.unpack_from(data)
        if shoff == 0:
            raise ElfFormatError("no section header table")
        if shentsize != _SECTION_HEADER.size:
            raise ElfFormatError(f"unexpected section header size {shentsize}")
        # Large section counts and string-table indices spill into section 0.
        first = self._read_section_header(shoff, 0)
        if shnum == 0:
            shnum = first[5]  # sh_size of section 0
        if shstrndx == SHN_XINDEX:
            shstrndx = first[7]  # sh_link of section 0
        headers = [self._read_section_header(shoff, i) for i in range(shnum)]
        if not 0 <= shstrndx < shnum:
            raise ElfFormatError("section name string table index out of range")
        names_offset = headers[shstrndx][4]
        self.sections = [
            Section(i, self._string(names_offset, h[0]), h[1], h[2], h[4], h[5], h[6], h[7], h[9])
            for i, h in enumerate(headers)
        ]
        self.symbols = self._read_symbols()

    @property
    def is_64_bit_little_endian(self) -> bool:
        return self.elf_class == ELFCLASS64 and self.byte_order == ELFDATA2LSB

    def _read_section_header(self, table_offset: int, index: int) -> tuple:
        position = table_offset + _SECTION_HEADER.size * index
        if position + _SECTION_HEADER.size > len(self.data):
            raise ElfFormatError(f"section header {index} lies past the end of the file")
        return _SECTION_HEADER.unpack_from(self.data, position)

    def _string(self, table_offset: int, offset: int) -> str:
        start = table_offset + offset
        end = self.data.find(b"\0", start)
        if start >= len(self.data) or end < 0:
            raise ElfFormatError("string table reference out of range")
        return self.data[start:end].decode("utf-8", "replace")

    def _contents(self, section: Section) -> bytes:
        if section.type == SHT_NOBITS:
            return b""
        if section.offset + section.size > len(self.data):
            raise ElfFormatError(f"section {section.name} lies past the end of the file")
        return self.data[section.offset:section.offset + section.size]

    def _read_symbols(self) -> list[Symbol]:
        tables = [s for s in self.sections if s.type == SHT_SYMTAB]
        if not tables:
            return []
        if len(tables) > 1:
            raise ElfFormatError("more than one symbol table")
        table = tables[0]
        strings_offset = self.sections[table.link].offset
        extended = next((s for s in self.sections
                         if s.type == SHT_SYMTAB_SHNDX and s.link == table.index), None)
        extended_indices = self._contents(extended) if extended else b""
        raw = self._contents(table)
        symbols = []
        for i in range(len(raw) // _SYMBOL.size):
            name, info, other, shndx, _value, size = _SYMBOL.unpack_from(raw, _SYMBOL.size * i)
            special = SHN_LORESERVE <= shndx < SHN_XINDEX
            if shndx == SHN_XINDEX:
                shndx = struct.unpack_from("<I", extended_indices, 4 * i)[0]
            symbols.append(Symbol(i, self._string(strings_offset, name), info >> 4,
                                  info & 0xF, other & 0x3, shndx, special, size))
        return symbols

    def relocations(self, section: Section) -> list[Relocation]:
        raw = self._contents(section)
        entry_size = 24 if section.type == SHT_RELA else 16
        result = []
        for i in range(len(raw) // entry_size):
            offset, info = struct.unpack_from("<QQ", raw, entry_size * i)
            result.append(Relocation(offset, info & 0xFFFFFFFF, info >> 32))
        return result


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


def read_symbols(data: bytes) -> list[Symbol]:
    """All named symbols of the symbol table (none if the file has no table)."""
    try:
        elf = ElfObject(data)
    except (struct.error, IndexError) as error:
        raise ElfFormatError(f"malformed ELF file: {error}") from None
    if not elf.is_64_bit_little_endian:
        raise ElfFormatError("not a little-endian 64-bit ELF file")
    return [symbol for symbol in elf.symbols if symbol.name]
