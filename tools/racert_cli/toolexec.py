"""`racert go` through cmd/go's -toolexec: the real GOROOT and the user's GOCACHE,
with racert's object handed to the linker.

How cmd/go gets the race object into a binary (cmd/go/internal/work): a package's
.syso files are appended to its archive in-process (gc.go, packInternal), and the
linker reads that archive through the `packagefile` lines of the -importcfg file
cmd/go writes for it. So the linker is the one tool that sees the object, and the
only one racert changes: GOFLAGS gets -toolexec=<wrapper>, a small shell script
(one per object) that execs every tool unchanged except `link`, which goes to
`racert __link`:
- `link -V=full` (cmd/go's buildid.go toolID runs every tool this way, through
  -toolexec, and puts the answer into the action ID of every link): the real
  answer with " racert-object=<sha256>" added (for a devel toolchain, whose ID is
  the content ID at the end of the line, added to that). So racert-linked
  binaries and test results never share cache keys with official ones, while
  every compiled package (identical in both modes) is shared.
- a link: the importcfg is copied with the archives of runtime/race and
  runtime/race/internal/amd64v{1,3} replaced by copies (in the link's own work
  directory, which cmd/go deletes) in which the race object member holds racert's
  object, and in which runtime/race's cgo directives also import, from libc, the
  functions racert's object calls that the official one does not (see goarchive).
  A link that names runtime/race but where no race object member is found fails
  rather than link the official object.

The wrapper and a private copy of the object live in
${XDG_CACHE_HOME:-~/.cache}/racert/toolexec/<object sha256 prefix>/, written once
(atomically) and never changed: the object a link uses is always the one whose
hash the -V=full answer named.

A -toolexec the user gives (on the command line or in GOFLAGS) is kept: racert
takes it out of the arguments, and the wrapper runs every tool through it
(RACERT_INNER_TOOLEXEC), racert's changes to the linker's arguments included.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from . import abi, elf, goarchive
from .errors import RacertError
from .objects import RaceObject, sha256_of_file
from .toolchain import Goroot

INNER_ENV = "RACERT_INNER_TOOLEXEC"
LINK_COMMAND = "__link"
RACE_PACKAGES = ("runtime/race", "runtime/race/internal/amd64v1", "runtime/race/internal/amd64v3")
DYNAMIC_LIBRARY = "libc.so.6"
MARK = "racert-object="
_KEY_LENGTH = 16
# libgcc's helpers (__popcountdi2, __udivti3, __mulxc3: "__", then a mode suffix and
# an operand count) are not in libc; Go's linker takes them from libgcc.a itself.
_LIBGCC_HELPER = re.compile(r"^__[a-z0-9_]*[a-z][a-z]?\d$")
_LAUNCHER = Path(__file__).resolve().parent.parent.parent / "racert"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "racert"


def ensure_wrapper(race_object: RaceObject) -> Path:
    """The wrapper script for this object (and its private copy), created if needed."""
    directory = cache_root() / "toolexec" / race_object.sha256[:_KEY_LENGTH]
    object_copy = directory / "race_linux.syso"
    wrapper = directory / "toolexec"
    if any(character.isspace() for character in str(wrapper)):
        raise RacertError(f"the racert cache path {directory} contains white space, which GOFLAGS "
                          f"cannot carry; set XDG_CACHE_HOME to a path without it")
    script = _wrapper_script(object_copy)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not object_copy.is_file() or sha256_of_file(object_copy) != race_object.sha256:
            _write_atomically(object_copy, race_object.content, 0o444)
        if not wrapper.is_file() or wrapper.read_text() != script:
            _write_atomically(wrapper, script.encode(), 0o755)
    except OSError as error:
        raise RacertError(f"cannot prepare {directory}: {error}") from None
    return wrapper


def _wrapper_script(object_copy: Path) -> str:
    link = f"{shlex.quote(sys.executable)} {shlex.quote(str(_LAUNCHER))} {LINK_COMMAND} {shlex.quote(str(object_copy))}"
    return f"""#!/bin/sh
