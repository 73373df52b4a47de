/* The names registered in a PetscFunctionList (the operator, sampler, score and schedule types), so that messages
   and tests list the types from the registry instead of keeping their own lists. */
#ifndef DPSOLVE_TYPELIST_H
#define DPSOLVE_TYPELIST_H
#include <petscsys.h>

/* names[0..n): the registered names, borrowed from the list; free the array (not the names) with PetscFree() */
PETSC_EXTERN PetscErrorCode DpsTypeListGet(PetscFunctionList, PetscInt *n, const char ***names);
/* "a, b, c" (truncated to len), for "(known: ...)" in the messages that refuse an unknown type */
PETSC_EXTERN PetscErrorCode DpsTypeListString(PetscFunctionList, char str[], size_t len);
#endif
