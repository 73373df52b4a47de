/* dpsolve: diffusion posterior sampling for linear inverse problems. One header per object; this one pulls
   them all in and holds the package-wide pieces (class ids, log events, strict options). */
#ifndef DPSOLVE_H
#define DPSOLVE_H

#include <petscsys.h>
#include <dpsolve/random.h>
#include <dpsolve/schedule.h>
#include <dpsolve/operator.h>
#include <dpsolve/score.h>
#include <dpsolve/sampler.h>
#include <dpsolve/files.h>
#include <dpsolve/dataset.h>
#include <dpsolve/output.h>
#include <dpsolve/checkpoint.h>
#include <dpsolve/run.h>
#include <dpsolve/eval.h>

/* -log_view stages of a run: where time goes (score, VJP, CG solves, I/O). KSPSolve has its own event. */
PETSC_EXTERN PetscLogEvent DPS_EVENT_SCORE_EPS, DPS_EVENT_SCORE_JVP, DPS_EVENT_SCORE_VJP;
PETSC_EXTERN PetscLogEvent DPS_EVENT_SAMPLER_STEP, DPS_EVENT_IO_READ, DPS_EVENT_IO_WRITE, DPS_EVENT_EVAL;

PETSC_EXTERN PetscErrorCode DpsInitializePackage(void);

/* dpsolve's own error code, beyond PETSc's (which has none for it): an output or checkpoint that must not be
   created or replaced (it exists, it is a directory, its directory is not writable). */
#define DPS_ERR_CANT_CREATE 200

/* The exit statuses of the dpsolve command (sysexits.h; docs/running-on-slurm.md, "Signals and the exit
   status"): every error maps to one of them by its code (src/app/main.c), so that a scheduler can tell
   "requeue me" (75, only after a checkpointed stop) from errors that would fail again. */
#define DPS_EXIT_USAGE        64 /* EX_USAGE: options wrong, missing, out of range, incompatible; files aliased */
#define DPS_EXIT_DATA         65 /* EX_DATAERR: an input file holds malformed, inconsistent or non-finite data */
#define DPS_EXIT_NO_INPUT     66 /* EX_NOINPUT: an input file is missing or unreadable */
#define DPS_EXIT_INTERNAL     70 /* EX_SOFTWARE: anything else (a failed solve, a non-finite draw, a bug) */
#define DPS_EXIT_CANT_CREATE  73 /* EX_CANTCREAT: an output or checkpoint exists, is a directory, or cannot be made */
#define DPS_EXIT_IO           74 /* EX_IOERR: reading or writing a file failed (disk full, I/O error) */
#define DPS_EXIT_CHECKPOINTED 75 /* EX_TEMPFAIL: stopped by a signal after a checkpoint (or before anything was
                                    written): run the same command with -restart */

/* Every option given must have been used: an unknown or misspelt option is an error, not a silent default. */
PETSC_EXTERN PetscErrorCode DpsOptionsCheckAllUsed(MPI_Comm, const char[]);
/* calls fn(name, value, ctx) for every option of a database (NULL: the global one): "-name", and "value" or ""
   for a flag */
/* 0 when the file is valid YAML with no key given twice in one mapping; otherwise 1, with msg naming the file, the
   line and the problem. Needs no PETSc: main checks -options_file_yaml before PetscInitialize reads it. */
PETSC_EXTERN int DpsYAMLCheckFile(const char[], char[], size_t);
/* Expands -include a.yaml,b.yaml (job files name their pieces so): each piece's options are added unless already
   set; relative names are looked up from the current directory, then from -include_path */
PETSC_EXTERN PetscErrorCode DpsOptionsInsertIncludes(MPI_Comm);
/* PetscOptionsInt and PetscOptionsBoundedInt, with the value checked as typed: an integer too large for PetscInt
   is refused with the text the user gave (PETSc 3.18 would wrap it). Use inside PetscOptionsBegin/End. */
PETSC_EXTERN PetscErrorCode DpsOptionsInt_Private(PetscOptionItems *, const char[], const char[], const char[], PetscInt, PetscInt *, PetscBool *, PetscInt, PetscInt);
#define DpsOptionsInt(a, b, c, d, e, f)        DpsOptionsInt_Private(PetscOptionsObject, a, b, c, d, e, f, PETSC_MIN_INT, PETSC_MAX_INT)
#define DpsOptionsBoundedInt(a, b, c, d, e, f, g) DpsOptionsInt_Private(PetscOptionsObject, a, b, c, d, e, f, g, PETSC_MAX_INT)
PETSC_EXTERN PetscErrorCode DpsOptionsForEach(PetscOptions, PetscErrorCode (*)(const char[], const char[], void *), void *);

#endif
