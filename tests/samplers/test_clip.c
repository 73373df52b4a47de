/* Data range and diverged draws (methods.md section 1, docs/samplers.md "Data range and clipping"):
   - DpsStepTweedie with a range equals min(max(x0hat, lo), hi) computed here, keeps a NaN a NaN, and without a
     range is the plain Tweedie mean, bit for bit;
   - DpsSamplerTweedieVJP with a range is the gradient of <v, clip(x0hat(x_t))>: checked against central finite
     differences of that function (zero through the clipped entries), with both clipped and unclipped entries;
   - DpsSamplerSetDataRange refuses a range that is empty, reversed or not finite;
   - every sampler with a declared range on a small inpainting problem whose prior lies outside it stays finite;
     ddpm's draws, the clipped x0hat of its last step, lie in the range; with -clip_x0hat false they do not;
   - draws_out_of_range: the count equals the draws found here more than 100 widths outside the range;
   - a draw made non-finite at a chosen (input, draw, step) by a test-only sampler type stops DpsSamplerStep with
     PETSC_ERR_FP and a message naming the sampler type, the input, the draw and the step. */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"
#include "samplertest.h"
#include "../unit/unittest.h"

#define D 6

PETSC_EXTERN PetscErrorCode DpsSamplerCreate_DDPM(DpsSampler);

/* the test-only type: ddpm, then a non-finite value at (input 7, draw 1, step 3) */
static PetscReal bad_value;
static PetscErrorCode (*ddpm_step)(DpsSampler, const DpsStep *, PetscInt, const PetscInt[], const PetscReal[], PetscReal[]);

static PetscErrorCode StepNaN(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  PetscFunctionBegin;
  PetscCall(ddpm_step(s, st, nin, index, y, x));
  for (PetscInt j = 0; j < nin; j++)
    if (index[j] == 7 && st->i == 3) x[(j * s->S + 1) * s->d + 4] = bad_value;
  PetscFunctionReturn(0);
}

static PetscErrorCode CreateNaN(DpsSampler s)
{
  PetscFunctionBegin;
  PetscCall(DpsSamplerCreate_DDPM(s));
  ddpm_step    = s->ops->step;
  s->ops->step = StepNaN;
  PetscFunctionReturn(0);
}

/* prior: two components at +-3 (outside [-1, 1]); A: inpainting of entries 0, 2, 4 */
static PetscErrorCode MakeProblem(DpsScore *prior, DpsOperator *op)
{
  PetscReal w[2] = {0.5, 0.5}, v[2] = {0.25, 0.25}, mu[2 * D], mask[D] = {1, 0, 1, 0, 1, 0};

  PetscFunctionBegin;
  for (PetscInt e = 0; e < D; e++) {
    mu[e]     = 3.0;
    mu[D + e] = -3.0;
  }
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, prior));
  PetscCall(DpsScoreSetType(*prior, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(*prior, 2, D, w, mu, v));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, op));
  PetscCall(DpsOperatorSetType(*op, DPSOPERATORINPAINT));
  PetscCall(DpsOperatorInpaintSetMask(*op, D, mask));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestTweedie(void)
{
  DpsSchedule     sch;
  DpsStep         st;
  const PetscReal range[2] = {-1.0, 1.0};
  PetscReal       x[8] = {0.3, -2.0, 5.0, 0.0, -0.1, 7.0, -9.0, 0.0}, eps[8] = {0.1, 0.5, -1.0, 0.2, 0.0, 2.0, 0.3, 0.0}, c[8], p[8];

  PetscFunctionBegin;
  x[7] = (PetscReal)NAN;
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &sch));
  PetscCall(DpsScheduleSetNumSteps(sch, 10));
  PetscCall(DpsScheduleSetUp(sch));
  PetscCall(DpsScheduleGetStep(sch, 5, &st));
  DpsStepTweedie(&st, range, 8, x, eps, c);
  DpsStepTweedie(&st, NULL, 8, x, eps, p);
  for (PetscInt e = 0; e < 8; e++) {
    const PetscReal raw = (x[e] - PetscSqrtReal(1.0 - st.abar) * eps[e]) / PetscSqrtReal(st.abar);
    if (e == 7) {
      DPS_CHECK(PetscIsNanReal(c[e]) && PetscIsNanReal(p[e]), "a NaN x0hat must stay NaN through the clipping (got %g, %g)", (double)c[e], (double)p[e]);
      continue;
    }
    DPS_CHECK(p[e] == raw, "Tweedie without a range: entry %" PetscInt_FMT " = %.17g, direct %.17g", e, (double)p[e], (double)raw);
    DPS_CHECK(c[e] == PetscMin(PetscMax(raw, -1.0), 1.0), "clipped Tweedie: entry %" PetscInt_FMT " = %.17g, direct %.17g", e, (double)c[e], (double)PetscMin(PetscMax(raw, -1.0), 1.0));
  }
  PetscCall(DpsScheduleDestroy(&sch));
  PetscFunctionReturn(0);
}

