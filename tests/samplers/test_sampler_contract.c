/* The sampler contract (every sampler, methods.md sections 3-6). "Every" is every type in the registries
   (DpsSamplerList, DpsOperatorList), not a list kept here: a type is tested by being registered. A test-only
   sampler type ("contract_cdps", cdps under another name) is registered first and must be run like the others.
   - each sampler runs on each operator type, with a respaced schedule (an operator type registered without a
     problem in TestEveryOperator's table fails the test);
   - on a one-component Gaussian prior N(mu, I) with A = I and small noise, each sampler but the prior sampler
     ddpm returns draws near the exact posterior N((mu + y / sigma^2) / (1 + 1 / sigma^2), 1 / (1 + 1 / sigma^2) I);
   - the cadps finite-difference diagonal converges to the exact diagonal of d eps / dx as the probes grow;
   - ddrm on an operator that observes nothing takes the DDIM null-space step and samples the prior;
   - ddrm on an operator without an SVD (a test-only operator type, "nosvd") fails at set-up with
     PETSC_ERR_SUP and a message naming ddrm, the SVD and the operator type; other samplers set up on it;
   - the message refusing an unknown type lists every registered type, test-only ones included, for the four
     registries (operator, sampler, score, schedule). */
#include <dpsolve/dpsolve.h>
#include "core/typelist.h"
#include "samplers/samplerimpl.h"
#include "samplertest.h"
#include "operators/operatorimpl.h"

PETSC_EXTERN PetscErrorCode DpsSamplerCreate_CDPS(DpsSampler);

#define TEST_SAMPLER "contract_cdps"

/* options some types need beyond -sampler_type: variants to run as well (cadps's released variant, the authors'
   code, shares no step code with the paper's), and options for the Gaussian test */
static const struct {
  const char *type, *options;
} variants[] = {
  {"cadps", "-cadps_variant released"},
  {"pigdm", "-pigdm_update posterior_score"},
  {"cdps", "-cdps_space x0"},
  {"cdps", "-cdps_space x0 -cdps_x0_variance cadps"}
}, gaussian_options[] = {
  {"dps", "-dps_zeta 0.1"}
};

/* the registered sampler types, as options: one "-sampler_type T" per type, and one per variant */
static PetscErrorCode SamplerOptions(PetscInt *n, char (**opts)[128])
{
  const char **types;
  PetscInt     nt, k = 0;
  size_t       nv = sizeof(variants) / sizeof(variants[0]);

  PetscFunctionBegin;
  PetscCall(DpsTypeListGet(DpsSamplerList, &nt, &types));
  PetscCall(PetscMalloc1(nt + nv, opts));
  for (PetscInt t = 0; t < nt; t++) {
    PetscCall(PetscSNPrintf((*opts)[k++], 128, "-sampler_type %s", types[t]));
    for (size_t v = 0; v < nv; v++) {
      PetscBool same;
      PetscCall(PetscStrcmp(types[t], variants[v].type, &same));
      if (same) PetscCall(PetscSNPrintf((*opts)[k++], 128, "-sampler_type %s %s", types[t], variants[v].options));
    }
  }
  *n = k;
  PetscCall(PetscFree(types));
  PetscFunctionReturn(0);
}

static PetscErrorCode Sample(DpsScore prior, DpsOperator op, PetscReal sigma_y, PetscInt steps, PetscInt S, const char *options, const PetscReal y[], PetscReal x[])
{
  DpsSampler s;
  PetscInt   index = 0;

  PetscFunctionBegin;
  PetscCall(DpsTestMakeSampler(prior, op, sigma_y, steps, S, 3, NULL, options, &s));
  PetscCall(DpsSamplerSample(s, 1, &index, y, x));
  PetscCall(DpsSamplerDestroy(&s));
  PetscFunctionReturn(0);
}

/* every registered sampler on every registered operator type, with 20 respaced steps: runs, and the draws are
   finite. Each operator type needs a problem here: a newly registered type without one fails the test. */
