# Helpers of the restart tests (sourced; not a test itself), on top of tests/cli/lib.sh.
# Every script is called as: bash script.sh DPSOLVE MPIEXEC PYTHON H5DIFF
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

OUTPUTS=(/samples /mean /std /y /x0 /done)

# is_complete FILE: the output says it is complete (attribute complete = 1) and every /done flag is set
is_complete() {
  "$PYTHON" - "$1" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    ok = int(f.attrs.get("complete", 0)) == 1 and bool(np.all(f["done"][...] == 1))
sys.exit(0 if ok else 1)
PY
}

# looks_complete FILE: 0 if the file claims to be complete (attribute complete = 1), 1 if not or unreadable
# (h5dump, beside h5diff: a C tool starts faster than python)
H5DUMP=$(dirname "$(command -v "$H5DIFF")")/h5dump
looks_complete() {
  "$H5DUMP" -a complete "$1" 2>/dev/null | grep -q '(0): 1$'
}

# same_output REF OUT: every dataset bit-identical, and OUT complete
same_output() {
  same_datasets "$1" "$2" "${OUTPUTS[@]}"
  is_complete "$2" || fail "$2 is not marked complete (attribute complete = 1, /done all 1)"
}

# killed NP LOG POINT args...: the run must stop at DPSOLVE_KILL_AT=POINT (SIGKILL), not finish or fail otherwise
killed() {
  local np=$1 log=$2 point=$3 rc=0
  shift 3
  DPSOLVE_KILL_AT=$point launch "$np" "$@" >"$log" 2>&1 || rc=$?
  if ! grep -q "DPSOLVE_KILL_AT=.* reached" "$log" || [ "$rc" -eq 0 ]; then
    cat "$log" >&2
    fail "dpsolve $* (on $np ranks) was to be killed at $point, but exited with $rc"
  fi
}

# none_of FILE...: none of these files exists
none_of() {
  for f in "$@"; do [ ! -e "$f" ] || fail "$f was left behind"; done
}

# attr FILE NAME: print a root attribute
attr() {
  "$PYTHON" -c 'import sys, h5py; v = h5py.File(sys.argv[1], "r").attrs[sys.argv[2]]; print(v.decode() if isinstance(v, bytes) else v)' "$1" "$2"
}

# rc_of NP LOG args...: run and print the exit status (no failure on non-zero)
rc_of() {
  local np=$1 log=$2 rc=0
  shift 2
  launch "$np" "$@" >"$log" 2>&1 || rc=$?
  echo "$rc"
}
