#!/usr/bin/env bash
# Fails (exit 1) when a first-party C++ file (the list of scripts/format.sh) is not as
# clang-format 14 and .clang-format leave it, listing those files with the head of each diff.
# Also fails on any line past 120 columns that formatting leaves there: clang-format breaks
# code, long string literals and comments, but not raw strings, long tokens or words (URLs),
# and it never joins a split string back. Columns are counted in characters (UTF-8).
#
#   bash scripts/check-format.sh        (CI runs it before the build; scripts/format.sh fixes the first kind)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/format-common.sh"
require_clang_format check-format
cd "$FORMAT_ROOT"
LIMIT=120
DIFF_LINES=${CHECK_FORMAT_DIFF_LINES:-12}  # diff lines shown per file
DIFF_FILES=${CHECK_FORMAT_DIFF_FILES:-10}  # files whose diff is shown
mapfile -t files < <(cpp_files)
[ ${#files[@]} -gt 0 ] || { echo "check-format: no C++ files found" >&2; exit 1; }

# One clang-format run over every file finds the unformatted ones; only those are diffed.
if ! report=$(printf '%s\n' "${files[@]}" | xargs -d '\n' "$CLANG_FORMAT" --style=file --dry-run 2>&1); then
  echo "check-format: clang-format failed:" >&2
  printf '%s\n' "$report" | grep -v 'code should be clang-formatted' | head -n 5 >&2 || true
  exit 2
fi
mapfile -t bad < <(printf '%s\n' "$report" |
  sed -n 's/^\(.*\):[0-9][0-9]*:[0-9][0-9]*: \(warning\|error\): code should be clang-formatted.*/\1/p' | sort -u)

status=0
if [ ${#bad[@]} -gt 0 ]; then
  status=1
  echo "check-format: ${#bad[@]} of ${#files[@]} files are not formatted (fix: bash scripts/format.sh):"
  printf '  %s\n' "${bad[@]}"
  for f in "${bad[@]:0:$DIFF_FILES}"; do
    "$CLANG_FORMAT" --style=file "$f" | diff -u --label "$f" --label "$f (formatted)" "$f" - | head -n "$DIFF_LINES" || true
  done
  [ ${#bad[@]} -le "$DIFF_FILES" ] || echo "(diffs of the other $((${#bad[@]} - DIFF_FILES)) files left out)"
fi

# Long lines: in the file when it is formatted, else in what clang-format makes of it.
long_lines() {  # stdin -> the numbers of its long lines, comma-separated
  LC_ALL=C.UTF-8 grep -nE "^.{$((LIMIT + 1)),}" | cut -d: -f1 | paste -sd, || true
}
declare -A unformatted=()
for f in "${bad[@]}"; do unformatted[$f]=1; done
long=()
formatted=()
for f in "${files[@]}"; do
  if [ -n "${unformatted[$f]:-}" ]; then
    hits=$("$CLANG_FORMAT" --style=file "$f" | long_lines)
    [ -z "$hits" ] || long+=("$f (after formatting) line $hits")
  else
    formatted+=("$f")
  fi
done
if [ ${#formatted[@]} -gt 0 ]; then
  # One grep over the formatted files; its FILE:LINE:TEXT lines grouped per file.
  while IFS= read -r entry; do long+=("$entry"); done < <(
    printf '%s\0' "${formatted[@]}" | LC_ALL=C.UTF-8 xargs -0 grep -nHE "^.{$((LIMIT + 1)),}" |
      awk -F: '$1 != f { if (f != "") print f " line " l; f = $1; l = $2; next } { l = l "," $2 }
               END { if (f != "") print f " line " l }' || true)
fi
if [ ${#long[@]} -gt 0 ]; then
  status=1
  echo "check-format: lines past $LIMIT columns that clang-format leaves (split the string or comment by hand):"
  printf '  %s\n' "${long[@]}"
fi

[ $status -ne 0 ] || echo "check-format: ${#files[@]} files formatted, no line past $LIMIT columns"
exit $status
