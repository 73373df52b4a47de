#!/bin/bash
# tools_demo_tasks: scripts/demo-tasks.sh (the seed's five image tasks on the shipped Fashion-MNIST prior) end to end
# at a tiny size (2 images, 3 C-DPS steps, 1 draw): every task's input is made, C-DPS and DDRM run on each, and the
# report gives a table per task with both methods and the task's baselines (finite PSNR and SSIM), and the grid.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/../cli/lib.sh"
DPSOLVE=$DPSOLVE DEMO_OUT=$WORK timeout -k 5 110 bash "$SRC/scripts/demo-tasks.sh" 2 3 1 > demo.log 2>&1 ||
  { cat demo.log >&2; fail "scripts/demo-tasks.sh 2 3 1 failed"; }
"$PYTHON" - demo-tasks.md <<'PY' || { cat demo.log >&2; fail "the demo's table is incomplete"; }
import math, re, sys
text = open(sys.argv[1]).read()
want = {"random": {"zero-filled", "biharmonic", "tv"}, "box": {"zero-filled", "biharmonic", "tv"},
        "gaussian": {"blurred", "wiener", "wiener-unsupervised"}, "motion": {"blurred", "wiener", "wiener-unsupervised"},
        "sr4": {"bicubic", "nearest"}}
for task, base in want.items():
    sec = re.search(rf"### {task}: 2 images\n(.*?)\n\n", text, re.S)
    assert sec, f"no table for {task}"
    rows = {m.group(1): (float(m.group(2).strip("*")), float(m.group(3)))
            for m in re.finditer(r"\| ([\w-]+)(?: \(baseline\))? \| ([\d.*]+) \| ([\d.]+) \|", sec.group(1))}
    assert set(rows) == {"cdps", "ddrm"} | base, f"{task}: rows {sorted(rows)}"
    assert all(math.isfinite(p) and 0 <= s <= 1 for p, s in rows.values()), f"{task}: {rows}"
print("table ok")
PY
[ -s demo-tasks.png ] || fail "no demo-tasks.png"
echo "PASS: $TEST_NAME"