static PetscErrorCode TestEveryOperator(void)
{
  DpsGMMProblemSpec specs[8] = {{6, 3, "cs", 0.5, {0}, PETSC_FALSE, -1.0, 1}, {6, 6, "inpaint", 0.5, {0}, PETSC_FALSE, 0.1, 1}, {6, 6, "blur", 0, {0}, PETSC_FALSE, 0.1, 1}, {4, 4, "sr", 0, {0}, PETSC_FALSE, 0.1, 1}, {6, 6, "chain", 0, {0}, PETSC_FALSE, 0.1, 1},
                                {6, 3, "matrix", 0, {0}, PETSC_FALSE, -1.0, 1}, {6, 6, "mri", 0, {0}, PETSC_FALSE, 0.1, 1}, {6, 3, "ct", 0, {0}, PETSC_FALSE, 0.1, 1}};
  const char      **ops;
  char (*samplers)[128];
  PetscInt          nops, nsamplers, ran_test_sampler = 0;

  PetscFunctionBegin;
  PetscCall(SamplerOptions(&nsamplers, &samplers));
  PetscCall(DpsTypeListGet(DpsOperatorList, &nops, &ops));
  for (PetscInt o = 0; o < nops; o++) {
    DpsGMMProblemSpec *spec = NULL;
    DpsScore           prior;
    DpsOperator        op;
    PetscReal          sigma_y, x0[6], y[16], x[4 * 6];
    PetscInt           m;
    PetscBool          svd;
    for (size_t p = 0; p < sizeof(specs) / sizeof(specs[0]); p++) {
      PetscBool same;
      PetscCall(PetscStrcmp(ops[o], specs[p].operator_type, &same));
      if (same) spec = &specs[p];
    }
    PetscCheck(spec, PETSC_COMM_SELF, PETSC_ERR_PLIB, "operator type %s is registered but TestEveryOperator has no problem for it: add one", ops[o]);
    PetscCall(DpsGMMProblemCreate(spec, &prior, &op, &sigma_y));
    PetscCall(DpsOperatorGetSizes(op, &m, NULL));
    PetscCheck(m <= 16, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the %s problem has %" PetscInt_FMT " measurements: y holds 16", ops[o], m);
    PetscCall(DpsOperatorHasSVD(op, &svd));
    PetscCall(DpsGMMProblemDraw(spec, prior, op, sigma_y, 0, 1, x0, y));
    for (PetscInt k = 0; k < nsamplers; k++) {
      if (!svd && strstr(samplers[k], "ddrm")) { /* ddrm needs the SVD and refuses an operator without one (cli tests) */
        PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s on %s: skipped, the operator has no SVD\n", samplers[k], ops[o]));
        continue;
      }
      PetscCall(Sample(prior, op, sigma_y, 20, 4, samplers[k], y, x));
      for (PetscInt e = 0; e < 4 * spec->dx; e++) PetscCheck(!PetscIsInfOrNanReal(x[e]) && PetscAbsReal(x[e]) < 1e3, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s on %s gave %g", samplers[k], ops[o], (double)x[e]);
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s on %s, 20 steps: ran, draws finite\n", samplers[k], ops[o]));
      ran_test_sampler += strstr(samplers[k], TEST_SAMPLER) != NULL;
    }
    PetscCall(DpsScoreDestroy(&prior));
    PetscCall(DpsOperatorDestroy(&op));
  }
  PetscCheck(ran_test_sampler == nops, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the registered test sampler %s ran on %" PetscInt_FMT " of the %" PetscInt_FMT " operator types", TEST_SAMPLER, ran_test_sampler, nops);
  PetscCall(PetscFree(ops));
  PetscCall(PetscFree(samplers));
  PetscFunctionReturn(0);
}

/* one-component Gaussian prior, A = I, small noise: the posterior is Gaussian and known in closed form */
static PetscErrorCode TestGaussianIdentity(void)
{
  const PetscInt  d = 4, S = 2000;
  const PetscReal sigma = 0.05, mu[4] = {0.5, -1.0, 0.0, 2.0}, y[4] = {1.0, -0.5, 2.0, 0.0}, w = 1.0, v = 1.0;
  PetscReal       eye[16] = {0}, *x, post_sd = PetscSqrtReal(1.0 / (1.0 + 1.0 / (sigma * sigma)));
  DpsScore        prior;
  DpsOperator     op;
  const char    **types;
  PetscInt        ntypes;

  PetscFunctionBegin;
  PetscCall(DpsTypeListGet(DpsSamplerList, &ntypes, &types));
  for (PetscInt j = 0; j < d; j++) eye[j * d + j] = 1.0;
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &prior));
  PetscCall(DpsScoreSetType(prior, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(prior, 1, d, &w, mu, &v));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORCS));
  PetscCall(DpsOperatorCSSetMatrix(op, d, d, eye));
  PetscCall(PetscMalloc1(S * d, &x));
  for (PetscInt k = 0; k < ntypes; k++) {
    PetscReal merr = 0.0, sd = 0.0;
    char      opt[128];
    PetscBool prior_sampler;
    PetscCall(PetscStrcmp(types[k], DPSSAMPLERDDPM, &prior_sampler));
    if (prior_sampler) continue; /* it samples the prior: y plays no part */
    PetscCall(PetscSNPrintf(opt, sizeof(opt), "-sampler_type %s", types[k]));
    for (size_t g = 0; g < sizeof(gaussian_options) / sizeof(gaussian_options[0]); g++) {
      PetscBool same;
      PetscCall(PetscStrcmp(types[k], gaussian_options[g].type, &same));
      if (same) PetscCall(PetscSNPrintf(opt, sizeof(opt), "-sampler_type %s %s", types[k], gaussian_options[g].options));
    }
    PetscCall(Sample(prior, op, sigma, 200, S, opt, y, x));
    for (PetscInt j = 0; j < d; j++) {
      PetscReal m = 0.0, var = 0.0, exact = (mu[j] + y[j] / (sigma * sigma)) / (1.0 + 1.0 / (sigma * sigma));
      for (PetscInt s = 0; s < S; s++) m += x[s * d + j] / S;
      for (PetscInt s = 0; s < S; s++) var += PetscSqr(x[s * d + j] - m) / (S - 1);
      merr = PetscMax(merr, PetscAbsReal(m - exact));
      sd += PetscSqrtReal(var) / d;
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "Gaussian prior, A = I, sigma_y %.2f, %s: max |mean - exact| %.4f, mean std %.4f (exact %.4f)\n", (double)sigma, opt, (double)merr, (double)sd, (double)post_sd));
    /* near: the mean within a posterior standard deviation, the spread within a factor 3 */
    PetscCheck(merr < post_sd, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: posterior mean off by %.4f (posterior std %.4f)", opt, (double)merr, (double)post_sd);
    PetscCheck(sd < 3.0 * post_sd && sd > post_sd / 3.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: posterior std %.4f, exact %.4f", opt, (double)sd, (double)post_sd);
  }
  PetscCall(PetscFree(types));
  PetscCall(PetscFree(x));
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* cadps: mean |d_t - diag(d eps/dx)| over rows falls as the probes grow (Monte Carlo error ~ 1/sqrt(K)),
   for several finite-difference steps h */
static PetscErrorCode TestCADPSDiagonal(void)
{
  DpsGMMProblemSpec spec = {8, 2, "cs", 0.5, {0}, PETSC_FALSE, -1.0, 2};
  DpsScore          prior;
  DpsOperator       op;
  DpsSchedule       sch;
  PetscReal         sigma_y, x0[8], y[2], *x, *exact, *dt, *e, *col;
  const PetscInt    S = 64, d = 8, probes[] = {1, 4, 16, 64}, index = 0;
  const PetscReal   hs[] = {1e-5, 1e-3, 1e-2};
  DpsStep           st;

  PetscFunctionBegin;
  PetscCall(DpsGMMProblemCreate(&spec, &prior, &op, &sigma_y));
  PetscCall(DpsGMMProblemDraw(&spec, prior, op, sigma_y, 0, 1, x0, y));
  PetscCall(PetscMalloc5(S * d, &x, S * d, &exact, S * d, &dt, S * d, &e, S * d, &col));
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &sch));
  PetscCall(DpsScheduleSetUp(sch));
  PetscCall(DpsScheduleGetStep(sch, 300, &st)); /* a mid-chain noise level */
  {
    DpsRandomAddress a = {9, 0, 0, 0, DPS_STREAM_INIT};
    PetscCall(DpsRandomNormals(a, S * d, x));
    for (PetscInt r = 0; r < S; r++)
      for (PetscInt j = 0; j < d; j++) x[r * d + j] = PetscSqrtReal(st.abar) * 4.0 + 0.5 * x[r * d + j]; /* between modes: responsibilities mix */
  }
  /* the exact diagonal from JVPs with unit vectors (the JVP is checked against finite differences elsewhere) */
  for (PetscInt j = 0; j < d; j++) {
    for (PetscInt r = 0; r < S; r++)
      for (PetscInt i = 0; i < d; i++) e[r * d + i] = i == j ? 1.0 : 0.0;
    PetscCall(DpsScoreJVP(prior, S, st.t, st.abar, x, e, col));
    for (PetscInt r = 0; r < S; r++) exact[r * d + j] = col[r * d + j];
  }
  for (size_t hi = 0; hi < sizeof(hs) / sizeof(hs[0]); hi++) {
    PetscReal err[4];
    for (size_t pi = 0; pi < 4; pi++) {
      DpsSampler s;
      char       opts[128];
      PetscCall(PetscSNPrintf(opts, sizeof(opts), "-sampler_type cadps -cadps_probes %" PetscInt_FMT " -cadps_fd_step %g", probes[pi], (double)hs[hi]));
      PetscCall(DpsTestMakeSampler(prior, op, sigma_y, 1000, S, 3, NULL, opts, &s));
      PetscCall(DpsSamplerEnsureCapacity(s, S));
      PetscCall(DpsScoreEps(prior, S, st.t, st.abar, x, s->eps));
      PetscCall(DpsSamplerCADPSJacobianDiagonal(s, &st, 1, &index, x, dt));
      err[pi] = 0.0;
      for (PetscInt k = 0; k < S * d; k++) err[pi] += PetscAbsReal(dt[k] - exact[k]) / (S * d);
      PetscCall(DpsSamplerDestroy(&s));
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "cadps diagonal, h = %g: mean |d_t - exact| for K = 1, 4, 16, 64: %.3e %.3e %.3e %.3e\n", (double)hs[hi], (double)err[0], (double)err[1], (double)err[2], (double)err[3]));
    PetscCheck(err[1] < err[0] && err[2] < err[1] && err[3] < err[2], PETSC_COMM_SELF, PETSC_ERR_PLIB, "the cadps diagonal does not improve with more probes (h = %g)", (double)hs[hi]);
    PetscCheck(err[3] < 0.35 * err[0], PETSC_COMM_SELF, PETSC_ERR_PLIB, "64 probes should cut the error about 8 times: %.4f against %.4f", (double)err[3], (double)err[0]);
  }
  PetscCall(PetscFree5(x, exact, dt, e, col));
  PetscCall(DpsScheduleDestroy(&sch));
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* ddrm on an operator that observes nothing (every coordinate is null space):
   - one step is exactly the DDIM step of methods.md section 5, x_{t-1} = sqrt(abar_{t-1}) x0hat +
     sqrt(1 - abar_{t-1}) (sqrt(1 - eta^2) eps + eta z), checked against that formula for eta = 1;
   - in distribution, with eta = 0.5, the draws are prior draws, as ddpm's are.
   With eta = 1 the null-space noise is sqrt(1 - abar_{t-1}), larger than DDPM's sqrt(betatilde_t): DDRM equals DDPM
   there only for the step-dependent eta_t = sqrt(betatilde_t / (1 - abar_{t-1})). The SW for eta = 1 is printed
   to show it (2.2 against a floor of 0.37 when this was written); it is not asserted. */
