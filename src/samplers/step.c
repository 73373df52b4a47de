/* The DDPM pieces every sampler shares (methods.md section 1) and the guided steps (section 6). */
#include "samplers/guidance.h"

/* Tweedie: x0hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), clipped to range [lo, hi] when range is given
   (guided-diffusion's process_xstart with clip_denoised; methods.md section 1) */
void DpsStepTweedie(const DpsStep *st, const PetscReal range[], PetscInt n, const PetscReal x[], const PetscReal eps[], PetscReal x0hat[])
{
  const PetscReal se = PetscSqrtReal(1.0 - st->abar), sa = PetscSqrtReal(st->abar);
  for (PetscInt j = 0; j < n; j++) x0hat[j] = (x[j] - se * eps[j]) / sa;
  if (!range) return;
  /* two comparisons, not PetscMin/PetscMax: a NaN stays NaN for the finiteness check to find */
  for (PetscInt j = 0; j < n; j++) {
    if (x0hat[j] < range[0]) x0hat[j] = range[0];
    else if (x0hat[j] > range[1]) x0hat[j] = range[1];
  }
}

/* mu_theta = c1_t x0hat + c2_t x_t; x0hat and mu may be the same array */
void DpsStepReverseMean(const DpsStep *st, PetscInt n, const PetscReal x[], const PetscReal x0hat[], PetscReal mu[])
{
  for (PetscInt j = 0; j < n; j++) mu[j] = st->c1 * x0hat[j] + st->c2 * x[j];
}

/* The posterior-score step (methods.md section 6, cadps): eps' = eps - sqrt(1 - abar_t) lambda g;  x0hat' = (x_t - sqrt(1 - abar_t) eps') / sqrt(abar_t);
   x_{t-1} = sqrt(abar_{t-1}) x0hat' + sqrt(1 - abar_{t-1} - sigma^2) eps' + sigma z,
   sigma = eta sqrt((1 - abar_{t-1}) / (1 - abar_t)) sqrt(1 - abar_t / abar_{t-1}); at the last step sigma = 0. */
void DpsStepGuided(const DpsStep *st, PetscReal eta, PetscInt n, const PetscReal x[], const PetscReal eps[], const PetscReal g[], PetscReal lambda, const PetscReal z[], PetscReal out[])
{
  const PetscReal se = PetscSqrtReal(1.0 - st->abar), sa = PetscSqrtReal(st->abar);
  const PetscReal sigma = eta * PetscSqrtReal((1.0 - st->abar_prev) / (1.0 - st->abar)) * PetscSqrtReal(1.0 - st->abar / st->abar_prev);
  const PetscReal ce = PetscSqrtReal(PetscMax(1.0 - st->abar_prev - sigma * sigma, 0.0)), cp = PetscSqrtReal(st->abar_prev);

  for (PetscInt j = 0; j < n; j++) {
    PetscReal e  = eps[j] - se * lambda * g[j];
    PetscReal x0 = (x[j] - se * e) / sa;
    out[j]       = cp * x0 + ce * e + (sigma > 0 ? sigma * z[j] : 0.0);
  }
}

/* The DDIM step of the unguided model plus w g (methods.md section 6, pigdm): with the eps the (possibly clipped)
   x0hat implies, eps = (x_t - sqrt(abar_t) x0hat) / sqrt(1 - abar_t),
   x_{t-1} = sqrt(abar_{t-1}) x0hat + sqrt(1 - abar_{t-1} - sigma^2) eps + sigma z + w g, sigma as above.
   g never passes through eps: there it would move x0hat by (1 - abar_t)/sqrt(abar_t) J^T(...), with weight about 1
   at high noise, which diverged on images (the learned J is not the covariance that bounds that update). */
void DpsStepGuidedDDIM(const DpsStep *st, PetscReal eta, PetscInt n, const PetscReal x[], const PetscReal x0hat[], const PetscReal g[], PetscReal w, const PetscReal z[], PetscReal out[])
{
  const PetscReal se = PetscSqrtReal(1.0 - st->abar), sa = PetscSqrtReal(st->abar);
  const PetscReal sigma = eta * PetscSqrtReal((1.0 - st->abar_prev) / (1.0 - st->abar)) * PetscSqrtReal(1.0 - st->abar / st->abar_prev);
  const PetscReal ce = PetscSqrtReal(PetscMax(1.0 - st->abar_prev - sigma * sigma, 0.0)), cp = PetscSqrtReal(st->abar_prev);

  for (PetscInt j = 0; j < n; j++) {
    PetscReal e = (x[j] - sa * x0hat[j]) / se;
    out[j]      = cp * x0hat[j] + ce * e + (sigma > 0 ? sigma * z[j] : 0.0) + w * g[j];
  }
}
