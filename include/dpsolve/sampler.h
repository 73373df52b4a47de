/* DpsSampler: the reverse chain for a batch of inputs and their posterior draws (methods.md sections 3-6). */
#ifndef DPSOLVE_SAMPLER_H
#define DPSOLVE_SAMPLER_H

#include <dpsolve/schedule.h>
#include <dpsolve/score.h>
#include <dpsolve/operator.h>

typedef struct _p_DpsSampler *DpsSampler;
typedef const char           *DpsSamplerType;
#define DPSSAMPLERDDPM "ddpm"
#define DPSSAMPLERCDPS "cdps"

/* C-DPS choices (methods.md section 3) */
typedef enum { DPS_CDPS_COUPLING_INDEPENDENT, DPS_CDPS_COUPLING_SHARED } DpsCDPSCoupling;
typedef enum { DPS_CDPS_PRIOR_REVERSE, DPS_CDPS_PRIOR_FORWARD } DpsCDPSPrior;
PETSC_EXTERN const char *const DpsCDPSCouplings[];
PETSC_EXTERN const char *const DpsCDPSPriors[];

/* What a sampler has spent so far, for the run log and the output attributes */
typedef struct {
  PetscInt64 steps;         /* reverse steps taken, summed over rows */
  PetscInt64 solves;        /* KSP solves */
  PetscInt64 cg_iterations; /* CG iterations over all solves */
} DpsSamplerStats;

PETSC_EXTERN PetscFunctionList DpsSamplerList;
PETSC_EXTERN PetscErrorCode    DpsSamplerRegister(const char[], PetscErrorCode (*)(DpsSampler));
PETSC_EXTERN PetscErrorCode    DpsSamplerRegisterAll(void);

PETSC_EXTERN PetscErrorCode DpsSamplerCreate(MPI_Comm, DpsSampler *);
PETSC_EXTERN PetscErrorCode DpsSamplerSetType(DpsSampler, DpsSamplerType);
PETSC_EXTERN PetscErrorCode DpsSamplerSetFromOptions(DpsSampler);
PETSC_EXTERN PetscErrorCode DpsSamplerSetUp(DpsSampler);
PETSC_EXTERN PetscErrorCode DpsSamplerView(DpsSampler, PetscViewer);
PETSC_EXTERN PetscErrorCode DpsSamplerDestroy(DpsSampler *);

PETSC_EXTERN PetscErrorCode DpsSamplerSetSchedule(DpsSampler, DpsSchedule);
PETSC_EXTERN PetscErrorCode DpsSamplerSetScore(DpsSampler, DpsScore);
PETSC_EXTERN PetscErrorCode DpsSamplerSetOperator(DpsSampler, DpsOperator, PetscReal); /* A and sigma_y */
PETSC_EXTERN PetscErrorCode DpsSamplerSetSeed(DpsSampler, PetscInt64);
PETSC_EXTERN PetscErrorCode DpsSamplerSetNumDraws(DpsSampler, PetscInt); /* S posterior draws per input */
PETSC_EXTERN PetscErrorCode DpsSamplerGetStats(DpsSampler, DpsSamplerStats *);

/* Runs the whole reverse chain for nin inputs with global indices index[] and measurements y [nin x m];
   writes x [nin x S x d]. Input index[j]'s draws depend only on (seed, index[j]), never on the batch. */
PETSC_EXTERN PetscErrorCode DpsSamplerSample(DpsSampler, PetscInt, const PetscInt[], const PetscReal[], PetscReal[]);

#endif
