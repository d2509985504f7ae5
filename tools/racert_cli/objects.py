"""Which race object racert substitutes, and what an object found in a GOROOT is.

Object choice, first match wins: `--object FILE`, $RACERT_OBJECT, then the repository's
build/race_linux.syso (written by ./build_syso.sh). A RaceObject has been read whole,
checked to be an x86-64 ELF relocatable object, and carries its SHA-256, so later
steps never re-read a file that might be rebuilt meanwhile.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from . import elf
from .errors import RacertError

OBJECT_ENV = "RACERT_OBJECT"

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_OBJECT = REPOSITORY_ROOT / "build" / "race_linux.syso"

# Names only the LLVM ThreadSanitizer runtime defines: its common support library
# lives in the C++ namespace __sanitizer (mangled _ZN11__sanitizer...) and exports
# __sanitizer_* helpers. racert's object uses neither.
_OFFICIAL_SYMBOL_PREFIXES = ("_ZN11__sanitizer", "__sanitizer_")
_RACERT_NAMESPACE_MARK = "6racert"


@dataclass(frozen=True)
class RaceObject:
    path: Path
    content: bytes
    sha256: str


def sha256_of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def choose_object_path(explicit: str | None) -> tuple[Path, bool]:
    """The object path and whether the user named it (False: the default build output)."""
    if explicit:
        return Path(explicit).absolute(), True
    from_environment = os.environ.get(OBJECT_ENV)
    if from_environment:
        return Path(from_environment).absolute(), True
    return DEFAULT_OBJECT, False


def load_object(explicit: str | None) -> RaceObject:
    path, named_by_user = choose_object_path(explicit)
    if not path.is_file():
        if named_by_user:
            raise RacertError(f"object not found: {path} does not exist")
        raise RacertError(f"object not built: {path} does not exist; run ./build_syso.sh in {REPOSITORY_ROOT}")
    content = path.read_bytes()
    problem = elf.relocatable_x86_64_problem(content)
    if problem is not None:
        raise RacertError(f"object unusable: {path}: {problem}")
    return RaceObject(path=path, content=content, sha256=sha256_of_bytes(content))


def default_object_sha256() -> str | None:
    """SHA-256 of build/race_linux.syso, or None when it has not been built."""
    return sha256_of_file(DEFAULT_OBJECT) if DEFAULT_OBJECT.is_file() else None


def looks_official(data: bytes) -> bool:
    """True for the race object Go ships (LLVM ThreadSanitizer in Go mode)."""
    names = _defined_names(data)
    return "__tsan_init" in names and any(name.startswith(_OFFICIAL_SYMBOL_PREFIXES) for name in names)


def looks_like_racert(data: bytes) -> bool:
    """True for a racert detector object of any build: its code lives in the C++
    namespace racert, which appears in mangled names as "6racert"."""
    names = _defined_names(data)
    return "__tsan_init" in names and any(_RACERT_NAMESPACE_MARK in name for name in names)


def _defined_names(data: bytes) -> set[str]:
    try:
        return {symbol.name for symbol in elf.read_symbols(data) if symbol.is_defined}
    except elf.ElfFormatError:
        return set()
