#!/usr/bin/env bash
# Builds racert's race runtime object, the file Go links into every -race binary.
#
#   ./build_syso.sh            build/race_linux.syso        (the detector, -O3)
#   ./build_syso.sh --debug    build/race_linux_debug.syso  (-O1 -g, assertions on)
#   ./build_syso.sh --floor    build/race_linux_floor.syso  (detects nothing; benchmarks only)
#
# Steps: compile every .cpp of the variant into build/obj/<variant>/, merge them
# with `ld -r`, make every defined global symbol local except the exported
# __tsan_* / __racert_* entry points (so internal names can never clash with a
# user's cgo code), then run tools/syso_check.py. A rejected object is kept as
# <output>.rejected for inspection and never left at the output path.
#
# Sources are every .cpp under the variant's directories, so a new file needs no
# edit here. Objects are rebuilt only when their source, a header they include,
# or the compile flags changed.
#
# RACERT_BUILD_DIR overrides the output directory (default: <repo>/build).
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly BUILD_DIR="${RACERT_BUILD_DIR:-$REPO_ROOT/build}"
readonly CXX="${CXX:-g++}"

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

variant=release
case "${1:-}" in
  "") ;;
  --floor) variant=floor ;;
  --debug) variant=debug ;;
  -h | --help) usage; exit 0 ;;
  *) echo "build_syso.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac
if (($# > 1)); then
  echo "build_syso.sh: takes at most one argument" >&2
  exit 2
fi

# The version (go_api/version.h): the one line of VERSION.
racert_version="$(head -n 1 "$REPO_ROOT/VERSION")"
if [[ ! "$racert_version" =~ ^[0-9A-Za-z.+-]+$ ]]; then
  echo "build_syso.sh: FAILED: VERSION must be one line like 1.2.3, not '$racert_version'" >&2
  exit 1
fi

# Flags shared by every variant. Each one keeps the object linkable by Go's
# internal linker or free of a runtime the object cannot have (docs/go-race-abi-notes.md §14.2):
# no exceptions/RTTI/unwind tables/thread-safe static guards/stack protector,
# PIC with GOT calls, and no STB_GNU_UNIQUE symbols (Go rejects that binding).
common_flags=(
  -std=c++20 -fPIC -fno-plt
  -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-stack-protector
  -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-gnu-unique
  -fvisibility=hidden -fno-semantic-interposition
  -march=x86-64 -mtune=generic
  -Wall -Wextra -Werror=return-type
  "-I$REPO_ROOT"
)
case "$variant" in
  release | floor) variant_flags=(-O3 -g0 -DNDEBUG) ;;
  debug) variant_flags=(-O1 -g -DRACERT_DEBUG=1) ;;
esac
readonly compile_flags=("${common_flags[@]}" "${variant_flags[@]}" "-DRACERT_VERSION_STRING=\"$racert_version\"")

case "$variant" in
  release) output="$BUILD_DIR/race_linux.syso" ;;
  debug) output="$BUILD_DIR/race_linux_debug.syso" ;;
  floor) output="$BUILD_DIR/race_linux_floor.syso" ;;
esac

# --- Sources --------------------------------------------------------------
cd "$REPO_ROOT"
sources=()
if [[ "$variant" == floor ]]; then
  source_dirs=(go_api/floor)
  prune=()
else
  source_dirs=(base shadow tsan_core go_api)
  prune=(-path go_api/floor -prune -o)
fi
mapfile -t sources < <(find "${source_dirs[@]}" "${prune[@]}" -name '*.cpp' -type f -print | LC_ALL=C sort)
if ((${#sources[@]} == 0)); then
  echo "build_syso.sh: FAILED: no .cpp sources found under ${source_dirs[*]} (variant $variant)" >&2
  exit 1
fi

if [[ "$variant" == floor ]]; then
  echo "build_syso.sh: NOTE: the floor object detects NO races. It exists only so benchmarks"
  echo "build_syso.sh:       can measure the cost of Go's -race instrumentation by itself."
fi

# --- Compile (incremental, in parallel) -------------------------------------
obj_dir="$BUILD_DIR/obj/$variant"
mkdir -p "$obj_dir"
# Two builds of the same variant at once (the e2e tests build objects too) would
# overwrite each other's objects halfway: take turns.
exec {lock_fd}>"$obj_dir/.lock"
flock "$lock_fd"
# Objects built with other flags (or another compiler) are stale as a whole.
flags_stamp="$obj_dir/compile_flags"
flags_text="$("$CXX" --version | head -n1) ${compile_flags[*]}"
if [[ ! -f "$flags_stamp" || "$(cat "$flags_stamp")" != "$flags_text" ]]; then
  find "$obj_dir" -name '*.o' -delete
  printf '%s' "$flags_text" >"$flags_stamp"
fi

# True when $1 (an object) is older than its source or any header in its
# compiler-written dependency file $2.
object_is_stale() {
  local object="$1" depfile="$2" dep
  [[ -f "$object" && -f "$depfile" ]] || return 0
  # The .d file is "target: dep dep \<newline> dep ..."; drop the target.
  for dep in $(sed -e 's/\\$//' -e 's/^[^:]*://' "$depfile"); do
    [[ -e "$dep" && ! "$dep" -nt "$object" ]] || return 0
  done
  return 1
}

failures_file="$(mktemp)"
trap 'rm -f "$failures_file"' EXIT
max_jobs="$(nproc 2>/dev/null || echo 2)"
objects=()
compiled=0
for source in "${sources[@]}"; do
  object="$obj_dir/${source%.cpp}.o"
  depfile="${object%.o}.d"
  objects+=("$object")
  object_is_stale "$object" "$depfile" || continue
  mkdir -p "$(dirname "$object")"
  while (($(jobs -rp | wc -l) >= max_jobs)); do wait -n || true; done
  compiled=$((compiled + 1))
  {
    "$CXX" "${compile_flags[@]}" -MMD -MF "$depfile" -c "$source" -o "$object" \
      || { rm -f "$object"; echo "$source" >>"$failures_file"; }
  } &
done
wait
if [[ -s "$failures_file" ]]; then
  echo "build_syso.sh: FAILED: compile errors in:" >&2
  sed 's/^/  /' "$failures_file" >&2
  exit 1
fi

# --- Link and localise ------------------------------------------------------
# --force-group-allocation dissolves COMDAT groups: after localisation their
# signature symbols would be local, and a linker could still fold our group
# with a same-named one from user code. Without groups nothing is shared.
merged="$obj_dir/merged.o"
ld -r --force-group-allocation -o "$merged" "${objects[@]}"
candidate="$obj_dir/$(basename "$output")"
rm -f "$candidate" "$output.rejected"
# --keep-global-symbol localises every other *defined* global; undefined
# symbols stay undefined so Go can resolve them from libc.
objcopy --wildcard \
  --keep-global-symbol='__tsan_*' --keep-global-symbol='__racert_*' \
  --remove-section=.comment \
  "$merged" "$candidate"

# --- Check ------------------------------------------------------------------
check_flags=()
[[ "$variant" == floor ]] && check_flags+=(--floor)
if ! python3 "$REPO_ROOT/tools/syso_check.py" "${check_flags[@]}" "$candidate"; then
  mv -f "$candidate" "$output.rejected"
  echo "build_syso.sh: FAILED: $(basename "$output") breaks the link contract (see errors above);" \
    "the rejected object is at $output.rejected" >&2
  exit 1
fi
mv -f "$candidate" "$output"
echo "build_syso.sh: built $output ($variant: ${#sources[@]} sources, $compiled recompiled," \
  "$(stat -c %s "$output") bytes)"
