/* cadps: covariance-aware DPS (seed 000; methods.md section 4).
   Second-order Tweedie: Cov[x0 | x_t] = (1 - abar)/abar (I - sqrt(1 - abar) d eps/dx). Its diagonal comes from
   finite differences of the model with K Rademacher probes,
     d_t = (1/K) sum_k r_k * (eps(x_t + h r_k) - eps(x_t)) / h,
     Sigmatilde = (1 - abar)/abar max(1 - sqrt(1 - abar) d_t, floor),
   and the likelihood N(y; A x0hat, sigma_y^2 I + A diag(Sigmatilde) A^T) gives the score g = J^T A^T w with
   (sigma_y^2 I + A diag(Sigmatilde) A^T) w = y - A x0hat (a measurement-space MatShell, KSPCG, prefix meas_).
   The update (-cadps_update ddim, the default) is PiGDM's authors' guided DDIM step (section 6) with r_t^2 I replaced
   by the covariance the likelihood used: x_{t-1} = DDIM(x0hat) + sqrt(abar_{t-1} abar_t) Sigmatilde g, Sigmatilde
   bounded by the data's variance s^2 (-cadps_data_variance, else the prior's, else ((hi - lo)/2)^2 of data_range,
   else 1). For a Gaussian prior with the exact diagonal, Sigmatilde = r_t^2 and the two coincide.
   -cadps_update posterior_score feeds g back through eps with weight 1 (section 6): exact for an exact score, but
   it moves x0hat by (1 - abar)/sqrt(abar) J^T A^T w and diverged on images (methods.md section 4 says why).
   Cost per step: 1 + K evaluations, 1 VJP, 1 solve.

   The step h is relative: h_abs = h max(1, rms(x_t)), so that it scales with the data; h = 1e-3 by default.
   On the Gaussian-mixture prior, whose diagonal is known exactly, the test shows the estimate converging to it as
   K grows, and a first-order difference error far below the Monte Carlo error for h in [1e-5, 1e-2].

   -cadps_variant released reproduces the authors' code instead: DPS with its gradient multiplied elementwise by
   1 + eps(x_t, t) - eps(x_t, t - 1) (a difference in the time index), step size -cadps_zeta. */
#include <dpsolve/dpsolve.h>
#include "samplers/guidance.h"

typedef enum { DPS_CADPS_PAPER, DPS_CADPS_RELEASED } DpsCADPSVariant;
static const char *const DpsCADPSVariants[] = {"paper", "released", "DpsCADPSVariant", "DPS_CADPS_", NULL};
/* -cadps_update: the guided DDIM step (default), or the posterior-score step of methods.md section 6 that dpsolve
   used before, exact with an exact score (the Gaussian mixture) and divergent on images (methods.md section 4) */
typedef enum { DPS_CADPS_DDIM, DPS_CADPS_POSTERIOR_SCORE } DpsCADPSUpdate;
static const char *const DpsCADPSUpdates[] = {"ddim", "posterior_score", "DpsCADPSUpdate", "DPS_CADPS_", NULL};

typedef struct {
  DpsCADPSVariant      variant;
  DpsCADPSUpdate       update;
  PetscInt             probes;
  PetscReal            h, floor, zeta;
  PetscReal            s2; /* -cadps_data_variance; 0: from the prior, the data range or 1 */
  DpsMeasurementSolver M;
  PetscReal           *xp, *ep, *diag; /* [capacity x d]: probed inputs, their eps, the covariance diagonal */
  PetscInt             capacity;
  PetscReal           *r;              /* [d] a probe */
} Sampler_CADPS;

static PetscErrorCode DpsSamplerCADPSEnsureCapacity(DpsSampler s, PetscInt rows)
{
  Sampler_CADPS *ca = (Sampler_CADPS *)s->data;

  PetscFunctionBegin;
  if (rows <= ca->capacity) PetscFunctionReturn(0);
  PetscCall(PetscFree3(ca->xp, ca->ep, ca->diag));
  PetscCall(PetscMalloc3(rows * s->d, &ca->xp, rows * s->d, &ca->ep, rows * s->d, &ca->diag));
  ca->capacity = rows;
  PetscFunctionReturn(0);
}

/* d_t [rows x d], the finite-difference estimate of diag(d eps / dx) from K probes around x;
   s->eps must hold eps(x_t, t) */
PetscErrorCode DpsSamplerCADPSJacobianDiagonal(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal x[], PetscReal dt[])
{
  Sampler_CADPS *ca = (Sampler_CADPS *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsSamplerCADPSEnsureCapacity(s, nin * s->S));
  PetscCall(DpsSamplerJacobianDiagonalFD(s, st, nin, index, x, ca->probes, ca->h, ca->xp, ca->ep, ca->r, dt));
  PetscFunctionReturn(0);
}

