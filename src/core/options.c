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

PetscErrorCode DpsOptionsForEach(PetscOptions options, PetscErrorCode (*fn)(const char[], const char[], void *), void *ctx)
{
  char  *all, *p, *name = NULL;
  char   value[PETSC_MAX_PATH_LEN];
  size_t vlen = 0;

  PetscFunctionBegin;
  /* PetscOptionsGetAll gives "-name value -flag -name2 value2 ": a token that starts with '-' and a letter names
     an option, every other token belongs to the value of the option before it */
  PetscCall(PetscOptionsGetAll(options, &all));
  p = all;
  for (;;) {
    char *tok, *end;
    while (*p == ' ') p++;
    tok = p;
    while (*p && *p != ' ') p++;
    end = p;
    if (tok == end || (tok[0] == '-' && (((tok[1] | 32) >= 'a' && (tok[1] | 32) <= 'z') || tok[1] == '_'))) {
      if (name) {
        value[vlen] = '\0';
        PetscCall((*fn)(name, value, ctx));
        PetscCall(PetscFree(name));
      }
      if (tok == end) break;
      {
        char save = *end;
        *end      = '\0';
        PetscCall(PetscStrallocpy(tok, &name));
        *end = save;
      }
      vlen = 0;
    } else {
      size_t n = (size_t)(end - tok);
      if (vlen && vlen < sizeof(value) - 1) value[vlen++] = ' ';
      if (vlen + n >= sizeof(value)) n = sizeof(value) - 1 - vlen;
      memcpy(value + vlen, tok, n);
      vlen += n;
    }
  }
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}
