/* unit_score: the Gaussian-mixture DpsScore (methods.md section 7) through the object API.
   - DpsScoreEps against -sqrt(1 - abar) grad log p_t, the gradient taken here by a fourth-order central finite
     difference of log p_t(x) = logsumexp_k(log w_k - d/2 log(2 pi u_k) - |x - sqrt(abar) mu_k|^2 / (2 u_k)),
     u_k = abar v_k + 1 - abar, evaluated in long double (relative error per row < 1e-8; the brief's 1e-6 let a
     1e-8 relative error in the distances through, the difference formula itself reaches ~1e-12)
   - DpsScoreJVP against a central difference of DpsScoreEps (< 1e-7), and <u, JVP(v)> = <VJP(u), v>
   - a batch of rows equals the rows evaluated one at a time (group size 1), bitwise on the CPU backend (the CUDA
     backend promises only a tolerance, gmm_cuda.cu: 1e-12 relative there)
   - DpsScoreGetCounts counts rows
   Run on several ranks, every rank computes the same numbers; they must agree bitwise across ranks (MPI max/min).
   -score_backend cuda runs the same checks on the GPU.
   - priors that load but cannot be evaluated are refused, naming the file, the dataset or attribute and what is
     wrong: a mean whose squared norm overflows (1e200), no components (K = 0), a /prior of an unknown type (the
     message lists the registered types, a test-only one included); DpsScoreGMMSetPrior refuses the 1e200 mean. */
#include <dpsolve/dpsolve.h>
#include <unistd.h>
#include "io/h5.h"
#include "unittest.h"

enum { K = 4, D = 5, NROWS = 7 };

static PetscReal w[K], mu[K * D], var[K];

/* log p_t(x) of the diffused mixture, in long double, normalised weights */
static long double LogPt(const long double x[], double abar)
{
  long double l[K], lmax = -INFINITY, s = 0.0L, wsum = 0.0L;
  for (int k = 0; k < K; k++) wsum += w[k];
  for (int k = 0; k < K; k++) {
    long double u = (long double)abar * var[k] + 1.0L - (long double)abar, dist = 0.0L;
    for (int j = 0; j < D; j++) {
      long double c = x[j] - sqrtl((long double)abar) * mu[k * D + j];
      dist += c * c;
    }
    l[k] = logl(w[k] / wsum) - 0.5L * D * logl(2.0L * 3.14159265358979323846264338327950288L * u) - dist / (2.0L * u);
    if (l[k] > lmax) lmax = l[k];
  }
  for (int k = 0; k < K; k++) s += expl(l[k] - lmax);
  return lmax + logl(s);
}

/* grad log p_t by the five-point stencil, step h per coordinate */
static void GradLogPtFD(const PetscReal x[], double abar, double h, double g[])
{
  for (int j = 0; j < D; j++) {
    long double xp[D], f[4];
    const double off[4] = {-2, -1, 1, 2};
    for (int o = 0; o < 4; o++) {
      for (int i = 0; i < D; i++) xp[i] = x[i];
      xp[j] += off[o] * h;
      f[o] = LogPt(xp, abar);
    }
    g[j] = (double)((f[0] - 8.0L * f[1] + 8.0L * f[2] - f[3]) / (12.0L * h));
  }
}

static double Norm(int n, const double a[])
{
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * a[i];
  return sqrt(s);
}

