/* C-DPS with particles (-cdps_smc, methods.md section 3 "Particles") against exact posteriors:
   - one particle (S = 1) with -cdps_smc_noise fresh is the plain shared-coupling C-DPS, bit for bit: its path is
     draw 0's, its one weight never matters and resampling one particle is the identity; pinned noise (the
     default) redraws draw 0 with its noise, so it is another chain;
   - a one-Gaussian prior N(mu, v I) (exact eps; the exact posterior N(m, C) from the dense factorisation of
     DpsGMMPosterior), y in the prior's tail: with pinned noise each input's S particles have a mean and covariance
     that approach m and C as S grows (16, 128, 1024), and 64 x 64 pooled draws are unbiased down to the sampler's
     own discretisation floor; fresh noise (the C-DPS likelihood taken as a new observation at every step) is not:
     its pooled mean stays about 0.2 posterior standard deviations off, like plain C-DPS;
   - the Gaussian-mixture problem of methods.md section 7 at d_x = 8, d_y = 2: the sliced Wasserstein distance of
     each input's S particles to exact posterior draws falls with the particles (16, 64, 256), within 4 times the
     floor of S exact draws at 256 (pinned), far below plain C-DPS;
   - the restart state is the path, [the noise,] the log-weight, the ancestor and the input's counts, and the
     options that the particle form cannot serve are refused by name. */
#include <dpsolve/dpsolve.h>
#include "samplers/samplerimpl.h"
#include "samplertest.h"

#define STEPS  100
#define PINNED "-sampler_type cdps -cdps_smc -cdps_smc_noise pinned"
#define MERR   0.15
#define CERR   0.2
#define GMMFLOOR 4.0

/* S draws each for nin inputs (indices 0..nin-1, all with the measurement y) into x [nin x S x d] */
static PetscErrorCode Sample(DpsScore prior, DpsOperator op, PetscReal sigma_y, PetscInt S, PetscInt nin, PetscInt batch, const PetscReal y1[], const char *options, PetscReal x[], PetscInt *statesize)
{
  DpsSampler s;
  PetscInt   m, d, *index;
  PetscReal *y;

  PetscFunctionBegin;
  PetscCall(DpsOperatorGetSizes(op, &m, &d));
  PetscCall(PetscMalloc2(nin, &index, nin * m, &y));
  for (PetscInt j = 0; j < nin; j++) {
    index[j] = j;
    PetscCall(PetscArraycpy(y + j * m, y1, m));
  }
  PetscCall(DpsTestMakeSampler(prior, op, sigma_y, STEPS, S, 11, NULL, options, &s));
  if (statesize) PetscCall(DpsSamplerGetStateSize(s, statesize));
  for (PetscInt j0 = 0; j0 < nin; j0 += batch) {
    const PetscInt nb = PetscMin(batch, nin - j0);
    PetscCall(DpsSamplerSample(s, nb, index + j0, y + j0 * m, x + j0 * S * d));
  }
  PetscCall(DpsSamplerDestroy(&s));
  PetscCall(PetscFree2(index, y));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestOneParticle(void)
{
  DpsGMMProblemSpec spec = {8, 2, "cs", 0.5, {0, 4, 1, 4}, PETSC_FALSE, -1.0, 1};
  DpsScore          prior;
  DpsOperator       op;
  PetscReal         sigma_y, x0[8], y[2], a[3 * 8], b[3 * 8];
  PetscInt          q;

  PetscFunctionBegin;
  PetscCall(DpsGMMProblemCreate(&spec, &prior, &op, &sigma_y));
  PetscCall(DpsGMMProblemDraw(&spec, prior, op, sigma_y, 0, 1, x0, y));
  PetscCall(Sample(prior, op, sigma_y, 1, 3, 3, y, "-sampler_type cdps", a, NULL));
  PetscCall(Sample(prior, op, sigma_y, 1, 3, 3, y, "-sampler_type cdps -cdps_smc -cdps_smc_noise fresh", b, &q));
  PetscCheck(!memcmp(a, b, sizeof(a)), PETSC_COMM_SELF, PETSC_ERR_PLIB, "-cdps_smc -cdps_smc_noise fresh with one particle differs from plain C-DPS");
  PetscCheck(q == 2 + 5, PETSC_COMM_SELF, PETSC_ERR_PLIB, "-cdps_smc_noise fresh keeps %" PetscInt_FMT " state values per row, expected m + 5 = 7", q);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "one particle: -cdps_smc -cdps_smc_noise fresh equals plain C-DPS bit for bit (3 inputs); state m + 5 = %" PetscInt_FMT " per row\n", q));
  /* pinned noise redraws draw 0 with its noise (its own x_N implies n close to y): another chain, and its state
     holds the particle's noise too */
  PetscCall(Sample(prior, op, sigma_y, 1, 3, 3, y, PINNED, b, &q));
  PetscCheck(memcmp(a, b, sizeof(a)), PETSC_COMM_SELF, PETSC_ERR_PLIB, "-cdps_smc_noise pinned with one particle is plain C-DPS");
  PetscCheck(q == 2 * 2 + 5, PETSC_COMM_SELF, PETSC_ERR_PLIB, "-cdps_smc_noise pinned keeps %" PetscInt_FMT " state values per row, expected 2 m + 5 = 9", q);
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* max_e |mean_e - m_e| / sqrt(C_ee) and ||cov - C||_F / ||C||_F of n draws x [n x d] */
static void Moments(PetscInt n, PetscInt d, const PetscReal x[], const PetscReal m[], const PetscReal C[], PetscReal *merr, PetscReal *cerr)
{
  PetscReal mean[8] = {0}, num = 0.0, den = 0.0;

  *merr = 0.0;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt e = 0; e < d; e++) mean[e] += x[i * d + e] / n;
  for (PetscInt e = 0; e < d; e++) *merr = PetscMax(*merr, PetscAbsReal(mean[e] - m[e]) / PetscSqrtReal(C[e * d + e]));
  for (PetscInt e = 0; e < d; e++)
    for (PetscInt f = 0; f < d; f++) {
      PetscReal c = 0.0;
      for (PetscInt i = 0; i < n; i++) c += (x[i * d + e] - mean[e]) * (x[i * d + f] - mean[f]) / (n - 1);
      num += PetscSqr(c - C[e * d + f]);
      den += PetscSqr(C[e * d + f]);
    }
  *cerr = PetscSqrtReal(num / den);
}