static PetscErrorCode TestDDRMNullSpace(void)
{
  DpsGMMProblemSpec spec = {6, 6, "inpaint", 1.0, {0}, PETSC_FALSE, 0.1, 3};
  DpsScore          prior;
  DpsOperator       op;
  const PetscInt    S = 512, d = 6, index = 0;
  PetscReal         sigma_y, y[6] = {0}, *xr, *xd, *pa, *pb, *x1, *eps, swr, swd, sw1, floor, err = 0.0;

  PetscFunctionBegin;
  PetscCall(DpsGMMProblemCreate(&spec, &prior, &op, &sigma_y)); /* inpaint_missing 1: the mask is all zero */
  PetscCall(PetscMalloc6(S * d, &xr, S * d, &xd, S * d, &pa, S * d, &pb, S * d, &x1, S * d, &eps));
  {
    DpsSampler s;
    DpsStep    st;
    PetscReal  z[6];
    PetscCall(DpsTestMakeSampler(prior, op, sigma_y, 100, S, 3, NULL, "-sampler_type ddrm -ddrm_eta 1", &s));
    PetscCall(DpsSamplerBegin(s, 1, &index, y, x1));
    PetscCall(DpsScheduleGetStep(s->schedule, 100, &st));
    PetscCall(DpsScoreEps(prior, S, st.t, st.abar, x1, eps));
    PetscCall(PetscArraycpy(xr, x1, S * d));
    PetscCall(DpsSamplerStep(s, 100, 1, &index, y, xr));
    for (PetscInt k = 0; k < S; k++) {
      DpsRandomAddress a = {3, 0, k, 100, DPS_STREAM_PRIOR_NOISE};
      PetscCall(DpsRandomNormals(a, d, z));
      for (PetscInt e = 0; e < d; e++) {
        PetscReal x0hat = (x1[k * d + e] - PetscSqrtReal(1 - st.abar) * eps[k * d + e]) / PetscSqrtReal(st.abar);
        PetscReal want  = PetscSqrtReal(st.abar_prev) * x0hat + PetscSqrtReal(1 - st.abar_prev) * z[e];
        err             = PetscMax(err, PetscAbsReal(xr[k * d + e] - want));
      }
    }
    PetscCall(DpsSamplerDestroy(&s));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "ddrm null-space step (eta = 1) against the DDIM formula: max |difference| %.2e\n", (double)err));
  PetscCheck(err < 1e-12, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the ddrm null-space step differs from its formula by %.2e", (double)err);
  PetscCall(Sample(prior, op, sigma_y, 100, S, "-sampler_type ddrm -ddrm_eta 0.5", y, xr));
  PetscCall(Sample(prior, op, sigma_y, 100, S, "-sampler_type ddrm -ddrm_eta 1", y, x1));
  PetscCall(Sample(prior, op, sigma_y, 100, S, "-sampler_type ddpm", y, xd));
  PetscCall(DpsGMMPriorSample(prior, 1, 0, DPS_STREAM_PRIOR_DRAWS, S, pa));
  PetscCall(DpsGMMPriorSample(prior, 2, 0, DPS_STREAM_PRIOR_DRAWS, S, pb));
  PetscCall(DpsSlicedWasserstein(S, d, xr, pa, 500, 1, 0, &swr));
  PetscCall(DpsSlicedWasserstein(S, d, x1, pa, 500, 1, 0, &sw1));
  PetscCall(DpsSlicedWasserstein(S, d, xd, pa, 500, 1, 0, &swd));
  PetscCall(DpsSlicedWasserstein(S, d, pb, pa, 500, 1, 0, &floor));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "all null space, SW to prior draws: ddrm eta 0.5 %.3f, ddrm eta 1 %.3f (not asserted), ddpm %.3f, floor %.3f\n", (double)swr, (double)sw1, (double)swd, (double)floor));
  PetscCheck(swr < 1.5 * floor && swd < 1.5 * floor, PETSC_COMM_SELF, PETSC_ERR_PLIB, "in the null space ddrm (eta 0.5, SW %.3f) and ddpm (SW %.3f) should sample the prior (floor %.3f)", (double)swr, (double)swd, (double)floor);
  PetscCall(PetscFree6(xr, xd, pa, pb, x1, eps));
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* "nosvd": A = I on R^4 with only the two required operations, so no SVD (and no other capability) */
static PetscErrorCode DpsOperatorCopy_NoSVD(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  PetscFunctionBegin;
  PetscCall(PetscArraycpy(y, x, op->n));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorCreate_NoSVD(DpsOperator op)
{
  PetscFunctionBegin;
  op->m = op->n           = 4;
  op->ops->apply          = DpsOperatorCopy_NoSVD;
  op->ops->applytranspose = DpsOperatorCopy_NoSVD;
  PetscFunctionReturn(0);
}

/* the error code and message of DpsSamplerSetUp for the given options; 0 and "" when it succeeds */
static PetscErrorCode SetUpError(DpsScore prior, DpsOperator op, const char *options, PetscErrorCode *code, char msg[], size_t len)
{
  DpsSchedule sch;
  DpsSampler  s;
  char       *specific = NULL;

  PetscFunctionBegin;
  PetscCall(PetscOptionsInsertString(NULL, options));
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &sch));
  PetscCall(DpsScheduleSetNumSteps(sch, 20));
  PetscCall(DpsSamplerCreate(PETSC_COMM_SELF, &s));
  PetscCall(DpsSamplerSetSchedule(s, sch));
  PetscCall(DpsSamplerSetScore(s, prior));
  PetscCall(DpsSamplerSetOperator(s, op, 0.1));
  PetscCall(DpsSamplerSetFromOptions(s));
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  *code = DpsSamplerSetUp(s);
  PetscCall(PetscPopErrorHandler());
  msg[0] = 0;
  if (*code) {
    PetscCall(PetscErrorMessage(*code, NULL, &specific));
    PetscCall(PetscStrncpy(msg, specific ? specific : "", len));
  }
  PetscCall(DpsSamplerDestroy(&s));
  PetscCall(DpsScheduleDestroy(&sch));
  PetscFunctionReturn(0);
}