/* a file with a /prior group of the given type attribute and its three datasets (K components in d dimensions) */
static PetscErrorCode WritePrior(const char fname[], const char type[], hsize_t Kf, hsize_t d, const PetscReal wf[], const PetscReal muf[], const PetscReal varf[])
{
  hid_t         f, g;
  const hsize_t dm[2] = {Kf, d};

  PetscFunctionBegin;
  f = H5Fcreate(fname, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s", fname);
  g = H5Gcreate2(f, "/prior", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot create /prior in %s", fname);
  H5Gclose(g);
  PetscCall(DpsH5WriteStringAttribute(f, "/prior", "type", type));
  {
    const char     *names[3] = {"/prior/weights", "/prior/means", "/prior/variances"};
    const int       ranks[3] = {1, 2, 1};
    const hsize_t  *shapes[3] = {&Kf, dm, &Kf};
    const PetscReal *data[3] = {wf, muf, varf};
    for (int i = 0; i < 3; i++) {
      hid_t space = H5Screate_simple(ranks[i], shapes[i], NULL), ds = H5Dcreate2(f, names[i], H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      PetscCheck(ds >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot create %s in %s", names[i], fname);
      if (Kf) PetscCheck(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data[i]) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot write %s", names[i]);
      H5Dclose(ds);
      H5Sclose(space);
    }
  }
  PetscCheck(H5Fclose(f) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot close %s", fname);
  PetscFunctionReturn(0);
}

/* DpsScoreLoad of the file (no type set, no -score_type) must fail with a message holding each of the strings */
static PetscErrorCode CheckLoadRefused(const char fname[], const char *what, PetscInt n, const char *const expect[])
{
  hid_t          f;
  DpsScore       sc;
  PetscErrorCode code;
  char          *msg = NULL;

  PetscFunctionBegin;
  PetscCall(DpsH5Open(PETSC_COMM_SELF, fname, PETSC_FALSE, &f));
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &sc));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  code = DpsScoreLoad(sc, f, fname);
  PetscCall(PetscPopErrorHandler());
  PetscCall(DpsH5Close(&f));
  PetscCall(DpsScoreDestroy(&sc));
  if (code) PetscCall(PetscErrorMessage(code, NULL, &msg));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: load %s, \"%s\"\n", what, code ? "refused" : "ACCEPTED", msg ? msg : ""));
  DPS_CHECK(code != 0, "%s: DpsScoreLoad accepted %s", what, fname);
  for (PetscInt i = 0; code && i < n; i++) DPS_CHECK(msg && strstr(msg, expect[i]), "%s: the message \"%s\" does not contain \"%s\"", what, msg ? msg : "", expect[i]);
  PetscCheck(unlink(fname) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot remove %s", fname);
  PetscFunctionReturn(0);
}

/* a score type of this test only: registering it must be enough for the messages to list it */
static PetscErrorCode DpsScoreCreate_Test(DpsScore s)
{
  PetscFunctionBegin;
  PetscFunctionReturn(0);
}

static PetscErrorCode TestRefusals(void)
{
  char            fname[PETSC_MAX_PATH_LEN];
  PetscMPIInt     rank;
  PetscReal       big[K * D];
  PetscErrorCode  code;
  DpsScore        sc;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PetscArraycpy(big, mu, K * D));
  big[2 * D + 3] = 1e200; /* its square is inf */
  /* through the API */
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &sc));
  PetscCall(DpsScoreSetType(sc, DPSSCOREGMM));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  code = DpsScoreGMMSetPrior(sc, K, D, w, big, var);
  PetscCall(PetscPopErrorHandler());
  PetscCall(DpsScoreDestroy(&sc));
  DPS_CHECK(code != 0, "DpsScoreGMMSetPrior accepted a mean of 1e200, whose squared norm is inf");
  /* from files */
  {
    const char *const expect[] = {fname, "dataset /prior/means", "component 2", "overflows", "1e+200"};
    PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_score_%d_%d_bigmean.h5", (int)getpid(), rank));
    PetscCall(WritePrior(fname, DPSSCOREGMM, K, D, w, big, var));
    PetscCall(CheckLoadRefused(fname, "a mean of 1e200", 5, expect));
  }
  {
    const char *const expect[] = {fname, "dataset /prior/means is 0 x 5", "K >= 1"};
    PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_score_%d_%d_k0.h5", (int)getpid(), rank));
    PetscCall(WritePrior(fname, DPSSCOREGMM, 0, D, NULL, NULL, NULL));
    PetscCall(CheckLoadRefused(fname, "no components", 3, expect));
  }
  {
    const char *const expect[] = {fname, "attribute type of /prior is 'gmmm'", "known: ", DPSSCOREGMM, DPSSCOREUNET, "unit_score_test"};
    PetscCall(DpsScoreRegister("unit_score_test", DpsScoreCreate_Test));
    PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_score_%d_%d_type.h5", (int)getpid(), rank));
    PetscCall(WritePrior(fname, "gmmm", K, D, w, mu, var));
    PetscCall(CheckLoadRefused(fname, "a /prior of unknown type", 6, expect));
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsTestRng       rng;
  DpsScore         score;
  const PetscReal  abars[4] = {0.9999, 0.9, 0.4, 0.02};
  PetscReal        x[NROWS * D], v[NROWS * D], u[NROWS * D], eps[NROWS * D], jv[NROWS * D], vj[NROWS * D], one[D], xp[NROWS * D], xm[NROWS * D], ep[NROWS * D], em[NROWS * D];
  PetscReal        all[4][3 * NROWS * D]; /* everything computed, for the cross-rank comparison */
  PetscInt64       neps = 0, njvp = 0, nvjp = 0, ceps, cjvp, cvjp;
  double           worst_eps = 0, worst_jvp = 0, worst_adj = 0;
  PetscInt         batch_mismatch = 0, cross_mismatch = 0, dim;
  PetscMPIInt      size;
  DpsScoreBackend  backend;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));

  /* a prior with unequal weights and variances; the same on every rank (the test's own seeded generator) */
  DpsTestRngSeed(&rng, 77);
  for (int k = 0; k < K; k++) {
    w[k]   = 0.2 + DpsTestUniform(&rng);
    var[k] = 0.05 + 1.5 * DpsTestUniform(&rng);
    for (int j = 0; j < D; j++) mu[k * D + j] = 2.0 * DpsTestNormal(&rng);
  }
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &score));
  PetscCall(DpsScoreSetType(score, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(score, K, D, w, mu, var));
  PetscCall(DpsScoreSetBackend(score, DPS_BACKEND_CPU)); /* -score_backend cuda checks the GPU against the same truth */
  PetscCall(DpsScoreSetFromOptions(score));
  PetscCall(DpsScoreSetGroupSize(score, 1));
  PetscCall(DpsScoreSetUp(score));
  PetscCall(DpsScoreGetDimension(score, &dim));
  PetscCall(DpsScoreGetBackend(score, &backend));
  DPS_CHECK(dim == D, "dimension %" PetscInt_FMT ", expected %d", dim, D);

  for (int a = 0; a < 4; a++) {
    const double abar = abars[a], s = sqrt(abar), c = sqrt(1.0 - abar);
    /* rows: near each diffused mean, one between them, and one far out */
    for (int i = 0; i < NROWS; i++)
      for (int j = 0; j < D; j++) {
        double base = i < K ? s * mu[i * D + j] : (i == K ? 0.5 * s * (mu[j] + mu[D + j]) : (i == K + 1 ? 0.0 : 6.0 * s * mu[j]));
        x[i * D + j] = base + 0.7 * DpsTestNormal(&rng);
        v[i * D + j] = DpsTestNormal(&rng);
        u[i * D + j] = DpsTestNormal(&rng);
      }
    PetscCall(DpsScoreEps(score, NROWS, 500, abar, x, eps));
    neps += NROWS;
    /* eps = -sqrt(1 - abar) grad log p_t */
    for (int i = 0; i < NROWS; i++) {
      double g[D], diff[D], rel;
      double umin = INFINITY;
      for (int k = 0; k < K; k++) umin = PetscMin(umin, abar * var[k] + 1 - abar);
      GradLogPtFD(x + i * D, abar, 1e-3 * sqrt(umin), g);
      for (int j = 0; j < D; j++) {
        g[j]    = -c * g[j];
        diff[j] = eps[i * D + j] - g[j];
      }
      rel       = Norm(D, diff) / Norm(D, g);
      worst_eps = PetscMax(worst_eps, rel);
      DPS_CHECK(rel < 1e-8, "abar %g row %d: eps differs from -sqrt(1-abar) grad log p_t (finite differences) by %g relative", abar, i, rel);
      /* the same row alone (group size 1: a row never depends on the others) */
      PetscCall(DpsScoreEps(score, 1, 500, abar, x + i * D, one));
      neps += 1;
      for (int j = 0; j < D; j++) {
        double tol = backend == DPS_BACKEND_CPU ? 0.0 : 1e-12 * Norm(D, eps + i * D);
        batch_mismatch += fabs(one[j] - eps[i * D + j]) > tol;
      }
    }
    /* JVP against a central difference of eps, and the adjoint identity with the VJP */
    {
      const double h = 1e-5;
      for (int e = 0; e < NROWS * D; e++) {
        xp[e] = x[e] + h * v[e];
        xm[e] = x[e] - h * v[e];
      }
      PetscCall(DpsScoreEps(score, NROWS, 500, abar, xp, ep));
      PetscCall(DpsScoreEps(score, NROWS, 500, abar, xm, em));
      neps += 2 * NROWS;
      PetscCall(DpsScoreJVP(score, NROWS, 500, abar, x, v, jv));
      njvp += NROWS;
      PetscCall(DpsScoreVJP(score, NROWS, 500, abar, x, u, vj));
      nvjp += NROWS;
      for (int i = 0; i < NROWS; i++) {
        double fd[D], diff[D], rel, lhs = 0, rhs = 0, scale;
        for (int j = 0; j < D; j++) {
          fd[j]   = (ep[i * D + j] - em[i * D + j]) / (2 * h);
          diff[j] = jv[i * D + j] - fd[j];
          lhs += u[i * D + j] * jv[i * D + j];
          rhs += vj[i * D + j] * v[i * D + j];
        }
        rel       = Norm(D, diff) / PetscMax(Norm(D, fd), 1e-300);
        worst_jvp = PetscMax(worst_jvp, rel);
        DPS_CHECK(rel < 1e-7, "abar %g row %d: JVP differs from the central difference of eps by %g relative", abar, i, rel);
        scale     = Norm(D, u + i * D) * Norm(D, jv + i * D) + Norm(D, vj + i * D) * Norm(D, v + i * D);
        worst_adj = PetscMax(worst_adj, fabs(lhs - rhs) / scale);
        DPS_CHECK(fabs(lhs - rhs) <= 1e-12 * scale, "abar %g row %d: <u, JVP v> = %.17g but <VJP u, v> = %.17g", abar, i, lhs, rhs);
      }
    }
    for (int e = 0; e < NROWS * D; e++) {
      all[a][e]                 = eps[e];
      all[a][NROWS * D + e]     = jv[e];
      all[a][2 * NROWS * D + e] = vj[e];
    }
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "gmm K = %d, d = %d, 4 noise levels x %d rows: eps vs finite-difference score max relative error %.2e; JVP vs central difference %.2e; |<u,Jv> - <J^Tu,v>| relative %.2e; batch vs single-row mismatches %" PetscInt_FMT "\n", K, D, NROWS,
                        worst_eps, worst_jvp, worst_adj, batch_mismatch));
  DPS_CHECK(batch_mismatch == 0, "%" PetscInt_FMT " values differ between a batch and single-row evaluation with group size 1", batch_mismatch);

  PetscCall(DpsScoreGetCounts(score, &ceps, &cjvp, &cvjp));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "counts: eps %" PetscInt64_FMT " (expected %" PetscInt64_FMT "), jvp %" PetscInt64_FMT " (%" PetscInt64_FMT "), vjp %" PetscInt64_FMT " (%" PetscInt64_FMT ")\n", ceps, neps, cjvp, njvp, cvjp, nvjp));
  DPS_CHECK(ceps == neps && cjvp == njvp && cvjp == nvjp, "row counts eps/jvp/vjp %" PetscInt64_FMT "/%" PetscInt64_FMT "/%" PetscInt64_FMT ", expected %" PetscInt64_FMT "/%" PetscInt64_FMT "/%" PetscInt64_FMT, ceps, cjvp, cvjp, neps, njvp, nvjp);

  /* every rank computed the same: max == min for every number */
  {
    const int  n = 4 * 3 * NROWS * D;
    PetscReal *mx, *mn;
    PetscCall(PetscMalloc2(n, &mx, n, &mn));
    PetscCallMPI(MPI_Allreduce(&all[0][0], mx, n, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(&all[0][0], mn, n, MPIU_REAL, MPI_MIN, PETSC_COMM_WORLD));
    for (int e = 0; e < n; e++) cross_mismatch += fabs(mx[e] - mn[e]) > (backend == DPS_BACKEND_CPU ? 0.0 : 1e-12 * PetscMax(fabs(mx[e]), fabs(mn[e])));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%d rank(s), backend %s: %d values (eps, JVP, VJP) compared across ranks, %" PetscInt_FMT " differ\n", size, DpsScoreBackends[backend], n, cross_mismatch));
    DPS_CHECK(cross_mismatch == 0, "%" PetscInt_FMT " values differ between ranks", cross_mismatch);
    PetscCall(PetscFree2(mx, mn));
  }
  PetscCall(DpsScoreDestroy(&score));
  PetscCall(TestRefusals());
  DPS_TEST_END();
}
