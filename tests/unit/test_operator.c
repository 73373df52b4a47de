/* unit_operator: the cs (dense) and inpaint (mask) operators of methods.md section 8, through their MatShell.
   - adjoint identity <A x, y> = <x, A^T y> for random x, y (relative to |A x| |y|)
   - the dense form of the shell (MatComputeOperator) is the stored matrix / diag(mask), exactly; the dense form
     of MatCreateTranspose(A) is its transpose, exactly
   - diag(A^T A) against column sums of squares computed here
   - inpaint: DpsOperatorApplyNormalInverse(a, b) inverts a I + b A^T A (formed by applying A and A^T) both ways
   - HDF5: DpsOperatorSave, then DpsOperatorLoad into a fresh operator, gives the same dense matrix
   - cs SVD (ddrm's): U, V read back column by column through U^T and V, have orthonormal columns, the singular
     values are non-negative, and U diag(sv) V^T reproduces the random matrix to 1e-12 relative (Frobenius)
   - input files that load but mean nothing, or more than fits, are refused by DpsOperatorLoad with the file and
     the dataset named: an all-zero mask (nothing observed), a matrix with 0 rows, a matrix of 4 x (2^32 + 16)
     (declared in the file, never written: the message says too large and the memory it would need) */
#include <dpsolve/dpsolve.h>
#include <unistd.h>
#include "io/h5.h"
#include "unittest.h"

/* dense m x n row-major matrix of a Mat, via MatComputeOperator (A e_j column by column) */
static PetscErrorCode DenseOf(Mat A, PetscInt m, PetscInt n, PetscReal out[])
{
  Mat                D;
  const PetscScalar *a;
  PetscInt           mm, nn, lda;

  PetscFunctionBegin;
  PetscCall(MatComputeOperator(A, MATDENSE, &D));
  PetscCall(MatGetSize(D, &mm, &nn));
  PetscCheck(mm == m && nn == n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "dense operator is %" PetscInt_FMT " x %" PetscInt_FMT ", expected %" PetscInt_FMT " x %" PetscInt_FMT, mm, nn, m, n);
  PetscCall(MatDenseGetLDA(D, &lda));
  PetscCall(MatDenseGetArrayRead(D, &a));
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt j = 0; j < n; j++) out[i * n + j] = a[i + j * lda]; /* column-major */
  PetscCall(MatDenseRestoreArrayRead(D, &a));
  PetscCall(MatDestroy(&D));
  PetscFunctionReturn(0);
}

static void FillRandom(DpsTestRng *r, PetscInt n, PetscReal x[])
{
  for (PetscInt i = 0; i < n; i++) x[i] = DpsTestNormal(r);
}

