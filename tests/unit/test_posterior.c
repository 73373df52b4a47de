/* unit_posterior: the exact Gaussian-mixture posterior (methods.md section 7) against brute-force quadrature.
   A 2-D prior (K = 3, unequal variances and weights) and a 1 x 2 cs operator, sigma_y = 0.5. The posterior
   p(x | y) ~ sum_k w_k N(x; mu_k, v_k I) N(y; A x, sigma_y^2) is integrated on a fine grid (the integrand is a
   smooth, rapidly decaying function, so the plain grid sum converges spectrally); per component and for the
   mixture, its mass, mean and covariance are compared with DpsGMMPosteriorCondition / GetCovariance to 1e-9
   (the grid sum agrees to rounding). Then 200000 draws from DpsGMMPosteriorSample: mean and covariance within 5
   standard errors, and a Kolmogorov-Smirnov test of two projections against the exact mixture CDF. Last, DpsGMMProblemCreate (MCGdiff, dx = 8, dy = 2): singular
   values of A (from the eigenvalues of A A^T, closed form) sorted descending in (0, 1), sigma_y in (0, s_max], and
   a prior of 25 unit-variance components at (8i, 8j, 8i, 8j, ...), i, j in -2..2; over 1000 problem seeds, the
   singular values are distributed as sorted U(0, 1) pairs and sigma_y / s_max as U(0, 1). (Which singular vector
   carries which value cannot be seen from A alone, so "sorted" is checked only through sigma_y = u s_max.) */
#include <dpsolve/dpsolve.h>
#include "unittest.h"

enum { K = 3, D = 2 };