/* Per input, the error of its S draws' moments; averaged over the inputs: x [nin x S x d] */
static void MomentsPerInput(PetscInt nin, PetscInt S, PetscInt d, const PetscReal x[], const PetscReal m[], const PetscReal C[], PetscReal *merr, PetscReal *cerr)
{
  *merr = *cerr = 0.0;
  for (PetscInt j = 0; j < nin; j++) {
    PetscReal me, ce;
    Moments(S, d, x + j * S * d, m, C, &me, &ce);
    *merr += me / nin;
    *cerr += ce / nin;
  }
}

static PetscErrorCode TestGaussian(void)
{
  const PetscInt   d = 4, m = 2, nin = 8, Ss[] = {16, 128, 1024};
  const PetscReal  w = 1.0, v = 1.5, mu[4] = {0.5, -1.0, 0.0, 2.0}, sigma_y = 0.2;
  PetscReal        A[2 * 4], y[2], C[16], *x, merr[4], cerr[4];
  const PetscReal *wt, *mpost;
  DpsRandomAddress ra = {9, 0, 0, 0, DPS_STREAM_PROBLEM};
  DpsScore         prior;
  DpsOperator      op;
  DpsGMMPosterior  post;

  PetscFunctionBegin;
  PetscCall(DpsRandomNormals(ra, m * d, A));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORCS));
  PetscCall(DpsOperatorCSSetMatrix(op, m, d, A));
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &prior));
  PetscCall(DpsScoreSetType(prior, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(prior, 1, d, &w, mu, &v));
  /* a measurement in the prior's tail (3 prior standard deviations along each row of A): a posterior far from
     the prior */
  for (PetscInt l = 0; l < m; l++) {
    PetscReal Amu = 0.0, nrm = 0.0;
    for (PetscInt e = 0; e < d; e++) {
      Amu += A[l * d + e] * mu[e];
      nrm += A[l * d + e] * A[l * d + e];
    }
    y[l] = Amu + 3.0 * PetscSqrtReal(v * nrm) * (l ? -1.0 : 1.0);
  }
  PetscCall(DpsGMMPosteriorCreate(prior, op, sigma_y, &post));
  PetscCall(DpsGMMPosteriorCondition(post, y, &wt, &mpost));
  PetscCall(DpsGMMPosteriorGetCovariance(post, 0, C));
  PetscCall(PetscMalloc1(nin * 1024 * d, &x));
  /* per input: its S particles' moments approach the posterior's as S grows */
  for (PetscInt k = 0; k < 3; k++) {
    PetscCall(Sample(prior, op, sigma_y, Ss[k], nin, 8, y, PINNED, x, NULL));
    MomentsPerInput(nin, Ss[k], d, x, mpost, C, &merr[k], &cerr[k]);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "Gaussian prior, pinned noise, %4" PetscInt_FMT " particles: mean error %.3f posterior std, covariance error %.3f (relative, Frobenius); mean over %" PetscInt_FMT " inputs\n", Ss[k], (double)merr[k], (double)cerr[k], nin));
  }
  PetscCheck(merr[2] < merr[1] && merr[1] < merr[0] && cerr[2] < cerr[1] && cerr[1] < cerr[0], PETSC_COMM_SELF, PETSC_ERR_PLIB, "pinned noise: the particles' moments do not approach the posterior as S grows");
  PetscCheck(merr[2] < MERR && cerr[2] < CERR, PETSC_COMM_SELF, PETSC_ERR_PLIB, "pinned noise, 1024 particles: mean error %.3f std, covariance error %.3f; expected below %.2f and %.2f", (double)merr[2], (double)cerr[2], MERR, CERR);
  PetscReal pinned_me = 0.0;
  /* the limit, without the particles' Monte Carlo error: 64 inputs of 64 particles pooled, against the sampler's
     own floor (100 DDPM steps reproduce the prior's covariance to about 0.07) */
  for (PetscInt k = 0; k < 3; k++) {
    const char *opts[] = {PINNED, "-sampler_type cdps -cdps_smc -cdps_smc_noise fresh", "-sampler_type cdps"};
    PetscReal   me, ce;
    PetscCall(Sample(prior, op, sigma_y, 64, 64, 16, y, opts[k], x, NULL));
    Moments(4096, d, x, mpost, C, &me, &ce);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "Gaussian prior, %s, 64 inputs x 64 draws pooled: mean error %.3f posterior std, covariance error %.3f\n", opts[k], (double)me, (double)ce));
    if (k == 0) {
      PetscCheck(me < 0.1 && ce < 0.15, PETSC_COMM_SELF, PETSC_ERR_PLIB, "pinned noise is biased: pooled mean error %.3f std, covariance error %.3f", (double)me, (double)ce);
      pinned_me = me;
    }
    /* fresh noise counts the one measurement noise as new at every step: its limit is not the posterior */
    if (k == 1) PetscCheck(pinned_me < 0.5 * me, PETSC_COMM_SELF, PETSC_ERR_PLIB, "pinned noise (pooled mean error %.3f) is not clearly closer than fresh noise (%.3f)", (double)pinned_me, (double)me);
  }
  PetscCall(PetscFree(x));
  PetscCall(DpsGMMPosteriorDestroy(&post));
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* SW_1 between the empirical measure of the S draws xs and n exact draws ex: xs repeated n / S times */
static PetscErrorCode SWTo(PetscInt S, PetscInt n, const PetscReal xs[], const PetscReal ex[], PetscReal *sw)
{
  PetscReal *rep;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n * 8, &rep));
  for (PetscInt i = 0; i < n; i++) PetscCall(PetscArraycpy(rep + i * 8, xs + (i % S) * 8, 8));
  PetscCall(DpsSlicedWasserstein(n, 8, rep, ex, 500, 3, 0, sw));
  PetscCall(PetscFree(rep));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestGMM(void)
{
  const PetscInt    n = 1024, nin = 8, Ss[] = {16, 64, 256};
  DpsGMMProblemSpec spec = {8, 2, "cs", 0.5, {0, 4, 1, 4}, PETSC_FALSE, -1.0, 1};
  DpsScore          prior;
  DpsOperator       op;
  DpsGMMPosterior   post;
  PetscReal         sigma_y, x0[8], y[2], *x, *ex, *ex2, sw[4] = {0}, floor[3] = {0};

  PetscFunctionBegin;
  PetscCall(DpsGMMProblemCreate(&spec, &prior, &op, &sigma_y));
  PetscCall(DpsGMMProblemDraw(&spec, prior, op, sigma_y, 0, 1, x0, y));
  PetscCall(PetscMalloc3(nin * 256 * 8, &x, n * 8, &ex, nin * 256 * 8, &ex2));
  PetscCall(DpsGMMPosteriorCreate(prior, op, sigma_y, &post));
  PetscCall(DpsGMMPosteriorCondition(post, y, NULL, NULL));
  PetscCall(DpsGMMPosteriorSample(post, 5, 0, DPS_STREAM_EXACT_A, n, ex));
  PetscCall(DpsGMMPosteriorSample(post, 5, 0, DPS_STREAM_EXACT_B, nin * 256, ex2));
  for (PetscInt f = 0; f < 2; f++) {
    const char *opts[] = {PINNED, "-sampler_type cdps -cdps_smc -cdps_smc_noise fresh"};
    for (PetscInt k = 0; k < 3; k++) {
      PetscCall(Sample(prior, op, sigma_y, Ss[k], nin, 8, y, opts[f], x, NULL));
      sw[k] = floor[k] = 0.0;
      for (PetscInt j = 0; j < nin; j++) {
        PetscReal a, b;
        PetscCall(SWTo(Ss[k], n, x + j * Ss[k] * 8, ex, &a));
        PetscCall(SWTo(Ss[k], n, ex2 + j * Ss[k] * 8, ex, &b));
        sw[k] += a / nin;
        floor[k] += b / nin;
      }
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "GMM d_x 8, d_y 2, %s: %3" PetscInt_FMT " particles: SW %.3f; %" PetscInt_FMT " exact draws %.3f (the floor); mean over %" PetscInt_FMT " inputs\n", opts[f], Ss[k], (double)sw[k], Ss[k], (double)floor[k], nin));
    }
    /* (fresh noise falls, but not monotonically over 8 inputs: 1.48, 1.57, 0.74 when this was written) */
    PetscCheck(sw[2] < sw[0] && (f || (sw[2] < sw[1] && sw[1] < sw[0])), PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: SW does not fall with the particles: %.3f (16), %.3f (64), %.3f (256)", opts[f], (double)sw[0], (double)sw[1], (double)sw[2]);
    if (!f) PetscCheck(sw[2] < GMMFLOOR * floor[2], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s, 256 particles: SW %.3f, not within %.1f times the floor %.3f", opts[f], (double)sw[2], GMMFLOOR, (double)floor[2]);
  }
  PetscCall(Sample(prior, op, sigma_y, 256, nin, 8, y, "-sampler_type cdps", x, NULL));
  for (PetscInt j = 0; j < nin; j++) {
    PetscReal a;
    PetscCall(SWTo(256, n, x + j * 256 * 8, ex, &a));
    sw[3] += a / nin;
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "GMM d_x 8, d_y 2: plain C-DPS, 256 draws: SW %.3f\n", (double)sw[3]));
  PetscCheck(sw[2] < 0.25 * sw[3], PETSC_COMM_SELF, PETSC_ERR_PLIB, "256 particles (SW %.3f) are not far closer than plain C-DPS (%.3f)", (double)sw[2], (double)sw[3]);
  PetscCall(PetscFree3(x, ex, ex2));
  PetscCall(DpsGMMPosteriorDestroy(&post));
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* the forms the particles cannot serve are refused, by option and value */
static PetscErrorCode TestRefused(void)
{
  const char *bad[] = {"-sampler_type cdps -cdps_smc -cdps_coupling independent", "-sampler_type cdps -cdps_smc -cdps_space x0", "-sampler_type cdps -cdps_smc -cdps_prior forward", "-sampler_type cdps -cdps_smc -cdps_smc_ess 1.5"};
  DpsGMMProblemSpec spec = {8, 2, "cs", 0.5, {0, 4, 1, 4}, PETSC_FALSE, -1.0, 1};
  DpsScore          prior;
  DpsOperator       op;
  PetscReal         sigma_y;

  PetscFunctionBegin;
  PetscCall(DpsGMMProblemCreate(&spec, &prior, &op, &sigma_y));
  for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
    DpsSampler     s = NULL;
    PetscErrorCode ierr;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = DpsTestMakeSampler(prior, op, sigma_y, STEPS, 4, 1, NULL, bad[c], &s);
    PetscCall(PetscPopErrorHandler());
    PetscCheck(ierr, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s was accepted", bad[c]);
    PetscCall(DpsSamplerDestroy(&s));
    PetscCall(PetscOptionsClear(NULL));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "refused: independent coupling, x0 space, forward prior, -cdps_smc_ess 1.5\n"));
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TestOneParticle());
  PetscCall(TestRefused());
  PetscCall(TestGMM());
  PetscCall(TestGaussian());
  PetscCall(PetscFinalize());
  return 0;
}
