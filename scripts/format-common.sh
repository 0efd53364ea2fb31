#!/usr/bin/env bash
# Shared by scripts/format.sh and scripts/check-format.sh (sourced, not run): the list of
# first-party C++ files and the clang-format to use (Debian 12's, version 14; see .clang-format).
set -euo pipefail

FORMAT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FORMAT_VERSION=14
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}

# Exits with one line when clang-format is missing or not version 14 (another version formats
# differently, so the check would disagree with CI).
require_clang_format() {
  local me=$1 v
  if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
    echo "$me: clang-format not found; install Debian's package: apt-get install clang-format (or run packaging/install-deps.sh)" >&2
    exit 2
  fi
  v=$("$CLANG_FORMAT" --version | sed -n 's/.*clang-format version \([0-9][0-9]*\)\..*/\1/p')
  if [ "$v" != "$FORMAT_VERSION" ]; then
    echo "$me: clang-format $FORMAT_VERSION needed (Debian 12's package), found: $("$CLANG_FORMAT" --version)" >&2
    exit 2
  fi
}

# Prints the first-party C++ files, one per line, relative to the repository root: tracked and
# untracked-but-not-ignored files from git, or a walk of the tree outside git. Third-party code
# (third_party/, external/, vendor/, .deps/) and build output are never listed.
cpp_files() {
  local exts=('*.cpp' '*.cc' '*.cxx' '*.h' '*.hpp' '*.cu' '*.cuh')
  (
    cd "$FORMAT_ROOT"
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
      git ls-files --cached --others --exclude-standard -- "${exts[@]}"
    else
      find . \( -name .git -o -path ./.deps -o -path './build*' -o -path ./data -o -path ./runs \) -prune -o \
        -type f \( -name '*.cpp' -o -name '*.cc' -o -name '*.cxx' -o -name '*.h' -o -name '*.hpp' \
        -o -name '*.cu' -o -name '*.cuh' \) -print | sed 's|^\./||'
    fi | grep -Ev '(^|/)(third_party|external|vendor|\.deps)/' | LC_ALL=C sort -u |
      while IFS= read -r f; do [ ! -f "$f" ] || printf '%s\n' "$f"; done
  )
}
