/* DpsSampler: the reverse chain for a batch of inputs and their posterior draws (methods.md sections 3-6). */
#ifndef DPSOLVE_SAMPLER_H
#define DPSOLVE_SAMPLER_H

#include <dpsolve/schedule.h>
#include <dpsolve/score.h>
#include <dpsolve/operator.h>

typedef struct _p_DpsSampler *DpsSampler;
typedef const char           *DpsSamplerType;
#define DPSSAMPLERDDPM "ddpm"
#define DPSSAMPLERCDPS  "cdps"
#define DPSSAMPLERCADPS "cadps"
#define DPSSAMPLERDPS   "dps"
#define DPSSAMPLERPIGDM "pigdm"
#define DPSSAMPLERDDRM  "ddrm"

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
  PetscInt64 out_of_range;  /* draws whose final values lie more than 100 range widths outside the data range */
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
/* The data range [lo, hi] the input declares (attribute data_range; images: [-1, 1]). Where it is set, x0hat is
   clipped to it (-clip_x0hat, default true; methods.md section 1, docs/samplers.md) and final draws more than
   100 widths outside it are counted and reported. Without it nothing is clipped. */
PETSC_EXTERN PetscErrorCode DpsSamplerSetDataRange(DpsSampler, PetscReal, PetscReal);

/* Step by step, for drivers that checkpoint: Begin draws x_N [nin x S x d] and sets up the sampler's own chain
   state; Step takes reverse step i -> i - 1 (i = N..1) in place. Sample = Begin + Step(N) .. Step(1).
   Step fails (PETSC_ERR_FP), naming the sampler, the input, the draw and the step, when a value of x is not finite
   afterwards: a diverged draw is never returned. */
PETSC_EXTERN PetscErrorCode DpsSamplerBegin(DpsSampler, PetscInt, const PetscInt[], const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsSamplerStep(DpsSampler, PetscInt, PetscInt, const PetscInt[], const PetscReal[], PetscReal[]);
/* What a restart needs beyond x: per row (input and draw) `size` doubles (0 for samplers without a chain of their
   own; m for cdps: the measurement chain y_t). Get/Set copy it for the current batch of nin inputs. */
PETSC_EXTERN PetscErrorCode DpsSamplerGetStateSize(DpsSampler, PetscInt *);
PETSC_EXTERN PetscErrorCode DpsSamplerGetState(DpsSampler, PetscInt, PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsSamplerSetState(DpsSampler, PetscInt, const PetscReal[]);
/* Per-input diagnostics of the batch in flight, written by a run to the output dataset `name` [N, n]: n = 0 for
   samplers without any (cdps -cdps_smc: /cdps_smc, resamplings, min and mean ESS, surviving ancestors). Get copies
   [nin x n] after the batch's last step. */
PETSC_EXTERN PetscErrorCode DpsSamplerGetDiagnosticsInfo(DpsSampler, PetscInt *, const char **);
PETSC_EXTERN PetscErrorCode DpsSamplerGetDiagnostics(DpsSampler, PetscInt, PetscReal[]);

/* Runs the whole reverse chain for nin inputs with global indices index[] and measurements y [nin x m];
   writes x [nin x S x d]. Input index[j]'s draws depend only on (seed, index[j]), never on the batch. */
PETSC_EXTERN PetscErrorCode DpsSamplerSample(DpsSampler, PetscInt, const PetscInt[], const PetscReal[], PetscReal[]);

#endif
