/* pigdm: pseudoinverse-guided diffusion (Song et al. 2023; methods.md section 5):
   g = J^T A^T (r_t^2 A A^T + sigma_y^2 I)^{-1} (y - A x0hat), solved in measurement space by KSPCG on a MatShell
   (prefix meas_; exact when the operator offers the inverse), then the DDIM step (eta = 1) of the unguided model
   plus lambda sqrt(abar_{t-1}) sqrt(abar_t) r_t^2 g (section 6; lambda = -pigdm_scale): the authors' update
   ("adaptive weights"; NVlabs/RED-diff algos/pgdm.py). r_t^2 g is their noiseless guidance J^T A^+ (y - A x0hat)
   when sigma_y = 0, and sqrt(abar_t) J^T is O(1) where J alone carries 1/sqrt(abar_t).
   r_t^2 = s^2 (1 - abar_t) / (abar_t s^2 + 1 - abar_t) is Var[x0 | x_t] for a Gaussian prior with variance s^2 per
   entry; the paper's 1 - abar_t is s^2 = 1 (its data are normalised to unit variance). s^2: -pigdm_data_variance,
   else the prior's where the score knows it (the Gaussian mixture), else ((hi - lo)/2)^2 of the declared data
   range (1 for images in [-1, 1]), else 1. One model evaluation, one VJP and one solve per step. */
#include <dpsolve/dpsolve.h>
#include "samplers/guidance.h"

/* -pigdm_update: the authors' step (default), or the posterior-score step of methods.md section 6 that dpsolve
   used before, which is better on the Gaussian-mixture grid and diverges on images (docs/benchmarks.md) */
typedef enum { DPS_PIGDM_AUTHORS, DPS_PIGDM_POSTERIOR_SCORE } DpsPiGDMUpdate;
static const char *const DpsPiGDMUpdates[] = {"authors", "posterior_score", "DpsPiGDMUpdate", "DPS_PIGDM_", NULL};

typedef struct {
  PetscReal            scale;
  PetscReal            s2; /* -pigdm_data_variance; 0: from the prior, the data range or 1 */
  DpsPiGDMUpdate       update;
  DpsMeasurementSolver M;
} Sampler_PiGDM;