# racert -toolexec wrapper: the linker gets racert's race object
# ({object_copy}); every other tool runs unchanged (through
# ${INNER_ENV}, the -toolexec given to `racert go`, if any).
case "${{1##*/}}" in
  link | link.exe) exec {link} "$@" ;;
esac
if [ -n "${{{INNER_ENV}:-}}" ]; then exec {link.replace(LINK_COMMAND, LINK_COMMAND + " --inner-only")} "$@"; fi
exec "$@"
"""


def _write_atomically(path: Path, content: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        with open(temporary, "xb") as stream:
            stream.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def split_quoted(text: str) -> list[str]:
    """Fields of a -toolexec value or GOFLAGS as cmd/go splits them: white space
    separates fields; a field may be quoted whole with ' or " (no escapes)."""
    fields = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return fields
        if text[position] in "'\"":
            quote = text[position]
            end = text.find(quote, position + 1)
            if end < 0:
                raise RacertError(f"unterminated {quote} in {text!r}")
            fields.append(text[position + 1:end])
            position = end + 1
        else:
            end = position
            while end < len(text) and not text[end].isspace():
                end += 1
            fields.append(text[position:end])
            position = end


def _toolexec_value(argument: str) -> str | None:
    for prefix in ("-toolexec=", "--toolexec="):
        if argument.startswith(prefix):
            return argument[len(prefix):]
    return None


def take_user_toolexec(go_arguments: list[str], goflags: str) -> tuple[list[str], str, str | None]:
    """Remove -toolexec from the go arguments (up to -args or --; for `go run`, up
    to the first non-flag argument) and from GOFLAGS. Returns the arguments, the
    GOFLAGS and the -toolexec in force (the command line's over GOFLAGS', as
    cmd/go does), or None."""
    chosen = None
    flags = split_quoted(goflags)
    kept_flags = []
    for flag in flags:
        value = _toolexec_value(flag)
        if value is None:
            kept_flags.append(flag)
        else:
            chosen = value
    arguments = list(go_arguments)
    kept = arguments[:1]
    index = 1
    while index < len(arguments):
        argument = arguments[index]
        if argument in ("-args", "--args", "--"):
            kept.extend(arguments[index:])
            break
        value = _toolexec_value(argument)
        if argument in ("-toolexec", "--toolexec"):
            if index + 1 >= len(arguments):
                raise RacertError(f"{argument} needs a value")
            chosen = arguments[index + 1]
            index += 2
            continue
        if value is not None:
            chosen = value
        else:
            kept.append(argument)
            if arguments[:1] == ["run"] and not argument.startswith("-"):
                kept.extend(arguments[index + 1:])
                break
        index += 1
    new_goflags = " ".join(kept_flags) if len(kept_flags) != len(flags) else goflags
    return kept, new_goflags, chosen


def go_environment(wrapper: Path, base: dict[str, str], go_arguments: list[str]) -> tuple[list[str], dict[str, str]]:
    """The go arguments and environment that make go link racert's object."""
    environment = dict(base)
    arguments, goflags, inner = take_user_toolexec(go_arguments, base.get("GOFLAGS", ""))
    if inner is not None and inner.strip():
        split_quoted(inner)  # refuse a value cmd/go could not split either
        environment[INNER_ENV] = inner
    else:
        environment.pop(INNER_ENV, None)
    environment["GOFLAGS"] = " ".join(filter(None, [goflags, f"-toolexec={wrapper}"]))
    environment["GOTOOLCHAIN"] = "local"
    return arguments, environment


def check_go(goroot: Goroot, race_object: RaceObject) -> None:
    abi.require_entry_points(goroot, race_object)


# ---- the linker side: `racert __link OBJECT TOOL ARGS...` (run by the wrapper) ----

def run_tool(arguments: list[str]) -> int:
    """Entry point of the hidden command. Never returns on success (execs the tool)."""
    inner_only = arguments[:1] == ["--inner-only"]
    if inner_only:
        arguments = arguments[1:]
    if len(arguments) < 2:
        print("racert: internal command used wrongly", file=sys.stderr)
        return 2
    object_path, tool, tool_arguments = Path(arguments[0]), arguments[1], arguments[2:]
    inner = split_quoted(os.environ.get(INNER_ENV, ""))
    if inner_only:
        return _exec([*inner, tool, *tool_arguments])
    try:
        if tool_arguments == ["-V=full"]:
            return _print_link_version(inner, tool, object_path)
        return _exec([*inner, tool, *_link_arguments(tool_arguments, object_path)])
    except RacertError as error:
        print(f"racert: {error}", file=sys.stderr)
        return 1


