/* Samplers on the MCGdiff Gaussian-mixture problems (methods.md section 7), against exact posteriors:
   - ddpm reproduces the prior;
   - cdps conditions on y: its SW to the exact posterior is far below that of prior samples, on several problems;
   - -cdps_solves 1 and 2 give the same samples for the same seed (so the same law), and agree in distribution
     across seeds;
   - the seed's forward-kernel prior (-cdps_prior forward) diverges in the null space of an inpainting operator
     (standard deviation about 1/sqrt(abar_T) = 157), the reverse-kernel prior does not. */
#include <dpsolve/dpsolve.h>

#define S     256
#define STEPS 100

typedef struct {
  DpsGMMProblemSpec spec;
  DpsScore          prior;
  DpsOperator       op;
  PetscReal         sigma_y, *x0, *y;
  PetscInt          d, m;
} Problem;

static PetscErrorCode ProblemCreate(PetscInt dx, PetscInt dy, const char *optype, PetscInt64 seed, Problem *p)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(p, sizeof(*p)));
  p->spec = (DpsGMMProblemSpec){dx, dy, "", 0.5, {0, dx / 2, 1, dx - dx / 2}, PETSC_FALSE, -1.0, seed};
  PetscCall(PetscStrncpy(p->spec.operator_type, optype, sizeof(p->spec.operator_type)));
  if (!strcmp(optype, DPSOPERATORINPAINT)) {
    p->spec.hasbox  = PETSC_TRUE; /* the second half of the entries is missing */
    p->spec.sigma_y = 0.1;
  }
  PetscCall(DpsGMMProblemCreate(&p->spec, &p->prior, &p->op, &p->sigma_y));
  PetscCall(DpsOperatorGetSizes(p->op, &p->m, &p->d));
  PetscCall(PetscMalloc2(p->d, &p->x0, p->m, &p->y));
  PetscCall(DpsGMMProblemDraw(&p->spec, p->prior, p->op, p->sigma_y, 0, 1, p->x0, p->y));
  PetscFunctionReturn(0);
}

static PetscErrorCode ProblemDestroy(Problem *p)
{
  PetscFunctionBegin;
  PetscCall(PetscFree2(p->x0, p->y));
  PetscCall(DpsScoreDestroy(&p->prior));
  PetscCall(DpsOperatorDestroy(&p->op));
  PetscFunctionReturn(0);
}

/* S draws for input 0 with the given sampler options (e.g. "-sampler_type cdps -cdps_solves 2") */
static PetscErrorCode Sample(Problem *p, const char *options, PetscInt64 seed, PetscReal x[])
{
  DpsSchedule sch;
  DpsSampler  s;
  PetscInt    index = 0;

  PetscFunctionBegin;
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscOptionsInsertString(NULL, options));
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &sch));
  PetscCall(DpsScheduleSetNumSteps(sch, STEPS));
  PetscCall(DpsSamplerCreate(PETSC_COMM_SELF, &s));
  PetscCall(DpsSamplerSetSchedule(s, sch));
  PetscCall(DpsSamplerSetScore(s, p->prior));
  PetscCall(DpsSamplerSetOperator(s, p->op, p->sigma_y));
  PetscCall(DpsSamplerSetSeed(s, seed));
  PetscCall(DpsSamplerSetNumDraws(s, S));
  PetscCall(DpsSamplerSetFromOptions(s));
  PetscCall(DpsSamplerSample(s, 1, &index, p->y, x));
  PetscCall(DpsSamplerDestroy(&s));
  PetscCall(DpsScheduleDestroy(&sch));
  PetscCall(PetscOptionsClear(NULL));
  PetscFunctionReturn(0);
}

/* Prior draws, by their own stream */
static PetscErrorCode PriorSamples(Problem *p, PetscInt64 seed, PetscReal x[])
{
  PetscFunctionBegin;
  PetscCall(DpsGMMPriorSample(p->prior, seed, 99, DPS_STREAM_PRIOR_DRAWS, S, x));
  PetscFunctionReturn(0);
}