static double NormalCDF(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

int main(int argc, char **argv)
{
  const PetscReal  w[K] = {0.5, 0.3, 0.2}, mu[K * D] = {-1.5, 0.5, 1.0, 2.0, 2.0, -1.0}, var[K] = {0.3, 1.0, 2.2};
  const PetscReal  A[D] = {0.8, -0.6}, sigma = 0.5, y = 0.4;
  DpsScore         score;
  DpsOperator      op;
  DpsGMMPosterior  post;
  const PetscReal *wt, *means;
  PetscReal        C[K][D * D], mean[D] = {0, 0}, cov[D * D] = {0, 0, 0, 0};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &score));
  PetscCall(DpsScoreSetType(score, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(score, K, D, w, mu, var));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORCS));
  PetscCall(DpsOperatorCSSetMatrix(op, 1, D, A));
  PetscCall(DpsOperatorSetUp(op));
  PetscCall(DpsGMMPosteriorCreate(score, op, sigma, &post));
  PetscCall(DpsGMMPosteriorCondition(post, &y, &wt, &means));
  for (int k = 0; k < K; k++) {
    PetscCall(DpsGMMPosteriorGetCovariance(post, k, C[k]));
    for (int i = 0; i < D; i++) mean[i] += wt[k] * means[k * D + i];
  }
  for (int k = 0; k < K; k++)
    for (int i = 0; i < D; i++)
      for (int j = 0; j < D; j++) cov[i * D + j] += wt[k] * (C[k][i * D + j] + means[k * D + i] * means[k * D + j]);
  for (int i = 0; i < D; i++)
    for (int j = 0; j < D; j++) cov[i * D + j] -= mean[i] * mean[j];

  /* 1. quadrature on [-16, 16]^2, h = 0.02: per component mass, first and second moments */
  {
    const double L = 16.0, h = 0.02;
    const int    n = (int)(2 * L / h) + 1;
    long double  Z[K] = {0}, M1[K][D] = {{0}}, M2[K][D * D] = {{0}}, Ztot = 0;
    double       qmean[D] = {0, 0}, qcov[D * D] = {0, 0, 0, 0}, ew = 0, em = 0, ec = 0, emix = 0;
    for (int a = 0; a < n; a++) {
      double x0 = -L + a * h;
      for (int b = 0; b < n; b++) {
        double x1 = -L + b * h, r = y - (A[0] * x0 + A[1] * x1), lik = exp(-0.5 * r * r / (sigma * sigma)) / sqrt(2 * M_PI * sigma * sigma);
        for (int k = 0; k < K; k++) {
          double d0 = x0 - mu[k * D], d1 = x1 - mu[k * D + 1];
          double f  = w[k] * exp(-0.5 * (d0 * d0 + d1 * d1) / var[k]) / (2 * M_PI * var[k]) * lik;
          Z[k] += f;
          M1[k][0] += f * x0;
          M1[k][1] += f * x1;
          M2[k][0] += f * x0 * x0;
          M2[k][1] += f * x0 * x1;
          M2[k][3] += f * x1 * x1;
        }
      }
    }
    for (int k = 0; k < K; k++) Ztot += Z[k];
    for (int k = 0; k < K; k++) {
      double m0 = (double)(M1[k][0] / Z[k]), m1 = (double)(M1[k][1] / Z[k]);
      double c00 = (double)(M2[k][0] / Z[k]) - m0 * m0, c01 = (double)(M2[k][1] / Z[k]) - m0 * m1, c11 = (double)(M2[k][3] / Z[k]) - m1 * m1;
      double qw = (double)(Z[k] / Ztot);
      ew        = PetscMax(ew, fabs(qw - wt[k]));
      em        = PetscMax(em, PetscMax(fabs(m0 - means[k * D]), fabs(m1 - means[k * D + 1])));
      ec        = PetscMax(ec, PetscMax(PetscMax(fabs(c00 - C[k][0]), fabs(c11 - C[k][3])), PetscMax(fabs(c01 - C[k][1]), fabs(c01 - C[k][2]))));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "component %d: weight %.10f (quadrature %.10f), mean (%.8f, %.8f) (quadrature (%.8f, %.8f)), covariance [%.6f %.6f; %.6f %.6f]\n", k, wt[k], qw, means[k * D], means[k * D + 1], m0, m1, C[k][0], C[k][1], C[k][2], C[k][3]));
      qmean[0] += (double)(M1[k][0] / Ztot);
      qmean[1] += (double)(M1[k][1] / Ztot);
      qcov[0] += (double)(M2[k][0] / Ztot);
      qcov[1] += (double)(M2[k][1] / Ztot);
      qcov[3] += (double)(M2[k][3] / Ztot);
    }
    qcov[0] -= qmean[0] * qmean[0];
    qcov[1] -= qmean[0] * qmean[1];
    qcov[3] -= qmean[1] * qmean[1];
    qcov[2] = qcov[1];
    for (int i = 0; i < D; i++) emix = PetscMax(emix, fabs(qmean[i] - mean[i]));
    for (int e = 0; e < D * D; e++) emix = PetscMax(emix, fabs(qcov[e] - cov[e]));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "posterior mean (%.8f, %.8f), quadrature (%.8f, %.8f); covariance [%.8f %.8f; %.8f %.8f], quadrature [%.8f %.8f; %.8f %.8f]\n", mean[0], mean[1], qmean[0], qmean[1], cov[0], cov[1], cov[2], cov[3], qcov[0], qcov[1], qcov[2],
                          qcov[3]));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "quadrature (%d x %d grid) vs exact: max |error| weights %.2e, component means %.2e, component covariances %.2e, mixture mean/covariance %.2e\n", n, n, ew, em, ec, emix));
    DPS_CHECK(ew < 1e-9, "posterior weights differ from quadrature by %g", ew);
    DPS_CHECK(em < 1e-9, "component means differ from quadrature by %g", em);
    DPS_CHECK(ec < 1e-9, "component covariances differ from quadrature by %g", ec);
    DPS_CHECK(emix < 1e-9, "mixture mean/covariance differ from quadrature by %g", emix);
  }

  /* 2. 200000 exact draws */
  {
    const PetscInt S = 200000;
    PetscReal     *xs, smean[D] = {0, 0}, scov[D * D] = {0, 0, 0, 0}, m4[D * D] = {0, 0, 0, 0}, worst = 0;
    PetscCall(PetscMalloc1(S * D, &xs));
    PetscCall(DpsGMMPosteriorSample(post, 12345, 3, DPS_STREAM_EXACT_A, S, xs));
    for (PetscInt s = 0; s < S; s++)
      for (int i = 0; i < D; i++) smean[i] += xs[s * D + i] / S;
    /* second moments about the exact mean (unbiased), and the spread of the products for their standard errors */
    for (PetscInt s = 0; s < S; s++)
      for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
          double p = (xs[s * D + i] - mean[i]) * (xs[s * D + j] - mean[j]);
          scov[i * D + j] += p / S;
          m4[i * D + j] += p * p / S;
        }
    for (int i = 0; i < D; i++) {
      double se = sqrt(cov[i * D + i] / S), z = (smean[i] - mean[i]) / se;
      worst     = PetscMax(worst, fabs(z));
      DPS_CHECK(fabs(z) < 5, "sample mean %d: %g vs exact %g, %.2f standard errors", i, smean[i], mean[i], z);
    }
    for (int e = 0; e < D * D; e++) {
      double se = sqrt((m4[e] - scov[e] * scov[e]) / S), z = (scov[e] - cov[e]) / se;
      worst     = PetscMax(worst, fabs(z));
      DPS_CHECK(fabs(z) < 5, "sample covariance entry %d: %g vs exact %g, %.2f standard errors", e, scov[e], cov[e], z);
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%" PetscInt_FMT " draws: mean (%.5f, %.5f), covariance [%.5f %.5f; %.5f %.5f]; worst deviation from exact %.2f standard errors\n", S, smean[0], smean[1], scov[0], scov[1], scov[2], scov[3], worst));
    /* KS of the projections on each axis against the exact mixture marginal */
    for (int i = 0; i < D; i++) {
      PetscReal *p;
      double     Dks = 0, ks;
      PetscCall(PetscMalloc1(S, &p));
      for (PetscInt s = 0; s < S; s++) p[s] = xs[s * D + i];
      PetscCall(PetscSortReal(S, p));
      for (PetscInt s = 0; s < S; s++) {
        double F = 0;
        for (int k = 0; k < K; k++) F += wt[k] * NormalCDF((p[s] - means[k * D + i]) / sqrt(C[k][i * D + i]));
        Dks = PetscMax(Dks, PetscMax(F - (double)s / S, (double)(s + 1) / S - F));
      }
      ks = sqrt((double)S) * Dks;
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "coordinate %d of the draws vs the exact mixture marginal: sqrt(n) KS = %.3f (0.1%% critical value 1.95)\n", i, ks));
      DPS_CHECK(ks < 1.95, "coordinate %d of the draws fails Kolmogorov-Smirnov against the exact marginal: %g", i, ks);
      PetscCall(PetscFree(p));
    }
    PetscCall(PetscFree(xs));
  }
  PetscCall(DpsGMMPosteriorDestroy(&post));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(DpsScoreDestroy(&score));

  /* 3. the MCGdiff construction, dx = 8, dy = 2 */
  {
    DpsGMMProblemSpec spec;
    DpsScore          prior;
    DpsOperator       cs;
    Mat               M, Dm;
    PetscReal         sy, a[2 * 8], G[3] = {0, 0, 0}, tr, det, s1, s2, wsum = 0;
    const PetscScalar *da;
    PetscInt          m, n, Kp, dp, lda, seen[5][5] = {{0}}, badmeans = 0, badvar = 0, badw = 0;
    const PetscReal  *pw, *pmu, *pvar;

    PetscCall(PetscMemzero(&spec, sizeof(spec)));
    spec.dx = 8;
    spec.dy = 2;
    PetscCall(PetscStrncpy(spec.operator_type, DPSOPERATORCS, sizeof(spec.operator_type)));
    spec.sigma_y = 0.0; /* u max(s) */
    spec.seed    = 2024;
    PetscCall(DpsGMMProblemCreate(&spec, &prior, &cs, &sy));
    PetscCall(DpsOperatorGetSizes(cs, &m, &n));
    DPS_CHECK(m == 2 && n == 8, "MCGdiff operator is %" PetscInt_FMT " x %" PetscInt_FMT ", expected 2 x 8", m, n);
    PetscCall(DpsOperatorGetMat(cs, &M));
    PetscCall(MatComputeOperator(M, MATDENSE, &Dm));
    PetscCall(MatDenseGetLDA(Dm, &lda));
    PetscCall(MatDenseGetArrayRead(Dm, &da));
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 8; j++) a[i * 8 + j] = da[i + j * lda];
    PetscCall(MatDenseRestoreArrayRead(Dm, &da));
    PetscCall(MatDestroy(&Dm));
    /* A A^T = U diag(s^2) U^T: its eigenvalues are the squared singular values */
    for (int j = 0; j < 8; j++) {
      G[0] += a[j] * a[j];
      G[1] += a[j] * a[8 + j];
      G[2] += a[8 + j] * a[8 + j];
    }
    tr  = G[0] + G[2];
    det = G[0] * G[2] - G[1] * G[1];
    s1  = sqrt(0.5 * (tr + sqrt(tr * tr - 4 * det)));
    s2  = sqrt(0.5 * (tr - sqrt(tr * tr - 4 * det)));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "MCGdiff dx = 8, dy = 2 (seed %" PetscInt64_FMT "): singular values %.6f, %.6f; sigma_y = %.6f\n", spec.seed, s1, s2, sy));
    DPS_CHECK(s1 < 1 && s2 > 0 && s1 >= s2, "singular values %g, %g are not sorted descending in (0, 1)", s1, s2);
    DPS_CHECK(sy > 0 && sy <= s1 * (1 + 1e-12), "sigma_y = %g must lie in (0, max s = %g]", sy, s1);
    PetscCall(DpsScoreGMMGetPrior(prior, &Kp, &dp, &pw, &pmu, &pvar));
    DPS_CHECK(Kp == 25 && dp == 8, "MCGdiff prior has %" PetscInt_FMT " components in %" PetscInt_FMT " dimensions, expected 25 in 8", Kp, dp);
    for (PetscInt k = 0; k < Kp && Kp == 25 && dp == 8; k++) {
      double    i = pmu[k * 8] / 8, j = pmu[k * 8 + 1] / 8;
      PetscBool ok = (PetscBool)(i == rint(i) && j == rint(j) && fabs(i) <= 2 && fabs(j) <= 2);
      for (int e = 0; e < 8 && ok; e++) ok = (PetscBool)(pmu[k * 8 + e] == 8 * (e % 2 == 0 ? i : j));
      if (ok) seen[(int)i + 2][(int)j + 2]++;
      else badmeans++;
      badvar += pvar[k] != 1.0;
      badw += !(pw[k] > 0);
      wsum += pw[k];
    }
    for (int i = 0; i < 5; i++)
      for (int j = 0; j < 5; j++) badmeans += seen[i][j] != 1;
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "MCGdiff prior: %" PetscInt_FMT " components, means not on the (8i, 8j, ...) grid or repeated/missing: %" PetscInt_FMT ", variances != 1: %" PetscInt_FMT ", weights: sum %.15f, non-positive %" PetscInt_FMT "\n", Kp, badmeans, badvar, wsum, badw));
    DPS_CHECK(badmeans == 0, "%" PetscInt_FMT " prior means are not the 25 points (8i, 8j, 8i, 8j, ...)", badmeans);
    DPS_CHECK(badvar == 0 && badw == 0 && fabs(wsum - 1) < 1e-14, "prior variances/weights wrong: %" PetscInt_FMT " variances != 1, %" PetscInt_FMT " weights <= 0, sum %g", badvar, badw, wsum);
    PetscCall(DpsScoreDestroy(&prior));
    PetscCall(DpsOperatorDestroy(&cs));
  }

  /* 4. the MCGdiff draws over many problem seeds (dx = 8, dy = 2): the singular values are two U(0, 1) draws, so
     s_max has CDF x^2 and s_min 1 - (1 - x)^2; sigma_y / s_max = u ~ U(0, 1). Kolmogorov-Smirnov at 0.1%. */
  {
    const PetscInt NS = 1000;
    PetscReal     *smax, *smin, *ratio;
    PetscCall(PetscMalloc3(NS, &smax, NS, &smin, NS, &ratio));
    for (PetscInt p = 0; p < NS; p++) {
      DpsGMMProblemSpec spec;
      DpsScore          prior;
      DpsOperator       cs;
      PetscReal         sy, a[16], e0[8], G[3] = {0, 0, 0}, tr, det;
      PetscCall(PetscMemzero(&spec, sizeof(spec)));
      spec.dx = 8;
      spec.dy = 2;
      PetscCall(PetscStrncpy(spec.operator_type, DPSOPERATORCS, sizeof(spec.operator_type)));
      spec.seed = 1000 + p;
      PetscCall(DpsGMMProblemCreate(&spec, &prior, &cs, &sy));
      for (int j = 0; j < 8; j++) {
        for (int i = 0; i < 8; i++) e0[i] = i == j;
        PetscCall(DpsOperatorApplyArray(cs, e0, a + 2 * j)); /* column j of A: a[2j], a[2j+1] */
      }
      for (int j = 0; j < 8; j++) {
        G[0] += a[2 * j] * a[2 * j];
        G[1] += a[2 * j] * a[2 * j + 1];
        G[2] += a[2 * j + 1] * a[2 * j + 1];
      }
      tr       = G[0] + G[2];
      det      = G[0] * G[2] - G[1] * G[1];
      smax[p]  = sqrt(0.5 * (tr + sqrt(tr * tr - 4 * det)));
      smin[p]  = sqrt(PetscMax(0.0, 0.5 * (tr - sqrt(tr * tr - 4 * det))));
      ratio[p] = sy / smax[p];
      PetscCall(DpsScoreDestroy(&prior));
      PetscCall(DpsOperatorDestroy(&cs));
    }
    PetscCall(PetscSortReal(NS, smax));
    PetscCall(PetscSortReal(NS, smin));
    PetscCall(PetscSortReal(NS, ratio));
    {
      double ks[3] = {0, 0, 0};
      for (PetscInt s = 0; s < NS; s++) {
        double F[3] = {smax[s] * smax[s], 1 - (1 - smin[s]) * (1 - smin[s]), ratio[s]};
        for (int c = 0; c < 3; c++) ks[c] = PetscMax(ks[c], PetscMax(F[c] - (double)s / NS, (double)(s + 1) / NS - F[c]));
      }
      for (int c = 0; c < 3; c++) ks[c] *= sqrt((double)NS);
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "MCGdiff over %" PetscInt_FMT " seeds: sqrt(n) KS of s_max vs x^2 %.3f, s_min vs 1-(1-x)^2 %.3f, sigma_y/s_max vs U(0,1) %.3f (0.1%% critical value 1.95); range s in [%.4f, %.4f]\n", NS, ks[0], ks[1], ks[2], smin[0], smax[NS - 1]));
      DPS_CHECK(smin[0] > 0 && smax[NS - 1] < 1, "singular values outside (0, 1): [%g, %g]", smin[0], smax[NS - 1]);
      DPS_CHECK(ks[0] < 1.95, "s_max is not distributed as the larger of two U(0, 1) draws: sqrt(n) KS %g", ks[0]);
      DPS_CHECK(ks[1] < 1.95, "s_min is not distributed as the smaller of two U(0, 1) draws: sqrt(n) KS %g", ks[1]);
      DPS_CHECK(ks[2] < 1.95, "sigma_y / s_max is not U(0, 1): sqrt(n) KS %g", ks[2]);
    }
    PetscCall(PetscFree3(smax, smin, ratio));
  }
  DPS_TEST_END();
}
