/* DpsRun: the driver of `dpsolve run`: reads this rank's shard, runs it in batches, writes the output file
   collectively, reports progress; writes checkpoints, restarts from them, and stops cleanly on SIGTERM/SIGUSR1. */
#ifndef DPSOLVE_RUN_H
#define DPSOLVE_RUN_H

#include <dpsolve/sampler.h>
#include <dpsolve/dataset.h>
#include <dpsolve/output.h>
#include <dpsolve/checkpoint.h>

typedef struct _n_DpsRun *DpsRun;

PETSC_EXTERN PetscErrorCode DpsRunCreate(MPI_Comm, DpsRun *);
PETSC_EXTERN PetscErrorCode DpsRunSetFromOptions(DpsRun); /* opens the input and builds every object */
PETSC_EXTERN PetscErrorCode DpsRunExecute(DpsRun);
/* The exit status of `dpsolve run`: 0, or DPS_RUN_EXIT_CHECKPOINTED when a signal (SIGTERM, SIGUSR1) stopped the
   run after a checkpoint: run the same command again with -restart to continue it (docs/running-on-slurm.md).
   75 is EX_TEMPFAIL of sysexits.h: a temporary failure, try again. */
#define DPS_RUN_EXIT_CHECKPOINTED 75
PETSC_EXTERN PetscErrorCode DpsRunGetExitStatus(DpsRun, int *);
PETSC_EXTERN PetscErrorCode DpsRunView(DpsRun, PetscViewer);
PETSC_EXTERN PetscErrorCode DpsRunDestroy(DpsRun *);

#endif
