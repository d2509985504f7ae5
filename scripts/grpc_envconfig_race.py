#!/usr/bin/env python3
"""Shows that racert's grpc internal/transport report is a true race the official object hides.

module_compare.py finds one racert-only report in google.golang.org/grpc@v1.85.0
internal/transport: TestRecvBufferCompactionDisabled writes
envconfig.EnableReceiveBufferCompaction (testutils.SetEnvConfig, and again in its
cleanup) while reads of it by goroutines of the earlier TestClientMix are
ordered before nothing the later test does. TestClientMix starts 750
`go performOneRPC(ct)` 2 ms apart and joins none of them; each reads the
variable in recvBuffer.load, as does the transport's reader goroutine in
compactBacklogLocked.

This script copies the module from the module cache into build/explained/ and
adds, in a file of its own and two edited lines of TestClientMix:

* RACERT_CLIENTMIX_RPCS: how many RPC goroutines TestClientMix starts (750 as
  released);
* a control: TestClientMix starts a goroutine that writes a variable once and
  synchronizes with nothing; TestRecvBufferCompactionDisabled reads it first.
  Any report of it is a race by construction, so a run without one shows
  that the object lost an unsynchronized access in that test.

It builds the test with each object and runs only the two tests, several times
per RPC count, and prints per object and count how many runs reported the
envconfig write and the control. Observed (Go 1.26.8, 5 runs each): with 750
RPCs racert reports the envconfig write in every run, the official object in
none; with 200 RPCs both report it in every run (the official names the reader
goroutine's read, racert a performOneRPC goroutine's: the same variable, two
unjoined readers). The control is never reported by the official object, at
any count: its silence at 750 is lost history, not an order racert misses.
(racert reports the control with 50 RPCs and loses it at 200 and more: a slot
taken over without knowledge of its earlier owner, the limit README states.)

Exit status 0 when the observation supports the explanation (racert reports
the envconfig write at 750 RPCs and the official object at the smaller count),
else 1.

Usage: scripts/grpc_envconfig_race.py [--runs N] [--rpcs 750,200]
       [--racert-object FILE] [--go PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import bench_gotest_macro as macro  # noqa: E402
import bench_run as bench  # noqa: E402
import module_compare as mc  # noqa: E402

GRPC = next(m for m in mc.MODULES if m.path == "google.golang.org/grpc")
PACKAGE = "google.golang.org/grpc/internal/transport"
WORK_DIR = bench.BUILD_DIR / "explained" / "grpc_envconfig"
TESTS = "Test/(ClientMix|RecvBufferCompactionDisabled)$"

# Added to the package: the RPC count knob and the control.
PROBE_FILE = """package transport

import (
\t"os"
\t"strconv"
)

// racertControl is written once by a goroutine that synchronizes with
// nothing and read by TestRecvBufferCompactionDisabled: a race by construction.
var racertControl int

func racertControlWriter() { racertControl = 1 }

func racertControlRead() int { return racertControl }

