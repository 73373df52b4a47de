/* ddpm (methods.md sections 1 and 5): unconditional ancestral sampling, the check that the prior works at all. */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"

static PetscErrorCode DpsSamplerStep_DDPM(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  const PetscInt d = s->d;

  PetscFunctionBegin;
  PetscCall(DpsScoreEps(s->score, nin * s->S, st->t, st->abar, x, s->eps));
  PetscCall(DpsSamplerLearnedVariance(s, st, nin * s->S));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      DpsStepTweedie(st, DpsSamplerClipRange(s), d, x + row * d, s->eps + row * d, s->x0hat + row * d);
      PetscCall(DpsSamplerAncestral(s, st, index[j], k, s->x0hat + row * d, x + row * d));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerCreate_DDPM(DpsSampler s)
{
  PetscFunctionBegin;
  s->ops->step = DpsSamplerStep_DDPM;
  PetscFunctionReturn(0);
}
