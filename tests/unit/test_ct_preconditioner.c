/* unit_ct_preconditioner: the preconditioner of CG on Lambda = a I + b A^T A for ct (methods.md section 8: the
   Fourier multiplier of A^T A's point-spread function at the image centre, on the zero-padded 2H x 2W torus),
   against dense matrices built column by column (A e_j):
   - the preconditioner P is symmetric positive definite (dense P from P e_j);
   - the spectrum of P Lambda (that of the symmetric Lambda^{1/2} P Lambda^{1/2}) is bounded away from 0 and
     above, with a condition number 5 times below Lambda's: 30 parallel views and 30 fan-beam views over 360
     degrees, 24 x 24, a = 1, b = 1 / 0.05^2;
   - CG on Lambda through DpsPrecisionCreateKSP converges within a bound to a solution whose residual is checked
     here, while unpreconditioned CG (the code before this preconditioner) needs more than that bound;
   - limited angle (a missing wedge) offers none;
   - the measured multiplier agrees with the classical n / (pi ds |xi|) at mid frequencies (180 views);
   - a chain of one ct part offers the same preconditioner (it forwarded none before). */
#include <dpsolve/dpsolve.h>
#include <petscblaslapack.h>
#include "linalg/precision.h"
#include "cgtest.h"

static PetscErrorCode MakeCT(DpsCTGeometry g, PetscInt H, PetscInt na, PetscReal range, PetscReal S, PetscReal E, DpsOperator *op)
{
  PetscReal *ang;
  PetscInt   D = (PetscInt)PetscCeilReal(PetscSqrtReal(2.0) * H) + 1;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(na, &ang));
  for (PetscInt a = 0; a < na; a++) ang[a] = range * PETSC_PI / 180.0 * a / na;
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, op));
  PetscCall(DpsOperatorSetType(*op, DPSOPERATORCT));
  PetscCall(DpsOperatorSetDataShape(*op, 1, H, H));
  PetscCall(DpsOperatorCTSetGeometry(*op, g, na, ang, D, g == DPS_CT_FAN ? (S + E) / S : 1.0, S, E));
  PetscCall(DpsOperatorSetUp(*op));
  PetscCall(PetscFree(ang));
  PetscFunctionReturn(0);
}

/* eigenvalues (ascending) and, with vec, eigenvectors (columns of M) of the symmetric n x n M, in place */
static PetscErrorCode SymEig(PetscInt n, PetscReal M[], PetscReal w[], PetscBool vec)
{
  PetscBLASInt bn, lwork, info;
  PetscReal   *work;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n, &bn));
  lwork = 8 * bn;
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCallBLAS("LAPACKsyev", LAPACKsyev_(vec ? "V" : "N", "U", &bn, M, &bn, w, work, &lwork, &info));
  PetscCheck(!info, PETSC_COMM_SELF, PETSC_ERR_LIB, "syev failed: %d", (int)info);
  PetscCall(PetscFree(work));
  PetscFunctionReturn(0);
}

