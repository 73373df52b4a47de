#!/bin/bash
# cli_eval_uneven_shards: eval on 2 ranks when the inputs do not split evenly (7 = 4 + 3). Regression test: eval
# once read /y and /samples collectively inside the loop over its own inputs and padded only afterwards, so the
# rank with 3 inputs waited in an Allreduce while the rank with 4 waited in its 4th collective read.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dps 1 sim.log simulate -output in.h5 -dx 8 -dy 2 -inputs 7 -seed 0
dps 2 run.log run -input in.h5 -output out.h5 -samples 8 -steps 20 -run_view 0 -progress 0
dps 1 eval1.log eval -input in.h5 -output out.h5 -eval_directions 50
cp out.h5 out2.h5
dps 2 eval2.log eval -input in.h5 -output out2.h5 -eval_directions 50 -force
# the values do not depend on the number of ranks
same_datasets out.h5 out2.h5 /eval/sw /eval/floor
echo "PASS: $TEST_NAME"
