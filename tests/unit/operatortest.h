/* The checks every operator test runs on one operator, against a dense matrix built column by column (A e_j):
   the adjoint identity and the dense A^T, and, where offered, diag(A^T A), (a I + b A^T A)^{-1},
   (c I + A diag(v) A^T)^{-1} and the SVD; and the HDF5 round trip. Shared by unit_operator_images
   (test_operator_images.c) and unit_operator_medical (test_operator_medical.c). */
#ifndef DPS_OPERATORTEST_H
#define DPS_OPERATORTEST_H
#include <dpsolve/dpsolve.h>
#include <unistd.h>
#include "io/h5.h"
#include "unittest.h"

static PetscReal worst_adjoint = 0.0;

static void FillRandom(DpsTestRng *r, PetscInt n, PetscReal x[])
{
  for (PetscInt i = 0; i < n; i++) x[i] = DpsTestNormal(r);
}

/* D [m x n] row-major: column j is A e_j; DT [n x m]: column i is A^T e_i */
static PetscErrorCode Dense(DpsOperator op, PetscInt m, PetscInt n, PetscReal D[], PetscReal DT[])
{
  PetscReal *e, *col;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(PetscMax(m, n), &e, PetscMax(m, n), &col));
  for (PetscInt j = 0; j < n; j++) {
    for (PetscInt i = 0; i < n; i++) e[i] = i == j;
    PetscCall(DpsOperatorApplyArray(op, e, col));
    for (PetscInt i = 0; i < m; i++) D[i * n + j] = col[i];
  }
  for (PetscInt i = 0; i < m; i++) {
    for (PetscInt l = 0; l < m; l++) e[l] = l == i;
    PetscCall(DpsOperatorApplyTransposeArray(op, e, col));
    for (PetscInt j = 0; j < n; j++) DT[j * m + i] = col[j];
  }
  PetscCall(PetscFree2(e, col));
  PetscFunctionReturn(0);
}

