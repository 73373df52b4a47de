/* Exact posterior of a Gaussian-mixture prior under y = A x + n, n ~ N(0, sigma_y^2 I) (methods.md section 7):
   sum_k wt_k N(m_k, C_k), C_k = (I/v_k + A^T A / sigma_y^2)^{-1}, m_k = C_k (mu_k / v_k + A^T y / sigma_y^2),
   wt_k proportional to w_k N(y; A mu_k, v_k A A^T + sigma_y^2 I). Dense LAPACK: this is the reference. */
#include <dpsolve/dpsolve.h>
#include <petscblaslapack.h>

struct _n_DpsGMMPosterior {
  PetscInt         K, d, m;
  const PetscReal *w, *mu, *var; /* borrowed from the score */
  PetscReal        sigma_y;
  PetscReal       *A;            /* [m x d] dense operator */
  PetscReal      **Lp;           /* [K] Cholesky factors (lower) of the precisions, shared between equal variances */
  PetscReal      **Lm;           /* [K] Cholesky factors of v_k A A^T + sigma_y^2 I */
  PetscReal       *logdetM;      /* [K] */
  PetscReal       *wt, *means;   /* conditioned: [K], [K x d] */
  PetscReal       *work;         /* [max(d, 2m)] */
};

static PetscErrorCode DpsCholesky(PetscInt n, PetscReal a[])
{
  PetscBLASInt bn, info;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCallBLAS("LAPACKpotrf", LAPACKpotrf_("L", &bn, a, &bn, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "Cholesky factorisation failed (info %d): the matrix is not positive definite", (int)info);
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = i + 1; j < n; j++) a[j * n + i] = 0.0; /* clear the unused upper triangle (column-major) */
  PetscFunctionReturn(0);
}

