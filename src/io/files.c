/* File safety (include/dpsolve/files.h): what every verb checks before it writes, and the durable-rename and
   kill-point helpers that the output and the checkpoint share. */
#include <dpsolve/dpsolve.h>
#include <dpsolve/files.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

void DpsKillPoint(const char name[])
{
  static int  parsed = 0;
  static char target[64];
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
      if (colon) count = atol(colon + 1);
    }
  }
  if (!target[0] || strcmp(name, target)) return;
  if (++seen == count) {
    fprintf(stderr, "dpsolve: DPSOLVE_KILL_AT=%s:%ld reached: killing process %d\n", target, count, (int)getpid());
    fflush(stderr);
    kill(getpid(), SIGKILL);
  }
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

PetscErrorCode DpsCheckOutputPath(MPI_Comm comm, const char path[], PetscBool force)
{
  PetscMPIInt rank;
  int         exists = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) exists = access(path, F_OK) == 0;
  PetscCallMPI(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  PetscCheck(!exists || force, comm, PETSC_ERR_FILE_OPEN, "output file %s already exists: remove it, choose another -output, or pass -force to replace it (it is kept until the new one is complete)", path);
  PetscCall(DpsCheckWritableDirectory(comm, path, "output file"));
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
  PetscCheck(!err, comm, PETSC_ERR_FILE_OPEN, "cannot write the %s %s: its directory %s: %s", what, path, dir, strerror(err));
  PetscFunctionReturn(0);
}
