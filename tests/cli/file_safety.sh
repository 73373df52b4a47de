#!/bin/bash
# cli_file_safety: no run loses a file. Two options that name one file (by any path: relative, through a soft
# link, a hard link, a ".." detour, a file not yet made) are refused before anything is read or written, naming
# both options and the file, with exit status 64 and every file unchanged; an -output or -checkpoint that is a
# directory is refused at start (73), not after the sampling; -restart with no checkpoint yet starts afresh, and
# one whose output is complete has nothing to do. On the code before these checks, the first four cases lost a
# file with exit status 0 (issue 9).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

QUICK=(-samples 4 -steps 10 -run_view 0 -progress 0 -seed 5)

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 5 -seed 0
dps 1 old.log run -input in.h5 -output old.h5 "${QUICK[@]}"
cp in.h5 w.h5
cp in.h5 ck9.h5.prev
ln -s in.h5 link.h5
ln in.h5 hard.h5
mkdir sub outdir

# every file here and one level down, with its content: a refused command must leave it exactly as it was
snapshot() { find . -maxdepth 2 \( -type f -o -type l \) ! -name '*.sum' ! -name '*.log' -print0 | sort -z | xargs -0 sha256sum; }
refused() { # refused CASE NP STATUS 'message strings'... -- verb options...
  local case=$1 np=$2 status=$3 rc=0
  shift 3
  local want=()
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  snapshot >before.sum
  launch "$np" "$@" >"$case.log" 2>&1 || rc=$?
  hung "$rc" "$np" "$@"
  [ "$rc" -eq "$status" ] || { cat "$case.log" >&2; fail "$case: exit status $rc, expected $status"; }
  expect_error "$case.log"
  expect_in "$case.log" "${want[@]}"
  snapshot >after.sum
  diff before.sum after.sum >&2 || fail "$case: the files changed (above: < before, > after)"
}

# (a) the four cases of the audit, each a loss of data with exit 0 before
refused outck 1 64 "-output new.h5 and -checkpoint new.h5 are the same file" -- \
  run -input in.h5 -output new.h5 -checkpoint new.h5 "${QUICK[@]}"
refused outckforce 1 64 "-output old.h5 and -checkpoint old.h5 are the same file" -- \
  run -input in.h5 -output old.h5 -checkpoint old.h5 -force "${QUICK[@]}"
refused ckin 1 64 "-input in.h5 and -checkpoint in.h5 are the same file" -- \
  run -input in.h5 -output new.h5 -checkpoint in.h5 -force "${QUICK[@]}"
refused inout 1 64 "-input in.h5 and -output in.h5 are the same file" -- \
  run -input in.h5 -output in.h5 -force "${QUICK[@]}"
# (b) the same file by other names, and the files that belong to an option
refused softlink 1 64 "-input in.h5 and -output link.h5 are the same file" -- \
  run -input in.h5 -output link.h5 -force "${QUICK[@]}"
refused hardlink 2 64 "-input hard.h5 and -checkpoint in.h5 are the same file" -- \
  run -input hard.h5 -output new.h5 -checkpoint in.h5 -force "${QUICK[@]}"
refused dotdot 2 64 "-output sub/../new.h5 and -checkpoint ./new.h5 are the same file" -- \
  run -input in.h5 -output sub/../new.h5 -checkpoint ./new.h5 "${QUICK[@]}"
refused partial 1 64 "-output's partial file x.h5.partial and -checkpoint x.h5.partial are the same file" -- \
  run -input in.h5 -output x.h5 -checkpoint x.h5.partial "${QUICK[@]}"
refused cktmp 1 64 "-output ck.h5.tmp and -checkpoint's temporary file ck.h5.tmp are the same file" -- \
  run -input in.h5 -output ck.h5.tmp -checkpoint ck.h5 "${QUICK[@]}"
refused ckprev 1 64 "-input ck9.h5.prev and -checkpoint's previous copy ck9.h5.prev are the same file" -- \
  run -input ck9.h5.prev -output new.h5 -checkpoint ck9.h5 -force "${QUICK[@]}"
refused weights 1 64 "-score_unet_weights w.h5 and -output w.h5 are the same file" -- \
  run -input in.h5 -output w.h5 -score_unet_weights w.h5 -force "${QUICK[@]}"
refused evalsame 2 64 "-input in.h5 and -output ./in.h5 are the same file" -- eval -input in.h5 -output ./in.h5
# (c) a directory as the output or checkpoint: refused at start, even with -force
refused outdir 1 73 "output file outdir is a directory" -- run -input in.h5 -output outdir -force "${QUICK[@]}"
refused outdir2 2 73 "output file outdir is a directory" -- run -input in.h5 -output outdir "${QUICK[@]}"
refused ckdir 1 73 "checkpoint sub is a directory" -- run -input in.h5 -output new.h5 -checkpoint sub "${QUICK[@]}"
refused simdir 1 73 "output file outdir is a directory" -- simulate -output outdir -force
[ ! -e outdir.partial ] || fail "a .partial was left beside the directory"

# (d) -restart with no checkpoint yet (a run stopped during its set-up): starts afresh, the same bits as a plain run
dps 2 fresh.log run -input in.h5 -output fresh.h5 -checkpoint ckf.h5 -restart "${QUICK[@]}"
expect_in fresh.log "no checkpoint ckf.h5 yet" "starting afresh"
same_datasets old.h5 fresh.h5 /samples /mean /std /y
[ ! -e ckf.h5 ] && [ ! -e fresh.h5.partial ] || fail "the fresh -restart left its checkpoint or partial output"
# ... and once more, as a scheduler may start it again: the output is complete, nothing to do, nothing changed
snapshot >before.sum
dps 2 again.log run -input in.h5 -output fresh.h5 -checkpoint ckf.h5 -restart "${QUICK[@]}"
expect_in again.log "fresh.h5 is already complete: nothing to do"
snapshot >after.sum
diff before.sum after.sum >&2 || fail "a -restart of a finished run changed the files"
# ... but a complete output of another run (another seed) is an existing file like any other
refused otherrun 1 73 "output file fresh.h5 exists, complete, from another run" -- \
  run -input in.h5 -output fresh.h5 -checkpoint ckf.h5 -restart -samples 4 -steps 10 -run_view 0 -progress 0 -seed 6
echo "cli_file_safety: all cases passed"
