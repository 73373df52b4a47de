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
/* The exit status of a run that did not fail: 0, or DPS_EXIT_CHECKPOINTED (75) when a signal (SIGTERM, SIGUSR1)
   stopped it after a checkpoint or during its set-up, before anything was written: run the same command again
   with -restart to continue it (docs/running-on-slurm.md). */
PETSC_EXTERN PetscErrorCode DpsRunGetExitStatus(DpsRun, int *);
PETSC_EXTERN PetscErrorCode DpsRunView(DpsRun, PetscViewer);
/* SIGTERM and SIGUSR1 only set a flag that the run answers (a checkpoint and status 75). main installs this
   before PetscInitialize and again after it (PETSc installs handlers of its own), so that no signal during the
   set-up is fatal; without -checkpoint the run gives the signals their former action back once set up. */
PETSC_EXTERN void DpsRunInstallSignalHandlers(void);
PETSC_EXTERN PetscErrorCode DpsRunDestroy(DpsRun *);

#endif
