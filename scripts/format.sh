#!/usr/bin/env bash
# Formats every first-party C++ file in place with clang-format 14 and .clang-format; the file
# list is the one scripts/check-format.sh checks (scripts/format-common.sh).
#
#   bash scripts/format.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/format-common.sh"
require_clang_format format
cd "$FORMAT_ROOT"
mapfile -t files < <(cpp_files)
[ ${#files[@]} -gt 0 ] || { echo "format: no C++ files found" >&2; exit 1; }
printf '%s\n' "${files[@]}" | xargs -d '\n' "$CLANG_FORMAT" -i --style=file
echo "format: ${#files[@]} files formatted"
