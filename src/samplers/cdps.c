/* cdps: C-DPS, coupled data and measurement dynamics (methods.md section 3).

   Each reverse step samples the Gaussian p(x_{t-1} | x_t, y_{t-1}) proportional to
   N(x_{t-1}; mu_theta, s_t^2 I) N(y_{t-1}; A x_{t-1} + b_{t-1}, Sigma_{t-1} I), whose precision is
   Lambda_t = (1/s_t^2) I + A^T A / Sigma_{t-1}, with matrix-free CG (the seed's PW-CG). The measurement chain
   y_t is drawn along with the data chain from its exact bridge, so it is never stored.

   -cdps_space x0 (methods.md section 3, "x0-space form") takes the same Gaussian one level down: it draws x0 from
   p(x0 | x_t, y) proportional to N(x0; x0hat, r_t^2) N(y; A x0, sigma_y^2 I), precision diag(1/r_t^2) + A^T A / sigma_y^2,
   with the same PW-CG, then re-noises x_{t-1} ~ N(sqrt(abar_{t-1}) x0, (1 - abar_{t-1}) I) (DAPS's decoupled
   annealing); no measurement chain. r_t^2 (-cdps_x0_variance): tweedie 1 - abar_t; data
   s^2 (1 - abar_t) / (abar_t s^2 + 1 - abar_t), the exact Var[x0 | x_t] of a N(m, s^2 I) prior; cadps the
   covariance-aware diagonal of methods.md section 4 (1 + K model evaluations per step).

   -cdps_smc (methods.md section 3, "Particles") makes the S draws of an input the particles of a filter whose
   observations are one measurement path per input (draw 0's): the step is the optimal proposal, the incremental
   log-weight the predictive likelihood of y_{t-1} given x_t (a measurement-space solve), and the particles are
   resampled systematically when the ESS falls below -cdps_smc_ess times S, and always before the last step.
   -cdps_smc_noise pinned (default): each particle carries the one measurement noise n, y_t = A x_t + sqrt(abar_t) n,
   and steps by N(mu_theta, s_t^2 I) conditioned on A x_{t-1} = y_{t-1} - sqrt(abar_{t-1}) n (converges to the
   posterior); fresh: the C-DPS likelihood N(y_{t-1}; A x_{t-1}, Sigma_{t-1} I) and step (FPS; with S = 1 plain
   C-DPS bit for bit, but it counts the noise once per step, so its limit is not the posterior). */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"
#include "linalg/precision.h"
#include "linalg/measurement.h"

const char *const DpsCDPSCouplings[] = {"independent", "shared", "DpsCDPSCoupling", "DPS_CDPS_COUPLING_", NULL};
const char *const DpsCDPSPriors[]    = {"reverse", "forward", "DpsCDPSPrior", "DPS_CDPS_PRIOR_", NULL};

typedef enum { DPS_CDPS_SPACE_XT, DPS_CDPS_SPACE_X0 } DpsCDPSSpace;
static const char *const DpsCDPSSpaces[] = {"xt", "x0", "DpsCDPSSpace", "DPS_CDPS_SPACE_", NULL};
typedef enum { DPS_CDPS_SMC_FRESH, DPS_CDPS_SMC_PINNED } DpsCDPSSMCNoise;
static const char *const DpsCDPSSMCNoises[] = {"fresh", "pinned", "DpsCDPSSMCNoise", "DPS_CDPS_SMC_", NULL};
typedef enum { DPS_CDPS_X0VAR_TWEEDIE, DPS_CDPS_X0VAR_CADPS, DPS_CDPS_X0VAR_DATA } DpsCDPSX0Variance;
static const char *const DpsCDPSX0Variances[] = {"tweedie", "cadps", "data", "DpsCDPSX0Variance", "DPS_CDPS_X0VAR_", NULL};

typedef struct {
  PetscInt        solves; /* 1: Lambda x = rhs + z; 2: the seed's mean solve, then noise solve */
  DpsCDPSCoupling coupling;
  DpsCDPSPrior    prior;
  DpsPrecision    Lambda;
  KSP             mean, noise;
  Vec             rhs, z, sol, v; /* [d] */
  PetscReal      *ychain;         /* [rows x m] the measurement chain y_t of every row */
  PetscInt        ycapacity;
  PetscReal      *wm, *wd;        /* [m], [d] scratch */
  /* the x0 form */
  DpsCDPSSpace      space;
  DpsCDPSX0Variance x0var;
  PetscReal         s2;              /* data variance s^2 of -cdps_x0_variance data (<= 0: from the data range) */
  PetscInt          probes;          /* cadps: K probes, relative step h, floor */
  PetscReal         h, floor;
  PetscReal        *r2, *xp, *ep;    /* [rcapacity x d]: per-entry r_t^2, probed inputs and their eps */
  PetscInt          rcapacity;
  PetscReal        *a;               /* [d] 1 / r_t^2 of one row */
  PetscInt          moves;           /* draws of x0 per noise level (-cdps_x0_moves): M - 1 Gibbs sweeps x_t | x0, x0 | x_t, y */
  /* -cdps_smc: the particle form; the path of input j is ychain row j S (draw 0's) */
  PetscBool            smc;
  PetscBool            pinned;       /* -cdps_smc_noise pinned: each particle carries its measurement noise n (nz) */
  PetscReal            ess;          /* -cdps_smc_ess: resample when ESS < ess S */
  PetscReal           *nz;           /* [scap x m] pinned: the noise n of every particle, y_t = A x_t + sqrt(abar_t) n */
  DpsMeasurementSolver P;            /* Sigma I + s^2 A A^T (predictive), Sigma_N I + A A^T (the first particles) */
  PetscReal           *logw, *anc;   /* [scap]: log-weight and initial ancestor (an integer) of every row */
  PetscReal           *info;         /* [scap / S x DPS_CDPS_SMC_INFO]: per input resamplings, min ESS, sum of ESS */
  PetscReal           *mu, *xs;      /* [scap x d]: mu_theta of every row; the rows being resampled */
  PetscReal           *res;          /* [m] residual y_{t-1} - A mu_theta */
  PetscReal           *W;            /* [S] normalized weights of one input */
  PetscInt            *pick;         /* [S] ancestors of one resampling */
  PetscInt             scap;
} Sampler_CDPS;

#define DPS_CDPS_SMC_INFO 3 /* per input: resamplings (ESS below the threshold), min ESS, sum of ESS over steps */

/* a solve of row (j, k) of the batch at step st: a failure names them (DpsSamplerCallSolve) */
static PetscErrorCode DpsSamplerCDPSSolve(DpsSampler s, const DpsStep *st, PetscInt j, PetscInt k, KSP ksp, Vec b, Vec x)
{
  PetscInt its;

  PetscFunctionBegin;
  DpsSamplerCallSolve(s, st, j, k, "CG solve with the precision Lambda_t", KSPSolve(ksp, b, x));
  PetscCall(KSPGetIterationNumber(ksp, &its));
  s->stats.solves++;
  s->stats.cg_iterations += its;
  PetscFunctionReturn(0);
}