/* condition numbers of Lambda = a I + b A^T A and of P Lambda, and P Lambda's extreme eigenvalues */
static PetscErrorCode Spectrum(DpsOperator op, const char name[], PetscReal a, PetscReal b, PetscReal *condL, PetscReal *condPL, PetscReal *lo, PetscReal *hi)
{
  PetscInt   m, n;
  PetscReal *Acol, *L, *Q, *R, *P, *T, *w, *e, asym = 0.0;
  Vec        x, y;

  PetscFunctionBegin;
  PetscCall(DpsOperatorGetSizes(op, &m, &n));
  PetscCall(PetscMalloc6(m * n, &Acol, n * n, &L, n * n, &Q, n * n, &R, n * n, &P, n, &w));
  PetscCall(PetscMalloc2(n * n, &T, n, &e));
  for (PetscInt j = 0; j < n; j++) {
    for (PetscInt i = 0; i < n; i++) e[i] = i == j;
    PetscCall(DpsOperatorApplyArray(op, e, Acol + j * m)); /* column j of A */
  }
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0.0;
      for (PetscInt l = 0; l < m; l++) s += Acol[i * m + l] * Acol[j * m + l];
      L[i * n + j] = (i == j ? a : 0.0) + b * s;
    }
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &x));
  PetscCall(VecDuplicate(x, &y));
  for (PetscInt j = 0; j < n; j++) { /* P e_j */
    const PetscScalar *ya;
    PetscScalar       *xa;
    PetscCall(VecGetArrayWrite(x, &xa));
    for (PetscInt i = 0; i < n; i++) xa[i] = i == j;
    PetscCall(VecRestoreArrayWrite(x, &xa));
    PetscCall(DpsOperatorApplyNormalInversePreconditioner(op, a, b, x, y));
    PetscCall(VecGetArrayRead(y, &ya));
    for (PetscInt i = 0; i < n; i++) P[j * n + i] = ya[i];
    PetscCall(VecRestoreArrayRead(y, &ya));
  }
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) asym = PetscMax(asym, PetscAbsReal(P[i * n + j] - P[j * n + i]) / P[0]);
  DPS_CHECK(asym < 1e-12, "%s: the preconditioner is not symmetric: %.2e", name, (double)asym);
  PetscCall(PetscArraycpy(Q, P, n * n));
  PetscCall(SymEig(n, Q, w, PETSC_FALSE));
  DPS_CHECK(w[0] > 0, "%s: the preconditioner is not positive definite: smallest eigenvalue %g", name, (double)w[0]);
  PetscCall(PetscArraycpy(Q, L, n * n));
  PetscCall(SymEig(n, Q, w, PETSC_TRUE));
  *condL = w[n - 1] / w[0];
  for (PetscInt i = 0; i < n; i++) /* R = Lambda^{1/2} = Q diag(sqrt(w)) Q^T */
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0.0;
      for (PetscInt l = 0; l < n; l++) s += Q[l * n + i] * PetscSqrtReal(w[l]) * Q[l * n + j];
      R[i * n + j] = s;
    }
  for (PetscInt i = 0; i < n; i++) /* T = P R */
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0.0;
      for (PetscInt l = 0; l < n; l++) s += P[i * n + l] * R[l * n + j];
      T[i * n + j] = s;
    }
  for (PetscInt i = 0; i < n; i++) /* Q = R T, symmetric */
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0.0;
      for (PetscInt l = 0; l < n; l++) s += R[i * n + l] * T[l * n + j];
      Q[i * n + j] = s;
    }
  PetscCall(SymEig(n, Q, w, PETSC_FALSE));
  *condPL = w[n - 1] / w[0];
  *lo     = w[0];
  *hi     = w[n - 1];
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s, a = %g, b = %g: cond(Lambda) = %.3g, spectrum of P Lambda in [%.3g, %.3g], cond = %.3g\n", name, (double)a, (double)b, (double)*condL, (double)w[0], (double)w[n - 1], (double)*condPL));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(PetscFree6(Acol, L, Q, R, P, w));
  PetscCall(PetscFree2(T, e));
  PetscFunctionReturn(0);
}

/* the multiplier against the classical one: for parallel beam over n views in [0, pi) with bins of ds pixels,
   A^T A ~ n / (pi ds |xi|) (xi in cycles per pixel). P (a = 1, b = 1) maps the Fourier mode cos(2 pi k.x / H) to
   itself over 1 + K(k), so K(k) = 1 / ratio - 1 is read through the public call. Returns the worst relative
   deviation of K |xi| pi ds / n from 1 over 0.1 <= |xi| <= 0.2 along the axes and the diagonal (lower
   frequencies feel the image's window; higher ones Joseph's interpolation, which damps K to 0.84 times the
   classical value at |xi| = 0.3) */
