#include <dpsolve/dpsolve.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>

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

/* ---------------------------------------------------------------- job files: include */

typedef struct {
  char pending[4096]; /* includes found inside included files */
} DpsIncludeCtx;

static PetscErrorCode DpsOptionsIncludeOption(const char name[], const char value[], void *ctx)
{
  DpsIncludeCtx *inc = (DpsIncludeCtx *)ctx;
  PetscBool      set;

  PetscFunctionBegin;
  if (!strcmp(name, "-include")) {
    if (inc->pending[0]) PetscCall(PetscStrlcat(inc->pending, ",", sizeof(inc->pending)));
    PetscCall(PetscStrlcat(inc->pending, value, sizeof(inc->pending)));
    PetscFunctionReturn(0);
  }
  /* what is already set (the job file itself, the command line) wins over its pieces */
  PetscCall(PetscOptionsHasName(NULL, NULL, name, &set));
  if (!set) PetscCall(PetscOptionsSetValue(NULL, name, value[0] ? value : NULL));
  PetscFunctionReturn(0);
}

/* A job file (jobs/NAME.yaml) names its pieces (configs/...) with `include: [a.yaml, b.yaml]`; PETSc's YAML reader
   leaves that as the option -include a.yaml,b.yaml, which this expands: each piece is read into a database of
   its own, and its options are copied over unless already set. Relative names are looked up from the current
   directory, then from each directory of -include_path (colon-separated). */
PetscErrorCode DpsOptionsInsertIncludes(MPI_Comm comm)
{
  char          list[4096], path[PETSC_MAX_PATH_LEN], dirs[PETSC_MAX_PATH_LEN] = "";
  PetscBool     set;
  DpsIncludeCtx inc;
  PetscMPIInt   rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-include_path", dirs, sizeof(dirs), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-include", list, sizeof(list), &set));
  for (int depth = 0; set && list[0]; depth++) {
    PetscCheck(depth < 8, comm, PETSC_ERR_ARG_WRONG, "-include: more than 8 levels of included files (a cycle?): %s", list);
    PetscCall(PetscOptionsClearValue(NULL, "-include"));
    inc.pending[0] = '\0';
    for (char *item = strtok(list, ","); item; item = strtok(NULL, ",")) {
      int found = 0;
      while (*item == ' ') item++;
      if (rank == 0) {
        PetscCall(PetscStrncpy(path, item, sizeof(path)));
        found = access(path, R_OK) == 0;
        if (!found && item[0] != '/') {
          char d[PETSC_MAX_PATH_LEN];
          PetscCall(PetscStrncpy(d, dirs, sizeof(d)));
          for (char *save = NULL, *dir = strtok_r(d, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
            PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", dir, item));
            found = access(path, R_OK) == 0;
          }
        }
      }
      PetscCallMPI(MPI_Bcast(&found, 1, MPI_INT, 0, comm));
      PetscCallMPI(MPI_Bcast(path, sizeof(path), MPI_CHAR, 0, comm));
      PetscCheck(found, comm, PETSC_ERR_FILE_OPEN, "-include %s: file not found (looked in the current directory%s%s)", item, dirs[0] ? " and -include_path " : "", dirs);
      {
        PetscOptions piece;
        char         msg[PETSC_MAX_PATH_LEN + 256];
        int          bad = 0;
        if (rank == 0) bad = DpsYAMLCheckFile(path, msg, sizeof(msg));
        PetscCallMPI(MPI_Bcast(&bad, 1, MPI_INT, 0, comm));
        PetscCallMPI(MPI_Bcast(msg, sizeof(msg), MPI_CHAR, 0, comm));
        PetscCheck(!bad, comm, PETSC_ERR_USER_INPUT, "-include %s: %s", item, msg);
        PetscCall(PetscOptionsCreate(&piece));
        PetscCall(PetscOptionsInsertFileYAML(comm, piece, path, PETSC_TRUE));
        PetscCall(DpsOptionsForEach(piece, DpsOptionsIncludeOption, &inc));
        PetscCall(PetscOptionsDestroy(&piece));
      }
    }
    PetscCall(PetscStrncpy(list, inc.pending, sizeof(list)));
    set = list[0] ? PETSC_TRUE : PETSC_FALSE;
  }
  PetscFunctionReturn(0);
}

/* ---------------------------------------------------------------- integer options */

/* PETSc 3.18 reads an integer option with strtol and casts the result to PetscInt, so "-samples 2147483648" is
   taken as -2147483648 and "-seed 99999999999999999999" as -1: a refusal would then quote a number the user never
   typed, and a value just too large could even pass as a valid one. The text is checked first, as typed. */
PetscErrorCode DpsOptionsInt_Private(PetscOptionItems *items, const char opt[], const char text[], const char man[], PetscInt current, PetscInt *value, PetscBool *set, PetscInt lb, PetscInt ub)
{
  const char *str = NULL;
  PetscBool   found;

  PetscFunctionBegin;
  PetscCall(PetscOptionsFindPair(items->options, items->prefix, opt, &str, &found));
  if (found && str) {
    const char *p = str + (str[0] == '-' || str[0] == '+');
    /* PETSc's own spellings (DEFAULT, DECIDE, ...) and malformed text are left to PETSc, which names them */
    if (*p >= '0' && *p <= '9') {
      char     *end;
      long long v;
      errno = 0;
      v     = strtoll(str, &end, 10);
      if (!*end) {
        PetscCheck(errno != ERANGE && v >= PETSC_MIN_INT && v <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s%s %s: out of range: an integer option holds %d to %d in this build", items->prefix ? items->prefix : "", opt, str, (int)PETSC_MIN_INT, (int)PETSC_MAX_INT);
        PetscCheck(v >= lb && v <= ub, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s%s %s: out of range: must be in [%" PetscInt_FMT ", %" PetscInt_FMT "]", items->prefix ? items->prefix : "", opt, str, lb, ub);
      }
    }
  }
  PetscCall(PetscOptionsInt_Private(items, opt, text, man, current, value, set, lb, ub));
  PetscFunctionReturn(0);
}