static PetscReal Dot(PetscInt n, const PetscReal a[], const PetscReal b[])
{
  PetscReal s = 0.0;
  for (PetscInt i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* every check of the header on one operator; D is returned (m x n) for the caller's own comparisons */
static PetscErrorCode CheckOperator(DpsOperator op, const char *what, DpsTestRng *rng, PetscBool expect_inverse, PetscBool expect_svd, PetscReal **Dout)
{
  PetscInt   m, n;
  PetscReal *D, *DT, *x, *y, *Ax, *Aty, worst = 0.0, terr = 0.0, dmax = 0.0;
  PetscBool  has;

  PetscFunctionBegin;
  PetscCall(DpsOperatorSetUp(op));
  PetscCall(DpsOperatorGetSizes(op, &m, &n));
  PetscCall(PetscMalloc6(m * n, &D, m * n, &DT, n, &x, m, &y, m, &Ax, n, &Aty));
  PetscCall(Dense(op, m, n, D, DT));
  for (PetscInt e = 0; e < m * n; e++) dmax = PetscMax(dmax, PetscAbsReal(D[e]));
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt j = 0; j < n; j++) terr = PetscMax(terr, PetscAbsReal(D[i * n + j] - DT[j * m + i]) / dmax);
  DPS_CHECK(terr <= 1e-14, "%s: the dense A^T differs from the transpose of the dense A by %.2e (relative to max |A|)", what, terr);
  for (int t = 0; t < 20; t++) {
    PetscReal rel;
    FillRandom(rng, n, x);
    FillRandom(rng, m, y);
    PetscCall(DpsOperatorApplyArray(op, x, Ax));
    PetscCall(DpsOperatorApplyTransposeArray(op, y, Aty));
    rel   = PetscAbsReal(Dot(m, Ax, y) - Dot(n, x, Aty)) / PetscSqrtReal(Dot(m, Ax, Ax) * Dot(m, y, y));
    worst = PetscMax(worst, rel);
  }
  worst_adjoint = PetscMax(worst_adjoint, worst);
  DPS_CHECK(worst <= 1e-12, "%s: adjoint identity off by %.2e relative", what, worst);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s (%" PetscInt_FMT " x %" PetscInt_FMT "): adjoint max relative error %.2e over 20 pairs; |dense A^T - dense A ^T| %.2e\n", what, m, n, worst, terr));

  PetscCall(DpsOperatorHasNormalDiagonal(op, &has));
  if (has) {
    Vec        d;
    PetscReal *da, err = 0.0;
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &d));
    PetscCall(DpsOperatorGetNormalDiagonal(op, d));
    PetscCall(VecGetArray(d, &da));
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0.0;
      for (PetscInt i = 0; i < m; i++) s += D[i * n + j] * D[i * n + j];
      err = PetscMax(err, PetscAbsReal(da[j] - s) / s);
    }
    PetscCall(VecRestoreArray(d, &da));
    PetscCall(VecDestroy(&d));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: diag(A^T A) relative error %.2e\n", what, err));
    DPS_CHECK(err <= 1e-12, "%s: diag(A^T A) relative error %.2e", what, err);
  }

  PetscCall(DpsOperatorHasNormalInverse(op, &has));
  DPS_CHECK(has == expect_inverse, "%s: exact (a I + b A^T A)^{-1} %s but should %s", what, has ? "offered" : "absent", expect_inverse ? "be offered" : "not be");
  if (has) {
    const PetscReal ab[4][2] = {
      {1.0, 1.0 },
      {0.3, 2.5 },
      {2.0, 0.01},
      {0.1, 10.0}
    };
    PetscReal err = 0.0, *Nx, *w;
    Vec       vin, vout;
    PetscCall(PetscMalloc2(n, &Nx, n, &w));
    PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, n, Nx, &vin));
    PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, n, w, &vout));
    for (int c = 0; c < 4; c++) {
      FillRandom(rng, n, x);
      for (PetscInt j = 0; j < n; j++) { /* (a I + b D^T D) x with the dense matrix */
        PetscReal s = 0.0;
        for (PetscInt i = 0; i < m; i++) {
          PetscReal dx = 0.0;
          if (D[i * n + j] == 0.0) continue;
          for (PetscInt l = 0; l < n; l++) dx += D[i * n + l] * x[l];
          s += D[i * n + j] * dx;
        }
        Nx[j] = ab[c][0] * x[j] + ab[c][1] * s;
      }
      PetscCall(DpsOperatorApplyNormalInverse(op, ab[c][0], ab[c][1], vin, vout));
      for (PetscInt j = 0; j < n; j++) err = PetscMax(err, PetscAbsReal(w[j] - x[j]) / PetscSqrtReal(Dot(n, x, x) / n));
    }
    PetscCall(VecDestroy(&vin));
    PetscCall(VecDestroy(&vout));
    PetscCall(PetscFree2(Nx, w));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: (a I + b A^T A)^{-1} (a I + b D^T D) x = x to %.2e (4 (a, b) pairs)\n", what, err));
    DPS_CHECK(err <= 1e-11, "%s: the normal inverse is off by %.2e", what, err);
  }

  PetscCall(DpsOperatorHasMeasurementInverse(op, &has));
  if (has) {
    PetscReal *v, *out, err = 0.0, c = 0.7;
    PetscCall(PetscMalloc2(n, &v, m, &out));
    for (PetscInt j = 0; j < n; j++) v[j] = DpsTestUniform(rng);
    FillRandom(rng, m, y);
    PetscCall(DpsOperatorApplyMeasurementInverse(op, c, v, y, out));
    for (PetscInt i = 0; i < m; i++) { /* (c I + D diag(v) D^T) out = y */
      PetscReal s = c * out[i];
      for (PetscInt l = 0; l < m; l++) {
        PetscReal g = 0.0;
        for (PetscInt j = 0; j < n; j++) g += D[i * n + j] * v[j] * D[l * n + j];
        s += g * out[l];
      }
      err = PetscMax(err, PetscAbsReal(s - y[i]));
    }
    PetscCall(PetscFree2(v, out));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: (c I + A diag(v) A^T) applied to its inverse's result: max error %.2e\n", what, err));
    DPS_CHECK(err <= 1e-12, "%s: measurement inverse off by %.2e", what, err);
  }

  PetscCall(DpsOperatorHasSVD(op, &has));
  DPS_CHECK(has == expect_svd, "%s: SVD %s but should %s", what, has ? "offered" : "absent", expect_svd ? "be offered" : "not be");
  if (has) {
    const PetscInt   k0 = PetscMin(m, n);
    const PetscReal *sv;
    PetscReal       *U, *V, *e, *col, rerr = 0.0, nA = 0.0, uerr = 0.0, verr = 0.0;
    PetscCall(PetscMalloc4(m * k0, &U, n * n, &V, PetscMax(m, n), &e, PetscMax(m, n), &col));
    PetscCall(DpsOperatorGetSingularValues(op, &sv));
    for (PetscInt j = 0; j < n; j++) {
      for (PetscInt i = 0; i < n; i++) e[i] = i == j;
      PetscCall(DpsOperatorApplyV(op, e, col));
      for (PetscInt i = 0; i < n; i++) V[i * n + j] = col[i];
    }
    for (PetscInt i = 0; i < m; i++) {
      for (PetscInt l = 0; l < m; l++) e[l] = l == i;
      PetscCall(DpsOperatorApplyUT(op, e, col));
      for (PetscInt k = 0; k < k0; k++) U[i * k0 + k] = col[k];
    }
    for (PetscInt k = 0; k < n; k++) DPS_CHECK(sv[k] >= 0 && (k < k0 || sv[k] == 0), "%s: singular value %" PetscInt_FMT " is %g", what, k, (double)sv[k]);
    for (PetscInt i = 0; i < m; i++)
      for (PetscInt j = 0; j < n; j++) {
        PetscReal a = 0.0;
        for (PetscInt k = 0; k < k0; k++) a += U[i * k0 + k] * sv[k] * V[j * n + k];
        rerr += PetscSqr(a - D[i * n + j]);
        nA += PetscSqr(D[i * n + j]);
      }
    rerr = PetscSqrtReal(rerr / nA);
    for (PetscInt k = 0; k < k0; k++)
      for (PetscInt l = 0; l < k0; l++) {
        PetscReal g = 0.0;
        for (PetscInt i = 0; i < m; i++) g += U[i * k0 + k] * U[i * k0 + l];
        uerr = PetscMax(uerr, PetscAbsReal(g - (k == l)));
      }
    for (PetscInt k = 0; k < n; k++)
      for (PetscInt l = 0; l < n; l++) {
        PetscReal g = 0.0;
        for (PetscInt i = 0; i < n; i++) g += V[i * n + k] * V[i * n + l];
        verr = PetscMax(verr, PetscAbsReal(g - (k == l)));
      }
    /* V^T is V's transpose: V^T (V e_j) = e_j */
    {
      PetscReal vterr = 0.0;
      for (PetscInt j = 0; j < n; j++) {
        for (PetscInt i = 0; i < n; i++) e[i] = V[i * n + j];
        PetscCall(DpsOperatorApplyVT(op, e, col));
        for (PetscInt i = 0; i < n; i++) vterr = PetscMax(vterr, PetscAbsReal(col[i] - (i == j)));
      }
      DPS_CHECK(vterr <= 1e-12, "%s: V^T V e_j differs from e_j by %.2e", what, vterr);
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s SVD: |U diag(sv) V^T - A|_F / |A|_F %.2e; max |U^T U - I| %.2e; max |V^T V - I| %.2e\n", what, rerr, uerr, verr));
    DPS_CHECK(rerr <= 1e-12 && uerr <= 1e-12 && verr <= 1e-12, "%s: SVD errors %.2e %.2e %.2e", what, rerr, uerr, verr);
    PetscCall(PetscFree4(U, V, e, col));
  }
  if (Dout) {
    PetscCall(PetscMalloc1(m * n, Dout));
    PetscCall(PetscArraycpy(*Dout, D, m * n));
  }
  PetscCall(PetscFree6(D, DT, x, y, Ax, Aty));
  PetscFunctionReturn(0);
}

