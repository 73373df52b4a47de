/* File safety: what every verb checks before it reads or writes anything, so that no run ever loses a file
   (docs/running-on-slurm.md, "Files and refusals"), and the helpers that make a write durable. */
#ifndef DPSOLVE_FILES_H
#define DPSOLVE_FILES_H

#include <petscsys.h>

/* A file a verb uses, by the option that names it: e.g. {"-checkpoint", "ck.h5.tmp", "temporary file"} */
typedef struct {
  const char *option; /* "-input", "-output", ... */
  const char *path;
  const char *what;   /* NULL, or what the path is to the option: "temporary file" */
} DpsFileUse;

/* Collective. Fails (PETSC_ERR_ARG_IDN), naming both options and the file, when two of the n uses are the same file: the same
   (device, inode) after following links for files that exist, the same resolved path for files not yet made.
   Every rank checks its own view (the ranks of a job may see different file systems). Uses with an empty path
   are skipped. */
PETSC_EXTERN PetscErrorCode DpsFilesCheckDistinct(MPI_Comm, PetscInt, const DpsFileUse[]);

/* Fails (DPS_ERR_CANT_CREATE), naming the file (what: "output file", "checkpoint"), when path exists and force is
   false, when it is a directory (even with force), or when its directory is missing or not writable
   (DpsCheckWritableDirectory); nothing is touched. */
PETSC_EXTERN PetscErrorCode DpsCheckOutputPath(MPI_Comm, const char[], const char[], PetscBool);
/* Fails, naming the file (what: "output file", "checkpoint", ...), its directory and the reason, unless a file
   can be created in the directory of path */
PETSC_EXTERN PetscErrorCode DpsCheckWritableDirectory(MPI_Comm, const char[], const char[]);

/* fsync of a file and, with PETSC_TRUE, of the directory that holds it, by path: what makes a rename durable */
PETSC_EXTERN PetscErrorCode DpsSyncPath(const char[], PetscBool);

/* Test aid: DPSOLVE_KILL_AT=name[:count[:TERM|USR1]] kills this process (SIGKILL) the count-th time (default 1)
   it reaches the named point, to test restarts from every phase of a checkpoint or output write; with TERM or
   USR1 it sends itself that signal instead, to test the answer to a signal at that point (before MPI starts:
   "main"; while the run is set up: "setup"). With HOLD:file, and while that file exists, the process instead
   waits there until it gets SIGTERM or SIGUSR1 and then goes on: how a test delivers a signal from outside
   (Slurm's) at a known point however fast the run is; removing the file keeps a restarted run from holding
   again. A no-op otherwise. */
PETSC_EXTERN void DpsKillPoint(const char[]);

#endif
