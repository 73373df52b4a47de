#include <dpsolve/dpsolve.h>
#include "samplers/guidance.h"

/* s->x0hat of one row from s->eps, and its residual r = y - A x0hat [m] */
static PetscErrorCode DpsGuidanceResidual(DpsSampler s, const DpsStep *st, PetscInt row, const PetscReal y[], const PetscReal x[], PetscReal r[])
{
  const PetscInt d = s->d;

  PetscFunctionBegin;
  DpsStepTweedie(st, DpsSamplerClipRange(s), d, x + row * d, s->eps + row * d, s->x0hat + row * d);
  PetscCall(DpsOperatorApplyArray(s->op, s->x0hat + row * d, r));
  for (PetscInt l = 0; l < s->m; l++) r[l] = y[l] - r[l];
  PetscFunctionReturn(0);
}

PetscErrorCode DpsGuidanceNormGradient(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscReal y[], const PetscReal x[], PetscReal out[])
{
  PetscReal *r;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(s->m, &r));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      PetscReal      nr  = 0.0;
      PetscCall(DpsGuidanceResidual(s, st, row, y + j * s->m, x, r));
      for (PetscInt l = 0; l < s->m; l++) nr += r[l] * r[l];
      nr = PetscSqrtReal(nr);
      /* the gradient of ||r|| is undefined at r = 0: take 0, as the measurement is then met exactly */
      for (PetscInt l = 0; l < s->m; l++) r[l] = nr > 0 ? r[l] / nr : 0.0;
      PetscCall(DpsOperatorApplyTransposeArray(s->op, r, out + row * s->d));
    }
  }
  PetscCall(PetscFree(r));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsGuidanceWeightedResidual(DpsSampler s, DpsMeasurementSolver M, const DpsStep *st, PetscInt nin, const PetscReal y[], const PetscReal x[], const PetscReal v[], PetscReal vscalar, PetscReal out[])
{
  PetscReal *r, *w;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(s->m, &r, s->m, &w));
  if (!v) PetscCall(DpsMeasurementSolverSetCoefficients(M, s->sigma_y * s->sigma_y, NULL, vscalar));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      PetscCall(DpsGuidanceResidual(s, st, row, y + j * s->m, x, r));
      if (v) PetscCall(DpsMeasurementSolverSetCoefficients(M, s->sigma_y * s->sigma_y, v + row * s->d, 0.0));
      DpsSamplerCallSolve(s, st, j, k, "measurement-space solve", DpsMeasurementSolverSolve(M, r, w, &s->stats.cg_iterations));
      s->stats.solves++;
      PetscCall(DpsOperatorApplyTransposeArray(s->op, w, out + row * s->d));
    }
  }
  PetscCall(PetscFree2(r, w));
  PetscFunctionReturn(0);
}
