/* File safety (include/dpsolve/files.h): what every verb checks before it writes, and the durable-rename and
   kill-point helpers that the output and the checkpoint share. */
#include <dpsolve/dpsolve.h>
#include <dpsolve/files.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <limits.h>
#include <sys/stat.h>

void DpsKillPoint(const char name[])
{
  static int  parsed = 0, sig = SIGKILL, hold = 0;
  static char target[64], holdfile[PATH_MAX];
  static long count = 1, seen = 0;

  if (!parsed) {
    const char *env = getenv("DPSOLVE_KILL_AT");
    parsed          = 1;
    if (env && env[0]) {
      const char *colon = strchr(env, ':');
      size_t      len   = colon ? (size_t)(colon - env) : strlen(env);
      if (len >= sizeof(target)) len = sizeof(target) - 1;
      memcpy(target, env, len);
      target[len] = '\0';
      if (colon) {
        const char *action = strchr(colon + 1, ':');
        count              = atol(colon + 1);
        if (action && !strcmp(action + 1, "TERM")) sig = SIGTERM;
        else if (action && !strcmp(action + 1, "USR1")) sig = SIGUSR1;
        else if (action && !strncmp(action + 1, "HOLD:", 5)) {
          hold = 1;
          snprintf(holdfile, sizeof(holdfile), "%s", action + 6);
        }
      }
    }
  }
  if (!target[0] || strcmp(name, target)) return;
  if (++seen != count) return;
  if (hold) {
    sigset_t block, old;
    if (access(holdfile, F_OK)) return;
    /* blocked before the message and released atomically by sigsuspend: a signal sent as soon as the message
       is seen is pending, never lost between the two */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    fprintf(stderr, "dpsolve: DPSOLVE_KILL_AT=%s:%ld reached: process %d holds until a signal arrives\n", target, count, (int)getpid());
    fflush(stderr);
    sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return;
  }
  fprintf(stderr, "dpsolve: DPSOLVE_KILL_AT=%s:%ld reached: %s process %d\n", target, count, sig == SIGKILL ? "killing" : sig == SIGTERM ? "sending SIGTERM to" : "sending SIGUSR1 to", (int)getpid());
  fflush(stderr);
  kill(getpid(), sig);
}

