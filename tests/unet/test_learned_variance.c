/* Learned variance (methods.md section 1; guided-diffusion's LEARNED_RANGE): test_learned_variance learned.h5
   eps_only.h5 [-score_backend ...], on the random-weight fixtures of tools/make_unet_fixtures.py (ffhq_mini: 3 input
   and 6 output channels; plain: eps only). On a 20-step respaced chain, at several steps:
   - ddpm, dps (zeta 0), cadps's released variant (zeta 0: it evaluates the model at t - 1 after t) and cdps (on the
     unobserved entries of an inpainting mask, where its Gaussian step is the prior factor alone) move x_t to
     mu + s z with s^2 = exp(f log beta'_i + (1 - f) log betatilde'_i), f = (v + 1)/2, computed here from the
     model's v output and beta', betatilde' of the respaced chain built here from the linear betas (betatilde'_1
     replaced by betatilde'_2), mu the DDPM mean and z the row's prior noise; to rounding. The fixed "small"
     variance (what the samplers used before) is far from it, and -schedule_variance small still gives it;
   - learned is the default with the learned-sigma model, small with the eps-only one, where learned is refused;
   - DpsScoreGetLearnedVariance refuses to give the v of another evaluation than the last. */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"
#include "../unit/unittest.h"

#define NIN 2
#define S   2
#define N   20
#define T   1000

static const PetscInt inputs[NIN] = {3, 8};

/* abar of the training chain at model time t (linear betas 1e-4 .. 0.02, T = 1000), and tau_i of the respacing */
static PetscReal AbarTrain(PetscInt t)
{
  PetscReal a = 1.0;
  for (PetscInt k = 1; k <= t; k++) a *= 1.0 - (1e-4 + (PetscReal)(k - 1) / (T - 1) * (0.02 - 1e-4));
  return a;
}
static PetscReal AbarRespaced(PetscInt i)
{
  return i == 0 ? 1.0 : AbarTrain(1 + (PetscInt)floor((PetscReal)(i - 1) * (T - 1) / (N - 1) + 0.5));
}
static PetscReal BetaTilde(PetscInt i)
{
  const PetscReal a = AbarRespaced(i), ap = AbarRespaced(i - 1);
  return (1.0 - a / ap) * (1.0 - ap) / (1.0 - a);
}

static PetscErrorCode MakeSampler(DpsScore score, DpsOperator op, const char type[], const char options[], DpsSampler *s)
{
  DpsSchedule sch;

  PetscFunctionBegin;
  PetscCall(PetscOptionsInsertString(NULL, options));
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &sch));
  PetscCall(DpsScheduleSetNumSteps(sch, N));
  PetscCall(DpsScheduleSetFromOptions(sch));
  PetscCall(DpsSamplerCreate(PETSC_COMM_SELF, s));
  PetscCall(DpsSamplerSetType(*s, type));
  PetscCall(DpsSamplerSetSchedule(*s, sch));
  PetscCall(DpsSamplerSetScore(*s, score));
  PetscCall(DpsSamplerSetOperator(*s, op, 0.05));
  PetscCall(DpsSamplerSetSeed(*s, 11));
  PetscCall(DpsSamplerSetNumDraws(*s, S));
  PetscCall(DpsSamplerSetFromOptions(*s));
  PetscCall(DpsScheduleDestroy(&sch));
  PetscFunctionReturn(0);
}

/* one step i of sampler `type` from a fixed x_t; max |x_{t-1} - (mu + s z)| / max |mu + s z| over the checked
   entries, with s^2 the learned variance (errl) and the fixed small one (errs) */