/* A draw of N(Lambda^{-1} rhs, Lambda^{-1}) into c->sol by PW-CG (methods.md section 3): the perturbation
   z = e1 / r + A^T e2 / sqrt(Sigma) has cov(z) = Lambda (DpsPrecisionPerturbation), so one solve of
   Lambda x = rhs + z has the law of mean + noise at half the cost (-cdps_solves 1), or two solves (2). e1 and e2
   are the (input, draw, level) blocks of the prior- and measurement-noise streams. c->rhs is overwritten. */
static PetscErrorCode DpsSamplerCDPSDraw(DpsSampler s, const DpsStep *st, PetscInt j, PetscInt k, PetscInt input, PetscInt level)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsSamplerNormals(s, input, k, level, DPS_STREAM_PRIOR_NOISE, s->d, c->wd));
  PetscCall(DpsSamplerNormals(s, input, k, level, DPS_STREAM_MEAS_NOISE, s->m, c->wm));
  PetscCall(DpsPrecisionPerturbation(c->Lambda, c->wd, c->wm, c->z));
  if (c->solves == 1) {
    PetscCall(VecAXPY(c->rhs, 1.0, c->z));
    PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->mean, c->rhs, c->sol));
  } else {
    PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->mean, c->rhs, c->sol));
    PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->noise, c->z, c->v));
    PetscCall(VecAXPY(c->sol, 1.0, c->v));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerCDPSEnsureChain(DpsSampler s, PetscInt rows)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  if (rows > c->ycapacity) {
    PetscCall(PetscFree(c->ychain));
    PetscCall(PetscMalloc1(rows * s->m, &c->ychain));
    c->ycapacity = rows;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerCDPSEnsureSMC(DpsSampler s, PetscInt rows)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  if (rows > c->scap) {
    PetscCall(PetscFree7(c->logw, c->anc, c->info, c->mu, c->xs, c->W, c->pick));
    PetscCall(PetscFree(c->nz));
    PetscCall(PetscMalloc7(rows, &c->logw, rows, &c->anc, rows / s->S * DPS_CDPS_SMC_INFO, &c->info, rows * s->d, &c->mu, s->S * PetscMax(s->d, s->m), &c->xs, s->S, &c->W, s->S, &c->pick));
    if (c->pinned) PetscCall(PetscMalloc1(rows * s->m, &c->nz));
    c->scap = rows;
  }
  PetscFunctionReturn(0);
}

/* -cdps_smc, x_N: the path is draw 0's, y_N = sqrt(abar_N) y + sqrt(1 - abar_N) A x_N^0, so draw 0 is one joint draw
   of (x_N, y_N). Particles k >= 1 are drawn from the same p(x_N | y_N) = N(0, I) N(y_N; A x_N, Sigma_N I),
   Sigma_N = abar_N sigma_y^2, by Matheron's rule: x = e0 + A^T (Sigma_N I + A A^T)^{-1} (y_N - A e0 - sqrt(Sigma_N) e2)
   with e0 the draw's x_N ~ N(0, I) and e2 its measurement-noise normals at step N + 1. Drawn from p(x_N | y_N),
   every particle starts with the same weight. (Unconditioned particles would meet the first step's predictive
   likelihood, of scale s_N, at distance |A (x^k - x^0)| ~ sqrt(m): all weight on particle 0.)
   -cdps_smc_noise pinned: every particle, draw 0 too, is drawn with its noise from p(x_N, n | y_N), y_N = A x_N +
   sqrt(abar_N) n, x_N ~ N(0, I), n ~ N(0, sigma_y^2 I): the same x, and n = sigma_y e2 + sqrt(abar_N) sigma_y^2 w with
   w = (Sigma_N I + A A^T)^{-1} (...) the solve above. (Draw 0's own x_N implies n = (y_N - A x_N) / sqrt(abar_N),
   close to y, not a noise: the chain's x_N ~ N(0, I) leaves out sqrt(abar_N) x0.) */
static PetscErrorCode DpsSamplerBeginSMC_CDPS(DpsSampler s, PetscInt nin, const PetscInt index[], PetscReal x[], const DpsStep *st, PetscInt N)
{
  Sampler_CDPS   *c = (Sampler_CDPS *)s->data;
  const PetscInt  d = s->d, m = s->m, S = s->S;
  const PetscReal SigmaN = st->abar * s->sigma_y * s->sigma_y;

  PetscFunctionBegin;
  PetscCheck(SigmaN > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "C-DPS with -cdps_smc needs sigma_y > 0 (Sigma_N = abar_N sigma_y^2 = %g)", (double)SigmaN);
  PetscCall(DpsSamplerCDPSEnsureSMC(s, nin * S));
  PetscCall(DpsMeasurementSolverSetCoefficients(c->P, SigmaN, NULL, 1.0));
  for (PetscInt j = 0; j < nin; j++) {
    const PetscReal *yN = c->ychain + j * S * m;
    for (PetscInt k = c->pinned ? 0 : 1; k < S; k++) {
      PetscReal *xr = x + (j * S + k) * d;
      PetscCall(DpsSamplerNormals(s, index[j], k, N + 1, DPS_STREAM_MEAS_NOISE, m, c->wm));
      PetscCall(DpsOperatorApplyArray(s->op, xr, c->res));
      for (PetscInt l = 0; l < m; l++) c->res[l] = yN[l] - c->res[l] - PetscSqrtReal(SigmaN) * c->wm[l];
      DpsSamplerCallSolve(s, st, j, k, "measurement-space solve of the first particles", DpsMeasurementSolverSolve(c->P, c->res, c->wm, &s->stats.cg_iterations));
      s->stats.solves++;
      PetscCall(DpsOperatorApplyTransposeArray(s->op, c->wm, c->wd));
      for (PetscInt e = 0; e < d; e++) xr[e] += c->wd[e];
      if (c->pinned) {
        PetscReal *n = c->nz + (j * S + k) * m;
        PetscCall(DpsSamplerNormals(s, index[j], k, N + 1, DPS_STREAM_MEAS_NOISE, m, n)); /* e2 again */
        for (PetscInt l = 0; l < m; l++) n[l] = s->sigma_y * n[l] + PetscSqrtReal(st->abar) * s->sigma_y * s->sigma_y * c->wm[l];
      }
    }
    for (PetscInt k = 0; k < S; k++) {
      c->logw[j * S + k] = 0.0;
      c->anc[j * S + k]  = (PetscReal)k;
    }
    c->info[j * DPS_CDPS_SMC_INFO + 0] = 0.0;
    c->info[j * DPS_CDPS_SMC_INFO + 1] = (PetscReal)S;
    c->info[j * DPS_CDPS_SMC_INFO + 2] = 0.0;
  }
  PetscFunctionReturn(0);
}

