/* dps: diffusion posterior sampling (Chung et al. 2023) as in the reference code (methods.md section 5):
   x' = mu_theta + s_t z, then x_{t-1} = x' - zeta grad_{x_t} ||y - A x0hat||_2 with the plain (not squared) norm,
   i.e. x' + zeta J^T A^T r / ||r||, r = y - A x0hat. One model evaluation and one VJP per step. */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"
#include "samplers/guidance.h"

typedef struct {
  PetscReal zeta;
} Sampler_DPS;

static PetscErrorCode DpsSamplerStep_DPS(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_DPS   *dp = (Sampler_DPS *)s->data;
  const PetscInt d = s->d, rows = nin * s->S;

  PetscFunctionBegin;
  PetscCall(DpsScoreEps(s->score, rows, st->t, st->abar, x, s->eps));
  PetscCall(DpsSamplerLearnedVariance(s, st, rows)); /* the reference DPS's p_sample: the model's variance */
  /* v = A^T r / ||r|| per row, then g = J^T v for the batch */
  PetscCall(DpsGuidanceNormGradient(s, st, nin, y, x, s->v));
  PetscCall(DpsSamplerTweedieVJP(s, st, rows, x, s->v, s->g));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      PetscReal     *xr = x + row * d, *gr = s->g + row * d;
      PetscCall(DpsSamplerAncestral(s, st, index[j], k, s->x0hat + row * d, xr));
      for (PetscInt e = 0; e < d; e++) xr[e] += dp->zeta * gr[e];
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetFromOptions_DPS(DpsSampler s, PetscOptionItems *PetscOptionsObject)
{
  Sampler_DPS *dp = (Sampler_DPS *)s->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "DPS (methods.md section 5)");
  PetscCall(PetscOptionsReal("-dps_zeta", "Step size zeta of the plain-norm gradient (FFHQ: 0.3 deblur/SR, 0.5 inpainting; GMM benchmark: 0.1)", NULL, dp->zeta, &dp->zeta, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(dp->zeta >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-dps_zeta %g must be non-negative", (double)dp->zeta);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerView_DPS(DpsSampler s, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "zeta %g (plain-norm gradient)\n", (double)((Sampler_DPS *)s->data)->zeta));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerDestroy_DPS(DpsSampler s)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerCreate_DPS(DpsSampler s)
{
  Sampler_DPS *dp;

  PetscFunctionBegin;
  PetscCall(PetscNew(&dp));
  dp->zeta               = 1.0;
  s->data                = dp;
  s->ops->setfromoptions = DpsSamplerSetFromOptions_DPS;
  s->ops->step           = DpsSamplerStep_DPS;
  s->ops->view           = DpsSamplerView_DPS;
  s->ops->destroy        = DpsSamplerDestroy_DPS;
  PetscFunctionReturn(0);
}
