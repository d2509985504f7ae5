#!/usr/bin/env bash
# Prints the GOROOT of every usable Go toolchain on this machine, one per line,
# for tests that run against each Go version: the `go` on PATH first, then
# Debian's Go 1.23 (/usr/lib/go-1.23) if installed. The same toolchain reached
# twice (e.g. through a symlink) is printed once. Exits 1 if none is usable.
#
# "Usable" means its go binary runs and reports a version; scripts/ensure_toolchain.sh
# is what guarantees one of them is Go >= 1.21.
set -euo pipefail

candidates=()
if path_go="$(command -v go)"; then
  candidates+=("$path_go")
fi
candidates+=(/usr/lib/go-1.23/bin/go)

seen=()
found=0
for go_binary in "${candidates[@]}"; do
  [[ -x "$go_binary" ]] || continue
  # GOTOOLCHAIN=local and cd /: report this toolchain, never a downloaded one.
  goroot="$(cd / && GOTOOLCHAIN=local "$go_binary" env GOROOT 2>/dev/null)" || continue
  [[ -n "$goroot" && -d "$goroot" ]] || continue
  canonical="$(realpath "$goroot")"
  duplicate=false
  for earlier in "${seen[@]}"; do
    [[ "$earlier" == "$canonical" ]] && duplicate=true
  done
  "$duplicate" && continue
  seen+=("$canonical")
  echo "$goroot"
  found=$((found + 1))
done

((found > 0)) || { echo "go_toolchains: no usable Go toolchain found" >&2; exit 1; }
