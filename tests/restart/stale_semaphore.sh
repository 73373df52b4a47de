#!/bin/bash
# restart_stale_semaphore: a run killed with SIGKILL must not wedge the next one. The "sm" shared-file-pointer
# component of Open MPI's ompio keys a POSIX semaphore on the file's base name (/dev/shm/sem.OMPIO_<name>); a rank
# killed while it holds it leaves it taken, and every later open of a file of that name on the node hung (CI saw
# restart_fault_kill9 and then run_under_load hang on ck.h5.tmp). dpsolve asks for ROMIO instead (src/app/main.c).
# This plants such a taken semaphore for the output and checkpoint names, shows that it does wedge ompio (the
# control: OMPI_MCA_io set to the empty list, which lets ompio win), and then that dpsolve runs through it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# names unique to this test, so that the planted semaphores touch no other test's files
tag="dps$$"
names=("$tag-out.h5.partial" "$tag-ck.h5.tmp" "$tag-control.h5.partial")
semaphores() { # semaphores create|unlink: the taken (value 0) semaphores for every name
  "$PYTHON" - "$1" "${names[@]}" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
for name in sys.argv[2:]:
    key = ("/OMPIO_" + name).encode()
    if sys.argv[1] == "create":
        s = libc.sem_open(key, os.O_CREAT, 0o644, 0)
        if s is None or s == ctypes.c_void_p(-1).value:
            sys.exit(f"sem_open({key}) failed: {os.strerror(ctypes.get_errno())}")
        libc.sem_close(ctypes.c_void_p(s))
    else:
        libc.sem_unlink(key)
PY
}
trap 'semaphores unlink; rm -rf "$WORK"' EXIT
semaphores create

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 6 -seed 3
common=(run -input in.h5 -samples 4 -steps 20 -seed 5 -progress 0 -run_view 0)

# the control: with the sm component allowed, Open MPI itself hangs on the planted semaphore
rc=0
DPS_CLI_TIMEOUT=8 OMPI_MCA_io= launch 1 "${common[@]}" -output "$tag-control.h5" >control.log 2>&1 || rc=$?
if [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]; then
  cat control.log >&2
  fail "the control run was to hang on the taken semaphore /dev/shm/sem.OMPIO_$tag-control.h5.partial, but exited with $rc (is this Open MPI's default MPI-IO still ompio with sharedfp/sm?)"
fi

# dpsolve as users run it: through the taken semaphores, on 2 ranks, with a checkpoint
dps 2 run.log "${common[@]}" -output "$tag-out.h5" -checkpoint "$tag-ck.h5" -checkpoint_every 5
is_complete "$tag-out.h5" || fail "$tag-out.h5 is not complete"
echo "PASS: $TEST_NAME"