// racertClientMixRPCs is how many RPC goroutines TestClientMix starts.
func racertClientMixRPCs(released int) int {
\tif n, err := strconv.Atoi(os.Getenv("RACERT_CLIENTMIX_RPCS")); err == nil {
\t\treturn n
\t}
\treturn released
}
"""

# (text in transport_test.go, replacement): each must occur exactly once.
EDITS = [
    ("\tfor i := 0; i < 750; i++ {\n",
     "\tgo racertControlWriter()\n\tfor i := 0; i < racertClientMixRPCs(750); i++ {\n"),
    ("func (s) TestRecvBufferCompactionDisabled(t *testing.T) {\n",
     "func (s) TestRecvBufferCompactionDisabled(t *testing.T) {\n\t_ = racertControlRead()\n"),
]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    if result.returncode != 0:
        raise bench.BenchError(f"{' '.join(command)} failed:\n{result.stdout}")
    return result.stdout


def prepare_copy(go: str, env: dict[str, str]) -> tuple[Path, Path]:
    """A writable, edited copy of the module and a scratch module that uses it."""
    go_word = next((w for w in bench.go_version(go).split() if w.startswith("go1")), "go")
    macro.WORK_DIR = mc.WORK_DIR  # module_compare's scratch modules
    module_dir, _ = mc.prepare(go, go_word, env, GRPC)
    cache = Path(run([go, "env", "GOMODCACHE"], module_dir, env).strip())
    source = cache / f"{GRPC.path}@{GRPC.version}"
    copy = WORK_DIR / "grpc"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(source, copy)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    test_file = copy / "internal/transport/transport_test.go"
    text = test_file.read_text()
    for old, new in EDITS:
        if text.count(old) != 1:
            raise bench.BenchError(f"{test_file}: expected one '{old.strip()}'")
        text = text.replace(old, new)
    test_file.write_text(text)
    (copy / "internal/transport/racert_probe_test.go").write_text(PROBE_FILE)
    scratch = WORK_DIR / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    for name in ("go.mod", "go.sum"):
        shutil.copy(module_dir / name, scratch / name)
    with open(scratch / "go.mod", "a") as go_mod:
        go_mod.write(f"\nreplace {GRPC.path} => {copy}\n")
    return copy, scratch


def build(go: str, env: dict[str, str], scratch: Path, racert_object: Path) -> dict[str, Path]:
    env = dict(env, GOFLAGS=" ".join(filter(None, [env.get("GOFLAGS", ""), "-mod=mod"])))
    binaries = {}
    for variant in mc.VARIANTS:
        output = WORK_DIR / f"transport.{variant}.test"
        command = ["test", "-race", "-c", "-o", str(output), PACKAGE]
        if variant == "official":
            run([go, *command], scratch, env)
        else:
            run([str(bench.RACERT_CLI), "--object", str(racert_object), "go", *command],
                scratch, env)
        binaries[variant] = output
    return binaries


def count_runs(binary: Path, package_dir: Path, rpcs: int, runs: int,
               env: dict[str, str]) -> tuple[int, int]:
    """Runs reporting the envconfig write, runs reporting the control."""
    envconfig = control = 0
    for _ in range(runs):
        run_env = dict(env, RACERT_CLIENTMIX_RPCS=str(rpcs))
        result = subprocess.run([str(binary), "-test.short", "-test.count=1",
                                 f"-test.run={TESTS}"], cwd=package_dir, env=run_env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace")
        reports = result.stdout.split(mc.RACE_MARKER)[1:]
        envconfig += any("testutils.SetEnvConfig" in r for r in reports)
        control += any("racertControlWriter" in r for r in reports)
    return envconfig, control


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rpcs", default="750,200",
                        help="RPC goroutine counts of TestClientMix (750 as released)")
    parser.add_argument("--racert-object", type=Path, default=bench.RACERT_OBJECT)
    parser.add_argument("--go", default=None)
    args = parser.parse_args(argv)
    go = shutil.which(args.go or "go")
    if not go:
        print("no go binary", file=sys.stderr)
        return 2
    env = macro.go_environment(go)
    env.pop("GORACE", None)
    counts = [int(c) for c in args.rpcs.split(",")]
    try:
        copy, scratch = prepare_copy(go, env)
        binaries = build(go, env, scratch, args.racert_object.resolve())
    except bench.BenchError as error:
        print(f"grpc_envconfig_race: {error}", file=sys.stderr)
        return 1
    package_dir = copy / "internal/transport"
    print(f"{'object':9} {'RPCs':>5} {'runs':>5} {'envconfig write reported':>25} "
          f"{'control reported':>17}")
    seen = {}
    for rpcs in counts:
        for variant in mc.VARIANTS:
            envconfig, control = count_runs(binaries[variant], package_dir, rpcs, args.runs, env)
            seen[variant, rpcs] = envconfig
            print(f"{variant:9} {rpcs:>5} {args.runs:>5} {envconfig:>25} {control:>17}",
                  flush=True)
    supported = (seen.get(("racert", counts[0]), 0) > 0
                 and any(seen.get(("official", c), 0) > 0 for c in counts[1:]))
    print("explanation supported" if supported else "explanation NOT supported")
    return 0 if supported else 1


if __name__ == "__main__":
    sys.exit(main())