def _exec(command: list[str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(command[0], command)
    except OSError as error:
        print(f"racert: cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        return 1
    return 1  # not reached


def _object_hash(object_path: Path) -> str:
    # The copy is written once under its hash; a damaged one must not link.
    digest = sha256_of_file(object_path)
    if not object_path.parent.name or not digest.startswith(object_path.parent.name):
        raise RacertError(f"{object_path} no longer holds the object it was made for; "
                          f"remove {object_path.parent} and run racert again")
    return digest


def _print_link_version(inner: list[str], tool: str, object_path: Path) -> int:
    completed = subprocess.run([*inner, tool, "-V=full"], capture_output=True, text=True)
    sys.stderr.write(completed.stderr)
    if completed.returncode != 0:
        return completed.returncode
    line = completed.stdout.strip()
    fields = line.split()
    mark = MARK + _object_hash(object_path)
    if len(fields) >= 3 and "devel" in fields[2] and fields[-1].startswith("buildID="):
        # cmd/go keeps only the content ID (after the last "/") of a devel tool.
        line = f"{line}.{mark}"
    else:
        line = f"{line} {mark}"
    print(line)
    return 0


def _link_arguments(arguments: list[str], object_path: Path) -> list[str]:
    result = list(arguments)
    for index, argument in enumerate(result):
        if argument == "-importcfg" and index + 1 < len(result):
            result[index + 1] = str(_rewrite_importcfg(Path(result[index + 1]), object_path))
            return result
        if argument.startswith("-importcfg="):
            result[index] = "-importcfg=" + str(_rewrite_importcfg(Path(argument.split("=", 1)[1]), object_path))
            return result
    return result  # no importcfg: not a link cmd/go runs; nothing to change


def _rewrite_importcfg(importcfg: Path, object_path: Path) -> Path:
    lines = importcfg.read_text().splitlines()
    race_lines = {}
    for number, line in enumerate(lines):
        if line.startswith("packagefile "):
            package, _, archive = line[len("packagefile "):].partition("=")
            if package.strip() in RACE_PACKAGES:
                race_lines[package.strip()] = (number, archive.strip())
    if not race_lines:
        return importcfg  # not a -race link
    _object_hash(object_path)
    race_object = object_path.read_bytes()
    needed = sorted({symbol.name for symbol in elf.read_symbols(race_object)
                     if not symbol.is_defined and symbol.name and symbol.name != "_GLOBAL_OFFSET_TABLE_"
                     and not _LIBGCC_HELPER.match(symbol.name)})
    replaced = 0
    imports_added = False
    directory = importcfg.parent
    for package, (number, archive) in sorted(race_lines.items()):
        members = goarchive.parse(Path(archive).read_bytes(), f"{package} archive {archive}")
        members, count = goarchive.replace_race_object(members, race_object)
        replaced += count
        if goarchive.cgo_imported_names(members) is not None:
            members, _ = goarchive.add_dynamic_imports(members, needed, DYNAMIC_LIBRARY)
            imports_added = True
        copy = directory / f"racert-{package.replace('/', '_')}.a"
        copy.write_bytes(goarchive.serialize(members))
        lines[number] = f"packagefile {package}={copy}"
    if replaced == 0:
        raise RacertError(f"no race object ({' or '.join(goarchive.RACE_MEMBER_NAMES)}) in the archives of "
                          f"{', '.join(sorted(race_lines))}; refusing to link the official one")
    if not imports_added:
        raise RacertError("runtime/race's archive has no cgo directives; cannot link racert's object")
    rewritten = importcfg.with_name(importcfg.name + ".racert")
    rewritten.write_text("\n".join(lines) + "\n")
    return rewritten