static PetscErrorCode SW(Problem *p, const PetscReal X[], const PetscReal Y[], PetscReal *sw)
{
  PetscFunctionBegin;
  PetscCall(DpsSlicedWasserstein(S, p->d, X, Y, 500, 3, 0, sw));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestDDPMMatchesPrior(void)
{
  Problem    p;
  PetscReal *xs, *pa, *pb, sw, floor;

  PetscFunctionBegin;
  PetscCall(ProblemCreate(8, 2, DPSOPERATORCS, 1, &p));
  PetscCall(PetscMalloc3(S * p.d, &xs, S * p.d, &pa, S * p.d, &pb));
  PetscCall(Sample(&p, "-sampler_type ddpm", 4, xs));
  PetscCall(PriorSamples(&p, 1, pa));
  PetscCall(PriorSamples(&p, 2, pb));
  PetscCall(SW(&p, xs, pa, &sw));
  PetscCall(SW(&p, pb, pa, &floor));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "ddpm vs prior: SW %.3f, floor (two prior sets) %.3f\n", (double)sw, (double)floor));
  PetscCheck(sw < 2.0 * floor, PETSC_COMM_SELF, PETSC_ERR_PLIB, "ddpm samples are not prior samples: SW %.3f against a floor of %.3f", (double)sw, (double)floor);
  PetscCall(PetscFree3(xs, pa, pb));
  PetscCall(ProblemDestroy(&p));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestCDPSConditions(const char *coupling, PetscReal ratio_max)
{
  const PetscInt dys[] = {2, 4, 4}, seeds[] = {1, 2, 3};
  PetscReal      sum_c = 0.0, sum_p = 0.0;
  char           opts[128];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(opts, sizeof(opts), "-sampler_type cdps -cdps_coupling %s", coupling));
  for (PetscInt k = 0; k < 3; k++) {
    Problem         p;
    DpsGMMPosterior post;
    PetscReal      *xs, *ex, *pr, *ex2, swc, swp, floor;
    PetscCall(ProblemCreate(8, dys[k], DPSOPERATORCS, seeds[k], &p));
    PetscCall(PetscMalloc4(S * p.d, &xs, S * p.d, &ex, S * p.d, &pr, S * p.d, &ex2));
    PetscCall(Sample(&p, opts, 7, xs));
    PetscCall(DpsGMMPosteriorCreate(p.prior, p.op, p.sigma_y, &post));
    PetscCall(DpsGMMPosteriorCondition(post, p.y, NULL, NULL));
    PetscCall(DpsGMMPosteriorSample(post, 5, 0, DPS_STREAM_EXACT_A, S, ex));
    PetscCall(DpsGMMPosteriorSample(post, 5, 0, DPS_STREAM_EXACT_B, S, ex2));
    PetscCall(PriorSamples(&p, 3, pr));
    PetscCall(SW(&p, xs, ex, &swc));
    PetscCall(SW(&p, pr, ex, &swp));
    PetscCall(SW(&p, ex2, ex, &floor));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "cdps (%s) d_x 8, d_y %" PetscInt_FMT ", problem %" PetscInt_FMT ": SW to the exact posterior %.3f; prior samples %.3f; floor %.3f\n", coupling, dys[k], seeds[k], (double)swc, (double)swp, (double)floor));
    sum_c += swc;
    sum_p += swp;
    PetscCall(DpsGMMPosteriorDestroy(&post));
    PetscCall(PetscFree4(xs, ex, pr, ex2));
    PetscCall(ProblemDestroy(&p));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "cdps (%s): mean SW %.3f against %.3f for prior samples (ratio %.2f, required < %.2f)\n", coupling, (double)(sum_c / 3), (double)(sum_p / 3), (double)(sum_c / sum_p), (double)ratio_max));
  PetscCheck(sum_c < ratio_max * sum_p, PETSC_COMM_SELF, PETSC_ERR_PLIB, "cdps (%s) does not condition on y: mean SW %.3f against %.3f for prior samples", coupling, (double)(sum_c / 3), (double)(sum_p / 3));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestSolvesAgree(void)
{
  Problem    p;
  PetscReal *x1, *x2, *x3, diff = 0.0, sw12, sw13;

  PetscFunctionBegin;
  PetscCall(ProblemCreate(8, 4, DPSOPERATORCS, 2, &p));
  PetscCall(PetscMalloc3(S * p.d, &x1, S * p.d, &x2, S * p.d, &x3));
  PetscCall(Sample(&p, "-sampler_type cdps -cdps_solves 1", 7, x1));
  PetscCall(Sample(&p, "-sampler_type cdps -cdps_solves 2", 7, x2));
  for (PetscInt e = 0; e < S * p.d; e++) diff = PetscMax(diff, PetscAbsReal(x1[e] - x2[e]));
  /* across seeds: the distance between the two solve counts is that between two seeds of one */
  PetscCall(Sample(&p, "-sampler_type cdps -cdps_solves 2", 8, x2));
  PetscCall(Sample(&p, "-sampler_type cdps -cdps_solves 1", 9, x3));
  PetscCall(SW(&p, x1, x2, &sw12));
  PetscCall(SW(&p, x1, x3, &sw13));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "cdps solves 1 vs 2, same seed: max |difference| %.2e; other seeds: SW(1, 2) %.3f, SW(1, 1) %.3f\n", (double)diff, (double)sw12, (double)sw13));
  PetscCheck(diff < 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB, "-cdps_solves 1 and 2 differ by %.2e for the same random numbers", (double)diff);
  PetscCheck(sw12 < 1.5 * sw13 + 0.05, PETSC_COMM_SELF, PETSC_ERR_PLIB, "-cdps_solves 1 and 2 differ in distribution: SW %.3f against %.3f between seeds", (double)sw12, (double)sw13);
  PetscCall(PetscFree3(x1, x2, x3));
  PetscCall(ProblemDestroy(&p));
  PetscFunctionReturn(0);
}

