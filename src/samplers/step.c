/* The DDPM pieces every sampler shares (methods.md section 1). */
#include "samplers/samplerimpl.h"

/* Tweedie: x0hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) */
void DpsStepTweedie(const DpsStep *st, PetscInt n, const PetscReal x[], const PetscReal eps[], PetscReal x0hat[])
{
  const PetscReal se = PetscSqrtReal(1.0 - st->abar), sa = PetscSqrtReal(st->abar);
  for (PetscInt j = 0; j < n; j++) x0hat[j] = (x[j] - se * eps[j]) / sa;
}

/* mu_theta = c1_t x0hat + c2_t x_t; x0hat and mu may be the same array */
void DpsStepReverseMean(const DpsStep *st, PetscInt n, const PetscReal x[], const PetscReal x0hat[], PetscReal mu[])
{
  for (PetscInt j = 0; j < n; j++) mu[j] = st->c1 * x0hat[j] + st->c2 * x[j];
}