PetscErrorCode DpsSyncPath(const char path[], PetscBool dir)
{
  char  d[PETSC_MAX_PATH_LEN], *slash;
  int   fd;

  PetscFunctionBegin;
  fd = open(path, O_RDONLY);
  PetscCheck(fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s to sync it: %s", path, strerror(errno));
  PetscCheck(fsync(fd) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "fsync of %s failed: %s", path, strerror(errno));
  close(fd);
  if (dir) {
    /* a rename is durable once the directory that holds the new name is */
    PetscCall(PetscStrncpy(d, path, sizeof(d)));
    slash = strrchr(d, '/');
    if (slash == d) d[1] = '\0';
    else if (slash) *slash = '\0';
    else PetscCall(PetscStrncpy(d, ".", sizeof(d)));
    fd = open(d, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      (void)fsync(fd); /* some file systems refuse fsync on directories; the rename stands regardless */
      close(fd);
    }
  }
  PetscFunctionReturn(0);
}

/* ---------------------------------------------------------------- distinct files */

/* What a path names: (device, inode) when it exists (links followed), else its resolved path: the real path of
   its directory and its own name, which is where a new file of that name would be created. */
typedef struct {
  int   exists;
  dev_t dev;
  ino_t ino;
  char  resolved[PATH_MAX + NAME_MAX + 2];
} DpsFileId;

static void DpsFileIdentify(const char path[], DpsFileId *id)
{
  struct stat st;
  char        dir[PATH_MAX], real[PATH_MAX];
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;

  memset(id, 0, sizeof(*id));
  if (stat(path, &st) == 0) {
    id->exists = 1;
    id->dev    = st.st_dev;
    id->ino    = st.st_ino;
    if (realpath(path, real)) snprintf(id->resolved, sizeof(id->resolved), "%s", real);
    return;
  }
  if (!slash) snprintf(dir, sizeof(dir), ".");
  else if (slash == path) snprintf(dir, sizeof(dir), "/");
  else snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  /* a directory that does not resolve: compare the names as given (the write fails later with its own error) */
  if (realpath(dir, real)) snprintf(id->resolved, sizeof(id->resolved), "%s/%s", strcmp(real, "/") ? real : "", base);
  else snprintf(id->resolved, sizeof(id->resolved), "%s", path);
}

static PetscBool DpsFileSame(const DpsFileId *a, const DpsFileId *b)
{
  if (a->exists && b->exists) return (PetscBool)(a->dev == b->dev && a->ino == b->ino);
  return (PetscBool)(a->resolved[0] && !strcmp(a->resolved, b->resolved));
}

/* "-checkpoint ck.h5", or "-checkpoint's temporary file ck.h5.tmp" */
static PetscErrorCode DpsFileUseName(const DpsFileUse *u, char name[], size_t len)
{
  PetscFunctionBegin;
  if (u->what) PetscCall(PetscSNPrintf(name, len, "%s's %s %s", u->option, u->what, u->path));
  else PetscCall(PetscSNPrintf(name, len, "%s %s", u->option, u->path));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsFilesCheckDistinct(MPI_Comm comm, PetscInt n, const DpsFileUse use[])
{
  DpsFileId *id;
  int        clash[2] = {-1, -1}; /* the first pair, in (i, j) order, that names one file on this rank */
  int        first;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(PetscMax(n, 1), &id));
  for (PetscInt i = 0; i < n; i++)
    if (use[i].path && use[i].path[0]) DpsFileIdentify(use[i].path, &id[i]);
  for (PetscInt i = 0; i < n && clash[0] < 0; i++) {
    if (!use[i].path || !use[i].path[0]) continue;
    for (PetscInt j = i + 1; j < n; j++) {
      if (!use[j].path || !use[j].path[0]) continue;
      /* the files of one option are the same file by design (a checkpoint and its .prev are hard links) */
      if (!strcmp(use[i].option, use[j].option)) continue;
      if (DpsFileSame(&id[i], &id[j])) {
        clash[0] = (int)i;
        clash[1] = (int)j;
        break;
      }
    }
  }
  PetscCall(PetscFree(id));
  /* every rank checks its own view; all of them report the first clash any rank found */
  first = clash[0] < 0 ? INT_MAX : clash[0] * (int)n + clash[1];
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first != INT_MAX) {
    char a[2 * PETSC_MAX_PATH_LEN], b[2 * PETSC_MAX_PATH_LEN];
    PetscCall(DpsFileUseName(&use[first / n], a, sizeof(a)));
    PetscCall(DpsFileUseName(&use[first % n], b, sizeof(b)));
    SETERRQ(comm, PETSC_ERR_ARG_IDN, "%s and %s are the same file: nothing was read or written; give each its own file", a, b);
  }
  PetscFunctionReturn(0);
}

/* ---------------------------------------------------------------- outputs */

PetscErrorCode DpsCheckOutputPath(MPI_Comm comm, const char what[], const char path[], PetscBool force)
{
  PetscMPIInt rank;
  int         exists = 0, isdir = 0;
  struct stat st;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    exists = stat(path, &st) == 0;
    isdir  = exists && S_ISDIR(st.st_mode);
  }
  PetscCallMPI(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(&isdir, 1, MPI_INT, 0, comm));
  /* refused now, even with -force: the finished file could not be moved onto a directory after all the work */
  PetscCheck(!isdir, comm, DPS_ERR_CANT_CREATE, "%s %s is a directory: name a file, not a directory", what, path);
  PetscCheck(!exists || force, comm, DPS_ERR_CANT_CREATE, "%s %s already exists: remove it, choose another name, or pass -force to replace it (it is kept until the new one is complete)", what, path);
  PetscCall(DpsCheckWritableDirectory(comm, path, what));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsCheckWritableDirectory(MPI_Comm comm, const char path[], const char what[])
{
  PetscMPIInt rank;
  int         err = 0;
  char        dir[PETSC_MAX_PATH_LEN], probe[PETSC_MAX_PATH_LEN + 32], *slash;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  slash = strrchr(dir, '/');
  if (slash == dir) dir[1] = '\0';
  else if (slash) *slash = '\0';
  else PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
  /* create a file there and remove it: permissions alone do not tell (root ignores them, a read-only mount
     does not), and failing now costs nothing while failing after the sampling would lose it */
  if (rank == 0) {
    int fd;
    PetscCall(PetscSNPrintf(probe, sizeof(probe), "%s/.dpsolve-probe-XXXXXX", dir));
    fd = mkstemp(probe);
    if (fd < 0) err = errno;
    else {
      close(fd);
      unlink(probe);
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, DPS_ERR_CANT_CREATE, "cannot write the %s %s: its directory %s: %s", what, path, dir, strerror(err));
  PetscFunctionReturn(0);
}
