/* The verbs of the dpsolve command. Each reads its own options, checks that none is left unused, and works. */
#ifndef DPSOLVE_APP_H
#define DPSOLVE_APP_H
#include <dpsolve/dpsolve.h>
PETSC_INTERN PetscErrorCode DpsAppSimulate(MPI_Comm);
PETSC_INTERN PetscErrorCode DpsAppEval(MPI_Comm);
PETSC_INTERN PetscErrorCode DpsAppCheck(MPI_Comm);
/* -help prints the options of a verb and stops there: nothing is read beyond what the options need, nothing written */
static inline PetscBool DpsAppHelpOnly(void)
{
  PetscBool help = PETSC_FALSE;
  (void)PetscOptionsHasHelp(NULL, &help);
  return help;
}
#endif
