# Shared helpers of the command-line tests (sourced by the cli_*.sh scripts; not a test itself).
# Every script is called as: bash script.sh DPSOLVE MPIEXEC PYTHON [H5DIFF]
# and works in a fresh temporary directory that is removed on exit.

DPSOLVE=${1:?usage: script.sh DPSOLVE MPIEXEC PYTHON [H5DIFF]}
MPIEXEC=${2:?missing the mpiexec path}
PYTHON=${3:?missing the python path}
H5DIFF=${4:-h5diff}
TEST_NAME=$(basename "$0" .sh)
# a hung MPI run (a collective call some rank never makes) fails the test with a message instead of blocking
DPS_CLI_TIMEOUT=${DPS_CLI_TIMEOUT:-30}

# numpy and h5py make and inspect the HDF5 files: without them the script exits 77, which fails the test
if ! "$PYTHON" -c 'import numpy, h5py' 2>/dev/null; then
  echo "$TEST_NAME: FAIL: $PYTHON has no numpy/h5py (scripts/setup.sh installs python3-numpy and python3-h5py)"
  exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/${TEST_NAME}.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() {
  echo "FAIL: $TEST_NAME: $*" >&2
  exit 1
}

# NP = 1 runs the program as an MPI singleton (no mpiexec): the same single rank, and a failing one exits in
# 0.4 s instead of the 1.4 s that mpiexec takes to tear down after MPI_Abort
launch() { # launch NP args...
  local np=$1
  shift
  if [ "$np" -eq 1 ]; then
    timeout -k 5 "$DPS_CLI_TIMEOUT" "$DPSOLVE" "$@"
  else
    timeout -k 5 "$DPS_CLI_TIMEOUT" "$MPIEXEC" -n "$np" "$DPSOLVE" "$@"
  fi
}

hung() { # hung RC NP args...: exit 124/137 is timeout's: the run hung
  local rc=$1 np=$2
  shift 2
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then fail "dpsolve $* (on $np ranks) hung: killed after ${DPS_CLI_TIMEOUT} s"; fi
}

# run the program on NP ranks, output to LOG; a failure shows the log and stops the test
dps() { # dps NP LOG verb options...
  local np=$1 log=$2
  shift 2
  local rc=0
  launch "$np" "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    hung "$rc" "$np" "$@"
    fail "dpsolve $* (on $np ranks) failed with exit $rc, see above"
  fi
}

# run the program on NP ranks and expect it to fail (non-zero exit); the combined output goes to LOG
dps_fails() { # dps_fails NP LOG verb options...
  local np=$1 log=$2 rc=0
  shift 2
  launch "$np" "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    cat "$log" >&2
    hung "$rc" "$np" "$@"
  fi
  if [ "$rc" -eq 0 ]; then
    cat "$log" >&2
    fail "dpsolve $* (on $np ranks) succeeded, expected a failure"
  fi
}

# the log holds each fixed string (grep -F); -i as the first argument makes the match case-insensitive
expect_in() { # expect_in [-i] LOG string...
  local flags=-qF
  if [ "$1" = -i ]; then
    flags=-qiF
    shift
  fi
  local log=$1
  shift
  for s in "$@"; do
    if ! grep $flags -- "$s" "$log"; then
      cat "$log" >&2
      fail "the output above ($log) does not contain '$s'"
    fi
  done
}

# the log holds an error message from the program: dpsolve's one line (without a rank when it comes before MPI starts, as
# for a job file that is not valid YAML), or PETSc's with -dps_traceback
expect_error() { # expect_error LOG
  if ! grep -qE -- '^dpsolve error( \(rank [0-9]+\))?: |PETSC ERROR: ' "$1"; then
    cat "$1" >&2
    fail "the output above ($1) has no error message"
  fi
}

# h5diff with no tolerance, dataset by dataset: 0 = identical; 1 = different; 2 = error (missing dataset, ...)
same_datasets() { # same_datasets A.h5 B.h5 dataset...
  local a=$1 b=$2 rc
  shift 2
  for ds in "$@"; do
    rc=0
    "$H5DIFF" "$a" "$b" "$ds" "$ds" >h5diff.log 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
      head -n 20 h5diff.log >&2
      fail "$a and $b differ in $ds (h5diff exit $rc)"
    fi
  done
}

differ_datasets() { # differ_datasets A.h5 B.h5 dataset: h5diff must find differences (exit 1, not an error)
  local rc=0
  "$H5DIFF" "$1" "$2" "$3" "$3" >h5diff.log 2>&1 || rc=$?
  if [ "$rc" -ne 1 ]; then
    cat h5diff.log >&2
    fail "expected $1 and $2 to differ in $3 (h5diff exit $rc, 1 expected)"
  fi
}

# every HDF5 file here (and its .partial or other suffixes): kind, name, size and time, then content. A failed
# command must leave this exactly as it was, with no file more or less.
snapshot() {
  find . -maxdepth 1 -name '*.h5*' -printf '%y %p %s %T@\n' | sort
  find . -maxdepth 1 -type f -name '*.h5*' -print0 | sort -z | xargs -0 -r sha256sum
}
unchanged() { # unchanged CASE: compare with the snapshot taken before the case
  snapshot >after.sum
  if ! diff before.sum after.sum >&2; then fail "$1: the files changed (above: < before, > after)"; fi
}
# fails_cleanly CASE NP verb options...: fails with an error message and a status below 128 (an error, not a
# crash by a signal), every file untouched
fails_cleanly() {
  local case=$1 np=$2 rc=0
  shift 2
  snapshot >before.sum
  launch "$np" "$@" >"$case.log" 2>&1 || rc=$?
  hung "$rc" "$np" "$@"
  [ "$rc" -ne 0 ] || { cat "$case.log" >&2; fail "$case: dpsolve $* (on $np ranks) succeeded, expected a failure"; }
  [ "$rc" -lt 128 ] || { cat "$case.log" >&2; fail "$case: dpsolve $* died with exit $rc (a signal), not an error"; }
  expect_error "$case.log"
  unchanged "$case"
}