/* f(x) = sum_rows <v, clip(x0hat(x))>, x0hat from the model at step st */
static PetscErrorCode ClippedObjective(DpsSampler s, const DpsStep *st, PetscInt rows, const PetscReal x[], const PetscReal v[], PetscReal *f)
{
  PetscReal eps[2 * D], x0[2 * D];

  PetscFunctionBegin;
  PetscCall(DpsScoreEps(s->score, rows, st->t, st->abar, x, eps));
  DpsStepTweedie(st, DpsSamplerClipRange(s), rows * D, x, eps, x0);
  *f = 0.0;
  for (PetscInt e = 0; e < rows * D; e++) *f += v[e] * x0[e];
  PetscFunctionReturn(0);
}

static PetscErrorCode TestVJP(DpsScore prior, DpsOperator op)
{
  DpsSampler     s;
  DpsStep        st;
  const PetscInt rows = 2;
  PetscReal      x[2 * D], v[2 * D], g[2 * D], eps[2 * D], x0[2 * D], xp[2 * D], h = 1e-6;
  PetscInt       nclip = 0, nfree = 0;
  DpsTestRng     rng;

  PetscFunctionBegin;
  DpsTestRngSeed(&rng, 11);
  PetscCall(DpsTestMakeSampler(prior, op, 0.1, 20, 1, 5, (const PetscReal[]){-1.0, 1.0}, "-sampler_type dps", &s));
  PetscCall(DpsScheduleGetStep(s->schedule, 3, &st));
  for (PetscInt e = 0; e < rows * D; e++) {
    x[e] = 1.5 * DpsTestNormal(&rng);
    v[e] = DpsTestNormal(&rng);
  }
  PetscCall(DpsSamplerEnsureCapacity(s, rows));
  PetscCall(DpsScoreEps(s->score, rows, st.t, st.abar, x, s->eps));
  PetscCall(DpsSamplerTweedieVJP(s, &st, rows, x, v, g));
  PetscCall(DpsScoreEps(s->score, rows, st.t, st.abar, x, eps));
  DpsStepTweedie(&st, NULL, rows * D, x, eps, x0);
  for (PetscInt e = 0; e < rows * D; e++) {
    if (PetscAbsReal(x0[e]) > 1.0) nclip++;
    else nfree++;
  }
  DPS_CHECK(nclip >= 2 && nfree >= 2, "the test point must have clipped and unclipped entries (%" PetscInt_FMT " clipped, %" PetscInt_FMT " not)", nclip, nfree);
  /* each entry of the gradient: a central difference of f along it (no entry of x0hat crosses +-1 within h) */
  for (PetscInt e = 0; e < rows * D; e++) {
    PetscReal fp, fm, fd;
    PetscCall(PetscArraycpy(xp, x, rows * D));
    xp[e] = x[e] + h;
    PetscCall(ClippedObjective(s, &st, rows, xp, v, &fp));
    xp[e] = x[e] - h;
    PetscCall(ClippedObjective(s, &st, rows, xp, v, &fm));
    fd = (fp - fm) / (2 * h);
    DPS_CHECK(PetscAbsReal(g[e] - fd) <= 1e-5 * PetscMax(1.0, PetscAbsReal(fd)), "J^T v of the clipped x0hat, entry %" PetscInt_FMT ": %.10g, finite differences %.10g", e, (double)g[e], (double)fd);
  }
  PetscCall(DpsSamplerDestroy(&s));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestSetRange(DpsScore prior, DpsOperator op)
{
  DpsSampler      s;
  const PetscReal bad[4][2] = {
    {1.0,  -1.0                  },
    {1.0,  1.0                   },
    {0.0,  (PetscReal)INFINITY   },
    {(PetscReal)NAN, 1.0         }
  };

  PetscFunctionBegin;
  PetscCall(DpsTestMakeSampler(prior, op, 0.1, 5, 1, 5, NULL, "-sampler_type ddpm", &s));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  for (int k = 0; k < 4; k++) {
    PetscErrorCode ierr = DpsSamplerSetDataRange(s, bad[k][0], bad[k][1]);
    DPS_CHECK(ierr == PETSC_ERR_ARG_OUTOFRANGE, "data range [%g, %g] accepted (error %d)", (double)bad[k][0], (double)bad[k][1], (int)ierr);
  }
  PetscCall(PetscPopErrorHandler());
  DPS_CHECK(DpsSamplerClipRange(s) == NULL, "a refused range must not be set");
  PetscCall(DpsSamplerDestroy(&s));
  PetscFunctionReturn(0);
}

/* every registered sampler, with the range declared, on the problem whose prior lies outside it */
static PetscErrorCode TestEverySampler(DpsScore prior, DpsOperator op)
{
  const char     *opts[] = {"-sampler_type ddpm", "-sampler_type cdps", "-sampler_type cdps -cdps_coupling independent", "-sampler_type cadps", "-sampler_type cadps -cadps_variant released", "-sampler_type dps", "-sampler_type pigdm", "-sampler_type ddrm"};
  const PetscInt  nin = 2, S = 3, index[2] = {0, 1};
  PetscReal       y[2 * D] = {0.9, 0, -0.8, 0, 0.5, 0, -0.7, 0, 0.2, 0, 0.95, 0}, x[2 * 3 * D];

  PetscFunctionBegin;
  for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
    DpsSampler      s;
    DpsSamplerStats stats;
    PetscBool       finite = PETSC_TRUE, inside = PETSC_TRUE;
    PetscCall(DpsTestMakeSampler(prior, op, 0.1, 20, S, 5, (const PetscReal[]){-1.0, 1.0}, opts[k], &s));
    PetscCall(DpsSamplerSample(s, nin, index, y, x));
    PetscCall(DpsSamplerGetStats(s, &stats));
    for (PetscInt e = 0; e < nin * S * D; e++) {
      if (PetscIsInfOrNanReal(x[e])) finite = PETSC_FALSE;
      if (x[e] < -1.0 || x[e] > 1.0) inside = PETSC_FALSE;
    }
    DPS_CHECK(finite, "%s with data range [-1, 1]: a draw is not finite", opts[k]);
    DPS_CHECK(stats.out_of_range == 0, "%s: %lld draws counted out of range", opts[k], (long long)stats.out_of_range);
    if (k == 0) DPS_CHECK(inside, "ddpm with data range [-1, 1]: its last step returns the clipped x0hat, yet a value lies outside");
    PetscCall(DpsSamplerDestroy(&s));
  }
  {
    /* without clipping ddpm samples the prior at +-3 */
    DpsSampler s;
    PetscReal  amax = 0.0;
    PetscCall(DpsTestMakeSampler(prior, op, 0.1, 20, S, 5, (const PetscReal[]){-1.0, 1.0}, "-sampler_type ddpm -clip_x0hat false", &s));
    PetscCall(DpsSamplerSample(s, nin, index, y, x));
    for (PetscInt e = 0; e < nin * S * D; e++) amax = PetscMax(amax, PetscAbsReal(x[e]));
    DPS_CHECK(amax > 2.0, "ddpm with -clip_x0hat false must sample the prior at +-3 (max |x| = %g)", (double)amax);
    PetscCall(DpsSamplerDestroy(&s));
  }
  PetscFunctionReturn(0);
}