/* s^2 and where it came from */
static PetscErrorCode DpsSamplerPiGDMDataVariance(DpsSampler s, PetscReal *s2, const char **from)
{
  Sampler_PiGDM *pg = (Sampler_PiGDM *)s->data;
  PetscBool      known;

  PetscFunctionBegin;
  if (pg->s2 > 0) {
    *s2   = pg->s2;
    *from = "-pigdm_data_variance";
    PetscFunctionReturn(0);
  }
  PetscCall(DpsScoreGetDataVariance(s->score, s2, &known));
  if (known) *from = "the prior";
  else if (s->hasrange) {
    *s2   = 0.25 * (s->range[1] - s->range[0]) * (s->range[1] - s->range[0]);
    *from = "the data range, ((hi - lo)/2)^2";
  } else {
    *s2   = 1.0;
    *from = "the default (unit-variance data)";
  }
  PetscCheck(*s2 > 0 && !PetscIsInfOrNanReal(*s2), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "pigdm: the data variance s^2 from %s is %g; it must be positive and finite (set -pigdm_data_variance)", *from, (double)*s2);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerStep_PiGDM(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_PiGDM *pg = (Sampler_PiGDM *)s->data;
  const PetscInt d = s->d, rows = nin * s->S;
  PetscReal      s2, r2, w;
  const char    *from;

  PetscFunctionBegin;
  PetscCall(DpsSamplerPiGDMDataVariance(s, &s2, &from));
  r2 = s2 * (1.0 - st->abar) / (st->abar * s2 + 1.0 - st->abar);
  w  = pg->scale * PetscSqrtReal(st->abar_prev * st->abar) * r2;
  if (pg->update == DPS_PIGDM_POSTERIOR_SCORE) r2 = 1.0 - st->abar; /* as it was: unit-variance data */
  PetscCall(DpsScoreEps(s->score, rows, st->t, st->abar, x, s->eps));
  PetscCall(DpsGuidanceWeightedResidual(s, pg->M, st, nin, y, x, NULL, r2, s->v));
  PetscCall(DpsSamplerTweedieVJP(s, st, rows, x, s->v, s->g));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_PRIOR_NOISE, d, s->z));
      /* s->x0hat: the (clipped) x0hat of the residual, from DpsGuidanceWeightedResidual */
      if (pg->update == DPS_PIGDM_AUTHORS) DpsStepGuidedDDIM(st, 1.0, d, x + row * d, s->x0hat + row * d, s->g + row * d, w, s->z, x + row * d);
      else DpsStepGuided(st, 1.0, d, x + row * d, s->eps + row * d, s->g + row * d, pg->scale, s->z, x + row * d);
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetFromOptions_PiGDM(DpsSampler s, PetscOptionItems *PetscOptionsObject)
{
  Sampler_PiGDM *pg = (Sampler_PiGDM *)s->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "PiGDM (methods.md section 5)");
  PetscCall(PetscOptionsReal("-pigdm_scale", "Weight lambda of the guidance: lambda sqrt(abar_{t-1} abar_t) r_t^2 g is added to the DDIM step", NULL, pg->scale, &pg->scale, NULL));
  PetscCall(PetscOptionsReal("-pigdm_data_variance", "Data variance s^2 per entry in r_t^2 = s^2 (1 - abar_t)/(abar_t s^2 + 1 - abar_t) (0: the prior's, else ((hi - lo)/2)^2 of data_range, else 1)", NULL, pg->s2, &pg->s2, NULL));
  PetscCheck(pg->s2 >= 0 && !PetscIsInfOrNanReal(pg->s2), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-pigdm_data_variance %g must be finite and >= 0 (0: chosen from the prior or the data range)", (double)pg->s2);
  PetscCall(PetscOptionsEnum("-pigdm_update", "authors: DDIM step + lambda sqrt(abar_{t-1} abar_t) r_t^2 g; posterior_score: the guided step of methods.md section 6 (diverges on images)", NULL, DpsPiGDMUpdates, (PetscEnum)pg->update, (PetscEnum *)&pg->update, NULL));
  PetscOptionsHeadEnd();
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetUp_PiGDM(DpsSampler s)
{
  Sampler_PiGDM *pg = (Sampler_PiGDM *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsMeasurementSolverDestroy(&pg->M));
  PetscCall(DpsMeasurementSolverCreate(s->op, "meas_", &pg->M));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerView_PiGDM(DpsSampler s, PetscViewer viewer)
{
  Sampler_PiGDM *pg = (Sampler_PiGDM *)s->data;
  PetscReal      s2;
  const char    *from;

  PetscFunctionBegin;
  if (s->score && s->setupcalled) {
    PetscCall(DpsSamplerPiGDMDataVariance(s, &s2, &from));
    PetscCall(PetscViewerASCIIPrintf(viewer, "update %s, scale %g; data variance s^2 = %g (from %s) in r_t^2; measurement-space solve:\n", DpsPiGDMUpdates[pg->update], (double)pg->scale, (double)s2, from));
  } else PetscCall(PetscViewerASCIIPrintf(viewer, "scale %g; measurement-space solve:\n", (double)pg->scale));
  if (pg->M) PetscCall(DpsMeasurementSolverView(pg->M, viewer));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerDestroy_PiGDM(DpsSampler s)
{
  Sampler_PiGDM *pg = (Sampler_PiGDM *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsMeasurementSolverDestroy(&pg->M));
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerCreate_PiGDM(DpsSampler s)
{
  Sampler_PiGDM *pg;

  PetscFunctionBegin;
  PetscCall(PetscNew(&pg));
  pg->scale              = 1.0;
  s->data                = pg;
  s->ops->setfromoptions = DpsSamplerSetFromOptions_PiGDM;
  s->ops->setup          = DpsSamplerSetUp_PiGDM;
  s->ops->step           = DpsSamplerStep_PiGDM;
  s->ops->view           = DpsSamplerView_PiGDM;
  s->ops->destroy        = DpsSamplerDestroy_PiGDM;
  PetscFunctionReturn(0);
}
