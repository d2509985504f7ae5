"""Go package archives (the .a files cmd/go hands to the linker) and the two changes
`racert go` makes to a copy of runtime/race's archives just before linking.

Format (what cmd/go and cmd/compile write, which is the common Unix ar format):
the magic "!<arch>\\n", then members, each a 60-byte header (name 16, mtime 12,
uid 6, gid 6, mode 8, size 10, "`\\n") followed by `size` bytes and one padding
byte when `size` is odd. cmd/go appends a package's .syso files to the archive
itself, in-process (no tool runs, so -toolexec never sees it), naming each member
after the file, cut to 16 bytes: "race_linux.syso" (Go 1.20+, package
runtime/race/internal/amd64v1 or amd64v3) or "race_linux_amd64" (Go 1.19,
race_linux_amd64.syso in runtime/race itself).

The Go object member (_go_.o) of a cgo package carries, in its text header, the
cgo directives of the package as one JSON array between "\\n$$  // cgo\\n" and the
next "\\n$$". runtime/race is a cgo package; its directives include one
cgo_import_dynamic per libc function that the race object linked by cmd/go's
dynimport step needs. That step ran with the official object, so a function only
racert's object calls must be added there, or Go's internal linker stops with
"relocation target memcpy not defined".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .errors import RacertError

MAGIC = b"!<arch>\n"
HEADER_SIZE = 60
_HEADER_END = b"`\n"
# Member names cmd/go gives the linux/amd64 race object (see the module docstring).
RACE_MEMBER_NAMES = ("race_linux.syso", "race_linux_amd64")
GO_OBJECT_MEMBER = "_go_.o"
_CGO_SECTION_START = b"\n$$  // cgo\n"
_SECTION_END = b"\n$$"


@dataclass
class Member:
    header: bytes  # the 60 header bytes as read (or as rebuilt for new data)
    data: bytes

    @property
    def name(self) -> str:
        # GNU ar ends short names with "/"; cmd/go pads with spaces only.
        return self.header[:16].decode("latin-1").rstrip(" ").rstrip("/")

    def with_data(self, data: bytes) -> "Member":
        size = b"%-10d" % len(data)
        return Member(header=self.header[:48] + size + self.header[58:], data=data)


def parse(content: bytes, label: str = "archive") -> list[Member]:
    if not content.startswith(MAGIC):
        raise RacertError(f"{label} is not an archive (no !<arch> magic)")
    members = []
    position = len(MAGIC)
    while position < len(content):
        header = content[position:position + HEADER_SIZE]
        if len(header) < HEADER_SIZE or header[58:60] != _HEADER_END:
            raise RacertError(f"{label}: damaged member header at offset {position}")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise RacertError(f"{label}: bad member size at offset {position}") from None
        start = position + HEADER_SIZE
        if start + size > len(content):
            raise RacertError(f"{label}: member at offset {position} runs past the end")
        members.append(Member(header=header, data=content[start:start + size]))
        position = start + size + (size & 1)
    return members


def serialize(members: list[Member]) -> bytes:
    parts = [MAGIC]
    for member in members:
        parts.append(member.header)
        parts.append(member.data)
        if len(member.data) & 1:
            parts.append(b"\n")
    return b"".join(parts)


def replace_race_object(members: list[Member], race_object: bytes) -> tuple[list[Member], int]:
    """The members with every race object member's data replaced; and how many."""
    replaced = 0
    result = []
    for member in members:
        if member.name in RACE_MEMBER_NAMES:
            member = member.with_data(race_object)
            replaced += 1
        result.append(member)
    return result, replaced


def cgo_imported_names(members: list[Member]) -> set[str] | None:
    """Local names of the cgo_import_dynamic directives of the Go object member;
    None when the archive has no cgo section."""
    for member in members:
        if member.name == GO_OBJECT_MEMBER:
            found = _cgo_section(member.data)
            if found is not None:
                directives = found[2]
                return {entry[1] for entry in directives if len(entry) > 1 and entry[0] == "cgo_import_dynamic"}
    return None


def add_dynamic_imports(members: list[Member], names: list[str], library: str) -> tuple[list[Member], list[str]]:
    """Add `//go:cgo_import_dynamic NAME NAME "library"` for each name not imported
    yet to the cgo section of the Go object member. Returns the members and the
    names added. Raises RacertError when the archive has no cgo section."""
    result = []
    added: list[str] = []
    found_section = False
    for member in members:
        if member.name == GO_OBJECT_MEMBER and not found_section:
            found = _cgo_section(member.data)
            if found is not None:
                found_section = True
                start, end, directives = found
                present = {entry[1] for entry in directives if len(entry) > 1 and entry[0] == "cgo_import_dynamic"}
                added = [name for name in names if name not in present]
                if added:
                    directives = directives + [["cgo_import_dynamic", name, name, library] for name in added]
                    text = json.dumps(directives, separators=(",", ":")).encode() + b"\n"
                    member = member.with_data(member.data[:start] + text + member.data[end:])
        result.append(member)
    if not found_section:
        raise RacertError("no cgo directives in the package's Go object (was it built with cgo?)")
    return result, added


def _cgo_section(go_object: bytes) -> tuple[int, int, list] | None:
    """(start, end, directives) of the JSON text of the cgo section, if any. Only the
    text header is searched: it ends at the first "\\n!\\n" outside $$ sections,
    which a well-formed header reaches after the cgo section."""
    marker = go_object.find(_CGO_SECTION_START)
    if marker < 0:
        return None
    start = marker + len(_CGO_SECTION_START)
    end = go_object.find(_SECTION_END, start)
    if end < 0:
        raise RacertError("unterminated cgo section in a Go object")
    try:
        directives = json.loads(go_object[start:end])
    except ValueError as error:
        raise RacertError(f"unreadable cgo section in a Go object: {error}") from None
    if not isinstance(directives, list):
        raise RacertError("unexpected cgo section in a Go object (not a JSON array)")
    return start, end, directives