/* save, load into a fresh operator given the data shape first, and compare the dense matrices exactly */
static PetscErrorCode CheckRoundTrip(DpsOperator op, const char *what)
{
  char        fname[PETSC_MAX_PATH_LEN];
  hid_t       f;
  DpsOperator op2;
  PetscInt    m, n, m2, n2, shape[3], diff = 0;
  PetscBool   has;
  PetscReal  *D, *DT, *D2, *DT2;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_operator_test_%d.h5", (int)getpid()));
  PetscCall(DpsH5Create(PETSC_COMM_SELF, fname, &f));
  PetscCall(DpsOperatorSave(op, f));
  PetscCall(DpsH5Close(&f));
  PetscCall(DpsOperatorGetDataShape(op, &has, shape));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op2));
  if (has) PetscCall(DpsOperatorSetDataShape(op2, shape[0], shape[1], shape[2])); /* a matrix has none */
  PetscCall(DpsH5Open(PETSC_COMM_SELF, fname, PETSC_FALSE, &f));
  PetscCall(DpsOperatorLoad(op2, f, fname));
  PetscCall(DpsH5Close(&f));
  PetscCall(DpsOperatorGetSizes(op, &m, &n));
  PetscCall(DpsOperatorGetSizes(op2, &m2, &n2));
  DPS_CHECK(m == m2 && n == n2, "%s: loaded sizes %" PetscInt_FMT " x %" PetscInt_FMT ", saved %" PetscInt_FMT " x %" PetscInt_FMT, what, m2, n2, m, n);
  if (m == m2 && n == n2) {
    PetscCall(PetscMalloc4(m * n, &D, m * n, &DT, m * n, &D2, m * n, &DT2));
    PetscCall(Dense(op, m, n, D, DT));
    PetscCall(Dense(op2, m, n, D2, DT2));
    for (PetscInt e = 0; e < m * n; e++) diff += D[e] != D2[e];
    PetscCall(PetscFree4(D, DT, D2, DT2));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: HDF5 round trip, dense A mismatches %" PetscInt_FMT "\n", what, diff));
  DPS_CHECK(diff == 0, "%s: the loaded operator differs in %" PetscInt_FMT " entries", what, diff);
  PetscCall(DpsOperatorDestroy(&op2));
  PetscCheck(unlink(fname) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot remove %s", fname);
  PetscFunctionReturn(0);
}

#endif