/* the checks every operator must pass; Aref is the m x n row-major matrix the operator should be */
static PetscErrorCode CheckOperator(DpsOperator op, PetscInt m, PetscInt n, const PetscReal Aref[], const char *what, DpsTestRng *rng)
{
  Mat        A, At;
  Vec        x, y, Ax, Aty;
  PetscReal *D, *xa, *ya, worst = 0.0, diagerr = 0.0;
  PetscInt   mm, nn, dense_mismatch = 0, trans_mismatch = 0;
  PetscBool  hasdiag;

  PetscFunctionBegin;
  PetscCall(DpsOperatorGetSizes(op, &mm, &nn));
  DPS_CHECK(mm == m && nn == n, "%s: sizes %" PetscInt_FMT " x %" PetscInt_FMT ", expected %" PetscInt_FMT " x %" PetscInt_FMT, what, mm, nn, m, n);
  PetscCall(DpsOperatorGetMat(op, &A));
  PetscCall(MatCreateVecs(A, &x, &y));
  PetscCall(VecDuplicate(y, &Ax));
  PetscCall(VecDuplicate(x, &Aty));
  /* adjoint identity */
  for (int trial = 0; trial < 20; trial++) {
    PetscReal lhs, rhs, nAx, ny, rel;
    PetscCall(VecGetArray(x, &xa));
    FillRandom(rng, n, xa);
    PetscCall(VecRestoreArray(x, &xa));
    PetscCall(VecGetArray(y, &ya));
    FillRandom(rng, m, ya);
    PetscCall(VecRestoreArray(y, &ya));
    PetscCall(MatMult(A, x, Ax));
    PetscCall(MatMultTranspose(A, y, Aty));
    PetscCall(VecDot(Ax, y, &lhs));
    PetscCall(VecDot(x, Aty, &rhs));
    PetscCall(VecNorm(Ax, NORM_2, &nAx));
    PetscCall(VecNorm(y, NORM_2, &ny));
    rel   = PetscAbsReal(lhs - rhs) / (nAx * ny);
    worst = PetscMax(worst, rel);
    DPS_CHECK(rel <= 1e-12, "%s: <Ax, y> = %.17g but <x, A^T y> = %.17g (relative %g)", what, lhs, rhs, rel);
  }
  /* dense form of A and of A^T */
  PetscCall(PetscMalloc1(m * n, &D));
  PetscCall(DenseOf(A, m, n, D));
  for (PetscInt e = 0; e < m * n; e++) dense_mismatch += D[e] != Aref[e];
  PetscCall(MatCreateTranspose(A, &At));
  PetscCall(DenseOf(At, n, m, D));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < m; j++) trans_mismatch += D[i * m + j] != Aref[j * n + i];
  DPS_CHECK(dense_mismatch == 0, "%s: MatComputeOperator(A) differs from the stored matrix in %" PetscInt_FMT " entries", what, dense_mismatch);
  DPS_CHECK(trans_mismatch == 0, "%s: MatComputeOperator(A^T) differs from the transpose in %" PetscInt_FMT " entries", what, trans_mismatch);
  /* diag(A^T A) */
  PetscCall(DpsOperatorHasNormalDiagonal(op, &hasdiag));
  if (hasdiag) {
    Vec        d;
    PetscReal *da;
    PetscCall(VecDuplicate(x, &d));
    PetscCall(DpsOperatorGetNormalDiagonal(op, d));
    PetscCall(VecGetArray(d, &da));
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0.0;
      for (PetscInt i = 0; i < m; i++) s += Aref[i * n + j] * Aref[i * n + j];
      diagerr = PetscMax(diagerr, PetscAbsReal(da[j] - s) / PetscMax(s, 1e-300));
    }
    PetscCall(VecRestoreArray(d, &da));
    PetscCall(VecDestroy(&d));
    DPS_CHECK(diagerr <= 1e-14, "%s: diag(A^T A) relative error %g", what, diagerr);
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s (%" PetscInt_FMT " x %" PetscInt_FMT "): adjoint max relative error %.2e over 20 pairs; dense A mismatches %" PetscInt_FMT ", dense A^T mismatches %" PetscInt_FMT "; diag(A^T A) %s %.2e\n", what, m, n, worst,
                        dense_mismatch, trans_mismatch, hasdiag ? "relative error" : "absent", diagerr));
  PetscCall(MatDestroy(&At));
  PetscCall(PetscFree(D));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(VecDestroy(&Ax));
  PetscCall(VecDestroy(&Aty));
  PetscFunctionReturn(0);
}

/* Save to an HDF5 file, load into a fresh operator, and compare the dense matrices exactly */
static PetscErrorCode CheckRoundTrip(DpsOperator op, PetscInt m, PetscInt n, const PetscReal Aref[], const char *what, DpsTestRng *rng)
{
  char            fname[PETSC_MAX_PATH_LEN];
  hid_t           f;
  DpsOperator     op2;
  DpsOperatorType t1, t2;
  PetscBool       same;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_operator_%d_%s.h5", (int)getpid(), what));
  PetscCall(DpsH5Create(PETSC_COMM_SELF, fname, &f));
  PetscCall(DpsOperatorSave(op, f));
  PetscCall(DpsH5Close(&f));
  PetscCall(DpsH5Open(PETSC_COMM_SELF, fname, PETSC_FALSE, &f));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op2));
  PetscCall(DpsOperatorLoad(op2, f, fname));
  PetscCall(DpsH5Close(&f));
  PetscCall(DpsOperatorGetType(op, &t1));
  PetscCall(DpsOperatorGetType(op2, &t2));
  PetscCall(PetscStrcmp(t1, t2, &same));
  DPS_CHECK(same, "%s: saved type %s, loaded type %s", what, t1, t2);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: HDF5 round trip through %s, loaded type %s\n", what, fname, t2));
  {
    char w[64];
    PetscCall(PetscSNPrintf(w, sizeof(w), "%s after HDF5 round trip", what));
    PetscCall(CheckOperator(op2, m, n, Aref, w, rng));
  }
  PetscCall(DpsOperatorDestroy(&op2));
  PetscCheck(unlink(fname) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot remove %s", fname);
  PetscFunctionReturn(0);
}

/* the cs SVD through the public interface: V's column j is V e_j, U's row i is U^T e_i (its first k0 = min(m, n)
   entries are U's first k0 columns, the ones the SVD defines) */
