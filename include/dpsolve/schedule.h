/* DpsSchedule: the noise schedule and its respacing (methods.md section 1). */
#ifndef DPSOLVE_SCHEDULE_H
#define DPSOLVE_SCHEDULE_H

#include <petscsys.h>

typedef struct _p_DpsSchedule *DpsSchedule;
typedef const char            *DpsScheduleType;
#define DPSSCHEDULELINEAR "linear"

/* The reverse kernel's variance s_t^2: "small" = betatilde_t, "large" = beta_t, "learned" = per entry from the
   model's v output, log s_t^2 = f logvar_max + (1 - f) logvar_min, f = (v + 1)/2 (guided-diffusion's
   LEARNED_RANGE; methods.md section 1). */
typedef enum { DPS_VARIANCE_SMALL, DPS_VARIANCE_LARGE, DPS_VARIANCE_LEARNED } DpsScheduleVariance;
PETSC_EXTERN const char *const DpsScheduleVariances[];

/* Everything one reverse step i (N..1) of the respaced chain needs, precomputed. */
typedef struct {
  PetscInt  i;           /* respaced index, N..1 */
  PetscInt  t;           /* model time tau_i in 1..T: the time the score model is called with */
  PetscReal abar;        /* abar'_i */
  PetscReal abar_prev;   /* abar'_{i-1}, 1 at i = 1 */
  PetscReal beta, alpha; /* beta'_i = 1 - abar'_i / abar'_{i-1}, alpha'_i = 1 - beta'_i */
  PetscReal betatilde;   /* beta'_i (1 - abar'_{i-1}) / (1 - abar'_i): 0 at i = 1 */
  PetscReal c1, c2;      /* mu = c1 x0hat + c2 x_t */
  PetscReal var;         /* s_t^2 of the reverse kernel: 0 at i = 1 with "small" */
  PetscReal var_clipped; /* s_t^2 with betatilde_1 replaced by betatilde_2, for precisions 1/s_t^2 */
  PetscBool learned;     /* -schedule_variance learned: var and var_clipped are NaN, s_t^2 comes from v per entry */
  PetscReal logvar_min;  /* log betatilde'_i, betatilde'_1 replaced by betatilde'_2 (learned: f = 0) */
  PetscReal logvar_max;  /* log beta'_i (learned: f = 1) */
} DpsStep;

PETSC_EXTERN PetscFunctionList DpsScheduleList;
PETSC_EXTERN PetscErrorCode    DpsScheduleRegister(const char[], PetscErrorCode (*)(DpsSchedule));
PETSC_EXTERN PetscErrorCode    DpsScheduleRegisterAll(void);

PETSC_EXTERN PetscErrorCode DpsScheduleCreate(MPI_Comm, DpsSchedule *);
PETSC_EXTERN PetscErrorCode DpsScheduleSetType(DpsSchedule, DpsScheduleType);
PETSC_EXTERN PetscErrorCode DpsScheduleSetNumSteps(DpsSchedule, PetscInt);
PETSC_EXTERN PetscErrorCode DpsScheduleSetVariance(DpsSchedule, DpsScheduleVariance);
/* the variance in use, and whether it was chosen (-schedule_variance or SetVariance) rather than the default */
PETSC_EXTERN PetscErrorCode DpsScheduleGetVariance(DpsSchedule, DpsScheduleVariance *, PetscBool *);
/* the variance unless one was chosen (the sampler: learned for a model with learned-variance channels) */
PETSC_EXTERN PetscErrorCode DpsScheduleSetDefaultVariance(DpsSchedule, DpsScheduleVariance);
PETSC_EXTERN PetscErrorCode DpsScheduleSetFromOptions(DpsSchedule);
PETSC_EXTERN PetscErrorCode DpsScheduleSetUp(DpsSchedule);
PETSC_EXTERN PetscErrorCode DpsScheduleView(DpsSchedule, PetscViewer);
PETSC_EXTERN PetscErrorCode DpsScheduleDestroy(DpsSchedule *);
PETSC_EXTERN PetscErrorCode DpsScheduleGetNumSteps(DpsSchedule, PetscInt *);
PETSC_EXTERN PetscErrorCode DpsScheduleGetNumTrainSteps(DpsSchedule, PetscInt *);
PETSC_EXTERN PetscErrorCode DpsScheduleGetStep(DpsSchedule, PetscInt, DpsStep *);
PETSC_EXTERN PetscErrorCode DpsScheduleGetTrainAlphaBar(DpsSchedule, PetscInt, PetscReal *);

#endif
