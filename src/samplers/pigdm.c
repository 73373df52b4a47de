/* pigdm: pseudoinverse-guided diffusion (Song et al. 2023; methods.md section 5):
   g = J^T A^T (r_t^2 A A^T + sigma_y^2 I)^{-1} (y - A x0hat), r_t^2 = 1 - abar_t, solved in measurement space by
   KSPCG on a MatShell (prefix meas_; exact when the operator offers the inverse), then the shared guided step
   (section 6) with weight -pigdm_scale. One model evaluation, one VJP and one solve per step. */
#include <dpsolve/dpsolve.h>
#include "samplers/guidance.h"

typedef struct {
  PetscReal            scale;
  DpsMeasurementSolver M;
} Sampler_PiGDM;

static PetscErrorCode DpsSamplerStep_PiGDM(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_PiGDM *pg = (Sampler_PiGDM *)s->data;
  const PetscInt d = s->d, rows = nin * s->S;

  PetscFunctionBegin;
  PetscCall(DpsScoreEps(s->score, rows, st->t, st->abar, x, s->eps));
  PetscCall(DpsGuidanceWeightedResidual(s, pg->M, st, nin, y, x, NULL, 1.0 - st->abar, s->v));
  PetscCall(DpsSamplerTweedieVJP(s, st, rows, x, s->v, s->g));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_PRIOR_NOISE, d, s->z));
      DpsStepGuided(st, 1.0, d, x + row * d, s->eps + row * d, s->g + row * d, pg->scale, s->z, x + row * d);
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetFromOptions_PiGDM(DpsSampler s, PetscOptionItems *PetscOptionsObject)
{
  Sampler_PiGDM *pg = (Sampler_PiGDM *)s->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "PiGDM (methods.md section 5)");
  PetscCall(PetscOptionsReal("-pigdm_scale", "Weight lambda of the likelihood score in the guided step", NULL, pg->scale, &pg->scale, NULL));
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

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "scale %g; measurement-space solve:\n", (double)pg->scale));
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