/* y_N = sqrt(abar_N) y + sqrt(1 - abar_N) noise: zeta ~ N(0, I_m) (independent) or A x_N (shared) */
static PetscErrorCode DpsSamplerBegin_CDPS(DpsSampler s, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;
  PetscInt      N, m = s->m;
  DpsStep       st;

  PetscFunctionBegin;
  if (c->space == DPS_CDPS_SPACE_X0) PetscFunctionReturn(0); /* no measurement chain */
  PetscCall(DpsSamplerCDPSEnsureChain(s, nin * s->S));
  PetscCall(DpsScheduleGetNumSteps(s->schedule, &N));
  PetscCall(DpsScheduleGetStep(s->schedule, N, &st));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < (c->smc ? 1 : s->S); k++) { /* -cdps_smc: one path per input, draw 0's */
      PetscReal *yt = c->ychain + (j * s->S + k) * m;
      if (c->coupling == DPS_CDPS_COUPLING_SHARED) PetscCall(DpsOperatorApplyArray(s->op, x + (j * s->S + k) * s->d, c->wm));
      else PetscCall(DpsSamplerNormals(s, index[j], k, N + 1, DPS_STREAM_BRIDGE, m, c->wm));
      for (PetscInt l = 0; l < m; l++) yt[l] = PetscSqrtReal(st.abar) * y[j * m + l] + PetscSqrtReal(1.0 - st.abar) * c->wm[l];
    }
  }
  if (c->smc) PetscCall(DpsSamplerBeginSMC_CDPS(s, nin, index, x, &st, N));
  PetscFunctionReturn(0);
}

/* restart state: the measurement chain y_t of every row (the x0 form has none: x_t is its whole state) */
static PetscErrorCode DpsSamplerStateSize_CDPS(DpsSampler s, PetscInt *size)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  *size = c->space == DPS_CDPS_SPACE_X0 ? 0 : s->m;
  if (c->smc) *size += (c->pinned ? s->m : 0) + 2 + DPS_CDPS_SMC_INFO; /* the path, [the noise n,] log-weight, ancestor, the input's counts */
  PetscFunctionReturn(0);
}

/* -cdps_smc restart state of row (j, k): [its input's path y_t (m) | its noise n (m, pinned only) | log-weight |
   initial ancestor | the input's resamplings, min ESS, sum of ESS]; the input's values are repeated in each of its
   rows */
static PetscErrorCode DpsSamplerGetStateSMC_CDPS(DpsSampler s, PetscInt nin, PetscReal state[])
{
  Sampler_CDPS  *c = (Sampler_CDPS *)s->data;
  const PetscInt p = c->pinned ? s->m : 0, m = s->m + p, q = m + 2 + DPS_CDPS_SMC_INFO;

  PetscFunctionBegin;
  PetscCheck(nin * s->S <= c->ycapacity && nin * s->S <= c->scap, PETSC_COMM_SELF, PETSC_ERR_ORDER, "no batch of %" PetscInt_FMT " inputs in flight", nin);
  for (PetscInt j = 0; j < nin; j++)
    for (PetscInt k = 0; k < s->S; k++) {
      PetscReal *r = state + (j * s->S + k) * q;
      PetscCall(PetscArraycpy(r, c->ychain + j * s->S * s->m, s->m));
      if (p) PetscCall(PetscArraycpy(r + s->m, c->nz + (j * s->S + k) * p, p));
      r[m]     = c->logw[j * s->S + k];
      r[m + 1] = c->anc[j * s->S + k];
      PetscCall(PetscArraycpy(r + m + 2, c->info + j * DPS_CDPS_SMC_INFO, DPS_CDPS_SMC_INFO));
    }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetStateSMC_CDPS(DpsSampler s, PetscInt nin, const PetscReal state[])
{
  Sampler_CDPS  *c = (Sampler_CDPS *)s->data;
  const PetscInt p = c->pinned ? s->m : 0, m = s->m + p, q = m + 2 + DPS_CDPS_SMC_INFO;

  PetscFunctionBegin;
  PetscCall(DpsSamplerCDPSEnsureChain(s, nin * s->S));
  PetscCall(DpsSamplerCDPSEnsureSMC(s, nin * s->S));
  for (PetscInt j = 0; j < nin; j++)
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscReal *r = state + (j * s->S + k) * q;
      if (p) PetscCall(PetscArraycpy(c->nz + (j * s->S + k) * p, r + s->m, p));
      if (!k) {
        PetscCall(PetscArraycpy(c->ychain + j * s->S * s->m, r, s->m));
        PetscCall(PetscArraycpy(c->info + j * DPS_CDPS_SMC_INFO, r + m + 2, DPS_CDPS_SMC_INFO));
      }
      c->logw[j * s->S + k] = r[m];
      c->anc[j * s->S + k]  = r[m + 1];
    }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerGetState_CDPS(DpsSampler s, PetscInt nin, PetscReal state[])
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  if (c->space == DPS_CDPS_SPACE_X0) PetscFunctionReturn(0);
  if (c->smc) {
    PetscCall(DpsSamplerGetStateSMC_CDPS(s, nin, state));
    PetscFunctionReturn(0);
  }
  PetscCheck(nin * s->S <= c->ycapacity, PETSC_COMM_SELF, PETSC_ERR_ORDER, "no batch of %" PetscInt_FMT " inputs in flight", nin);
  PetscCall(PetscArraycpy(state, c->ychain, nin * s->S * s->m));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetState_CDPS(DpsSampler s, PetscInt nin, const PetscReal state[])
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  if (c->space == DPS_CDPS_SPACE_X0) PetscFunctionReturn(0);
  if (c->smc) {
    PetscCall(DpsSamplerSetStateSMC_CDPS(s, nin, state));
    PetscFunctionReturn(0);
  }
  PetscCall(DpsSamplerCDPSEnsureChain(s, nin * s->S));
  PetscCall(PetscArraycpy(c->ychain, state, nin * s->S * s->m));
  PetscFunctionReturn(0);
}

/* The data variance s^2 of -cdps_x0_variance data: the stated -cdps_x0_data_variance, else that of a uniform
   distribution on the declared data range, (hi - lo)^2 / 12 */
static PetscErrorCode DpsSamplerCDPSDataVariance(DpsSampler s, PetscReal *s2)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  if (c->s2 > 0) *s2 = c->s2;
  else {
    PetscCheck(s->hasrange, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "-cdps_x0_variance data needs -cdps_x0_data_variance (the prior's variance per entry) or an input that declares data_range");
    *s2 = (s->range[1] - s->range[0]) * (s->range[1] - s->range[0]) / 12.0;
  }
  PetscFunctionReturn(0);
}

/* -cdps_space x0: x0 ~ p(x0 | x_t, y) = N(Lambda^{-1} (x0hat / r_t^2 + A^T y / sigma_y^2), Lambda^{-1}),
   Lambda = diag(1 / r_t^2) + A^T A / sigma_y^2, by PW-CG; then x_{t-1} = sqrt(abar_{t-1}) x0 + sqrt(1 - abar_{t-1}) e.
   The last step returns the mean of p(x0 | x_1, y) (abar_0 = 1: no re-noising). Move mv of -cdps_x0_moves M
   (mv < M - 1) re-noises to the same level t instead, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) e: a Gibbs sweep
   of (x_t, x0) whose target is p(x_t, x0 | y) if p(x0 | x_t, y) is exact. */