static PetscErrorCode CheckStep(DpsScore score, DpsOperator op, const PetscReal mask[], const char type[], const char options[], PetscInt i, PetscReal *errl, PetscReal *errs)
{
  DpsSampler       s;
  PetscInt         d, m, rows = NIN * S, nv;
  PetscReal       *x, *x1, *y, *eps, *z;
  const PetscReal *v;
  DpsTestRng       rng;
  const PetscReal  a = AbarRespaced(i), ap = AbarRespaced(i - 1), beta = 1.0 - a / ap;
  const PetscReal  c1 = beta * PetscSqrtReal(ap) / (1.0 - a), c2 = PetscSqrtReal(1.0 - beta) * (1.0 - ap) / (1.0 - a);
  const PetscReal  minlog = PetscLogReal(BetaTilde(i == 1 ? 2 : i)), maxlog = PetscLogReal(beta);
  PetscReal        dl = 0.0, ds = 0.0, scale = 0.0;
  DpsStep          st;

  PetscFunctionBegin;
  DpsTestRngSeed(&rng, (uint64_t)(1000 + i));
  PetscCall(MakeSampler(score, op, type, options, &s));
  PetscCall(DpsSamplerSetUp(s));
  PetscCall(DpsScoreGetDimension(score, &d));
  PetscCall(DpsOperatorGetSizes(op, &m, NULL));
  PetscCall(PetscMalloc5(rows * d, &x, rows * d, &x1, NIN * m, &y, rows * d, &eps, d, &z));
  for (PetscInt e = 0; e < NIN * m; e++) y[e] = 0.5 * DpsTestNormal(&rng);
  PetscCall(DpsSamplerBegin(s, NIN, inputs, y, x)); /* cdps: its measurement chain */
  for (PetscInt e = 0; e < rows * d; e++) x[e] = x1[e] = DpsTestNormal(&rng);
  PetscCall(DpsSamplerStep(s, i, NIN, inputs, y, x1));
  PetscCall(DpsScheduleGetStep(s->schedule, i, &st));
  DPS_CHECK(PetscAbsReal(st.abar - a) <= 1e-14 && st.t == 1 + (PetscInt)floor((PetscReal)(i - 1) * (T - 1) / (N - 1) + 0.5), "step %" PetscInt_FMT ": the schedule's abar %.17g, t %" PetscInt_FMT "; here %.17g", i, (double)st.abar, st.t, (double)a);
  /* the model's output at x_t: eps, and v through the unet's own accessor */
  PetscCall(DpsScoreEps(score, rows, st.t, st.abar, x, eps));
  PetscCall(DpsScoreUNetGetVariance(score, &nv, &v));
  DPS_CHECK(nv == rows, "the unet holds v of %" PetscInt_FMT " rows, expected %" PetscInt_FMT, nv, rows);
  for (PetscInt j = 0; j < NIN; j++)
    for (PetscInt k = 0; k < S; k++) {
      const PetscInt row = j * S + k;
      DpsRandomAddress addr = {11, inputs[j], k, i, DPS_STREAM_PRIOR_NOISE};
      PetscCall(DpsRandomNormals(addr, d, z));
      for (PetscInt e = 0; e < d; e++) {
        const PetscInt  q  = row * d + e;
        const PetscReal x0 = (x[q] - PetscSqrtReal(1.0 - a) * eps[q]) / PetscSqrtReal(a), mu = c1 * x0 + c2 * x[q];
        const PetscReal f = 0.5 * (v[q] + 1.0), var = PetscExpReal(f * maxlog + (1.0 - f) * minlog);
        const PetscReal zl = i == 1 ? 0.0 : z[e], zs = i == 1 ? 0.0 : z[e];
        if (mask && mask[e] != 0.0) continue; /* cdps: only where nothing is observed */
        scale = PetscMax(scale, PetscAbsReal(mu + PetscSqrtReal(var) * zl));
        dl    = PetscMax(dl, PetscAbsReal(x1[q] - (mu + PetscSqrtReal(var) * zl)));
        ds    = PetscMax(ds, PetscAbsReal(x1[q] - (mu + PetscSqrtReal(BetaTilde(i)) * zs)));
      }
    }
  *errl = dl / scale;
  *errs = ds / scale;
  PetscCall(PetscFree5(x, x1, y, eps, z));
  PetscCall(DpsSamplerDestroy(&s));
  PetscCall(PetscOptionsClearValue(NULL, "-schedule_variance"));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestLearned(const char fname[])
{
  DpsScore            score;
  DpsOperator         op;
  DpsSampler          s;
  DpsScheduleVariance var;
  PetscInt            d;
  PetscReal          *mask, errl, errs, *x, *eps, *v;
  PetscErrorCode      ierr;
  const PetscInt      steps[] = {N, 7, 2, 1};
  const struct {
    const char *type, *options;
    PetscBool   masked;
  } cases[] = {
    {"ddpm",  "",                                            PETSC_FALSE},
    {"dps",   "-dps_zeta 0",                                 PETSC_FALSE},
    {"cadps", "-cadps_variant released -cadps_zeta 0",       PETSC_FALSE},
    {"cdps",  "-cdps_coupling shared -mean_ksp_rtol 1e-14", PETSC_TRUE },
  };

  PetscFunctionBegin;
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &score));
  PetscCall(DpsScoreSetType(score, DPSSCOREUNET));
  PetscCall(DpsScoreUNetSetWeights(score, fname));
  PetscCall(DpsScoreSetFromOptions(score));
  PetscCall(DpsScoreGetDimension(score, &d));
  /* inpainting that observes every third entry */
  PetscCall(PetscMalloc1(d, &mask));
  for (PetscInt e = 0; e < d; e++) mask[e] = e % 3 == 0 ? 1.0 : 0.0;
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORINPAINT));
  PetscCall(DpsOperatorInpaintSetMask(op, d, mask));

  /* learned is the default for this model */
  PetscCall(MakeSampler(score, op, "ddpm", "", &s));
  PetscCall(DpsSamplerSetUp(s));
  PetscCall(DpsScheduleGetVariance(s->schedule, &var, NULL));
  DPS_CHECK(var == DPS_VARIANCE_LEARNED, "%s: the default variance is %s, expected learned", fname, DpsScheduleVariances[var]);
  PetscCall(DpsSamplerDestroy(&s));

  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
      PetscCall(CheckStep(score, op, cases[c].masked ? mask : NULL, cases[c].type, cases[c].options, steps[k], &errl, &errs));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %-5s step %2" PetscInt_FMT ": x_{t-1} vs mu + s z, learned s: %.2e, fixed small s: %.2e\n", cases[c].type, steps[k], (double)errl, (double)errs));
      DPS_CHECK(errl < 1e-12, "%s step %" PetscInt_FMT ": the step is %.2e (relative) from mu + s z with the learned variance", cases[c].type, steps[k], (double)errl);
      /* at step N, beta' and betatilde' nearly agree (1 - abar' is close to 1 at both ends): nothing to tell */
      if (steps[k] > 1 && steps[k] < N) DPS_CHECK(errs > 1e-3, "%s step %" PetscInt_FMT ": the learned variance cannot be told from the fixed one (%.2e)", cases[c].type, steps[k], (double)errs);
    }

  /* -schedule_variance small: the fixed variance, as before */
  PetscCall(CheckStep(score, op, NULL, "ddpm", "-schedule_variance small", 7, &errl, &errs));
  DPS_CHECK(errs < 1e-12 && errl > 1e-3, "-schedule_variance small: %.2e from the fixed variance, %.2e from the learned one", (double)errs, (double)errl);

  /* the v of another evaluation is refused */
  PetscCall(PetscMalloc3(d, &x, d, &eps, d, &v));
  for (PetscInt e = 0; e < d; e++) x[e] = 0.1 * (PetscReal)(e % 7);
  PetscCall(DpsScoreEps(score, 1, 300, 0.5, x, eps));
  PetscCall(DpsScoreGetLearnedVariance(score, 1, 300, v));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = DpsScoreGetLearnedVariance(score, 1, 299, v);
  PetscCall(PetscPopErrorHandler());
  DPS_CHECK(ierr == PETSC_ERR_ORDER, "DpsScoreGetLearnedVariance at another time returned %d, expected PETSC_ERR_ORDER", (int)ierr);
  PetscCall(PetscFree3(x, eps, v));

  PetscCall(PetscFree(mask));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(DpsScoreDestroy(&score));
  PetscFunctionReturn(0);
}