static PetscErrorCode CheckSVD(DpsOperator op, PetscInt m, PetscInt n, const PetscReal Aref[], const char *what)
{
  const PetscInt   k0 = PetscMin(m, n);
  const PetscReal *sv;
  PetscReal       *U, *V, *e, *col, nA = 0.0, rerr = 0.0, uerr = 0.0, verr = 0.0;
  PetscBool        has;

  PetscFunctionBegin;
  PetscCall(DpsOperatorHasSVD(op, &has));
  DPS_CHECK(has, "%s: no SVD", what);
  if (!has) PetscFunctionReturn(0);
  PetscCall(PetscMalloc4(m * m, &U, n * n, &V, PetscMax(m, n), &e, PetscMax(m, n), &col));
  PetscCall(DpsOperatorGetSingularValues(op, &sv));
  for (PetscInt j = 0; j < n; j++) { /* V [n x n] row-major */
    for (PetscInt i = 0; i < n; i++) e[i] = i == j;
    PetscCall(DpsOperatorApplyV(op, e, col));
    for (PetscInt i = 0; i < n; i++) V[i * n + j] = col[i];
  }
  for (PetscInt i = 0; i < m; i++) { /* U [m x k0] row-major, leading dimension m */
    for (PetscInt l = 0; l < m; l++) e[l] = l == i;
    PetscCall(DpsOperatorApplyUT(op, e, col));
    for (PetscInt k = 0; k < k0; k++) U[i * m + k] = col[k];
  }
  for (PetscInt k = 0; k < n; k++) DPS_CHECK(sv[k] >= 0 && (k < k0 || sv[k] == 0), "%s: singular value %" PetscInt_FMT " is %g", what, k, sv[k]);
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt j = 0; j < n; j++) {
      PetscReal a = 0.0;
      for (PetscInt k = 0; k < k0; k++) a += U[i * m + k] * sv[k] * V[j * n + k];
      rerr += PetscSqr(a - Aref[i * n + j]);
      nA += PetscSqr(Aref[i * n + j]);
    }
  rerr = PetscSqrtReal(rerr / nA);
  for (PetscInt k = 0; k < k0; k++) /* U^T U = I on the first k0 columns */
    for (PetscInt l = 0; l < k0; l++) {
      PetscReal g = 0.0;
      for (PetscInt i = 0; i < m; i++) g += U[i * m + k] * U[i * m + l];
      uerr = PetscMax(uerr, PetscAbsReal(g - (k == l)));
    }
  for (PetscInt k = 0; k < n; k++) /* V^T V = I */
    for (PetscInt l = 0; l < n; l++) {
      PetscReal g = 0.0;
      for (PetscInt i = 0; i < n; i++) g += V[i * n + k] * V[i * n + l];
      verr = PetscMax(verr, PetscAbsReal(g - (k == l)));
    }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s SVD: |U diag(sv) V^T - A|_F / |A|_F %.2e; max |U^T U - I| %.2e (%" PetscInt_FMT " columns), max |V^T V - I| %.2e\n", what, rerr, uerr, k0, verr));
  DPS_CHECK(rerr <= 1e-12, "%s: U diag(sv) V^T differs from A by %.2e relative", what, rerr);
  DPS_CHECK(uerr <= 1e-12, "%s: U's columns are not orthonormal (max |U^T U - I| %.2e)", what, uerr);
  DPS_CHECK(verr <= 1e-12, "%s: V's columns are not orthonormal (max |V^T V - I| %.2e)", what, verr);
  PetscCall(PetscFree4(U, V, e, col));
  PetscFunctionReturn(0);
}

/* a file with /operator of the given type and one dataset `name` of `shape`, filled with `data` when not NULL.
   Serial HDF5 with late allocation: a dataset never written takes no space, however large it is declared. */
