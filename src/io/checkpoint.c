/* Checkpoints of a run (issue 5): to be written. */
#include <dpsolve/dpsolve.h>