static PetscErrorCode DpsSamplerStepX0Move_CDPS(DpsSampler s, const DpsStep *st, PetscInt mv, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_CDPS   *c = (Sampler_CDPS *)s->data;
  const PetscInt  d = s->d, m = s->m, rows = nin * s->S;
  const PetscBool final = mv == c->moves - 1 ? PETSC_TRUE : PETSC_FALSE;
  const PetscBool last = st->i == 1 && final ? PETSC_TRUE : PETSC_FALSE, diag = c->x0var == DPS_CDPS_X0VAR_CADPS ? PETSC_TRUE : PETSC_FALSE;
  const PetscReal abar_to = final ? st->abar_prev : st->abar;
  const PetscReal b = 1.0 / (s->sigma_y * s->sigma_y), ca = PetscSqrtReal(abar_to), cn = PetscSqrtReal(1.0 - abar_to);
  PetscInt        N;
  DpsStep         sm = *st; /* the random numbers' address: move mv > 0 of step i draws at step i + mv (N + 1) */
  PetscInt        ia;

  PetscFunctionBegin;
  PetscCheck(s->sigma_y > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "C-DPS with -cdps_space x0 needs sigma_y > 0 (the precision holds A^T A / sigma_y^2)");
  PetscCall(DpsScheduleGetNumSteps(s->schedule, &N));
  ia = sm.i = st->i + mv * (N + 1);
  PetscCall(DpsScoreEps(s->score, rows, st->t, st->abar, x, s->eps));
  if (diag) {
    if (rows > c->rcapacity) {
      PetscCall(PetscFree3(c->r2, c->xp, c->ep));
      PetscCall(PetscMalloc3(rows * d, &c->r2, rows * d, &c->xp, rows * d, &c->ep));
      c->rcapacity = rows;
    }
    /* covariance-aware diagonal (methods.md section 4): r_t^2 = (1 - abar)/abar max(1 - sqrt(1 - abar) d_t, floor) */
    PetscCall(DpsSamplerJacobianDiagonalFD(s, &sm, nin, index, x, c->probes, c->h, c->xp, c->ep, c->wd, c->r2));
    for (PetscInt e = 0; e < rows * d; e++) c->r2[e] = (1.0 - st->abar) / st->abar * PetscMax(1.0 - PetscSqrtReal(1.0 - st->abar) * c->r2[e], c->floor);
  } else {
    PetscReal r2 = 1.0 - st->abar, s2;
    if (c->x0var == DPS_CDPS_X0VAR_DATA) {
      PetscCall(DpsSamplerCDPSDataVariance(s, &s2));
      r2 = s2 * (1.0 - st->abar) / (st->abar * s2 + 1.0 - st->abar);
    }
    PetscCall(DpsPrecisionSetCoefficients(c->Lambda, 1.0 / r2, b));
    for (PetscInt e = 0; e < d; e++) c->a[e] = 1.0 / r2;
  }
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      PetscReal     *xr = x + row * d, *rhs;

      if (diag) {
        for (PetscInt e = 0; e < d; e++) c->a[e] = 1.0 / c->r2[row * d + e];
        PetscCall(DpsPrecisionSetDiagonalCoefficients(c->Lambda, c->a, b));
      }
      /* rhs = A^T y / sigma_y^2 + x0hat / r_t^2, with the clipped x0hat */
      for (PetscInt l = 0; l < m; l++) c->wm[l] = b * y[j * m + l];
      PetscCall(VecGetArrayWrite(c->rhs, &rhs));
      PetscCall(DpsOperatorApplyTransposeArray(s->op, c->wm, rhs));
      DpsStepTweedie(st, DpsSamplerClipRange(s), d, xr, s->eps + row * d, c->wd);
      for (PetscInt e = 0; e < d; e++) rhs[e] += c->a[e] * c->wd[e];
      PetscCall(VecRestoreArrayWrite(c->rhs, &rhs));

      PetscCall(VecPlaceArray(c->sol, xr));
      if (last) PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->mean, c->rhs, c->sol));
      else PetscCall(DpsSamplerCDPSDraw(s, st, j, k, index[j], ia)); /* PW-CG: z = e1 / r_t + A^T e2 / sigma_y */
      PetscCall(VecResetArray(c->sol));
      if (!last) {
        /* decoupled re-noising (DAPS): x_{t-1} ~ N(sqrt(abar_{t-1}) x0, (1 - abar_{t-1}) I); x_t before the final move */
        PetscCall(DpsSamplerNormals(s, index[j], k, ia, DPS_STREAM_RENOISE, d, c->wd));
        for (PetscInt e = 0; e < d; e++) xr[e] = ca * xr[e] + cn * c->wd[e];
      }
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerStepX0_CDPS(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  for (PetscInt mv = 0; mv < c->moves; mv++) PetscCall(DpsSamplerStepX0Move_CDPS(s, st, mv, nin, index, y, x));
  PetscFunctionReturn(0);
}

/* how many of input j's S initial particles have descendants among its rows (c->pick is overwritten) */
static PetscInt DpsSamplerCDPSDescendants(DpsSampler s, PetscInt j)
{
  Sampler_CDPS *c        = (Sampler_CDPS *)s->data;
  PetscInt      distinct = 0;

  for (PetscInt k = 0; k < s->S; k++) c->pick[k] = 0;
  for (PetscInt k = 0; k < s->S; k++) c->pick[(PetscInt)c->anc[j * s->S + k]] = 1;
  for (PetscInt k = 0; k < s->S; k++) distinct += c->pick[k];
  return distinct;
}

/* Systematic resampling of input j's S rows (x, mu_theta, ancestor) by its normalized weights W, with one uniform u
   of the resampling stream at (input, step): particle k takes the row l whose cumulative weight first exceeds
   (u + k) / S. */
static PetscErrorCode DpsSamplerCDPSResample(DpsSampler s, PetscInt j, PetscInt input, PetscInt step, const PetscReal W[], PetscReal x[])
{
  Sampler_CDPS    *c = (Sampler_CDPS *)s->data;
  const PetscInt   S = s->S, d = s->d;
  DpsRandomAddress a = {s->seed, input, 0, step, DPS_STREAM_RESAMPLE};
  PetscReal        u, cum;
  PetscInt         l = 0;

  PetscFunctionBegin;
  PetscCall(DpsRandomUniforms(a, 1, &u));
  cum = W[0];
  for (PetscInt k = 0; k < S; k++) {
    const PetscReal p = (u + k) / S;
    while (p > cum && l < S - 1) cum += W[++l];
    c->pick[k] = l;
  }
  for (PetscInt k = 0; k < S; k++) PetscCall(PetscArraycpy(c->xs + k * d, x + (j * S + c->pick[k]) * d, d));
  PetscCall(PetscArraycpy(x + j * S * d, c->xs, S * d));
  for (PetscInt k = 0; k < S; k++) PetscCall(PetscArraycpy(c->xs + k * d, c->mu + (j * S + c->pick[k]) * d, d));
  PetscCall(PetscArraycpy(c->mu + j * S * d, c->xs, S * d));
  for (PetscInt k = 0; k < S; k++) c->xs[k] = c->anc[j * S + c->pick[k]];
  PetscCall(PetscArraycpy(c->anc + j * S, c->xs, S));
  if (c->pinned) {
    for (PetscInt k = 0; k < S; k++) PetscCall(PetscArraycpy(c->xs + k * s->m, c->nz + (j * S + c->pick[k]) * s->m, s->m));
    PetscCall(PetscArraycpy(c->nz + j * S * s->m, c->xs, S * s->m));
  }
  PetscFunctionReturn(0);
}

