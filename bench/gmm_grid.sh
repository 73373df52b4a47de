#!/usr/bin/env bash
# SW to the exact posterior on the MCGdiff Gaussian-mixture grid (methods.md section 7) for cdps (both couplings)
# and ddpm, with the floor and prior samples as references. Prints a Markdown table of means over the problems.
# Usage: bench/gmm_grid.sh [problems per cell (3)] [inputs per problem (2)] [draws (256)] [steps (100)] [ranks (2)]
set -euo pipefail
cd "$(dirname "$0")/.."
P=${1:-3}; N=${2:-2}; S=${3:-256}; STEPS=${4:-100}; RANKS=${5:-2}
DX=${DX:-"8 80 800"}; DY=${DY:-"1 2 4"}
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1
dps=${DPSOLVE:-build/dpsolve}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
methods=("cdps-shared:-sampler_type cdps -cdps_coupling shared" "cdps-independent:-sampler_type cdps -cdps_coupling independent" "ddpm:-sampler_type ddpm")
echo "grid: $P problems x $N inputs per cell, $S draws, $STEPS steps, $RANKS ranks"
results=$work/results.csv
echo "dx,dy,method,input,sw,floor,prior,seconds" > "$results"
for dx in $DX; do for dy in $DY; do for p in $(seq 1 "$P"); do
  in=$work/in-$dx-$dy-$p.h5
  $dps simulate -output "$in" -dx "$dx" -dy "$dy" -inputs "$N" -seed "$p" > /dev/null
  for m in "${methods[@]}"; do
    name=${m%%:*}; opts=${m#*:}; out=$work/out-$dx-$dy-$p-$name.h5
    t0=$(date +%s.%N)
    mpiexec -n "$RANKS" $dps run -input "$in" -output "$out" -samples "$S" -steps "$STEPS" -seed 1 -batch 1 -run_view 0 -progress 0 $opts > /dev/null
    t1=$(date +%s.%N)
    mpiexec -n "$RANKS" $dps eval -input "$in" -output "$out" -eval_directions 500 > /dev/null
    /usr/bin/python3 - "$out" "$dx" "$dy" "$name" "$(echo "$t1 - $t0" | bc)" "$N" >> "$results" <<'PY'
import sys, h5py
out, dx, dy, name, secs, n = sys.argv[1:]
with h5py.File(out) as f:
    for i in range(int(n)):
        print(f"{dx},{dy},{name},{i},{f['/eval/sw'][i]:.4f},{f['/eval/floor'][i]:.4f},{f['/eval/prior'][i]:.4f},{float(secs)/int(n):.3f}")
PY
  done
done; done; done
/usr/bin/python3 - "$results" <<'PY'
import sys, csv, collections, math
rows = list(csv.DictReader(open(sys.argv[1])))
cells = collections.OrderedDict()
for r in rows:
    cells.setdefault((int(r['dx']), int(r['dy'])), collections.defaultdict(list))[r['method']].append(r)
def ms(v):
    m = sum(v) / len(v); s = math.sqrt(sum((x - m) ** 2 for x in v) / max(len(v) - 1, 1))
    return f"{m:.2f} ± {1.96 * s / math.sqrt(len(v)):.2f}"
print("| d_x | d_y | cdps shared | cdps independent | ddpm | prior samples | floor | s/input cdps (wall, all ranks) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for (dx, dy), by in cells.items():
    sw = {k: [float(r['sw']) for r in v] for k, v in by.items()}
    ref = by['ddpm']
    print(f"| {dx} | {dy} | {ms(sw['cdps-shared'])} | {ms(sw['cdps-independent'])} | {ms(sw['ddpm'])} | {ms([float(r['prior']) for r in ref])} | {ms([float(r['floor']) for r in ref])} | {sum(float(r['seconds']) for r in by['cdps-shared']) / len(by['cdps-shared']):.2f} |")
PY
