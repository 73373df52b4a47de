/* cdps: C-DPS, coupled data and measurement dynamics (methods.md section 3).

   Each reverse step samples the Gaussian p(x_{t-1} | x_t, y_{t-1}) proportional to
   N(x_{t-1}; mu_theta, s_t^2 I) N(y_{t-1}; A x_{t-1} + b_{t-1}, Sigma_{t-1} I), whose precision is
   Lambda_t = (1/s_t^2) I + A^T A / Sigma_{t-1}, with matrix-free CG (the seed's PW-CG). The measurement chain
   y_t is drawn along with the data chain from its exact bridge, so it is never stored. */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"
#include "linalg/precision.h"

const char *const DpsCDPSCouplings[] = {"independent", "shared", "DpsCDPSCoupling", "DPS_CDPS_COUPLING_", NULL};
const char *const DpsCDPSPriors[]    = {"reverse", "forward", "DpsCDPSPrior", "DPS_CDPS_PRIOR_", NULL};

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
} Sampler_CDPS;

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

/* y_N = sqrt(abar_N) y + sqrt(1 - abar_N) noise: zeta ~ N(0, I_m) (independent) or A x_N (shared) */
static PetscErrorCode DpsSamplerBegin_CDPS(DpsSampler s, PetscInt nin, const PetscInt index[], const PetscReal y[], const PetscReal x[])
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;
  PetscInt      N, m = s->m;
  DpsStep       st;

  PetscFunctionBegin;
  PetscCall(DpsSamplerCDPSEnsureChain(s, nin * s->S));
  PetscCall(DpsScheduleGetNumSteps(s->schedule, &N));
  PetscCall(DpsScheduleGetStep(s->schedule, N, &st));
  for (PetscInt j = 0; j < nin; j++) {
    for (PetscInt k = 0; k < s->S; k++) {
      PetscReal *yt = c->ychain + (j * s->S + k) * m;
      if (c->coupling == DPS_CDPS_COUPLING_SHARED) PetscCall(DpsOperatorApplyArray(s->op, x + (j * s->S + k) * s->d, c->wm));
      else PetscCall(DpsSamplerNormals(s, index[j], k, N + 1, DPS_STREAM_BRIDGE, m, c->wm));
      for (PetscInt l = 0; l < m; l++) yt[l] = PetscSqrtReal(st.abar) * y[j * m + l] + PetscSqrtReal(1.0 - st.abar) * c->wm[l];
    }
  }
  PetscFunctionReturn(0);
}