static PetscErrorCode WriteOperatorFile(const char fname[], const char type[], const char name[], int rank, const hsize_t shape[], const PetscReal data[])
{
  hid_t f, g, space, dcpl, d;

  PetscFunctionBegin;
  f = H5Fcreate(fname, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s", fname);
  g = H5Gcreate2(f, "/operator", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot create /operator in %s", fname);
  H5Gclose(g);
  PetscCall(DpsH5WriteStringAttribute(f, "/operator", "type", type));
  space = H5Screate_simple(rank, shape, NULL);
  dcpl  = H5Pcreate(H5P_DATASET_CREATE);
  PetscCheck(space >= 0 && dcpl >= 0 && H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 set-up failed");
  d = H5Dcreate2(f, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot create %s in %s", name, fname);
  if (data) PetscCheck(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot write %s", name);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  PetscCheck(H5Fclose(f) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot close %s", fname);
  PetscFunctionReturn(0);
}

/* DpsOperatorLoad of the file must fail with a message holding each of the `n` strings */
static PetscErrorCode CheckLoadRefused(const char fname[], const char *what, PetscInt n, const char *const expect[])
{
  hid_t          f;
  DpsOperator    op;
  PetscErrorCode code;
  char          *msg = NULL;

  PetscFunctionBegin;
  PetscCall(DpsH5Open(PETSC_COMM_SELF, fname, PETSC_FALSE, &f));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  code = DpsOperatorLoad(op, f, fname);
  PetscCall(PetscPopErrorHandler());
  PetscCall(DpsH5Close(&f));
  PetscCall(DpsOperatorDestroy(&op));
  if (code) PetscCall(PetscErrorMessage(code, NULL, &msg));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: load %s, \"%s\"\n", what, code ? "refused" : "ACCEPTED", msg ? msg : ""));
  DPS_CHECK(code != 0, "%s: DpsOperatorLoad accepted %s", what, fname);
  for (PetscInt i = 0; code && i < n; i++) DPS_CHECK(msg && strstr(msg, expect[i]), "%s: the message \"%s\" does not contain \"%s\"", what, msg ? msg : "", expect[i]);
  PetscCheck(unlink(fname) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot remove %s", fname);
  PetscFunctionReturn(0);
}

static PetscErrorCode TestLoadRefusals(void)
{
  char      fname[PETSC_MAX_PATH_LEN];
  PetscReal zeros[8] = {0};

  PetscFunctionBegin;
  {
    const hsize_t     shape[1] = {8};
    const char *const expect[] = {fname, "/operator/mask", "all 0", "none of its 8 entries is observed"};
    PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_operator_%d_zeromask.h5", (int)getpid()));
    PetscCall(WriteOperatorFile(fname, DPSOPERATORINPAINT, "/operator/mask", 1, shape, zeros));
    PetscCall(CheckLoadRefused(fname, "inpaint mask of zeros", 4, expect));
  }
  {
    const hsize_t     shape[2] = {0, 8};
    const char *const expect[] = {fname, "/operator/matrix is 0 x 8", "m >= 1 rows"};
    PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_operator_%d_rows0.h5", (int)getpid()));
    PetscCall(WriteOperatorFile(fname, DPSOPERATORCS, "/operator/matrix", 2, shape, NULL));
    PetscCall(CheckLoadRefused(fname, "cs matrix with 0 rows", 3, expect));
  }
  {
    const hsize_t     shape[2] = {4, ((hsize_t)1 << 32) + 16};
    const char *const expect[] = {fname, "/operator/matrix is 4 x 4294967312, too large", "128.0 GiB"};
    PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_operator_%d_huge.h5", (int)getpid()));
    PetscCall(WriteOperatorFile(fname, DPSOPERATORCS, "/operator/matrix", 2, shape, NULL));
    PetscCall(CheckLoadRefused(fname, "cs matrix of 4 x (2^32 + 16)", 3, expect));
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsTestRng rng;
  const PetscInt shapes[3][2] = {
    {3, 7},
    {5, 5},
    {7, 3}
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  DpsTestRngSeed(&rng, 20240611);

  /* cs: random dense m x n */
  for (int c = 0; c < 3; c++) {
    const PetscInt m = shapes[c][0], n = shapes[c][1];
    DpsOperator    op;
    PetscReal     *A;
    PetscBool      hasinv;
    char           what[32];
    PetscCall(PetscMalloc1(m * n, &A));
    FillRandom(&rng, m * n, A);
    PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
    PetscCall(DpsOperatorSetType(op, DPSOPERATORCS));
    PetscCall(DpsOperatorCSSetMatrix(op, m, n, A));
    PetscCall(DpsOperatorSetUp(op));
    PetscCall(PetscSNPrintf(what, sizeof(what), "cs_%" PetscInt_FMT "x%" PetscInt_FMT, m, n));
    PetscCall(CheckOperator(op, m, n, A, what, &rng));
    PetscCall(DpsOperatorHasNormalInverse(op, &hasinv));
    DPS_CHECK(!hasinv, "cs claims an exact normal inverse it does not have");
    PetscCall(CheckSVD(op, m, n, A, what));
    PetscCall(CheckRoundTrip(op, m, n, A, what, &rng));
    PetscCall(DpsOperatorDestroy(&op));
    PetscCall(PetscFree(A));
  }

  /* inpaint: random 0/1 mask, A = diag(mask) */
  {
    const PetscInt n = 13;
    PetscReal      mask[13], *A, worst = 0.0;
    const PetscReal ab[5][2] = {
      {1.0,  1.0  },
      {0.3,  2.5  },
      {2.0,  0.01 },
      {1e-3, 1e3  },
      {7.0,  0.0  }
    };
    DpsOperator op;
    Mat         M;
    Vec         x, z, w, t;
    PetscBool   hasinv;
    PetscInt    observed = 0;

    for (PetscInt j = 0; j < n; j++) mask[j] = DpsTestUniform(&rng) < 0.6 ? 1.0 : 0.0;
    mask[0] = 0.0; /* at least one of each */
    mask[1] = 1.0;
    for (PetscInt j = 0; j < n; j++) observed += mask[j] != 0.0;
    PetscCall(PetscCalloc1(n * n, &A));
    for (PetscInt j = 0; j < n; j++) A[j * n + j] = mask[j];
    PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
    PetscCall(DpsOperatorSetType(op, DPSOPERATORINPAINT));
    PetscCall(DpsOperatorInpaintSetMask(op, n, mask));
    PetscCall(DpsOperatorSetUp(op));
    PetscCall(CheckOperator(op, n, n, A, "inpaint", &rng));
    PetscCall(DpsOperatorHasNormalInverse(op, &hasinv));
    DPS_CHECK(hasinv, "inpaint has no exact normal inverse");
    /* (a I + b A^T A)^{-1}: apply the forward map explicitly (A, then A^T), then the inverse, and the reverse */
    PetscCall(DpsOperatorGetMat(op, &M));
    PetscCall(MatCreateVecs(M, &x, &z));
    PetscCall(VecDuplicate(x, &w));
    PetscCall(VecDuplicate(x, &t));
    for (int c = 0; c < 5; c++) {
      const PetscReal a = ab[c][0], b = ab[c][1];
      for (int trial = 0; trial < 5; trial++) {
        PetscReal *xa, err, nx;
        PetscCall(VecGetArray(x, &xa));
        FillRandom(&rng, n, xa);
        PetscCall(VecRestoreArray(x, &xa));
        PetscCall(VecNorm(x, NORM_INFINITY, &nx));
        /* forward then inverse: w = N^{-1} (a x + b A^T A x) */
        PetscCall(MatMult(M, x, z));
        PetscCall(MatMultTranspose(M, z, t));
        PetscCall(VecAXPBY(t, a, b, x)); /* t = a x + b A^T A x */
        PetscCall(DpsOperatorApplyNormalInverse(op, a, b, t, w));
        PetscCall(VecAXPY(w, -1.0, x));
        PetscCall(VecNorm(w, NORM_INFINITY, &err));
        err /= nx;
        worst = PetscMax(worst, err);
        DPS_CHECK(err <= 1e-14, "inpaint: (aI + bA^TA)^{-1} (aI + bA^TA) x != x for a = %g, b = %g: relative error %g", a, b, err);
        /* inverse then forward */
        PetscCall(DpsOperatorApplyNormalInverse(op, a, b, x, w));
        PetscCall(MatMult(M, w, z));
        PetscCall(MatMultTranspose(M, z, t));
        PetscCall(VecAXPBY(t, a, b, w));
        PetscCall(VecAXPY(t, -1.0, x));
        PetscCall(VecNorm(t, NORM_INFINITY, &err));
        err /= nx;
        worst = PetscMax(worst, err);
        DPS_CHECK(err <= 1e-14, "inpaint: (aI + bA^TA) (aI + bA^TA)^{-1} x != x for a = %g, b = %g: relative error %g", a, b, err);
      }
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "inpaint (%" PetscInt_FMT " of %" PetscInt_FMT " observed): normal inverse, 5 (a, b) pairs x 5 vectors both ways: max relative error %.2e\n", observed, n, worst));
    PetscCall(VecDestroy(&x));
    PetscCall(VecDestroy(&z));
    PetscCall(VecDestroy(&w));
    PetscCall(VecDestroy(&t));
    PetscCall(CheckRoundTrip(op, n, n, A, "inpaint", &rng));
    PetscCall(DpsOperatorDestroy(&op));
    PetscCall(PetscFree(A));
  }
  PetscCall(TestLoadRefusals());
  DPS_TEST_END();
}