/* an eps-only model: small by default, learned refused */
static PetscErrorCode TestEpsOnly(const char fname[])
{
  DpsScore            score;
  DpsOperator         op;
  DpsSampler          s;
  DpsScheduleVariance var;
  PetscBool           has;
  PetscInt            d;
  PetscReal          *mask;
  PetscErrorCode      ierr;

  PetscFunctionBegin;
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &score));
  PetscCall(DpsScoreSetType(score, DPSSCOREUNET));
  PetscCall(DpsScoreUNetSetWeights(score, fname));
  PetscCall(DpsScoreSetFromOptions(score));
  PetscCall(DpsScoreHasLearnedVariance(score, &has));
  DPS_CHECK(!has, "%s: an eps-only model says it has learned variance", fname);
  PetscCall(DpsScoreGetDimension(score, &d));
  PetscCall(PetscCalloc1(d, &mask));
  mask[0] = 1.0;
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORINPAINT));
  PetscCall(DpsOperatorInpaintSetMask(op, d, mask));
  PetscCall(MakeSampler(score, op, "ddpm", "", &s));
  PetscCall(DpsSamplerSetUp(s));
  PetscCall(DpsScheduleGetVariance(s->schedule, &var, NULL));
  DPS_CHECK(var == DPS_VARIANCE_SMALL, "%s: the default variance is %s, expected small", fname, DpsScheduleVariances[var]);
  PetscCall(DpsSamplerDestroy(&s));
  PetscCall(MakeSampler(score, op, "ddpm", "-schedule_variance learned", &s));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = DpsSamplerSetUp(s);
  PetscCall(PetscPopErrorHandler());
  DPS_CHECK(ierr == PETSC_ERR_ARG_INCOMP, "%s: -schedule_variance learned on an eps-only model returned %d, expected PETSC_ERR_ARG_INCOMP", fname, (int)ierr);
  PetscCall(DpsSamplerDestroy(&s));
  PetscCall(PetscOptionsClearValue(NULL, "-schedule_variance"));
  PetscCall(PetscFree(mask));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(DpsScoreDestroy(&score));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(DpsInitializePackage());
  if (argc < 3) {
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "usage: %s learned.h5 eps_only.h5 [PETSc options]\n", argv[0]));
    PetscCall(PetscFinalize());
    return 2;
  }
  PetscCall(TestLearned(argv[1]));
  PetscCall(TestEpsOnly(argv[2]));
  DPS_TEST_END();
}
