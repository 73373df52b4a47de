/* ddpm (methods.md sections 1 and 5): unconditional ancestral sampling, the check that the prior works at all. */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"

typedef struct {
  PetscReal *z; /* [d] noise of one row */
} Sampler_DDPM;

static PetscErrorCode DpsSamplerStep_DDPM(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_DDPM   *dd = (Sampler_DDPM *)s->data;
  const PetscInt  d  = s->d;
  const PetscReal sd = PetscSqrtReal(st->var);

  PetscFunctionBegin;
  PetscCall(DpsScoreEps(s->score, nin * s->S, st->t, st->abar, x, s->eps));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      PetscReal *xr = x + (j * s->S + k) * d, *er = s->eps + (j * s->S + k) * d;
      DpsStepTweedie(st, d, xr, er, er);
      DpsStepReverseMean(st, d, xr, er, xr);
      /* the last step returns the mean of the final kernel */
      if (st->i == 1) continue;
      PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_PRIOR_NOISE, d, dd->z));
      for (PetscInt e = 0; e < d; e++) xr[e] += sd * dd->z[e];
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetUp_DDPM(DpsSampler s)
{
  Sampler_DDPM *dd = (Sampler_DDPM *)s->data;

  PetscFunctionBegin;
  PetscCall(PetscFree(dd->z));
  PetscCall(PetscMalloc1(s->d, &dd->z));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerDestroy_DDPM(DpsSampler s)
{
  Sampler_DDPM *dd = (Sampler_DDPM *)s->data;

  PetscFunctionBegin;
  PetscCall(PetscFree(dd->z));
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerCreate_DDPM(DpsSampler s)
{
  Sampler_DDPM *dd;

  PetscFunctionBegin;
  PetscCall(PetscNew(&dd));
  s->data         = dd;
  s->ops->setup   = DpsSamplerSetUp_DDPM;
  s->ops->step    = DpsSamplerStep_DDPM;
  s->ops->destroy = DpsSamplerDestroy_DDPM;
  PetscFunctionReturn(0);
}
