/* unit_schedule: DpsSchedule (methods.md section 1) against numbers computed here from the definitions.
   - T = 1000, N = T: tau_i = i, abar_i = prod_{s<=i} (1 - beta_s), beta = linspace(1e-4, 0.02, 1000).
   - N = 50: tau_N = T, tau strictly increasing and evenly spaced over [1, T], abar'_i = abar_{tau_i}.
   - Every step: c1, c2 and betatilde are the Gaussian conditioning of q(y_{t-1} | y_t, y_0) built from the two
     abar values alone (y_{t-1} = sqrt(abar_{t-1}) y0 + sqrt(1 - abar_{t-1}) e, y_t = sqrt(alpha) y_{t-1} +
     sqrt(beta) z): c2 = Cov / Var(y_t), c1 = sqrt(abar_{t-1}) - c2 sqrt(abar_t), betatilde = Var(y_{t-1}) -
     Cov^2 / Var(y_t); var = betatilde ("small") or beta ("large"), the first clipped to betatilde_2.
   - T = 100: the betas are linspace(1e-4, 0.02, 100) scaled by 1000/T. */
#include <dpsolve/dpsolve.h>
#include "unittest.h"

/* abar_t, t = 0..T, of a linear schedule, as the product of (1 - beta_s) */
static void TrainAlphaBar(PetscInt T, double abar[])
{
  abar[0] = 1.0;
  for (PetscInt t = 1; t <= T; t++) {
    double beta = (1000.0 / T) * (1e-4 + (0.02 - 1e-4) * (double)(t - 1) / (double)(T - 1));
    abar[t]     = abar[t - 1] * (1.0 - beta);
  }
}

/* the bridge of the measurement chain from the joint Gaussian of (y_{t-1}, y_t) given y_0 */
static void Bridge(double abar_prev, double abar, double *c1, double *c2, double *btilde)
{
  double alpha = abar / abar_prev, beta = 1.0 - alpha;
  double var_prev = 1.0 - abar_prev;                 /* Var(y_{t-1} | y0) */
  double cov      = sqrt(alpha) * var_prev;          /* Cov(y_{t-1}, y_t | y0) */
  double var_t    = alpha * var_prev + beta;         /* Var(y_t | y0) */
  *c2             = cov / var_t;
  *c1             = sqrt(abar_prev) - *c2 * sqrt(abar); /* E[y_{t-1} | y_t, y0] = sqrt(abar_prev) y0 + c2 (y_t - sqrt(abar) y0) */
  *btilde         = var_prev - cov * cov / var_t;
}

