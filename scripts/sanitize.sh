#!/usr/bin/env bash
# The sanitizer job (CI's second step, after the README's test command): builds build-sanitize/ with
# AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer, and runs the unit, sampler, score-kernel,
# UNet and command-line bad-input (cli_bad_*) tests under them, one at a time. Any sanitizer report fails the
# job, even one from a run that a test expects to fail: reports go to files, one folder per test, printed with
# the test's name after it. Run scripts/setup.sh first (it installs the compiler, MPI, PETSc and HDF5).
# Usage: scripts/sanitize.sh [build dir, default build-sanitize] [test regex, default the tests above]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build-sanitize}
tests=${2:-'^(unit_|samplers_|kernels_|unet_pytorch|cli_bad_)'}

# gcc 12's ASan runtime cannot place its shadow memory when the kernel randomises mmap addresses with more than
# 28 bits (vm.mmap_rnd_bits = 32, the default of some Linux 6.x kernels): a sanitized program then spins
# printing "AddressSanitizer:DEADLYSIGNAL" forever, or crashes, before main (here: 6 of 20 runs of an empty
# program at 32 bits, 0 of 20 under setarch -R). Fixed only in newer runtimes (LLVM 18), so the job runs itself,
# and every process it starts (mpiexec passes the personality on to the ranks), with address randomisation off.
# /proc/self/personality is hex; ADDR_NO_RANDOMIZE is 0x0040000
if [ $((16#$(cat /proc/self/personality 2>/dev/null || echo 0) & 0x0040000)) -eq 0 ]; then
  if [ -z "${DPS_SANITIZE_SETARCH:-}" ] && setarch "$(uname -m)" -R true 2>/dev/null; then
    DPS_SANITIZE_SETARCH=1 exec setarch "$(uname -m)" -R "$0" "$@"
  fi
  bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo unknown)
  if [ "$bits" = unknown ] || [ "$bits" -gt 28 ]; then
    # not a failure of dpsolve: the machine cannot run the sanitizers, as a machine without a GPU cannot run the
    # GPU tests. Said loudly, and DPS_SANITIZE_REQUIRED=1 makes it an error.
    echo "sanitize: SKIPPED: cannot turn off address randomisation (setarch -R fails: a container's seccomp" \
         "forbids personality(ADDR_NO_RANDOMIZE)?) and vm.mmap_rnd_bits is $bits: gcc's ASan runtime needs 28 or" \
         "fewer bits. Run 'sysctl -w vm.mmap_rnd_bits=28' as root, or run this where setarch -R works." >&2
    if [ -n "${DPS_SANITIZE_REQUIRED:-}" ]; then exit 1; fi
    exit 0
  fi
  echo "sanitize: setarch -R fails here; running with address randomisation (vm.mmap_rnd_bits = $bits is safe)"
fi

flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
# every program gets tests/sanitizers/hooks.c (leaks checked in processes that exit with 0; UBSan to its log_path)
mkdir -p "$build"
hook=$root/$build/sanitizer_hooks.o
cc $flags -O2 -c tests/sanitizers/hooks.c -o "$hook"
# a process under ASan (with the leak check and its full stacks) takes 3 to 10 times as long as without: each
# dpsolve run of the command-line tests gets 90 s instead of 30 (lib.sh), each such test 480 s instead of 120
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDPSOLVE_CUDA=OFF -DCMAKE_C_FLAGS="$flags" \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined $hook" \
      -DDPS_CLI_TEST_TIMEOUT=480 >/dev/null
cmake --build "$build" -j"$(nproc)"

# a sanitized empty program must start and exit: if the ASan runtime cannot run on this machine, say so now
# instead of letting every test hang until its timeout
probe=$build/sanitize-probe
echo 'int main(void) { return 0; }' | cc $flags -x c - -o "$probe"
for i in 1 2 3 4 5; do
  if ! timeout 10 "$probe" >"$probe.log" 2>&1; then
    head -n 5 "$probe.log" >&2
    echo "sanitize: SKIPPED: a sanitized empty program fails or hangs here (run $i, exit status above);" \
         "address randomisation is $(cat /proc/self/personality), vm.mmap_rnd_bits" \
         "$(cat /proc/sys/vm/mmap_rnd_bits): the sanitizer runtime cannot run on this machine" >&2
    if [ -n "${DPS_SANITIZE_REQUIRED:-}" ]; then exit 1; fi
    exit 0
  fi
done

# halt at the first report of either sanitizer; leaks of Open MPI, PMIx, hwloc and the like (not dpsolve's) are
# suppressed by tests/sanitizers/lsan.supp. mpiexec hands this environment on to the ranks.
logs=$root/$build/sanitizer-logs
rm -rf "$logs"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export DPS_CLI_TIMEOUT=90

mapfile -t names < <(ctest --test-dir "$build" -N -R "$tests" | sed -n 's/^ *Test *#[0-9]*: //p')
[ ${#names[@]} -gt 0 ] || { echo "sanitize: no test matches $tests" >&2; exit 1; }
failed=()
start=$SECONDS
for name in "${names[@]}"; do
  dir=$logs/$name
  mkdir -p "$dir"
  chmod 1777 "$dir" # cli_bad_input runs one case as nobody
  # fast_unwind_on_malloc=0: see lsan.supp
  export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:halt_on_error=1:log_path=$dir/asan"
  rc=0
  UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$dir/ubsan" \
    ctest --test-dir "$build" --no-tests=error --output-on-failure -R "^$name\$" || rc=$?
  if compgen -G "$dir/*" >/dev/null; then
    for f in "$dir"/*; do
      echo "=== sanitizer report of $name: $f (the first 80 lines)" >&2
      head -n 80 "$f" >&2
    done
    failed+=("$name (sanitizer report)")
  elif [ "$rc" -ne 0 ]; then
    failed+=("$name")
  fi
done
echo "sanitize: ${#names[@]} tests in $((SECONDS - start)) s under ASan and UBSan"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'sanitize: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "sanitize: all passed, no sanitizer reports"