/* a range of width 0.02: the draws at +-3 lie more than 100 widths (2) beyond it */
static PetscErrorCode TestOutOfRange(DpsScore prior, DpsOperator op)
{
  DpsSampler      s;
  DpsSamplerStats stats;
  const PetscInt  nin = 2, S = 4, index[2] = {3, 4};
  PetscReal       y[2 * D] = {0}, x[2 * 4 * D];
  PetscInt64      want = 0;

  PetscFunctionBegin;
  PetscCall(DpsTestMakeSampler(prior, op, 0.1, 10, S, 5, (const PetscReal[]){-0.01, 0.01}, "-sampler_type ddpm -clip_x0hat false", &s));
  PetscCall(DpsSamplerSample(s, nin, index, y, x));
  PetscCall(DpsSamplerGetStats(s, &stats));
  for (PetscInt r = 0; r < nin * S; r++) {
    PetscBool far = PETSC_FALSE;
    for (PetscInt e = 0; e < D; e++)
      if (x[r * D + e] < -0.01 - 2.0 || x[r * D + e] > 0.01 + 2.0) far = PETSC_TRUE;
    want += far;
  }
  DPS_CHECK(want > 0 && stats.out_of_range == want, "draws_out_of_range: counted %lld, found %lld", (long long)stats.out_of_range, (long long)want);
  PetscCall(DpsSamplerDestroy(&s));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestNonFinite(DpsScore prior, DpsOperator op)
{
  const PetscReal values[2] = {(PetscReal)NAN, (PetscReal)INFINITY};
  const PetscInt  nin = 2, S = 2, index[2] = {6, 7};
  PetscReal       y[2 * D] = {0}, x[2 * 2 * D];

  PetscFunctionBegin;
  PetscCall(DpsSamplerRegister("test_nan", CreateNaN));
  for (int k = 0; k < 2; k++) {
    DpsSampler     s;
    PetscErrorCode ierr;
    const char    *text;
    char          *specific = NULL;
    PetscBool      named;
    bad_value = values[k];
    PetscCall(DpsTestMakeSampler(prior, op, 0.1, 5, S, 5, NULL, "-sampler_type test_nan", &s));
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = DpsSamplerSample(s, nin, index, y, x);
    PetscCall(PetscPopErrorHandler());
    DPS_CHECK(ierr == PETSC_ERR_FP, "a draw holding %g: DpsSamplerSample returned %d, expected PETSC_ERR_FP (%d)", (double)values[k], (int)ierr, (int)PETSC_ERR_FP);
    PetscCall(PetscErrorMessage(ierr, &text, &specific));
    PetscCall(PetscStrstr(specific ? specific : "", "sampler test_nan: input 7, draw 1, step 3", (char **)&text));
    named = text ? PETSC_TRUE : PETSC_FALSE;
    DPS_CHECK(named, "the error must name the sampler, input 7, draw 1 and step 3; it says: %s", specific ? specific : "(nothing)");
    PetscCall(DpsSamplerDestroy(&s));
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsScore    prior;
  DpsOperator op;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(DpsInitializePackage());
  PetscCall(MakeProblem(&prior, &op));
  PetscCall(TestTweedie());
  PetscCall(TestVJP(prior, op));
  PetscCall(TestSetRange(prior, op));
  PetscCall(TestEverySampler(prior, op));
  PetscCall(TestOutOfRange(prior, op));
  PetscCall(TestNonFinite(prior, op));
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  DPS_TEST_END();
}