/* s^2, the data's variance per entry that bounds Sigmatilde in the ddim update, and where it came from */
static PetscErrorCode DpsSamplerCADPSDataVariance(DpsSampler s, PetscReal *s2, const char **from)
{
  Sampler_CADPS *ca = (Sampler_CADPS *)s->data;
  PetscBool      known;

  PetscFunctionBegin;
  *s2   = ca->s2;
  *from = "-cadps_data_variance";
  if (ca->s2 > 0) PetscFunctionReturn(0);
  PetscCall(DpsScoreGetDataVariance(s->score, s2, &known));
  *from = "the prior";
  if (!known && s->hasrange) {
    *s2   = 0.25 * (s->range[1] - s->range[0]) * (s->range[1] - s->range[0]);
    *from = "the data range, ((hi - lo)/2)^2";
  } else if (!known) {
    *s2   = 1.0;
    *from = "the default (unit-variance data)";
  }
  PetscCheck(*s2 > 0 && !PetscIsInfOrNanReal(*s2), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "cadps: the data variance s^2 from %s is %g; it must be positive and finite (set -cadps_data_variance)", *from, (double)*s2);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerStep_CADPS(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_CADPS *ca = (Sampler_CADPS *)s->data;
  const PetscInt d = s->d, rows = nin * s->S;

  PetscFunctionBegin;
  PetscCall(DpsSamplerCADPSEnsureCapacity(s, rows));
  PetscCall(DpsScoreEps(s->score, rows, st->t, st->abar, x, s->eps));
  if (ca->variant == DPS_CADPS_RELEASED) PetscCall(DpsSamplerLearnedVariance(s, st, rows)); /* its ancestral step's, before eps at t - 1 */
  if (ca->variant == DPS_CADPS_PAPER) {
    PetscCall(DpsSamplerCADPSJacobianDiagonal(s, st, nin, index, x, ca->diag));
    /* Sigmatilde = (1 - abar)/abar max(1 - sqrt(1 - abar) d_t, floor); the ddim update also bounds it by s^2:
       Cov[x0 | x_t] is at most the prior's (on average), and the floor alone is 25 s^2 at t = T on images */
    for (PetscInt e = 0; e < rows * d; e++) ca->diag[e] = (1.0 - st->abar) / st->abar * PetscMax(1.0 - PetscSqrtReal(1.0 - st->abar) * ca->diag[e], ca->floor);
    if (ca->update == DPS_CADPS_DDIM) {
      PetscReal   s2;
      const char *from;
      PetscCall(DpsSamplerCADPSDataVariance(s, &s2, &from));
      for (PetscInt e = 0; e < rows * d; e++) ca->diag[e] = PetscMin(ca->diag[e], s2);
    }
    PetscCall(DpsGuidanceWeightedResidual(s, ca->M, st, nin, y, x, ca->diag, 0.0, s->v));
    PetscCall(DpsSamplerTweedieVJP(s, st, rows, x, s->v, s->g));
    /* ddim: PiGDM's authors' weight with r_t^2 I replaced by Sigmatilde, the covariance the solve used */
    if (ca->update == DPS_CADPS_DDIM)
      for (PetscInt e = 0; e < rows * d; e++) s->g[e] *= PetscSqrtReal(st->abar_prev * st->abar) * ca->diag[e];
    for (PetscInt j = 0; j < nin; j++)
      for (PetscInt k = 0; k < s->S; k++) {
        const PetscInt row = j * s->S + k;
        PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_PRIOR_NOISE, d, s->z));
        /* s->x0hat: the (clipped) x0hat of the residual, from DpsGuidanceWeightedResidual */
        if (ca->update == DPS_CADPS_DDIM) DpsStepGuidedDDIM(st, 1.0, d, x + row * d, s->x0hat + row * d, s->g + row * d, 1.0, s->z, x + row * d);
        else DpsStepGuided(st, 1.0, d, x + row * d, s->eps + row * d, s->g + row * d, 1.0, s->z, x + row * d);
      }
  } else {
    PetscReal      abar_before;
    const PetscInt before = PetscMax(st->t - 1, 1); /* at t = 1 there is no earlier model time: the factor is 1 */
    /* the authors' code: eps at the previous model time, at the same x_t */
    PetscCall(DpsScheduleGetTrainAlphaBar(s->schedule, before, &abar_before));
    PetscCall(DpsScoreEps(s->score, rows, before, abar_before, x, ca->ep));
    PetscCall(DpsGuidanceNormGradient(s, st, nin, y, x, s->v));
    PetscCall(DpsSamplerTweedieVJP(s, st, rows, x, s->v, s->g));
    for (PetscInt j = 0; j < nin; j++)
      for (PetscInt k = 0; k < s->S; k++) {
        const PetscInt row = j * s->S + k;
        PetscReal     *xr  = x + row * d;
        PetscCall(DpsSamplerAncestral(s, st, index[j], k, s->x0hat + row * d, xr));
        for (PetscInt e = 0; e < d; e++) xr[e] += ca->zeta * (1.0 + s->eps[row * d + e] - ca->ep[row * d + e]) * s->g[row * d + e];
      }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetFromOptions_CADPS(DpsSampler s, PetscOptionItems *PetscOptionsObject)
{
  Sampler_CADPS *ca = (Sampler_CADPS *)s->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "CA-DPS (methods.md section 4)");
  PetscCall(PetscOptionsEnum("-cadps_variant", "paper: covariance-aware likelihood; released: the authors' code", NULL, DpsCADPSVariants, (PetscEnum)ca->variant, (PetscEnum *)&ca->variant, NULL));
  if (ca->variant == DPS_CADPS_PAPER) {
    PetscCall(DpsOptionsInt("-cadps_probes", "K: Rademacher probes of the finite-difference diagonal", NULL, ca->probes, &ca->probes, NULL));
    PetscCall(PetscOptionsReal("-cadps_fd_step", "h: finite-difference step, relative to max(1, rms(x_t))", NULL, ca->h, &ca->h, NULL));
    PetscCall(PetscOptionsReal("-cadps_floor", "Lower bound of 1 - sqrt(1 - abar) d_t", NULL, ca->floor, &ca->floor, NULL));
    PetscCall(PetscOptionsReal("-cadps_data_variance", "Data variance s^2 per entry that bounds Sigmatilde in the ddim update (0: the prior's, else ((hi - lo)/2)^2 of data_range, else 1)", NULL, ca->s2, &ca->s2, NULL));
    PetscCall(PetscOptionsEnum("-cadps_update", "ddim: DDIM step + sqrt(abar_{t-1} abar_t) Sigmatilde J^T A^T w, Sigmatilde <= s^2; posterior_score: J^T A^T w as a posterior score (exact for the Gaussian mixture; diverges on images)", NULL, DpsCADPSUpdates, (PetscEnum)ca->update, (PetscEnum *)&ca->update, NULL));
  } else {
    PetscCall(PetscOptionsReal("-cadps_zeta", "Step size of the released variant's DPS update", NULL, ca->zeta, &ca->zeta, NULL));
  }
  PetscOptionsHeadEnd();
  PetscCheck(ca->probes >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cadps_probes %" PetscInt_FMT " must be at least 1", ca->probes);
  PetscCheck(ca->h > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cadps_fd_step %g must be positive", (double)ca->h);
  PetscCheck(ca->floor > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cadps_floor %g must be positive", (double)ca->floor);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetUp_CADPS(DpsSampler s)
{
  Sampler_CADPS *ca = (Sampler_CADPS *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsMeasurementSolverDestroy(&ca->M));
  PetscCall(PetscFree(ca->r));
  if (ca->variant == DPS_CADPS_PAPER) PetscCall(DpsMeasurementSolverCreate(s->op, "meas_", &ca->M));
  PetscCall(PetscMalloc1(s->d, &ca->r));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerView_CADPS(DpsSampler s, PetscViewer viewer)
{
  Sampler_CADPS *ca = (Sampler_CADPS *)s->data;

  PetscFunctionBegin;
  if (ca->variant == DPS_CADPS_PAPER) {
    PetscCall(PetscViewerASCIIPrintf(viewer, "paper variant: %" PetscInt_FMT " probes, relative step %g, floor %g, update %s", ca->probes, (double)ca->h, (double)ca->floor, DpsCADPSUpdates[ca->update]));
    if (ca->update == DPS_CADPS_DDIM && s->score && s->setupcalled) {
      PetscReal   s2;
      const char *from;
      PetscCall(DpsSamplerCADPSDataVariance(s, &s2, &from));
      PetscCall(PetscViewerASCIIPrintf(viewer, ", Sigmatilde <= s^2 = %g (from %s)", (double)s2, from));
    }
    PetscCall(PetscViewerASCIIPrintf(viewer, "; measurement-space solve:\n"));
    if (ca->M) PetscCall(DpsMeasurementSolverView(ca->M, viewer));
  } else PetscCall(PetscViewerASCIIPrintf(viewer, "released variant (the authors' code): zeta %g\n", (double)ca->zeta));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerDestroy_CADPS(DpsSampler s)
{
  Sampler_CADPS *ca = (Sampler_CADPS *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsMeasurementSolverDestroy(&ca->M));
  PetscCall(PetscFree3(ca->xp, ca->ep, ca->diag));
  PetscCall(PetscFree(ca->r));
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerCreate_CADPS(DpsSampler s)
{
  Sampler_CADPS *ca;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ca));
  ca->variant            = DPS_CADPS_PAPER;
  ca->probes             = 1;
  ca->h                  = 1e-3;
  ca->floor              = 1e-3;
  ca->zeta               = 1.0;
  s->data                = ca;
  s->ops->setfromoptions = DpsSamplerSetFromOptions_CADPS;
  s->ops->setup          = DpsSamplerSetUp_CADPS;
  s->ops->step           = DpsSamplerStep_CADPS;
  s->ops->view           = DpsSamplerView_CADPS;
  s->ops->destroy        = DpsSamplerDestroy_CADPS;
  PetscFunctionReturn(0);
}
