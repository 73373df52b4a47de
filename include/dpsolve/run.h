/* DpsRun: the driver of `dpsolve run`: reads this rank's shard, runs it in batches, writes the output file
   collectively, reports progress. */
#ifndef DPSOLVE_RUN_H
#define DPSOLVE_RUN_H

#include <dpsolve/sampler.h>
#include <dpsolve/dataset.h>
#include <dpsolve/checkpoint.h>

typedef struct _n_DpsRun *DpsRun;

PETSC_EXTERN PetscErrorCode DpsRunCreate(MPI_Comm, DpsRun *);
PETSC_EXTERN PetscErrorCode DpsRunSetFromOptions(DpsRun); /* opens the input and builds every object */
PETSC_EXTERN PetscErrorCode DpsRunExecute(DpsRun);
PETSC_EXTERN PetscErrorCode DpsRunView(DpsRun, PetscViewer);
PETSC_EXTERN PetscErrorCode DpsRunDestroy(DpsRun *);

#endif
