#!/usr/bin/env bash
# Lists the commits in a range whose subject (first line) is longer than 72 characters, and
# fails (exit 1) when there is one. Not run by CI: older history has longer subjects.
#
#   bash scripts/check-commit-subjects.sh main..HEAD      (a branch's own commits)
set -euo pipefail
LIMIT=72
if [ $# -ne 1 ]; then
  echo "usage: check-commit-subjects.sh BASE..HEAD" >&2
  exit 2
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
git rev-list --count "$1" >/dev/null 2>&1 || { echo "check-commit-subjects: '$1' is not a commit range here" >&2; exit 2; }
export LC_ALL=C.UTF-8  # ${#s} counts characters, not bytes
bad=0 total=0
while IFS= read -r line; do
  total=$((total + 1))
  subject=${line#* }
  if [ ${#subject} -gt $LIMIT ]; then
    bad=$((bad + 1))
    printf '%s (%d characters)\n' "$line" "${#subject}"
  fi
done < <(git log --no-merges --format='%h %s' "$1")
if [ $bad -gt 0 ]; then
  echo "check-commit-subjects: $bad of $total subjects in $1 are over $LIMIT characters (reasons and figures go in the body)" >&2
  exit 1
fi
echo "check-commit-subjects: $total subjects in $1, none over $LIMIT characters"
