#include <dpsolve/dpsolve.h>

/* PETSc marks an option used when some object queries it. After every object of a verb has read its options,
   anything left was misspelt or does not apply: stop before any work is done, naming the option and value. */
PetscErrorCode DpsOptionsCheckAllUsed(MPI_Comm comm, const char verb[])
{
  PetscInt n;
  char   **names, **values;

  PetscFunctionBegin;
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (PetscInt i = 0; i < n; i++) {
    /* options PETSc itself reads only at PetscFinalize */
    if (!strcmp(names[i], "options_left") || !strncmp(names[i], "malloc", 6) || !strncmp(names[i], "log", 3) || !strcmp(names[i], "objects_dump")) continue;
    {
      char msg[PETSC_MAX_PATH_LEN];
      PetscCall(PetscSNPrintf(msg, sizeof(msg), "unknown option -%s%s%s for 'dpsolve %s' (misspelt, or not used by the chosen types)", names[i], values[i] ? " " : "", values[i] ? values[i] : "", verb));
      PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
      SETERRQ(comm, PETSC_ERR_ARG_WRONG, "%s", msg);
    }
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscFunctionReturn(0);
}