/* standard deviation over draws of the entries where mask is 0 (or 1), averaged */
static PetscErrorCode NullSpaceStd(Problem *p, const PetscReal x[], PetscReal *sd_null, PetscReal *sd_range)
{
  PetscReal *e, *Ae, n0 = 0, n1 = 0;

  PetscFunctionBegin;
  *sd_null = *sd_range = 0.0;
  PetscCall(PetscCalloc2(p->d, &e, p->d, &Ae));
  for (PetscInt j = 0; j < p->d; j++) {
    PetscReal mean = 0.0, var = 0.0;
    e[j] = 1.0;
    PetscCall(DpsOperatorApplyArray(p->op, e, Ae));
    e[j] = 0.0;
    for (PetscInt s = 0; s < S; s++) mean += x[s * p->d + j] / S;
    for (PetscInt s = 0; s < S; s++) var += PetscSqr(x[s * p->d + j] - mean) / (S - 1);
    if (Ae[j] == 0.0) {
      *sd_null += PetscSqrtReal(var);
      n0++;
    } else {
      *sd_range += PetscSqrtReal(var);
      n1++;
    }
  }
  *sd_null /= n0;
  *sd_range /= n1;
  PetscCall(PetscFree2(e, Ae));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestForwardPriorDiverges(void)
{
  Problem    p;
  PetscReal *xr, *xf, rn, rr, fn, fr;

  PetscFunctionBegin;
  PetscCall(ProblemCreate(8, 8, DPSOPERATORINPAINT, 4, &p));
  PetscCall(PetscMalloc2(S * p.d, &xr, S * p.d, &xf));
  PetscCall(Sample(&p, "-sampler_type cdps -cdps_prior reverse", 7, xr));
  PetscCall(Sample(&p, "-sampler_type cdps -cdps_prior forward", 7, xf));
  PetscCall(NullSpaceStd(&p, xr, &rn, &rr));
  PetscCall(NullSpaceStd(&p, xf, &fn, &fr));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "inpainting, std of missing / observed entries: reverse-kernel prior %.2f / %.3f; forward-kernel prior (seed) %.2f / %.3f\n", (double)rn, (double)rr, (double)fn, (double)fr));
  /* the prior puts its components 8 apart: a posterior std in the null space is at most about 8 */
  PetscCheck(rn < 12.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "reverse-kernel C-DPS spreads the missing entries too far: std %.2f", (double)rn);
  PetscCheck(fn > 50.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the forward-kernel ablation should diverge in the null space, std %.2f", (double)fn);
  PetscCall(PetscFree2(xr, xf));
  PetscCall(ProblemDestroy(&p));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TestDDPMMatchesPrior());
  PetscCall(TestCDPSConditions("shared", 0.6));
  PetscCall(TestCDPSConditions("independent", 0.8));
  PetscCall(TestSolvesAgree());
  PetscCall(TestForwardPriorDiverges());
  PetscCall(PetscFinalize());
  return 0;
}