/* checks every step of a set-up schedule against the bridge built from abar_train[tau]; returns the worst errors */
static PetscErrorCode CheckSteps(DpsSchedule s, const double abar_train[], const PetscInt tau[], PetscBool large, const char *what)
{
  PetscInt N;
  double   ec = 0, eb = 0, ev = 0, ea = 0, btilde2 = 0;

  PetscFunctionBegin;
  PetscCall(DpsScheduleGetNumSteps(s, &N));
  {
    double c1, c2;
    Bridge(abar_train[tau[1]], abar_train[tau[2]], &c1, &c2, &btilde2);
  }
  for (PetscInt i = 1; i <= N; i++) {
    DpsStep st;
    double  ap = abar_train[tau[i - 1]], a = abar_train[tau[i]], c1, c2, bt, beta = 1.0 - a / ap, var;
    PetscCall(DpsScheduleGetStep(s, i, &st));
    Bridge(ap, a, &c1, &c2, &bt);
    DPS_CHECK(st.i == i && st.t == tau[i], "%s step %" PetscInt_FMT ": i = %" PetscInt_FMT ", t = %" PetscInt_FMT ", expected t = %" PetscInt_FMT, what, i, st.i, st.t, tau[i]);
    ea = PetscMax(ea, PetscMax(fabs(st.abar - a), fabs(st.abar_prev - ap)));
    ea = PetscMax(ea, PetscMax(fabs(st.beta - beta), fabs(st.alpha - (1.0 - beta))));
    ec = PetscMax(ec, PetscMax(fabs(st.c1 - c1), fabs(st.c2 - c2)));
    eb = PetscMax(eb, fabs(st.betatilde - bt));
    DPS_CHECK(fabs(st.c1 - c1) <= 1e-12 && fabs(st.c2 - c2) <= 1e-12, "%s step %" PetscInt_FMT ": c1 = %.17g, c2 = %.17g; Gaussian conditioning gives %.17g, %.17g", what, i, st.c1, st.c2, c1, c2);
    DPS_CHECK(fabs(st.betatilde - bt) <= 1e-12, "%s step %" PetscInt_FMT ": betatilde = %.17g, conditioning gives %.17g", what, i, st.betatilde, bt);
    DPS_CHECK(fabs(st.abar - a) <= 1e-15 * a && fabs(st.abar_prev - ap) <= 1e-15 * ap, "%s step %" PetscInt_FMT ": abar %.17g / %.17g, expected %.17g / %.17g", what, i, st.abar, st.abar_prev, a, ap);
    DPS_CHECK(fabs(st.beta - beta) <= 1e-12 && fabs(st.alpha + st.beta - 1.0) <= 1e-15, "%s step %" PetscInt_FMT ": beta %.17g, alpha %.17g, expected beta %.17g", what, i, st.beta, st.alpha, beta);
    /* reverse-kernel variance: betatilde (small) or beta (large); the first one clipped to betatilde_2 */
    var = large ? (i == 1 ? btilde2 : beta) : bt;
    ev  = PetscMax(ev, fabs(st.var - var));
    DPS_CHECK(fabs(st.var - var) <= 1e-12, "%s step %" PetscInt_FMT ": var %.17g, expected %.17g", what, i, st.var, var);
    var = i == 1 ? btilde2 : var;
    ev  = PetscMax(ev, fabs(st.var_clipped - var));
    DPS_CHECK(fabs(st.var_clipped - var) <= 1e-12, "%s step %" PetscInt_FMT ": var_clipped %.17g, expected %.17g", what, i, st.var_clipped, var);
    if (i == 1) {
      DPS_CHECK(st.abar_prev == 1.0 && st.c2 == 0.0 && st.betatilde == 0.0, "%s step 1: abar_prev %g, c2 %g, betatilde %g: expected 1, 0, 0 (abar_0 = 1)", what, st.abar_prev, st.c2, st.betatilde);
      if (!large) DPS_CHECK(st.var == 0.0, "%s step 1: small variance %g, expected 0", what, st.var);
    }
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: max |error| over %" PetscInt_FMT " steps: abar/beta %.2e, c1/c2 %.2e, betatilde %.2e, var/var_clipped %.2e; betatilde_2 = %.6e\n", what, N, ea, ec, eb, ev, btilde2));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsSchedule s;
  double     *abar;
  PetscInt   *tau, T, N;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscMalloc2(1001, &abar, 1001, &tau));
  TrainAlphaBar(1000, abar);

  /* N = T = 1000 */
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &s));
  PetscCall(DpsScheduleSetType(s, DPSSCHEDULELINEAR));
  PetscCall(DpsScheduleSetNumSteps(s, 1000));
  PetscCall(DpsScheduleSetUp(s));
  PetscCall(DpsScheduleGetNumTrainSteps(s, &T));
  PetscCall(DpsScheduleGetNumSteps(s, &N));
  DPS_CHECK(T == 1000 && N == 1000, "T = %" PetscInt_FMT ", N = %" PetscInt_FMT ", expected 1000, 1000", T, N);
  {
    double err = 0;
    for (PetscInt t = 0; t <= 1000; t++) {
      PetscReal a;
      PetscCall(DpsScheduleGetTrainAlphaBar(s, t, &a));
      err = PetscMax(err, fabs(a - abar[t]) / abar[t]);
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "T = 1000: abar_T = %.10e (product of 1 - linspace(1e-4, 0.02, 1000): %.10e), max relative error of abar_t %.2e\n", abar[1000], abar[1000], err));
    DPS_CHECK(err <= 1e-12, "training abar differs from the product of (1 - beta): relative error %g", err);
  }
  tau[0] = 0;
  for (PetscInt i = 1; i <= 1000; i++) tau[i] = i;
  PetscCall(CheckSteps(s, abar, tau, PETSC_FALSE, "N = T = 1000"));

  /* N = 50 */
  PetscCall(DpsScheduleSetNumSteps(s, 50));
  PetscCall(DpsScheduleSetUp(s));
  {
    double maxoff = 0;
    for (PetscInt i = 1; i <= 50; i++) {
      DpsStep st;
      double  ideal = 1.0 + (double)(i - 1) * 999.0 / 49.0;
      PetscCall(DpsScheduleGetStep(s, i, &st));
      tau[i] = st.t;
      maxoff = PetscMax(maxoff, fabs(st.t - ideal));
      if (i > 1) DPS_CHECK(tau[i] > tau[i - 1], "respaced times not strictly increasing: tau_%" PetscInt_FMT " = %" PetscInt_FMT ", tau_%" PetscInt_FMT " = %" PetscInt_FMT, i - 1, tau[i - 1], i, tau[i]);
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "N = 50: tau_1 = %" PetscInt_FMT ", tau_2 = %" PetscInt_FMT ", tau_N = %" PetscInt_FMT ", max |tau_i - (1 + (i-1)(T-1)/(N-1))| = %.3f\n", tau[1], tau[2], tau[50], maxoff));
    DPS_CHECK(tau[50] == 1000, "tau_N = %" PetscInt_FMT ", expected T = 1000", tau[50]);
    DPS_CHECK(tau[1] >= 1, "tau_1 = %" PetscInt_FMT " must be at least 1", tau[1]);
    DPS_CHECK(maxoff <= 0.5 + 1e-12, "respaced times are not evenly spread over [1, T]: off by %g", maxoff);
  }
  PetscCall(CheckSteps(s, abar, tau, PETSC_FALSE, "N = 50, small variance"));
  PetscCall(DpsScheduleDestroy(&s));

  /* "large" variance, N = 50, through the options database */
  PetscCall(PetscOptionsSetValue(NULL, "-schedule_variance", "large"));
  PetscCall(PetscOptionsSetValue(NULL, "-steps", "50"));
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &s));
  PetscCall(DpsScheduleSetFromOptions(s));
  PetscCall(DpsScheduleSetUp(s));
  PetscCall(CheckSteps(s, abar, tau, PETSC_TRUE, "N = 50, large variance"));
  PetscCall(DpsScheduleDestroy(&s));
  PetscCall(PetscOptionsClearValue(NULL, "-schedule_variance"));
  PetscCall(PetscOptionsClearValue(NULL, "-steps"));

  /* T = 100, N = T: betas scaled by 1000/T */
  PetscCall(PetscOptionsSetValue(NULL, "-schedule_train_steps", "100"));
  PetscCall(PetscOptionsSetValue(NULL, "-steps", "100"));
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &s));
  PetscCall(DpsScheduleSetFromOptions(s));
  PetscCall(DpsScheduleSetUp(s));
  TrainAlphaBar(100, abar);
  for (PetscInt i = 0; i <= 100; i++) tau[i] = i;
  PetscCall(CheckSteps(s, abar, tau, PETSC_FALSE, "T = N = 100 (betas x 10)"));
  PetscCall(DpsScheduleDestroy(&s));
  PetscCall(PetscOptionsClearValue(NULL, "-schedule_train_steps"));
  PetscCall(PetscOptionsClearValue(NULL, "-steps"));

  PetscCall(PetscFree2(abar, tau));
  DPS_TEST_END();
}
