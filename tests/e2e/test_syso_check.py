"""tools/syso_check.py must reject each way an object can break Go's link, and
accept objects that honour the contract.

Every bad object here is produced by g++ from a few lines of C++ (or assembly)
showing one mistake a racert developer could make; the test then asserts that
the checker exits 1 and names that mistake. A good object built the same way,
and the real floor object built by build_syso.sh, must pass.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKER = REPO_ROOT / "tools" / "syso_check.py"
BUILD_SCRIPT = REPO_ROOT / "build_syso.sh"
sys.path.insert(0, str(REPO_ROOT / "tools"))
from racert_cli import elf  # noqa: E402  (needs the path above)

# The same code-generation flags build_syso.sh uses, so the good object is
# built the way a real one is.
CXX_FLAGS = [
    "-std=c++20", "-O2", "-fPIC", "-fno-plt", "-fno-exceptions", "-fno-rtti",
    "-fno-threadsafe-statics", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables", "-fno-gnu-unique", "-fvisibility=hidden",
]

REQUIRED = (
    "init fini map_shadow proc_create proc_destroy go_start go_end finalizer_goroutine "
    "malloc free read write read_pc write_pc read_range write_range func_enter func_exit "
    "acquire release release_merge release_acquire go_ignore_sync_begin go_ignore_sync_end "
    "report_count").split()
REQUIRED += [f"go_atomic{w}_{op}" for w in (32, 64) for op in
             "load store exchange fetch_add fetch_and fetch_or compare_exchange".split()]
REQUIRED = ["__tsan_" + name for name in REQUIRED]


def entry_points(omit: str | None = None) -> str:
    """C++ defining every required entry point (except `omit`) as an empty function."""
    return "\n".join(
        f'extern "C" __attribute__((visibility("default"))) void {name}() {{}}'
        for name in REQUIRED if name != omit) + "\n"


def compile_object(tmp_path: Path, source: str, extra_flags: list[str] | None = None,
                   suffix: str = ".cpp") -> Path:
    source_file = tmp_path / f"probe{suffix}"
    source_file.write_text(source)
    object_file = tmp_path / "probe.o"
    subprocess.run(["g++", *CXX_FLAGS, *(extra_flags or []), "-c", str(source_file),
                    "-o", str(object_file)], check=True)
    return object_file


def run_checker(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECKER), *extra, str(path)],
                          capture_output=True, text=True)


def assert_rejected(path: Path, expected: str, *extra: str) -> None:
    result = run_checker(path, *extra)
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stderr, result.stderr
    assert "FAILED" in result.stderr


def test_accepts_object_with_every_entry_point(tmp_path):
    result = run_checker(compile_object(tmp_path, entry_points()))
    assert result.returncode == 0, result.stderr
    assert "syso_check: OK" in result.stdout


def test_accepts_floor_object_built_by_build_script(tmp_path):
    build = subprocess.run([str(BUILD_SCRIPT), "--floor"], capture_output=True, text=True,
                           env={**os.environ, "RACERT_BUILD_DIR": str(tmp_path)})
    assert build.returncode == 0, build.stdout + build.stderr
    assert "detects NO races" in build.stdout
    floor = tmp_path / "race_linux_floor.syso"
    result = run_checker(floor, "--floor")
    assert result.returncode == 0, result.stderr
    assert "floor object" in result.stdout
    # The floor performs atomics and exits in fini; nothing else from libc.
    assert "undefined symbols (2): _GLOBAL_OFFSET_TABLE_ exit" in result.stdout


def test_rejects_missing_entry_point(tmp_path):
    obj = compile_object(tmp_path, entry_points(omit="__tsan_go_atomic64_fetch_or"))
    assert_rejected(obj, "missing required symbol __tsan_go_atomic64_fetch_or")


def test_rejects_entry_point_that_is_data_not_function(tmp_path):
    source = entry_points(omit="__tsan_report_count") + (
        'extern "C" __attribute__((visibility("default"))) int __tsan_report_count = 1;\n')
    assert_rejected(compile_object(tmp_path, source),
                    "required symbol __tsan_report_count (GLOBAL OBJECT): must be FUNC")


def test_rejects_thread_local(tmp_path):
    source = entry_points() + (
        "static thread_local int depth;\n"
        'extern "C" __attribute__((visibility("default"))) int __racert_depth() { return ++depth; }\n')
    obj = compile_object(tmp_path, source)
    assert_rejected(obj, "thread-local storage section (SHF_TLS)")
    assert_rejected(obj, "thread-local symbol (STT_TLS)")
    assert_rejected(obj, "undefined symbol __tls_get_addr is forbidden")


def test_rejects_static_constructor(tmp_path):
    source = entry_points() + (
        'extern "C" int getpid();\n'
        "namespace { struct Init { int pid; Init() : pid(getpid()) {} } init; }\n"
        'extern "C" __attribute__((visibility("default"))) int __racert_pid() { return init.pid; }\n')
    assert_rejected(compile_object(tmp_path, source),
                    ".init_array: static constructor/destructor section")


def test_rejects_a_big_table_moved_to_initialized_data_and_accepts_it_zeroed(tmp_path):
    # A table whose struct has one non-zero default member lands in .data
    # whole; zero-initialized, the same table costs the object nothing.
    table = ("namespace {{ struct Pool {{ unsigned long slots[16384]; unsigned long in_use{init}; }};\n"
             "constinit Pool pool{{}}; }}\n"
             'extern "C" __attribute__((visibility("default"))) unsigned long __racert_touch(unsigned i) '
             "{{ pool.slots[i % 16384] = i; return pool.in_use++; }}\n")
    assert_rejected(compile_object(tmp_path, entry_points() + table.format(init=" = 3")),
                    "bytes of initialized writable data (limit 65536)")
    result = run_checker(compile_object(tmp_path, entry_points() + table.format(init="")))
    assert result.returncode == 0, result.stderr


def test_rejects_operator_new(tmp_path):
    source = entry_points() + (
        "struct Node { Node* next; };\n"
        'extern "C" __attribute__((visibility("default"))) void* __racert_make() { return new Node(); }\n')
    assert_rejected(compile_object(tmp_path, source),
                    "undefined symbol _Znwm is forbidden: libstdc++ symbol")


def test_rejects_constructor_group_symbol(tmp_path):
    # A global object of an externally visible class with an inline destructor
    # makes g++ define the D5 group signature symbol inside the .group section.
    source = entry_points() + (
        "struct Holder { int v; Holder(); ~Holder() { v = 0; } };\n"
        "Holder::Holder() : v(1) {}\n"
        "Holder holder;\n")
    assert_rejected(compile_object(tmp_path, source),
                    "symbol _ZN6HolderD5Ev (LOCAL NOTYPE) is defined in the SHT_GROUP section")


def test_rejects_unlisted_libc_function_and_accepts_it_when_listed(tmp_path):
    source = entry_points() + (
        'extern "C" int puts(const char*);\n'
        'extern "C" __attribute__((visibility("default"))) void __racert_hello() { puts("hi"); }\n')
    obj = compile_object(tmp_path, source)
    assert_rejected(obj, "undefined symbol puts is not in the allowlist")
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("puts  # printing in this probe\n_GLOBAL_OFFSET_TABLE_\n")
    result = run_checker(obj, "--allowlist", str(allowlist))
    assert result.returncode == 0, result.stderr
    assert "undefined symbols (2): _GLOBAL_OFFSET_TABLE_ puts" in result.stdout


def test_forbidden_symbols_stay_forbidden_even_when_allowlisted(tmp_path):
    source = entry_points() + (
        'extern "C" void __stack_chk_fail();\n'
        'extern "C" __attribute__((visibility("default"))) void __racert_x() { __stack_chk_fail(); }\n')
    obj = compile_object(tmp_path, source)
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("__stack_chk_fail\n")
    assert_rejected(obj, "undefined symbol __stack_chk_fail is forbidden", "--allowlist", str(allowlist))


def test_rejects_leaked_internal_global(tmp_path):
    source = entry_points() + "int ShadowLookup(int x) { return x * 3; }\n"
    # Without -fvisibility=hidden this is an ordinary global C++ function.
    obj = compile_object(tmp_path, source, ["-fvisibility=default"])
    assert_rejected(obj, "symbol _Z12ShadowLookupi (GLOBAL FUNC) is a defined global outside")


def test_rejects_non_pic_relocation(tmp_path):
    source = entry_points() + (
        "int counter;\n"
        'extern "C" __attribute__((visibility("default"))) int* __racert_counter() { return &counter; }\n')
    obj = compile_object(tmp_path, source, ["-fno-pic", "-fvisibility=hidden"])
    assert_rejected(obj, "R_X86_64_32 is not accepted by Go's linker")


def test_rejects_ifunc(tmp_path):
    source = entry_points() + (
        "static int impl() { return 1; }\n"
        'extern "C" { static void* resolve() { return (void*)impl; } }\n'
        'extern "C" __attribute__((visibility("default"), ifunc("resolve"))) int __racert_pick();\n')
    assert_rejected(compile_object(tmp_path, source),
                    "indirect function (STT_GNU_IFUNC) is not supported")


def test_rejects_gnu_unique_binding(tmp_path):
    source = entry_points() + (
        "template <typename T> struct Counter { static int Next() { static int n; return ++n; } };\n"
        'extern "C" __attribute__((visibility("default"))) int __racert_next() '
        "{ return Counter<int>::Next(); }\n")
    assert_rejected(compile_object(tmp_path, source, ["-fgnu-unique"]),
                    "binding GNU_UNIQUE is rejected by Go's linker")


def test_rejects_writable_executable_section(tmp_path):
    functions = "".join(f".globl {name}\n.type {name},@function\n{name}: ret\n" for name in REQUIRED)
    source = ".text\n" + functions + '.section .patchable,"awx",@progbits\n.byte 0xc3\n'
    assert_rejected(compile_object(tmp_path, source, suffix=".s"),
                    ".patchable: allocated section is both writable and executable")


def test_rejects_wrong_file_type_and_machine(tmp_path):
    good = compile_object(tmp_path, entry_points()).read_bytes()
    as_executable = bytearray(good)
    as_executable[16:18] = (2).to_bytes(2, "little")  # e_type = ET_EXEC
    path = tmp_path / "exec.o"
    path.write_bytes(as_executable)
    assert_rejected(path, "expected ET_REL")
    other_machine = bytearray(good)
    other_machine[18:20] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
    path.write_bytes(other_machine)
    assert_rejected(path, "expected EM_X86_64")


def test_rejects_non_elf_input(tmp_path):
    path = tmp_path / "not_elf.syso"
    path.write_bytes(b"!<arch>\n" + bytes(64))
    assert_rejected(path, "malformed ELF: not an ELF file")


@pytest.mark.parametrize("flag", ["--floor", None])
def test_reports_unreadable_file_as_usage_error(tmp_path, flag):
    result = run_checker(tmp_path / "absent.syso", *([flag] if flag else []))
    assert result.returncode == 2


def test_rejects_relocation_against_a_symbol_past_the_table(tmp_path):
    """A corrupt relocation is reported as a problem, not a crash of the checker."""
    source = entry_points() + (
        'extern "C" int racert_probe_value;\n'
        'extern "C" __attribute__((visibility("default"))) int __racert_probe() '
        "{ return racert_probe_value; }\n")
    obj = compile_object(tmp_path, source)
    data = bytearray(obj.read_bytes())
    parsed = elf.ElfObject(bytes(data))
    rela = next(s for s in parsed.sections
                if s.type == elf.SHT_RELA and parsed.sections[s.info].name == ".text")
    offset, info = struct.unpack_from("<QQ", data, rela.offset)
    struct.pack_into("<QQ", data, rela.offset, offset, (99999 << 32) | (info & 0xFFFFFFFF))
    obj.write_bytes(bytes(data))
    assert_rejected(obj, "against ?: symbol index 99999 out of range")