/* restart state: the measurement chain y_t of every row */
static PetscErrorCode DpsSamplerStateSize_CDPS(DpsSampler s, PetscInt *size)
{
  PetscFunctionBegin;
  *size = s->m;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerGetState_CDPS(DpsSampler s, PetscInt nin, PetscReal state[])
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  PetscCheck(nin * s->S <= c->ycapacity, PETSC_COMM_SELF, PETSC_ERR_ORDER, "no batch of %" PetscInt_FMT " inputs in flight", nin);
  PetscCall(PetscArraycpy(state, c->ychain, nin * s->S * s->m));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetState_CDPS(DpsSampler s, PetscInt nin, const PetscReal state[])
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsSamplerCDPSEnsureChain(s, nin * s->S));
  PetscCall(PetscArraycpy(c->ychain, state, nin * s->S * s->m));
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
  PetscCheck(Sigma > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "C-DPS with -cdps_coupling shared needs sigma_y > 0 (Sigma_{t-1} = abar_{t-1} sigma_y^2 = %g)", (double)Sigma);
  PetscCall(DpsPrecisionSetCoefficients(c->Lambda, a, 1.0 / Sigma));
  PetscCall(DpsScoreEps(s->score, nin * s->S, st->t, st->abar, x, s->eps));
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
        for (PetscInt e = 0; e < d; e++) rhs[e] += a * c->wd[e];
      } else {
        for (PetscInt e = 0; e < d; e++) rhs[e] += PetscSqrtReal(st->alpha) / st->beta * xr[e];
      }
      PetscCall(VecRestoreArrayWrite(c->rhs, &rhs));

      PetscCall(VecPlaceArray(c->sol, xr));
      if (last) {
        /* the last step returns the mean of the final Gaussian */
        PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->mean, c->rhs, c->sol));
      } else {
        /* PW-CG perturbation z = e1 / s_t + A^T e2 / sqrt(Sigma): cov(z) = Lambda_t, cov(Lambda_t^{-1} z) = Lambda_t^{-1} */
        PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_PRIOR_NOISE, d, c->wd));
        PetscCall(DpsSamplerNormals(s, index[j], k, st->i, DPS_STREAM_MEAS_NOISE, m, c->wm));
        PetscCall(DpsPrecisionPerturbation(c->Lambda, c->wd, c->wm, c->z));
        if (c->solves == 1) {
          /* one solve: Lambda x = rhs + z has the same law as mean + noise, at half the cost */
          PetscCall(VecAXPY(c->rhs, 1.0, c->z));
          PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->mean, c->rhs, c->sol));
        } else {
          PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->mean, c->rhs, c->sol));
          PetscCall(DpsSamplerCDPSSolve(s, st, j, k, c->noise, c->z, c->v));
          PetscCall(VecAXPY(c->sol, 1.0, c->v));
        }
      }
      PetscCall(VecResetArray(c->sol));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetFromOptions_CDPS(DpsSampler s, PetscOptionItems *PetscOptionsObject)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "C-DPS (methods.md section 3)");
  PetscCall(DpsOptionsInt("-cdps_solves", "CG solves per step: 1 (Lambda x = rhs + z) or 2 (mean, then noise)", NULL, c->solves, &c->solves, NULL));
  PetscCall(PetscOptionsEnum("-cdps_coupling", "Noise of the measurement chain", NULL, DpsCDPSCouplings, (PetscEnum)c->coupling, (PetscEnum *)&c->coupling, NULL));
  PetscCall(PetscOptionsEnum("-cdps_prior", "Prior factor: the learned reverse kernel, or the seed's forward kernel (ablation)", NULL, DpsCDPSPriors, (PetscEnum)c->prior, (PetscEnum *)&c->prior, NULL));
  PetscOptionsHeadEnd();
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
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerSetUp_CDPS(DpsSampler s)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsSamplerReset_CDPS(c));
  PetscCall(DpsPrecisionCreate(s->op, &c->Lambda));
  /* both KSPs always exist so that -mean_* and -noise_* options are always read */
  PetscCall(DpsPrecisionCreateKSP(c->Lambda, "mean_", &c->mean));
  PetscCall(DpsPrecisionCreateKSP(c->Lambda, "noise_", &c->noise));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, s->d, &c->rhs));
  PetscCall(VecDuplicate(c->rhs, &c->z));
  PetscCall(VecDuplicate(c->rhs, &c->v));
  PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, s->d, NULL, &c->sol));
  PetscCall(PetscMalloc2(s->m, &c->wm, s->d, &c->wd));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsSamplerView_CDPS(DpsSampler s, PetscViewer viewer)
{
  Sampler_CDPS *c = (Sampler_CDPS *)s->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "solves per step %" PetscInt_FMT ", coupling %s, prior factor %s\n", c->solves, DpsCDPSCouplings[c->coupling], DpsCDPSPriors[c->prior]));
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
  s->data                 = c;
  s->ops->setfromoptions  = DpsSamplerSetFromOptions_CDPS;
  s->ops->setup           = DpsSamplerSetUp_CDPS;
  s->ops->begin           = DpsSamplerBegin_CDPS;
  s->ops->statesize       = DpsSamplerStateSize_CDPS;
  s->ops->getstate        = DpsSamplerGetState_CDPS;
  s->ops->setstate        = DpsSamplerSetState_CDPS;
  s->ops->step            = DpsSamplerStep_CDPS;
  s->ops->view            = DpsSamplerView_CDPS;
  s->ops->destroy         = DpsSamplerDestroy_CDPS;
  PetscFunctionReturn(0);
}
