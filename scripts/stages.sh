# shellcheck shell=bash
# Resumable stages and --dry-run for the reproduce scripts (scripts/reproduce-*.sh source it; it
# runs nothing itself). A stage writes OUT/NAME.done when it has finished and is skipped while that
# is there. With --dry-run every command is printed, one shell line each, and nothing is run or
# written; stages already done in OUT are listed as done.

# stages_setup DEFAULT_OUT [--dry-run] [OUT]: sets OUT and DRY; checks $SETOK and makes OUT unless
# it is a dry run.
stages_setup() {
  local a
  OUT=$1
  DRY=0
  shift
  for a in "$@"; do
    case $a in
      --dry-run) DRY=1 ;;
      -*) echo "reproduce: unknown option $a (usage: [--dry-run] [OUT])" >&2; exit 2 ;;
      *) OUT=$a ;;
    esac
  done
  ((DRY)) && return
  [[ -x $SETOK ]] || { echo "reproduce: $SETOK is missing; build first (bash packaging/setup.sh build)" >&2; exit 1; }
  mkdir -p "$OUT"
}

# say ARG…: the words as one line a shell reads back (plain ones bare, the others quoted).
say() {
  local a plain='^[A-Za-z0-9_./:=,@+%-]+$' words=()
  for a in "$@"; do
    if [[ $a =~ $plain ]]; then words+=("$a"); else words+=("${a@Q}"); fi
  done
  echo "${words[*]}"
}

# note TEXT: progress on stderr; in a dry run, a comment line in the listing.
note() {
  if ((DRY)); then echo "# $*"; else echo "reproduce: $*" >&2; fi
}

# run CMD…: runs CMD; in a dry run, prints it.
run() {
  if ((DRY)); then say "$@"; else "$@"; fi
}

# once NAME CMD…: CMD as stage NAME (skipped once done).
once() {
  local name=$1
  shift
  if [[ -f $OUT/$name.done ]]; then note "$name is done"; return; fi
  note "$name"
  run "$@"
  ((DRY)) || touch "$OUT/$name.done"
}

# stage NAME KIND CONFIG [ARG…]: one training run, `setok train KIND --config CONFIG ARG…`, into
# OUT/NAME, its progress in OUT/NAME.jsonl (skipped once done).
stage() {
  local name=$1 kind=$2 cfg=$3
  shift 3
  if [[ -f $OUT/$name.done ]]; then note "$name is done"; return; fi
  note "$name"
  local cmd=("$SETOK" train "$kind" --config "$cfg" --set "out=$OUT/$name" "$@" --progress jsonl)
  if ((DRY)); then
    echo "$(say "${cmd[@]}") > $(say "$OUT/$name.jsonl")"
    return
  fi
  "${cmd[@]}" > "$OUT/$name.jsonl"
  touch "$OUT/$name.done"
}