/* b <- (L L^T)^{-1} b */
static PetscErrorCode DpsCholeskySolve(PetscInt n, const PetscReal L[], PetscReal b[])
{
  PetscBLASInt bn, one = 1, info;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCallBLAS("LAPACKpotrs", LAPACKpotrs_("L", &bn, &one, L, &bn, b, &bn, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "Cholesky solve failed (info %d)", (int)info);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsGMMPosteriorCreate(DpsScore score, DpsOperator op, PetscReal sigma_y, DpsGMMPosterior *post)
{
  DpsGMMPosterior P;
  PetscReal      *e, s2 = sigma_y * sigma_y;

  PetscFunctionBegin;
  PetscCheck(sigma_y > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "the exact posterior needs sigma_y > 0 (got %g)", (double)sigma_y);
  PetscCall(PetscNew(&P));
  PetscCall(DpsScoreGMMGetPrior(score, &P->K, &P->d, &P->w, &P->mu, &P->var));
  PetscCall(DpsOperatorGetSizes(op, &P->m, NULL));
  P->sigma_y = sigma_y;
  PetscCall(PetscMalloc1(P->m * P->d, &P->A));
  PetscCall(PetscMalloc4(P->K, &P->logdetM, P->K, &P->wt, P->K * P->d, &P->means, PetscMax(P->d, 2 * P->m), &P->work));
  PetscCall(PetscCalloc1(P->d, &e));
  /* A column by column from the operator itself: the reference sees exactly the A the samplers see */
  for (PetscInt j = 0; j < P->d; j++) {
    e[j] = 1.0;
    PetscCall(DpsOperatorApplyArray(op, e, P->work));
    e[j] = 0.0;
    for (PetscInt i = 0; i < P->m; i++) P->A[i * P->d + j] = P->work[i];
  }
  PetscCall(PetscFree(e));
  PetscCall(PetscCalloc2(P->K, &P->Lp, P->K, &P->Lm));
  for (PetscInt k = 0; k < P->K; k++) {
    PetscInt same = -1;
    for (PetscInt j = 0; j < k && same < 0; j++)
      if (P->var[j] == P->var[k]) same = j;
    if (same >= 0) {
      P->Lp[k]      = P->Lp[same];
      P->Lm[k]      = P->Lm[same];
      P->logdetM[k] = P->logdetM[same];
      continue;
    }
    PetscCall(PetscMalloc1(P->d * P->d, &P->Lp[k]));
    PetscCall(PetscMalloc1(P->m * P->m, &P->Lm[k]));
    /* I/v + A^T A / sigma^2 (symmetric, so row- and column-major agree) */
    for (PetscInt a = 0; a < P->d; a++)
      for (PetscInt b = 0; b < P->d; b++) {
        PetscReal s = 0.0;
        for (PetscInt i = 0; i < P->m; i++) s += P->A[i * P->d + a] * P->A[i * P->d + b];
        P->Lp[k][a * P->d + b] = s / s2 + (a == b ? 1.0 / P->var[k] : 0.0);
      }
    PetscCall(DpsCholesky(P->d, P->Lp[k]));
    /* v A A^T + sigma^2 I */
    for (PetscInt a = 0; a < P->m; a++)
      for (PetscInt b = 0; b < P->m; b++) {
        PetscReal s = 0.0;
        for (PetscInt j = 0; j < P->d; j++) s += P->A[a * P->d + j] * P->A[b * P->d + j];
        P->Lm[k][a * P->m + b] = P->var[k] * s + (a == b ? s2 : 0.0);
      }
    PetscCall(DpsCholesky(P->m, P->Lm[k]));
    P->logdetM[k] = 0.0;
    for (PetscInt a = 0; a < P->m; a++) P->logdetM[k] += 2.0 * PetscLogReal(P->Lm[k][a * P->m + a]);
  }
  *post = P;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsGMMPosteriorCondition(DpsGMMPosterior P, const PetscReal y[], const PetscReal **wt, const PetscReal **means)
{
  const PetscInt d = P->d, m = P->m;
  PetscReal      lmax = PETSC_MIN_REAL, total = 0.0, s2 = P->sigma_y * P->sigma_y;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < P->K; k++) {
    PetscReal *r = P->work, quad = 0.0, *mk = P->means + k * d;
    /* log N(y; A mu_k, M_k) */
    for (PetscInt i = 0; i < m; i++) {
      r[i] = y[i];
      for (PetscInt j = 0; j < d; j++) r[i] -= P->A[i * d + j] * P->mu[k * d + j];
    }
    PetscCall(PetscArraycpy(r + m, r, m));
    PetscCall(DpsCholeskySolve(m, P->Lm[k], r + m));
    for (PetscInt i = 0; i < m; i++) quad += r[i] * r[m + i];
    P->wt[k] = PetscLogReal(P->w[k]) - 0.5 * quad - 0.5 * P->logdetM[k] - 0.5 * m * PetscLogReal(2.0 * PETSC_PI);
    lmax     = PetscMax(lmax, P->wt[k]);
    /* m_k = P_k^{-1} (mu_k / v_k + A^T y / sigma^2) */
    for (PetscInt j = 0; j < d; j++) {
      mk[j] = P->mu[k * d + j] / P->var[k];
      for (PetscInt i = 0; i < m; i++) mk[j] += P->A[i * d + j] * y[i] / s2;
    }
    PetscCall(DpsCholeskySolve(d, P->Lp[k], mk));
  }
  for (PetscInt k = 0; k < P->K; k++) total += (P->wt[k] = PetscExpReal(P->wt[k] - lmax));
  for (PetscInt k = 0; k < P->K; k++) P->wt[k] /= total;
  if (wt) *wt = P->wt;
  if (means) *means = P->means;
  PetscFunctionReturn(0);
}

/* A component index from the weights by one uniform */
static PetscErrorCode DpsCategorical(DpsRandomAddress a, PetscInt K, const PetscReal w[], PetscInt *k)
{
  PetscReal u, c = 0.0;

  PetscFunctionBegin;
  PetscCall(DpsRandomUniforms(a, 1, &u));
  *k = K - 1;
  for (PetscInt j = 0; j < K; j++) {
    c += w[j];
    if (u < c) {
      *k = j;
      break;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsGMMPriorSample(DpsScore prior, PetscInt64 seed, PetscInt input, PetscInt stream, PetscInt S, PetscReal x[])
{
  PetscInt         K, d, k;
  const PetscReal *w, *mu, *var;

  PetscFunctionBegin;
  PetscCall(DpsScoreGMMGetPrior(prior, &K, &d, &w, &mu, &var));
  for (PetscInt s = 0; s < S; s++) {
    DpsRandomAddress a = {seed, input, s, 0, (DpsStream)stream};
    PetscCall(DpsCategorical(a, K, w, &k));
    a.step = 1;
    PetscCall(DpsRandomNormals(a, d, x + s * d));
    for (PetscInt e = 0; e < d; e++) x[s * d + e] = mu[k * d + e] + PetscSqrtReal(var[k]) * x[s * d + e];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsGMMPosteriorSample(DpsGMMPosterior P, PetscInt64 seed, PetscInt input, PetscInt stream, PetscInt S, PetscReal x[])
{
  const PetscInt d = P->d;
  PetscBLASInt   bd, one = 1, info;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(d, &bd));
  for (PetscInt s = 0; s < S; s++) {
    DpsRandomAddress a  = {seed, input, s, 0, (DpsStream)stream};
    PetscReal       *xs = x + s * d;
    PetscInt         k;
    PetscCall(DpsCategorical(a, P->K, P->wt, &k));
    a.step = 1;
    PetscCall(DpsRandomNormals(a, d, xs));
    /* x = m_k + L^{-T} z has covariance (L L^T)^{-1} = C_k */
    PetscCallBLAS("LAPACKtrtrs", LAPACKtrtrs_("L", "T", "N", &bd, &one, P->Lp[k], &bd, xs, &bd, &info));
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "triangular solve failed (info %d)", (int)info);
    for (PetscInt j = 0; j < d; j++) xs[j] += P->means[k * d + j];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsGMMPosteriorGetCovariance(DpsGMMPosterior P, PetscInt k, PetscReal C[])
{
  const PetscInt d = P->d;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < d; j++) {
    for (PetscInt i = 0; i < d; i++) C[j * d + i] = i == j ? 1.0 : 0.0;
    PetscCall(DpsCholeskySolve(d, P->Lp[k], C + j * d));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsGMMPosteriorDestroy(DpsGMMPosterior *post)
{
  DpsGMMPosterior P = *post;

  PetscFunctionBegin;
  if (!P) PetscFunctionReturn(0);
  /* factors are shared between components of equal variance: the first such component owns them */
  for (PetscInt k = 0; k < P->K; k++) {
    PetscBool owner = PETSC_TRUE;
    for (PetscInt j = 0; j < k; j++) owner = (PetscBool)(owner && P->var[j] != P->var[k]);
    if (owner) {
      PetscCall(PetscFree(P->Lp[k]));
      PetscCall(PetscFree(P->Lm[k]));
    }
  }
  PetscCall(PetscFree2(P->Lp, P->Lm));
  PetscCall(PetscFree4(P->logdetM, P->wt, P->means, P->work));
  PetscCall(PetscFree(P->A));
  PetscCall(PetscFree(*post));
  PetscFunctionReturn(0);
}
