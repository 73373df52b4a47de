#include "core/typelist.h"

PetscErrorCode DpsTypeListGet(PetscFunctionList list, PetscInt *n, const char ***names)
{
  const char **all;
  int          len;

  PetscFunctionBegin;
  *n     = 0;
  *names = NULL;
  if (!list) PetscFunctionReturn(0);
  /* PETSc 3.18 ends the array with a NULL that it counts in len; later versions neither add nor count it */
  PetscCall(PetscFunctionListGet(list, &all, &len));
  for (int i = 0; i < len; i++)
    if (all[i]) all[(*n)++] = all[i];
  *names = all;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsTypeListString(PetscFunctionList list, char str[], size_t len)
{
  const char **names;
  PetscInt     n;

  PetscFunctionBegin;
  str[0] = 0;
  PetscCall(DpsTypeListGet(list, &n, &names));
  for (PetscInt i = 0; i < n; i++) {
    if (i) PetscCall(PetscStrlcat(str, ", ", len));
    PetscCall(PetscStrlcat(str, names[i], len));
  }
  PetscCall(PetscFree(names));
  PetscFunctionReturn(0);
}