static PetscErrorCode ClassicalMultiplier(PetscReal *dev)
{
  const PetscInt H = 64, na = 180;
  DpsOperator    op;
  Vec            x, y;
  PetscReal      worst = 0.0;

  PetscFunctionBegin;
  PetscCall(MakeCT(DPS_CT_PARALLEL, H, na, 180.0, 0, 0, &op));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, H * H, &x));
  PetscCall(VecDuplicate(x, &y));
  for (int dir = 0; dir < 3; dir += 2) /* the axes alike by symmetry: one axis and the diagonal */
    for (PetscInt f = 7; f <= 13; f += 3) { /* |xi| = f / 64 along the axes, f sqrt(2) / 64 along the diagonal */
      const PetscInt ki = dir == 1 ? 0 : f, kj = dir == 0 ? 0 : f;
      const PetscReal xi = PetscSqrtReal((PetscReal)(ki * ki + kj * kj)) / H, classic = na / (PETSC_PI * 1.0 * xi);
      PetscReal       num = 0.0, den = 0.0, K;
      PetscScalar    *xa;
      if (xi > 0.2) continue;
      PetscCall(VecGetArrayWrite(x, &xa));
      for (PetscInt i = 0; i < H; i++)
        for (PetscInt j = 0; j < H; j++) xa[i * H + j] = PetscCosReal(2 * PETSC_PI * (ki * i + kj * j) / H);
      PetscCall(VecRestoreArrayWrite(x, &xa));
      PetscCall(DpsOperatorApplyNormalInversePreconditioner(op, 1.0, 1.0, x, y));
      PetscCall(VecDot(y, x, &num));
      PetscCall(VecDot(x, x, &den));
      K = den / num - 1.0;
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "parallel, 180 views, 64 x 64: |xi| = %.3f cycles/pixel, K = %.2f, n / (pi ds |xi|) = %.2f, ratio %.3f\n", (double)xi, (double)K, (double)classic, (double)(K / classic)));
      worst = PetscMax(worst, PetscAbsReal(K / classic - 1.0));
    }
  *dev = worst;
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* a chain of one ct part offers the part's preconditioner, with the same result */
static PetscErrorCode CheckChain(DpsOperator part, DpsTestRng *rng)
{
  DpsOperator one;
  PetscBool   has;
  Vec         x, y, z;
  PetscInt    n;
  PetscReal   err;
  PetscScalar *xa;

  PetscFunctionBegin;
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &one));
  PetscCall(DpsOperatorSetType(one, DPSOPERATORCHAIN));
  PetscCall(DpsOperatorSetDataShape(one, 1, 24, 24));
  PetscCall(DpsOperatorChainSetParts(one, 1, &part));
  PetscCall(DpsOperatorSetUp(one));
  PetscCall(DpsOperatorHasNormalInversePreconditioner(one, &has));
  DPS_CHECK(has, "a chain of one ct part must offer the part's preconditioner");
  PetscCall(DpsOperatorGetSizes(part, NULL, &n));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &x));
  PetscCall(VecDuplicate(x, &y));
  PetscCall(VecDuplicate(x, &z));
  PetscCall(VecGetArrayWrite(x, &xa));
  for (PetscInt i = 0; i < n; i++) xa[i] = DpsTestNormal(rng);
  PetscCall(VecRestoreArrayWrite(x, &xa));
  if (has) {
    PetscCall(DpsOperatorApplyNormalInversePreconditioner(one, 0.3, 7.0, x, y));
    PetscCall(DpsOperatorApplyNormalInversePreconditioner(part, 0.3, 7.0, x, z));
    PetscCall(VecAXPY(y, -1.0, z));
    PetscCall(VecNorm(y, NORM_INFINITY, &err));
    DPS_CHECK(err == 0.0, "the chain's preconditioner differs from its part's by %.2e", (double)err);
  }
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(VecDestroy(&z));
  PetscCall(DpsOperatorDestroy(&one));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsTestRng  rng;
  DpsOperator op;
  PetscBool   has;
  PetscReal   cL = 0, cP = 0, lo = 0, hi = 0, dev = 1;
  PetscInt    its[2];
  const PetscReal a = 1.0, b = 1.0 / (0.05 * 0.05); /* sigma_y 0.05 */
  const struct {
    const char   *name;
    DpsCTGeometry g;
    PetscInt      na;
    PetscReal     range;
    PetscInt      maxits; /* preconditioned CG within, plain CG beyond */
  } cases[] = {
    {"parallel, 30 views over 180 degrees, 24 x 24", DPS_CT_PARALLEL, 30, 180.0, 800 },
    {"fan, 30 views over 360 degrees, 24 x 24, S = 48, E = 24", DPS_CT_FAN, 30, 360.0, 1400}
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  DpsTestRngSeed(&rng, 20250614);
  for (int c = 0; c < 2; c++) {
    PetscCall(MakeCT(cases[c].g, 24, cases[c].na, cases[c].range, 48.0, 24.0, &op));
    PetscCall(DpsOperatorHasNormalInversePreconditioner(op, &has));
    DPS_CHECK(has, "%s: ct must offer a preconditioner for a I + b A^T A", cases[c].name);
    if (!has) {
      PetscCall(DpsOperatorDestroy(&op));
      continue;
    }
    PetscCall(Spectrum(op, cases[c].name, a, b, &cL, &cP, &lo, &hi));
    DPS_CHECK(lo >= 2e-4 && hi <= 20.0, "%s: the spectrum of P Lambda [%.3g, %.3g] is not within [2e-4, 20]", cases[c].name, (double)lo, (double)hi);
    DPS_CHECK(cP <= cL / 5, "%s: cond(P Lambda) = %.3g is not 5 times below cond(Lambda) = %.3g", cases[c].name, (double)cP, (double)cL);
    PetscCall(DpsTestPreconditionedCG(op, cases[c].name, a, b, 20000, &rng, its));
    DPS_CHECK(its[0] <= cases[c].maxits, "%s: preconditioned CG took %d iterations, more than %d", cases[c].name, (int)its[0], (int)cases[c].maxits);
    DPS_CHECK(its[1] > cases[c].maxits, "%s: unpreconditioned CG took %d iterations: the bound %d does not tell them apart", cases[c].name, (int)its[1], (int)cases[c].maxits);
    if (c == 0) PetscCall(CheckChain(op, &rng));
    PetscCall(DpsOperatorDestroy(&op));
  }
  /* limited angle (60 views over 90 degrees): no preconditioner is offered (a missing wedge) */
  PetscCall(MakeCT(DPS_CT_PARALLEL, 24, 60, 90.0, 0, 0, &op));
  PetscCall(DpsOperatorHasNormalInversePreconditioner(op, &has));
  DPS_CHECK(!has, "ct over 90 degrees must not offer the Fourier preconditioner");
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(ClassicalMultiplier(&dev));
  DPS_CHECK(dev <= 0.10, "the measured multiplier deviates from n / (pi ds |xi|) by %.0f%% at 0.1 <= |xi| <= 0.2", (double)(100 * dev));
  DPS_TEST_END();
}
