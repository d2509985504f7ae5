"""What a Go release asks of the race object, read from that release's own sources.

A Go release calls the object only through `__tsan_*` entry points, and its sources
name every one of them:
  src/runtime/race.go       the entry points called through racecall(), declared
                            with //go:linkname and //go:cgo_import_static
  src/runtime/race_amd64.s  the memory-access, function-entry and atomic entry points,
                            loaded as $__tsan_X(SB) before jumping into the object
  src/cmd/cgo/out.go        the C declarations cgo emits into -race cgo packages
                            (`extern void __tsan_acquire(void*);`); optional
Comments are ignored (race_amd64.s documents each call with a C prototype), except
the //go: directives of race.go, which are what makes the linker look the names up.

racert serves a release when the object exports (defines with global binding) every
name the release references; the release's version number plays no part in that
decision. Invariant: required_entry_points() never returns an empty mapping for a
tree it accepts (an empty set would let any object through).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import elf
from .errors import RacertError
from .objects import RaceObject
from .toolchain import Goroot

# Sources that must exist in a GOROOT racert serves, and the optional one.
RACE_GO = "src/runtime/race.go"
RACE_AMD64_S = "src/runtime/race_amd64.s"
CGO_OUTPUT = "src/cmd/cgo/out.go"

_ENTRY_POINT = re.compile(r"\b(__tsan_\w+)")
_DIRECTIVE = re.compile(r"^\s*//go:(?:linkname|cgo_import_static)\s+(.*)$")
_LINE_COMMENT = re.compile(r"//.*$")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_C_EXTERN = re.compile(r"\bextern\b[^;(\n]*?\b(__tsan_\w+)\s*\(")


@dataclass(frozen=True)
class EntryPointCheck:
    required: dict[str, str]  # entry point -> the first source file (GOROOT-relative) naming it
    missing: tuple[str, ...]  # required but not exported by the object, sorted

    @property
    def ok(self) -> bool:
        return not self.missing


def required_entry_points(goroot: Path) -> dict[str, str]:
    """Every __tsan_* name the release at `goroot` references, with where it is named."""
    found: dict[str, str] = {}
    for relative, extract in ((RACE_GO, _names_in_go), (RACE_AMD64_S, _names_in_assembly)):
        source = goroot / relative
        if not source.is_file():
            raise RacertError(
                f"cannot tell which race entry points the Go release in {goroot} calls: {relative} is missing")
        for name in extract(source.read_text(errors="replace")):
            found.setdefault(name, relative)
    cgo_output = goroot / CGO_OUTPUT
    if cgo_output.is_file():
        for name in _C_EXTERN.findall(cgo_output.read_text(errors="replace")):
            found.setdefault(name, CGO_OUTPUT)
    if not found:
        raise RacertError(
            f"cannot tell which race entry points the Go release in {goroot} calls: "
            f"{RACE_GO} and {RACE_AMD64_S} name none")
    return found


def exported_entry_points(race_object: RaceObject) -> set[str]:
    """The __tsan_* names the object defines with global (or weak) binding."""
    try:
        symbols = elf.read_symbols(race_object.content)
    except elf.ElfFormatError as error:
        raise RacertError(f"object unusable: {race_object.path}: {error}") from None
    return {symbol.name for symbol in symbols
            if symbol.is_defined and symbol.is_global and symbol.name.startswith("__tsan_")}


def check_entry_points(goroot: Path, race_object: RaceObject) -> EntryPointCheck:
    required = required_entry_points(goroot)
    exported = exported_entry_points(race_object)
    return EntryPointCheck(required=required, missing=tuple(sorted(set(required) - exported)))


def require_entry_points(goroot: Goroot, race_object: RaceObject) -> EntryPointCheck:
    """check_entry_points(), raising the refusal when the object lacks anything."""
    result = check_entry_points(goroot.path, race_object)
    if not result.ok:
        raise RacertError(refusal_message(goroot, race_object, result))
    return result


def refusal_message(goroot: Goroot, race_object: RaceObject, result: EntryPointCheck) -> str:
    by_source: dict[str, list[str]] = {}
    for name in result.missing:
        by_source.setdefault(result.required[name], []).append(name)
    where = "; ".join(f"{', '.join(names)} (named in {source})" for source, names in sorted(by_source.items()))
    count = len(result.missing)
    return (f"{goroot.version.text} in {goroot.path} calls {count} race entry point{'s' if count > 1 else ''} "
            f"that the object {race_object.path} does not export: {where}; racert cannot serve this Go "
            f"release with this object")


def _names_in_go(text: str) -> list[str]:
    text = _BLOCK_COMMENT.sub("", text)
    names = []
    for line in text.splitlines():
        directive = _DIRECTIVE.match(line)
        if directive:
            names += _ENTRY_POINT.findall(directive.group(1))
        else:
            names += _ENTRY_POINT.findall(_LINE_COMMENT.sub("", line))
    return names


def _names_in_assembly(text: str) -> list[str]:
    text = _BLOCK_COMMENT.sub("", text)
    return [name for line in text.splitlines() for name in _ENTRY_POINT.findall(_LINE_COMMENT.sub("", line))]
