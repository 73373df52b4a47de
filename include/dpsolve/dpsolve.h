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

/* Every option given must have been used: an unknown or misspelt option is an error, not a silent default. */
PETSC_EXTERN PetscErrorCode DpsOptionsCheckAllUsed(MPI_Comm, const char[]);
/* calls fn(name, value, ctx) for every option of a database (NULL: the global one): "-name", and "value" or ""
   for a flag */
PETSC_EXTERN PetscErrorCode DpsOptionsForEach(PetscOptions, PetscErrorCode (*)(const char[], const char[], void *), void *);

#endif