/* ddrm needs the operator's SVD (methods.md section 5): without one it stops at set-up, never falls back */
static PetscErrorCode TestDDRMNeedsSVD(void)
{
  const PetscReal mu[4] = {0}, w = 1.0, v = 1.0;
  DpsScore        prior;
  DpsOperator     op;
  PetscBool       has;
  PetscErrorCode  code;
  char            msg[512];

  PetscFunctionBegin;
  PetscCall(DpsOperatorRegister("nosvd", DpsOperatorCreate_NoSVD));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, "nosvd"));
  PetscCall(DpsOperatorHasSVD(op, &has));
  PetscCheck(!has, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the nosvd test operator claims an SVD");
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &prior));
  PetscCall(DpsScoreSetType(prior, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(prior, 1, 4, &w, mu, &v));
  /* the control: a sampler that needs no SVD sets up on this operator */
  PetscCall(SetUpError(prior, op, "-sampler_type dps", &code, msg, sizeof(msg)));
  PetscCheck(code == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "dps failed to set up on the nosvd operator (error %d: %s)", (int)code, msg);
  PetscCall(SetUpError(prior, op, "-sampler_type ddrm", &code, msg, sizeof(msg)));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "ddrm on an operator without an SVD: error %d, \"%s\"\n", (int)code, msg));
  PetscCheck(code == PETSC_ERR_SUP, PETSC_COMM_SELF, PETSC_ERR_PLIB, "ddrm on the nosvd operator: error %d, expected PETSC_ERR_SUP (%d)", (int)code, (int)PETSC_ERR_SUP);
  PetscCheck(strstr(msg, "-sampler_type ddrm") && strstr(msg, "SVD") && strstr(msg, "operator type nosvd"), PETSC_COMM_SELF, PETSC_ERR_PLIB, "ddrm's message does not name the sampler, the SVD and the operator type: \"%s\"", msg);
  /* and the operator itself refuses SVD requests with the same clarity (a sampler that skipped the check) */
  {
    const PetscReal *sv;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    code = DpsOperatorGetSingularValues(op, &sv);
    PetscCall(PetscPopErrorHandler());
    PetscCheck(code == PETSC_ERR_SUP, PETSC_COMM_SELF, PETSC_ERR_PLIB, "DpsOperatorGetSingularValues on the nosvd operator: error %d, expected PETSC_ERR_SUP", (int)code);
    {
      char *specific = NULL;
      PetscCall(PetscErrorMessage(code, NULL, &specific));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "its singular values, asked for directly: error %d, \"%s\"\n", (int)code, specific ? specific : ""));
      PetscCheck(specific && strstr(specific, "operator type nosvd has no SVD"), PETSC_COMM_SELF, PETSC_ERR_PLIB, "the operator's message does not say it has no SVD: \"%s\"", specific ? specific : "");
    }
  }
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* test-only types of the other registries: never set up, only registered and listed */
static PetscErrorCode DpsScoreCreate_Contract(DpsScore s)
{
  PetscFunctionBegin;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScheduleCreate_Contract(DpsSchedule s)
{
  PetscFunctionBegin;
  PetscFunctionReturn(0);
}

/* the message of DpsXxxSetType(obj, "nosuch") must hold "known: " and every registered name of the list */
static PetscErrorCode CheckUnknownType(PetscObject obj, PetscFunctionList list, const char *what, PetscErrorCode (*settype)(PetscObject, const char[]), const char *testtype)
{
  PetscErrorCode code;
  char          *msg = NULL;
  const char   **names;
  PetscInt       n;
  PetscBool      listed = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  code = settype(obj, "nosuch");
  PetscCall(PetscPopErrorHandler());
  PetscCheck(code == PETSC_ERR_ARG_UNKNOWN_TYPE, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s type nosuch: error %d, expected PETSC_ERR_ARG_UNKNOWN_TYPE", what, (int)code);
  PetscCall(PetscErrorMessage(code, NULL, &msg));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s type nosuch: \"%s\"\n", what, msg ? msg : ""));
  PetscCheck(msg && strstr(msg, "nosuch") && strstr(msg, "(known: "), PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: the message does not name the type and the known ones: \"%s\"", what, msg ? msg : "");
  PetscCall(DpsTypeListGet(list, &n, &names));
  for (PetscInt i = 0; i < n; i++) {
    PetscBool same;
    char      comma[80], paren[80]; /* a whole entry of the list: "dps" is not found in "cdps" */
    PetscCall(PetscSNPrintf(comma, sizeof(comma), " %s,", names[i]));
    PetscCall(PetscSNPrintf(paren, sizeof(paren), " %s)", names[i]));
    PetscCheck(strstr(msg, comma) || strstr(msg, paren), PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: registered type %s is missing from \"%s\"", what, names[i], msg);
    PetscCall(PetscStrcmp(names[i], testtype, &same));
    listed = (PetscBool)(listed || same);
  }
  PetscCheck(listed, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: the test type %s is not in the registry", what, testtype);
  PetscCall(PetscFree(names));
  PetscFunctionReturn(0);
}

static PetscErrorCode OperatorSetType(PetscObject o, const char t[]) { return DpsOperatorSetType((DpsOperator)o, t); }
static PetscErrorCode SamplerSetType(PetscObject o, const char t[]) { return DpsSamplerSetType((DpsSampler)o, t); }
static PetscErrorCode ScoreSetType(PetscObject o, const char t[]) { return DpsScoreSetType((DpsScore)o, t); }
static PetscErrorCode ScheduleSetType(PetscObject o, const char t[]) { return DpsScheduleSetType((DpsSchedule)o, t); }

static PetscErrorCode TestUnknownTypeMessages(void)
{
  DpsOperator op;
  DpsSampler  sampler;
  DpsScore    score;
  DpsSchedule sch;

  PetscFunctionBegin;
  PetscCall(DpsScoreRegister("contract_score", DpsScoreCreate_Contract));
  PetscCall(DpsScheduleRegister("contract_schedule", DpsScheduleCreate_Contract));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsSamplerCreate(PETSC_COMM_SELF, &sampler));
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &score));
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &sch));
  PetscCall(CheckUnknownType((PetscObject)op, DpsOperatorList, "operator", OperatorSetType, "nosvd")); /* registered by TestDDRMNeedsSVD */
  PetscCall(CheckUnknownType((PetscObject)sampler, DpsSamplerList, "sampler", SamplerSetType, TEST_SAMPLER));
  PetscCall(CheckUnknownType((PetscObject)score, DpsScoreList, "score", ScoreSetType, "contract_score"));
  PetscCall(CheckUnknownType((PetscObject)sch, DpsScheduleList, "schedule", ScheduleSetType, "contract_schedule"));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(DpsSamplerDestroy(&sampler));
  PetscCall(DpsScoreDestroy(&score));
  PetscCall(DpsScheduleDestroy(&sch));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(DpsInitializePackage());
  PetscCall(DpsSamplerRegister(TEST_SAMPLER, DpsSamplerCreate_CDPS));
  PetscCall(TestEveryOperator());
  PetscCall(TestGaussianIdentity());
  PetscCall(TestCADPSDiagonal());
  PetscCall(TestDDRMNullSpace());
  PetscCall(TestDDRMNeedsSVD());
  PetscCall(TestUnknownTypeMessages());
  PetscCall(PetscFinalize());
  return 0;
}