/* -cdps_smc, one step (methods.md section 3, "Particles"), the fully adapted particle filter: the path moves to
   y_{t-1} (draw 0's bridge noise); each particle's weight is multiplied by its predictive likelihood
   p(y_{t-1} | x_t) = N(y_{t-1}; A mu_theta, s_t^2 A A^T + Sigma_{t-1} I) (the log-determinant is the same for every
   particle, so only the quadratic form, one measurement-space solve, enters); the particles are resampled if the
   ESS falls below ess S, and always at the last step; then each moves by the C-DPS step with its own noise. With
   S = 1 this is the plain shared-coupling step, bit for bit. */
static PetscErrorCode DpsSamplerStepSMC_CDPS(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_CDPS   *c = (Sampler_CDPS *)s->data;
  const PetscInt  d = s->d, m = s->m, S = s->S;
  const PetscBool last = st->i == 1 ? PETSC_TRUE : PETSC_FALSE;
  const PetscReal a = 1.0 / st->var_clipped, Sigma = st->abar_prev * s->sigma_y * s->sigma_y;
  PetscInt        N;

  PetscFunctionBegin;
  PetscCheck(Sigma > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "C-DPS with -cdps_smc needs sigma_y > 0 (Sigma_{t-1} = abar_{t-1} sigma_y^2 = %g)", (double)Sigma);
  PetscCheck(!st->learned, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "C-DPS with -cdps_smc needs -schedule_variance small or large: with a learned per-entry s_t^2 the predictive likelihood's log-determinant differs between particles");
  PetscCall(DpsScheduleGetNumSteps(s->schedule, &N));
  PetscCall(DpsSamplerCDPSEnsureSMC(s, nin * S));
  PetscCall(DpsPrecisionSetCoefficients(c->Lambda, a, 1.0 / Sigma));
  /* pinned: y_{t-1} = A x_{t-1} + sqrt(abar_{t-1}) n exactly, so the predictive covariance s_t^2 A A^T has no Sigma
     (the solver needs c > 0: 1e-10 s_t^2, below the CG tolerance, also keeps a rank-deficient A A^T solvable) */
  PetscCall(DpsMeasurementSolverSetCoefficients(c->P, c->pinned ? 1e-10 / a : Sigma, NULL, 1.0 / a));
  PetscCall(DpsScoreEps(s->score, nin * S, st->t, st->abar, x, s->eps));
  for (PetscInt j = 0; j < nin; j++) {
    PetscReal *yt = c->ychain + j * S * m, *lw = c->logw + j * S, *info = c->info + j * DPS_CDPS_SMC_INFO, mx = PETSC_MIN_REAL, sum = 0.0, sum2 = 0.0, ess;

    /* the path: y_{t-1} from the bridge q(y_{t-1} | y_t, y_0 = y) with draw 0's noise; none at the last step */
    if (!last) {
      PetscCall(DpsSamplerNormals(s, index[j], 0, st->i, DPS_STREAM_BRIDGE, d, c->wd));
      PetscCall(DpsOperatorApplyArray(s->op, c->wd, c->wm));
    }
    for (PetscInt l = 0; l < m; l++) yt[l] = st->c1 * y[j * m + l] + st->c2 * yt[l] + (last ? 0.0 : PetscSqrtReal(st->betatilde) * c->wm[l]);

    /* weights: log w += -1/2 r^T (c I + s_t^2 A A^T)^{-1} r; fresh: r = y_{t-1} - A mu_theta, c = Sigma_{t-1};
       pinned: r = y_{t-1} - sqrt(abar_{t-1}) n - A mu_theta, c = 0 */
    for (PetscInt k = 0; k < S; k++) {
      const PetscInt row = j * S + k;
      PetscReal     *mu = c->mu + row * d, q = 0.0;
      DpsStepTweedie(st, DpsSamplerClipRange(s), d, x + row * d, s->eps + row * d, mu); /* mu_theta from the clipped x0hat */
      DpsStepReverseMean(st, d, x + row * d, mu, mu);
      PetscCall(DpsOperatorApplyArray(s->op, mu, c->res));
      for (PetscInt l = 0; l < m; l++) c->res[l] = yt[l] - c->res[l];
      if (c->pinned)
        for (PetscInt l = 0; l < m; l++) c->res[l] -= PetscSqrtReal(st->abar_prev) * c->nz[row * m + l];
      DpsSamplerCallSolve(s, st, j, k, "measurement-space solve of the predictive likelihood", DpsMeasurementSolverSolve(c->P, c->res, c->wm, &s->stats.cg_iterations));
      s->stats.solves++;
      for (PetscInt l = 0; l < m; l++) q += c->res[l] * c->wm[l];
      lw[k] -= 0.5 * q;
      mx = PetscMax(mx, lw[k]);
    }
    for (PetscInt k = 0; k < S; k++) {
      c->W[k] = PetscExpReal(lw[k] - mx);
      sum += c->W[k];
    }
    for (PetscInt k = 0; k < S; k++) {
      c->W[k] /= sum;
      sum2 += c->W[k] * c->W[k];
    }
    ess     = 1.0 / sum2;
    info[1] = PetscMin(info[1], ess);
    info[2] += ess;
    if (last || ess < c->ess * S) {
      if (!last) info[0] += 1.0;
      PetscCall(DpsSamplerCDPSResample(s, j, index[j], st->i, c->W, x));
      for (PetscInt k = 0; k < S; k++) lw[k] = 0.0;
    } else
      for (PetscInt k = 0; k < S; k++) lw[k] -= mx;

    if (c->pinned) {
      /* each particle: N(mu_theta, s_t^2 I) conditioned on A x = y_{t-1} - sqrt(abar_{t-1}) n, by Matheron's rule:
         z = mu_theta + s_t e1, x = z + s_t^2 A^T (s_t^2 A A^T)^{-1} (y_{t-1} - sqrt(abar_{t-1}) n - A z); z = mu_theta
         at the last step (the mean) */
      for (PetscInt k = 0; k < S; k++) {
        const PetscInt row = j * S + k;
        PetscReal     *xr = x + row * d, *mu = c->mu + row * d;
        if (!last) PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_PRIOR_NOISE, d, c->wd));
        for (PetscInt e = 0; e < d; e++) xr[e] = mu[e] + (last ? 0.0 : PetscSqrtReal(1.0 / a) * c->wd[e]);
        PetscCall(DpsOperatorApplyArray(s->op, xr, c->res));
        for (PetscInt l = 0; l < m; l++) c->res[l] = yt[l] - PetscSqrtReal(st->abar_prev) * c->nz[row * m + l] - c->res[l];
        DpsSamplerCallSolve(s, st, j, k, "measurement-space solve of the constrained step", DpsMeasurementSolverSolve(c->P, c->res, c->wm, &s->stats.cg_iterations));
        s->stats.solves++;
        PetscCall(DpsOperatorApplyTransposeArray(s->op, c->wm, c->wd));
        for (PetscInt e = 0; e < d; e++) xr[e] += c->wd[e] / a;
      }
    } else {
    /* each particle: the C-DPS step, rhs = A^T y_{t-1} / Sigma + mu_theta / s_t^2 */
    for (PetscInt l = 0; l < m; l++) c->res[l] = yt[l] / Sigma;
    for (PetscInt k = 0; k < S; k++) {
      const PetscInt row = j * S + k;
      PetscReal     *xr = x + row * d, *mu = c->mu + row * d, *rhs;

      PetscCall(VecGetArrayWrite(c->rhs, &rhs));
      PetscCall(DpsOperatorApplyTransposeArray(s->op, c->res, rhs));
      for (PetscInt e = 0; e < d; e++) rhs[e] += a * mu[e];
      PetscCall(VecRestoreArrayWrite(c->rhs, &rhs));
      PetscCall(VecPlaceArray(c->sol, xr));
      if (last) PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->mean, c->rhs, c->sol));
      else PetscCall(DpsSamplerCDPSDraw(s, st, j, k, index[j], st->i));
      PetscCall(VecResetArray(c->sol));
    }
    }
    if (last) {
      const PetscInt distinct = DpsSamplerCDPSDescendants(s, j);
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "cdps smc: input %" PetscInt_FMT ": ESS min %.3g, mean %.3g of %" PetscInt_FMT " particles; resampled at %.0f of %" PetscInt_FMT " steps (ESS < %g S) and at the end; %" PetscInt_FMT " of the %" PetscInt_FMT " initial particles have descendants\n", index[j], (double)info[1], (double)(info[2] / N), S, (double)info[0], N, (double)c->ess, distinct, S));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerStep_CDPS(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  Sampler_CDPS   *c = (Sampler_CDPS *)s->data;
  const PetscInt  d = s->d, m = s->m;
  const PetscBool shared = c->coupling == DPS_CDPS_COUPLING_SHARED, last = st->i == 1 ? PETSC_TRUE : PETSC_FALSE;
  /* prior factor: the learned reverse kernel, or the seed's forward kernel p(x_t | x_{t-1}) (ablation) */
  const PetscReal a = c->prior == DPS_CDPS_PRIOR_REVERSE ? 1.0 / st->var_clipped : st->alpha / st->beta;
  /* likelihood factor at t-1: Sigma_{t-1} = abar_{t-1} sigma_y^2 (+ 1 - abar_{t-1} for independent noise) */
  const PetscReal Sigma = st->abar_prev * s->sigma_y * s->sigma_y + (shared ? 0.0 : 1.0 - st->abar_prev);
  /* b_{t-1} = (1 - abar_{t-1}) A s(x_t, t) with s = -eps / sqrt(1 - abar_t) (independent coupling only) */
  const PetscReal bcoef = shared ? 0.0 : (1.0 - st->abar_prev) / PetscSqrtReal(1.0 - st->abar);

  PetscFunctionBegin;
  if (c->space == DPS_CDPS_SPACE_X0) {
    PetscCall(DpsSamplerStepX0_CDPS(s, st, nin, index, y, x));
    PetscFunctionReturn(0);
  }
  if (c->smc) {
    PetscCall(DpsSamplerStepSMC_CDPS(s, st, nin, index, y, x));
    PetscFunctionReturn(0);
  }
  PetscCheck(Sigma > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "C-DPS with -cdps_coupling shared needs sigma_y > 0 (Sigma_{t-1} = abar_{t-1} sigma_y^2 = %g)", (double)Sigma);
  /* -schedule_variance learned: 1/s_t^2 per entry and row, set in the loop (a is NaN then) */
  if (!(st->learned && c->prior == DPS_CDPS_PRIOR_REVERSE)) PetscCall(DpsPrecisionSetCoefficients(c->Lambda, a, 1.0 / Sigma));
  PetscCall(DpsScoreEps(s->score, nin * s->S, st->t, st->abar, x, s->eps));
  PetscCall(DpsSamplerLearnedVariance(s, st, nin * s->S));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscInt row = j * s->S + k;
      PetscReal     *xr = x + row * d, *er = s->eps + row * d, *yt = c->ychain + row * m, *rhs;

      /* measurement chain: y_{t-1} from the bridge q(y_{t-1} | y_t, y_0 = y); no noise at the last step */
      if (!last) {
        if (shared) {
          PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_BRIDGE, d, c->wd));
          PetscCall(DpsOperatorApplyArray(s->op, c->wd, c->wm));
        } else PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_BRIDGE, m, c->wm));
      }
      for (PetscInt l = 0; l < m; l++) yt[l] = st->c1 * y[j * m + l] + st->c2 * yt[l] + (last ? 0.0 : PetscSqrtReal(st->betatilde) * c->wm[l]);

      /* rhs = (prior linear term) + A^T (y_{t-1} - b_{t-1}) / Sigma */
      PetscCall(DpsOperatorApplyArray(s->op, er, c->wm));
      for (PetscInt l = 0; l < m; l++) c->wm[l] = (yt[l] + bcoef * c->wm[l]) / Sigma;
      PetscCall(VecGetArrayWrite(c->rhs, &rhs));
      PetscCall(DpsOperatorApplyTransposeArray(s->op, c->wm, rhs));
      if (c->prior == DPS_CDPS_PRIOR_REVERSE) {
        DpsStepTweedie(st, DpsSamplerClipRange(s), d, xr, er, c->wd); /* mu_theta from the clipped x0hat */
        DpsStepReverseMean(st, d, xr, c->wd, c->wd);
        if (st->learned) {
          /* the prior factor N(mu_theta, diag(s_t^2)) with the model's per-entry variance (methods.md section 1) */
          for (PetscInt e = 0; e < d; e++) c->a[e] = 1.0 / s->lvar[row * d + e];
          PetscCall(DpsPrecisionSetDiagonalCoefficients(c->Lambda, c->a, 1.0 / Sigma));
          for (PetscInt e = 0; e < d; e++) rhs[e] += c->a[e] * c->wd[e];
        } else
          for (PetscInt e = 0; e < d; e++) rhs[e] += a * c->wd[e];
      } else {
        for (PetscInt e = 0; e < d; e++) rhs[e] += PetscSqrtReal(st->alpha) / st->beta * xr[e];
      }
      PetscCall(VecRestoreArrayWrite(c->rhs, &rhs));

      PetscCall(VecPlaceArray(c->sol, xr));
      if (last) {
        /* the last step returns the mean of the final Gaussian */
        PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->mean, c->rhs, c->sol));
      } else PetscCall(DpsSamplerCDPSDraw(s, st, j, k, index[j], st->i)); /* PW-CG: z = e1 / s_t + A^T e2 / sqrt(Sigma) */
      PetscCall(VecResetArray(c->sol));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetFromOptions_CDPS(DpsSampler s, PetscOptionItems *PetscOptionsObject)
{
  Sampler_CDPS   *c     = (Sampler_CDPS *)s->data;
  DpsCDPSSMCNoise noise = c->pinned ? DPS_CDPS_SMC_PINNED : DPS_CDPS_SMC_FRESH;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "C-DPS (methods.md section 3)");
  PetscCall(DpsOptionsInt("-cdps_solves", "CG solves per step: 1 (Lambda x = rhs + z) or 2 (mean, then noise)", NULL, c->solves, &c->solves, NULL));
  PetscCall(PetscOptionsEnum("-cdps_coupling", "Noise of the measurement chain", NULL, DpsCDPSCouplings, (PetscEnum)c->coupling, (PetscEnum *)&c->coupling, NULL));
  PetscCall(PetscOptionsEnum("-cdps_prior", "Prior factor: the learned reverse kernel, or the seed's forward kernel (ablation)", NULL, DpsCDPSPriors, (PetscEnum)c->prior, (PetscEnum *)&c->prior, NULL));
  PetscCall(PetscOptionsEnum("-cdps_space", "xt: the Gaussian step in x_{t-1}; x0: the Gaussian p(x0 | x_t, y), then decoupled re-noising", NULL, DpsCDPSSpaces, (PetscEnum)c->space, (PetscEnum *)&c->space, NULL));
  if (c->space == DPS_CDPS_SPACE_X0) {
    PetscCall(PetscOptionsEnum("-cdps_x0_variance", "r_t^2 of the x0 form: tweedie 1 - abar_t; cadps the covariance-aware diagonal; data from the data variance", NULL, DpsCDPSX0Variances, (PetscEnum)c->x0var, (PetscEnum *)&c->x0var, NULL));
    PetscCall(PetscOptionsReal("-cdps_x0_data_variance", "s^2 of -cdps_x0_variance data (default: (hi - lo)^2 / 12 of the data range)", NULL, c->s2, &c->s2, NULL));
    PetscCall(DpsOptionsInt("-cdps_x0_probes", "K: Rademacher probes of -cdps_x0_variance cadps", NULL, c->probes, &c->probes, NULL));
    PetscCall(PetscOptionsReal("-cdps_x0_fd_step", "h of -cdps_x0_variance cadps, relative to max(1, rms(x_t))", NULL, c->h, &c->h, NULL));
    PetscCall(PetscOptionsReal("-cdps_x0_floor", "Lower bound of 1 - sqrt(1 - abar) d_t (-cdps_x0_variance cadps)", NULL, c->floor, &c->floor, NULL));
    PetscCall(DpsOptionsInt("-cdps_x0_moves", "Draws of x0 per noise level (M - 1 Gibbs sweeps, 1 model evaluation each)", NULL, c->moves, &c->moves, NULL));
  }
  PetscCall(PetscOptionsBool("-cdps_smc", "Particles: the S draws of an input are weighted by the predictive likelihood of one measurement path and resampled (methods.md section 3, Particles)", NULL, c->smc, &c->smc, NULL));
  if (c->smc) PetscCall(PetscOptionsEnum("-cdps_smc_noise", "-cdps_smc: fresh, the measurement noise of each step independent (the C-DPS likelihood, FPS); pinned, one noise n per particle, y_t = A x_t + sqrt(abar_t) n", NULL, DpsCDPSSMCNoises, (PetscEnum)(c->pinned ? DPS_CDPS_SMC_PINNED : DPS_CDPS_SMC_FRESH), (PetscEnum *)&noise, NULL));
  c->pinned = noise == DPS_CDPS_SMC_PINNED ? PETSC_TRUE : PETSC_FALSE;
  if (c->smc) PetscCall(PetscOptionsReal("-cdps_smc_ess", "-cdps_smc: resample when the effective sample size falls below this fraction of S", NULL, c->ess, &c->ess, NULL));
  PetscCheck(c->moves >= 1 && c->moves <= 64, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cdps_x0_moves %" PetscInt_FMT " must lie in [1, 64]", c->moves);
  PetscOptionsHeadEnd();
  PetscCheck(c->probes >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cdps_x0_probes %" PetscInt_FMT " must be at least 1", c->probes);
  PetscCheck(c->h > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cdps_x0_fd_step %g must be positive", (double)c->h);
  PetscCheck(c->floor > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cdps_x0_floor %g must be positive", (double)c->floor);
  PetscCheck(c->s2 > 0 || c->s2 == -1.0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cdps_x0_data_variance %g must be positive", (double)c->s2);
  PetscCheck(c->solves == 1 || c->solves == 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cdps_solves %" PetscInt_FMT ": must be 1 or 2", c->solves);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerReset_CDPS(Sampler_CDPS *c)
{
  PetscFunctionBegin;
  PetscCall(KSPDestroy(&c->mean));
  PetscCall(KSPDestroy(&c->noise));
  PetscCall(DpsPrecisionDestroy(&c->Lambda));
  PetscCall(VecDestroy(&c->rhs));
  PetscCall(VecDestroy(&c->z));
  PetscCall(VecDestroy(&c->sol));
  PetscCall(VecDestroy(&c->v));
  PetscCall(PetscFree2(c->wm, c->wd));
  PetscCall(PetscFree(c->a));
  PetscCall(DpsMeasurementSolverDestroy(&c->P));
  PetscCall(PetscFree(c->res));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetUp_CDPS(DpsSampler s)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  /* checked here, not in the options block, whose strings an error there would leave allocated */
  PetscCheck(c->ess >= 0 && c->ess <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-cdps_smc_ess %g must lie in [0, 1]", (double)c->ess);
  PetscCheck(!c->smc || (c->space == DPS_CDPS_SPACE_XT && c->coupling == DPS_CDPS_COUPLING_SHARED && c->prior == DPS_CDPS_PRIOR_REVERSE), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "-cdps_smc needs -cdps_space xt, -cdps_coupling shared and -cdps_prior reverse (given %s, %s, %s): its path is draw 0's shared-coupling measurement chain (methods.md section 3, Particles)", DpsCDPSSpaces[c->space], DpsCDPSCouplings[c->coupling], DpsCDPSPriors[c->prior]);
  PetscCall(DpsSamplerReset_CDPS(c));
  PetscCall(DpsPrecisionCreate(s->op, &c->Lambda));
  {
    DpsScheduleVariance var; /* learned: the prior factor's precision is diagonal (resolved before this setup) */
    PetscCall(DpsScheduleGetVariance(s->schedule, &var, NULL));
    if ((c->space == DPS_CDPS_SPACE_X0 && c->x0var == DPS_CDPS_X0VAR_CADPS) || (c->space != DPS_CDPS_SPACE_X0 && c->prior == DPS_CDPS_PRIOR_REVERSE && var == DPS_VARIANCE_LEARNED)) PetscCall(DpsPrecisionUseDiagonal(c->Lambda));
  }
  /* both KSPs always exist so that -mean_* and -noise_* options are always read */
  PetscCall(DpsPrecisionCreateKSP(c->Lambda, "mean_", &c->mean));
  PetscCall(DpsPrecisionCreateKSP(c->Lambda, "noise_", &c->noise));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, s->d, &c->rhs));
  PetscCall(VecDuplicate(c->rhs, &c->z));
  PetscCall(VecDuplicate(c->rhs, &c->v));
  PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, s->d, NULL, &c->sol));
  PetscCall(PetscMalloc2(s->m, &c->wm, s->d, &c->wd));
  PetscCall(PetscMalloc1(s->d, &c->a));
  if (c->smc) {
    PetscCall(DpsMeasurementSolverCreate(s->op, "meas_", &c->P));
    PetscCall(PetscMalloc1(s->m, &c->res));
    /* the sizes of the per-input arrays follow S, which may have changed since they were made */
    PetscCall(PetscFree7(c->logw, c->anc, c->info, c->mu, c->xs, c->W, c->pick));
    PetscCall(PetscFree(c->nz));
    c->scap = 0;
  }
  PetscFunctionReturn(0);
}

/* -cdps_smc: per input, the output dataset /cdps_smc [N, 4]: resamplings (ESS below the threshold, the final one
   not counted), the minimum and the mean over the steps of the ESS before resampling, and how many of the S
   initial particles have descendants among the final draws */
static PetscErrorCode DpsSamplerDiagnosticsInfo_CDPS(DpsSampler s, PetscInt *n, const char **name)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  *n    = c->smc ? 4 : 0;
  *name = "/cdps_smc";
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerDiagnostics_CDPS(DpsSampler s, PetscInt nin, PetscReal out[])
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;
  PetscInt      N;

  PetscFunctionBegin;
  if (!c->smc) PetscFunctionReturn(0);
  PetscCheck(nin * s->S <= c->scap, PETSC_COMM_SELF, PETSC_ERR_ORDER, "no batch of %" PetscInt_FMT " inputs in flight", nin);
  PetscCall(DpsScheduleGetNumSteps(s->schedule, &N));
  for (PetscInt j = 0; j < nin; j++) {
    const PetscReal *info = c->info + j * DPS_CDPS_SMC_INFO;
    out[j * 4 + 0] = info[0];
    out[j * 4 + 1] = info[1];
    out[j * 4 + 2] = info[2] / N;
    out[j * 4 + 3] = (PetscReal)DpsSamplerCDPSDescendants(s, j);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerView_CDPS(DpsSampler s, PetscViewer viewer)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  if (c->space == DPS_CDPS_SPACE_X0) {
    PetscCall(PetscViewerASCIIPrintf(viewer, "x0 form: p(x0 | x_t, y) by PW-CG, then x_{t-1} ~ N(sqrt(abar_{t-1}) x0, (1 - abar_{t-1}) I); solves per step %" PetscInt_FMT ", r_t^2 %s", c->solves, DpsCDPSX0Variances[c->x0var]));
    if (c->x0var == DPS_CDPS_X0VAR_CADPS) PetscCall(PetscViewerASCIIPrintf(viewer, " (%" PetscInt_FMT " probes, relative step %g, floor %g)", c->probes, (double)c->h, (double)c->floor));
    if (c->moves > 1) PetscCall(PetscViewerASCIIPrintf(viewer, ", %" PetscInt_FMT " moves per level", c->moves));
    if (c->x0var == DPS_CDPS_X0VAR_DATA) {
      if (c->s2 > 0) PetscCall(PetscViewerASCIIPrintf(viewer, " (s^2 = %g)", (double)c->s2));
      else PetscCall(PetscViewerASCIIPrintf(viewer, " (s^2 from the data range)"));
    }
    PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  } else PetscCall(PetscViewerASCIIPrintf(viewer, "solves per step %" PetscInt_FMT ", coupling %s, prior factor %s\n", c->solves, DpsCDPSCouplings[c->coupling], DpsCDPSPriors[c->prior]));
  if (c->smc) {
    PetscCall(PetscViewerASCIIPrintf(viewer, "particles (-cdps_smc): the S draws of an input share one measurement path; measurement noise %s; systematic resampling when ESS < %g S and at the end\n", DpsCDPSSMCNoises[c->pinned ? DPS_CDPS_SMC_PINNED : DPS_CDPS_SMC_FRESH], (double)c->ess));
    if (c->P) PetscCall(DpsMeasurementSolverView(c->P, viewer));
  }
  if (c->mean) {
    PetscCall(PetscViewerASCIIPrintf(viewer, "mean solve:\n"));
    PetscCall(KSPView(c->mean, viewer));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerDestroy_CDPS(DpsSampler s)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsSamplerReset_CDPS(c));
  PetscCall(PetscFree(c->ychain));
  PetscCall(PetscFree3(c->r2, c->xp, c->ep));
  PetscCall(PetscFree7(c->logw, c->anc, c->info, c->mu, c->xs, c->W, c->pick));
  PetscCall(PetscFree(c->nz));
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerCreate_CDPS(DpsSampler s)
{
  Sampler_CDPS *c;

  PetscFunctionBegin;
  PetscCall(PetscNew(&c));
  c->solves               = 1;
  c->coupling             = DPS_CDPS_COUPLING_SHARED;
  c->prior                = DPS_CDPS_PRIOR_REVERSE;
  c->space                = DPS_CDPS_SPACE_XT;
  c->x0var                = DPS_CDPS_X0VAR_TWEEDIE;
  c->s2                   = -1.0;
  c->probes               = 1;
  c->h                    = 1e-3;
  c->floor                = 1e-3;
  c->moves                = 1;
  c->ess                  = 0.5;
  c->pinned               = PETSC_TRUE;
  s->data                 = c;
  s->ops->setfromoptions  = DpsSamplerSetFromOptions_CDPS;
  s->ops->setup           = DpsSamplerSetUp_CDPS;
  s->ops->begin           = DpsSamplerBegin_CDPS;
  s->ops->statesize       = DpsSamplerStateSize_CDPS;
  s->ops->getstate        = DpsSamplerGetState_CDPS;
  s->ops->setstate        = DpsSamplerSetState_CDPS;
  s->ops->step            = DpsSamplerStep_CDPS;
  s->ops->diagnosticsinfo = DpsSamplerDiagnosticsInfo_CDPS;
  s->ops->diagnostics     = DpsSamplerDiagnostics_CDPS;
  s->ops->view            = DpsSamplerView_CDPS;
  s->ops->destroy         = DpsSamplerDestroy_CDPS;
  PetscFunctionReturn(0);
}
