/* The verbs of the dpsolve command. Each reads its own options, checks that none is left unused, and works. */
#ifndef DPSOLVE_APP_H
#define DPSOLVE_APP_H
#include <dpsolve/dpsolve.h>
PETSC_INTERN PetscErrorCode DpsAppSimulate(MPI_Comm);
PETSC_INTERN PetscErrorCode DpsAppEval(MPI_Comm);
#endif
