#!/usr/bin/env bash
# The exact-posterior benchmark (methods.md section 7, the MCGdiff grid): every sampler on Gaussian-mixture
# problems whose posterior is known, scored by the sliced Wasserstein distance to exact posterior draws.
#
#   bench/gmm/run.sh [-p problems per cell (20)] [-s draws (256)] [-n steps (100)] [-j parallel runs (2)]
#                    [-x "8 80 800"] [-y "1 2 4"] [-m methods,comma,separated (all)] [-o out dir (out/bench-gmm)]
#
# Writes <out>/results.csv (one row per problem and method), <out>/table.md and <out>/sw.png (report.py).
# Each run is one dpsolve process on one rank; -j runs go side by side. Seconds per sample are wall seconds of
# the sampling loop (from the run's own timer) divided by the draws, so they compare methods within one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
P=20 S=256 STEPS=100 J=2 DX="8 80 800" DY="1 2 4" ONLY="" OUT=out/bench-gmm
while getopts "p:s:n:j:x:y:m:o:" o; do
  case $o in p) P=$OPTARG ;; s) S=$OPTARG ;; n) STEPS=$OPTARG ;; j) J=$OPTARG ;; x) DX=$OPTARG ;; y) DY=$OPTARG ;; m) ONLY=$OPTARG ;; o) OUT=$OPTARG ;; *) exit 2 ;; esac
done
dps=$(pwd)/${DPSOLVE:-build/dpsolve}
[ -x "$dps" ] || { echo "bench/gmm: $dps not found: run scripts/setup.sh first" >&2; exit 1; }
/usr/bin/python3 -c "import matplotlib" 2>/dev/null || {
  echo "bench/gmm: installing python3-matplotlib for the plot"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -qq python3-matplotlib > /dev/null
}
mkdir -p "$OUT/runs"
OUT=$(cd "$OUT" && pwd)

# The methods and their stated settings (methods.md sections 3-5): name | options | steps
METHODS=(
  "cdps|-sampler_type cdps|$STEPS"
  "cdps-independent|-sampler_type cdps -cdps_coupling independent|$STEPS"
  "cadps|-sampler_type cadps -cadps_probes 1 -cadps_fd_step 1e-3|$STEPS"
  "cadps-posterior-score|-sampler_type cadps -cadps_probes 1 -cadps_fd_step 1e-3 -cadps_update posterior_score|$STEPS"
  "dps-0.1|-sampler_type dps -dps_zeta 0.1|$STEPS"
  "dps-1.0|-sampler_type dps -dps_zeta 1.0|$STEPS"
  "pigdm|-sampler_type pigdm|$STEPS"
  "ddrm|-sampler_type ddrm -ddrm_eta 0.85 -ddrm_eta_b 1|20"
  "ddpm|-sampler_type ddpm|$STEPS"
  "cdps-smc|-sampler_type cdps -cdps_smc -schedule_variance large|$STEPS"
)
picked() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

jobs=$OUT/jobs.txt
: > "$jobs"
for dx in $DX; do for dy in $DY; do for p in $(seq 1 "$P"); do
  in=$OUT/runs/in-$dx-$dy-$p.h5
  [ -e "$in" ] || "$dps" simulate -output "$in" -dx "$dx" -dy "$dy" -inputs 1 -seed "$p" > /dev/null
  for m in "${METHODS[@]}"; do
    IFS='|' read -r name opts steps <<< "$m"
    picked "$name" || continue
    echo "$dx $dy $p $name $steps $opts" >> "$jobs"
  done
done; done; done

run_one() {
  local dx=$1 dy=$2 p=$3 name=$4 steps=$5; shift 5
  local in=$OUT/runs/in-$dx-$dy-$p.h5 out=$OUT/runs/out-$dx-$dy-$p-$name.h5 log=$OUT/runs/out-$dx-$dy-$p-$name.log
  # a finished run (evaluated, with its log) is kept: the benchmark resumes where it stopped
  if ! /usr/bin/python3 -c "import h5py,sys; sys.exit(0 if 'eval' in h5py.File(sys.argv[1]) else 1)" "$out" 2> /dev/null || [ ! -s "$log" ]; then
    "$dps" run -input "$in" -output "$out" -samples "$S" -steps "$steps" -seed 1 -run_view 0 -progress 0 -force "$@" > "$log"
    "$dps" eval -input "$in" -output "$out" -eval_directions 500 -force > /dev/null
  fi
  /usr/bin/python3 - "$out" "$log" "$dx" "$dy" "$p" "$name" "$steps" "$S" <<'PY'
import sys, re, h5py
out, log, dx, dy, p, name, steps, S = sys.argv[1:]
secs = float(re.search(r"draws in ([0-9.]+) s", open(log).read()).group(1))
with h5py.File(out) as f:
    a, e = f.attrs, f["eval"]
    S = int(S)
    print(f"{dx},{dy},{p},{name},{steps},{e['sw'][0]:.5f},{e['floor'][0]:.5f},{e['prior'][0]:.5f},"
          f"{a['score_evaluations'] / S:.1f},{a['score_vjps'] / S:.1f},{a['cg_iterations'] / S:.1f},{secs / S:.6f}")
PY
}
export -f run_one
export OUT S dps
echo "bench/gmm: $(wc -l < "$jobs") runs, $J at a time, $S draws, $STEPS steps (ddrm 20)"
echo "dx,dy,problem,method,steps,sw,floor,prior,nfe_per_sample,vjp_per_sample,cg_iterations_per_sample,seconds_per_sample" > "$OUT/results.csv"
xargs -P "$J" -L 1 bash -c 'run_one "$@"' _ < "$jobs" >> "$OUT/results.csv"
/usr/bin/python3 "$(dirname "$0")/report.py" "$OUT/results.csv" "$OUT/table.md" "$OUT/sw.png"
cat "$OUT/table.md"
