/* ddrm: denoising diffusion restoration models (Kawar et al. 2022; methods.md section 5), in the spectral
   coordinates of the operator's SVD A = U diag(sv) V^T, with sigma_t = sqrt((1 - abar_t) / abar_t),
   xbar0 = V^T x0hat, epsbar = V^T eps, ybar_i = (U^T y)_i / sv_i:
     sv_i = 0:                    xbar0_i + sqrt(1 - eta^2) sigma_{t-1} epsbar_i + eta sigma_{t-1} z
     sv_i sigma_{t-1} < sigma_y:  xbar0_i + sqrt(1 - eta^2) sigma_{t-1} (ybar_i - xbar0_i) sv_i / sigma_y + eta sigma_{t-1} z
     otherwise:                   (1 - eta_b) xbar0_i + eta_b ybar_i + sqrt(sigma_{t-1}^2 - eta_b^2 sigma_y^2 / sv_i^2) z
   then x_{t-1} = sqrt(abar_{t-1}) V xbar_{t-1}. sigma_y is never doubled (DDRM's code doubles it; we do not).
   Where the data range is declared, x0hat is clipped to it and eps recomputed from the clipped x0hat (the DDIM
   convention of guided-diffusion); DDRM's released code does not clip: -clip_x0hat false reproduces it. */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"

typedef struct {
  PetscReal eta, eta_b;
  PetscReal *x0bar, *epsbar, *ybar, *xbar; /* [d] each (ybar [max(d, m)]) */
} Sampler_DDRM;

static PetscErrorCode DpsSamplerStep_DDRM(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_DDRM    *dr = (Sampler_DDRM *)s->data;
  const PetscInt   d = s->d, m = s->m, k0 = PetscMin(m, d);
  const PetscReal  sp = PetscSqrtReal((1.0 - st->abar_prev) / st->abar_prev), sy = s->sigma_y, eta = dr->eta, etab = dr->eta_b;
  const PetscReal *sv, *range = DpsSamplerClipRange(s);

  PetscFunctionBegin;
  PetscCall(DpsOperatorGetSingularValues(s->op, &sv));
  PetscCall(DpsScoreEps(s->score, nin * s->S, st->t, st->abar, x, s->eps));
  for (PetscInt j = 0; j < nin; j++) {
    PetscCall(DpsOperatorApplyUT(s->op, y + j * m, dr->ybar));
    for (PetscInt i = 0; i < k0; i++) dr->ybar[i] = sv[i] > 0 ? dr->ybar[i] / sv[i] : 0.0;
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      PetscReal     *xr = x + row * d;
      DpsStepTweedie(st, range, d, xr, s->eps + row * d, s->x0hat + row * d);
      if (range) {
        /* a clipped entry's eps is the one that x0hat implies, as in guided-diffusion's ddim_sample:
           x_t = sqrt(abar) x0hat + sqrt(1 - abar) eps still holds (docs/samplers.md) */
        PetscReal *er = s->eps + row * d, *x0 = s->x0hat + row * d;
        for (PetscInt e = 0; e < d; e++)
          if (x0[e] == range[0] || x0[e] == range[1]) er[e] = (xr[e] - PetscSqrtReal(st->abar) * x0[e]) / PetscSqrtReal(1.0 - st->abar);
      }
      PetscCall(DpsOperatorApplyVT(s->op, s->x0hat + row * d, dr->x0bar));
      PetscCall(DpsOperatorApplyVT(s->op, s->eps + row * d, dr->epsbar));
      PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_PRIOR_NOISE, d, s->z));
      for (PetscInt i = 0; i < d; i++) {
        const PetscReal si = i < k0 ? sv[i] : 0.0;
        if (si == 0.0) dr->xbar[i] = dr->x0bar[i] + PetscSqrtReal(1.0 - eta * eta) * sp * dr->epsbar[i] + eta * sp * s->z[i];
        else if (si * sp < sy) dr->xbar[i] = dr->x0bar[i] + PetscSqrtReal(1.0 - eta * eta) * sp * (dr->ybar[i] - dr->x0bar[i]) * si / sy + eta * sp * s->z[i];
        else dr->xbar[i] = (1.0 - etab) * dr->x0bar[i] + etab * dr->ybar[i] + PetscSqrtReal(PetscMax(sp * sp - etab * etab * sy * sy / (si * si), 0.0)) * s->z[i];
      }
      PetscCall(DpsOperatorApplyV(s->op, dr->xbar, xr));
      for (PetscInt e = 0; e < d; e++) xr[e] *= PetscSqrtReal(st->abar_prev);
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetFromOptions_DDRM(DpsSampler s, PetscOptionItems *PetscOptionsObject)
{
  Sampler_DDRM *dr = (Sampler_DDRM *)s->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "DDRM (methods.md section 5; 20 steps is the published setting)");
  PetscCall(PetscOptionsReal("-ddrm_eta", "eta: noise of the null-space and low-SNR updates", NULL, dr->eta, &dr->eta, NULL));
  PetscCall(PetscOptionsReal("-ddrm_eta_b", "eta_b: weight of the measurement in the high-SNR update", NULL, dr->eta_b, &dr->eta_b, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(dr->eta >= 0 && dr->eta <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-ddrm_eta %g must lie in [0, 1]", (double)dr->eta);
  PetscCheck(dr->eta_b >= 0 && dr->eta_b <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-ddrm_eta_b %g must lie in [0, 1]", (double)dr->eta_b);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetUp_DDRM(DpsSampler s)
{
  Sampler_DDRM    *dr = (Sampler_DDRM *)s->data;
  PetscBool        has;
  const PetscReal *sv;

  PetscFunctionBegin;
  PetscCall(DpsOperatorHasSVD(s->op, &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_SUP, "-sampler_type ddrm needs the operator's SVD, and operator type %s has none: choose another sampler", ((PetscObject)s->op)->type_name);
  PetscCall(DpsOperatorGetSingularValues(s->op, &sv)); /* the SVD once per run, at set-up */
  PetscCall(PetscFree4(dr->x0bar, dr->epsbar, dr->ybar, dr->xbar));
  PetscCall(PetscMalloc4(s->d, &dr->x0bar, s->d, &dr->epsbar, PetscMax(s->d, s->m), &dr->ybar, s->d, &dr->xbar));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerView_DDRM(DpsSampler s, PetscViewer viewer)
{
  Sampler_DDRM *dr = (Sampler_DDRM *)s->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "eta %g, eta_b %g\n", (double)dr->eta, (double)dr->eta_b));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerDestroy_DDRM(DpsSampler s)
{
  Sampler_DDRM *dr = (Sampler_DDRM *)s->data;

  PetscFunctionBegin;
  PetscCall(PetscFree4(dr->x0bar, dr->epsbar, dr->ybar, dr->xbar));
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerCreate_DDRM(DpsSampler s)
{
  Sampler_DDRM *dr;

  PetscFunctionBegin;
  PetscCall(PetscNew(&dr));
  dr->eta                = 0.85;
  dr->eta_b              = 1.0;
  s->data                = dr;
  s->ops->setfromoptions = DpsSamplerSetFromOptions_DDRM;
  s->ops->setup          = DpsSamplerSetUp_DDRM;
  s->ops->step           = DpsSamplerStep_DDRM;
  s->ops->view           = DpsSamplerView_DDRM;
  s->ops->destroy        = DpsSamplerDestroy_DDRM;
  PetscFunctionReturn(0);
}
