/* Pieces the likelihood-guided samplers (dps, pigdm, cadps) share: Tweedie means and measurement residuals for
   the batch, and the per-row vectors A^T (...) whose VJP through x0hat is the guidance. */
#ifndef DPSOLVE_GUIDANCE_H
#define DPSOLVE_GUIDANCE_H
#include "samplers/samplerimpl.h"
#include "linalg/measurement.h"

/* s->x0hat from s->eps; out[row] = A^T r / ||r||, r = y - A x0hat (DPS's plain-norm gradient direction) */
PETSC_INTERN PetscErrorCode DpsGuidanceNormGradient(DpsSampler, const DpsStep *, PetscInt, const PetscReal[], const PetscReal[], PetscReal[]);
/* s->x0hat from s->eps; out[row] = A^T M_row^{-1} (y - A x0hat) with M = sigma_y^2 I + A diag(v_row) A^T; v = NULL:
   v = vscalar for every row, else v [rows x d]. CG iterations go to the sampler's stats. */
PETSC_INTERN PetscErrorCode DpsGuidanceWeightedResidual(DpsSampler, DpsMeasurementSolver, const DpsStep *, PetscInt, const PetscReal[], const PetscReal[], const PetscReal[], PetscReal, PetscReal[]);
/* The guided DDIM step of methods.md section 6 (step.c; pigdm): the DDIM step (eta) of the unguided model from x0hat
   [n] (eps = (x_t - sqrt(abar) x0hat) / sqrt(1 - abar)), plus w g. Arguments: step, eta, n, x_t, x0hat, g, w, z,
   out (out may be x_t). cadps takes the posterior-score step DpsStepGuided (samplerimpl.h) instead. */
PETSC_INTERN void DpsStepGuidedDDIM(const DpsStep *, PetscReal, PetscInt, const PetscReal[], const PetscReal[], const PetscReal[], PetscReal, const PetscReal[], PetscReal[]);
#endif
