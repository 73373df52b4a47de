/* unit_operator_medical: the scientific and medical operators of methods.md section 8 (matrix, mri), each through
   the checks of operatortest.h (adjoint identity to 1e-12 relative, dense A^T = transpose of dense A, what is
   offered and what is not, the HDF5 round trip) and against an independent truth:
   - matrix: a dense random matrix written here, given as CSR with unsorted columns and a repeated (row, column)
     pair (which scipy sums); A x must equal the dense product computed from the dense array, and the operator's
     dense matrix must equal it entry for entry;
   - mri: the committed fixture tests/unit/fixtures/mri_numpy.h5 (tests/unit/make_mri_fixture.py): y computed by
     numpy's FFT, mask * fftshift(fft2(ifftshift(S x), norm="ortho")), for single- and multi-coil maps, real and
     complex images, every mask kind of the input tool; and, at small size, the single-coil exact inverse and SVD
     against the dense matrix (checks in operatortest.h). */
#include "operatortest.h"

/* the dense m x n matrix of this test: about a third of the entries nonzero */
static void MakeDense(DpsTestRng *rng, PetscInt m, PetscInt n, PetscReal D[])
{
  for (PetscInt e = 0; e < m * n; e++) D[e] = DpsTestUniform(rng) < 0.35 ? DpsTestNormal(rng) : 0.0;
}

static PetscErrorCode TestMatrix(DpsTestRng *rng)
{
  const PetscInt m = 7, n = 11;
  PetscReal      D[7 * 11], data[7 * 11 + 1], x[11], y[7], yd[7], *Dop, err = 0.0, derr = 0.0, dmax = 0.0;
  PetscInt       indptr[8], indices[7 * 11 + 1], nnz = 0;
  DpsOperator    op;

  PetscFunctionBegin;
  MakeDense(rng, m, n, D);
  D[0] = 0.75;
  /* CSR from the dense array, each row's columns in DEcreasing order, and A[0, 0] given as 0.25 + 0.5 */
  indptr[0] = 0;
  for (PetscInt i = 0; i < m; i++) {
    for (PetscInt j = n - 1; j >= 0; j--) {
      if (D[i * n + j] == 0.0) continue;
      if (i == 0 && j == 0) {
        indices[nnz] = 0;
        data[nnz++]  = 0.25;
        indices[nnz] = 0;
        data[nnz++]  = 0.5;
      } else {
        indices[nnz] = j;
        data[nnz++]  = D[i * n + j];
      }
    }
    indptr[i + 1] = nnz;
  }
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORMATRIX));
  PetscCall(DpsOperatorMatrixSetCSR(op, m, n, indptr, indices, data));
  for (PetscInt j = 0; j < n; j++) x[j] = DpsTestNormal(rng);
  PetscCall(DpsOperatorApplyArray(op, x, y));
  for (PetscInt i = 0; i < m; i++) {
    yd[i] = 0.0;
    for (PetscInt j = 0; j < n; j++) yd[i] += D[i * n + j] * x[j];
    err = PetscMax(err, PetscAbsReal(y[i] - yd[i]));
  }
  PetscCall(CheckOperator(op, "matrix 7 x 11", rng, PETSC_FALSE, PETSC_FALSE, &Dop));
  for (PetscInt e = 0; e < m * n; e++) {
    derr = PetscMax(derr, PetscAbsReal(Dop[e] - D[e]));
    dmax = PetscMax(dmax, PetscAbsReal(D[e]));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "matrix: max |A x - dense product| %.2e; max |dense(A) - D| %.2e (max |D| %.2f)\n", err, derr, dmax));
  DPS_CHECK(err <= 1e-14 * dmax * n, "matrix: A x differs from the dense product by %.2e", err);
  DPS_CHECK(derr == 0.0, "matrix: the operator's dense matrix differs from the one it was built from by %.2e", derr);
  {
    PetscBool has;
    PetscCall(DpsOperatorHasNormalDiagonal(op, &has));
    DPS_CHECK(has, "matrix: diag(A^T A) (Jacobi) not offered");
  }
  PetscCall(CheckRoundTrip(op, "matrix 7 x 11"));
  PetscCall(PetscFree(Dop));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

/* each case of the numpy fixture: A x against numpy's y, then every check of operatortest.h */
static PetscErrorCode TestMRIFixture(const char fixture[], DpsTestRng *rng)
{
  const char *cases[] = {"single_real_random", "single_complex_odd_vd", "single_real_odd_vd", "multi_real_equispaced", "multi_complex_odd_vd", "one_coil_map_complex"};
  hid_t       f;

  PetscFunctionBegin;
  PetscCall(DpsH5Open(PETSC_COMM_SELF, fixture, PETSC_FALSE, &f));
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char        path[128], what[160];
    hsize_t     xd[3], yd[1], md[4];
    PetscReal  *x, *y, *Ax, *mask, *maps = NULL, err = 0.0, ymax = 0.0;
    PetscBool   hasmaps;
    PetscInt    n, m, coils = 0;
    DpsOperator op;

    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/x", cases[c]));
    PetscCall(DpsH5GetDims(f, fixture, path, 3, "(C, H, W)", xd));
    n = (PetscInt)(xd[0] * xd[1] * xd[2]);
    PetscCall(PetscMalloc2(n, &x, xd[1] * xd[2], &mask));
    PetscCall(DpsH5ReadAll(f, fixture, path, x));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/y", cases[c]));
    PetscCall(DpsH5GetDims(f, fixture, path, 1, "(m)", yd));
    m = (PetscInt)yd[0];
    PetscCall(PetscMalloc2(m, &y, m, &Ax));
    PetscCall(DpsH5ReadAll(f, fixture, path, y));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/operator/mask", cases[c]));
    PetscCall(DpsH5ReadAll(f, fixture, path, mask));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/operator/maps", cases[c]));
    PetscCall(DpsH5Exists(f, path, &hasmaps));
    if (hasmaps) {
      PetscCall(DpsH5GetDims(f, fixture, path, 4, "(coils, H, W, 2)", md));
      coils = (PetscInt)md[0];
      PetscCall(PetscMalloc1(md[0] * md[1] * md[2] * 2, &maps));
      PetscCall(DpsH5ReadAll(f, fixture, path, maps));
    }
    PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
    PetscCall(DpsOperatorSetType(op, DPSOPERATORMRI));
    PetscCall(DpsOperatorSetDataShape(op, (PetscInt)xd[0], (PetscInt)xd[1], (PetscInt)xd[2]));
    PetscCall(DpsOperatorMRISetMaps(op, coils, (PetscInt)xd[1], (PetscInt)xd[2], maps));
    PetscCall(DpsOperatorMRISetMask(op, (PetscInt)xd[1], (PetscInt)xd[2], mask));
    PetscCall(DpsOperatorSetUp(op));
    {
      PetscInt mo, no;
      PetscCall(DpsOperatorGetSizes(op, &mo, &no));
      DPS_CHECK(mo == m && no == n, "mri %s: sizes %" PetscInt_FMT " x %" PetscInt_FMT ", numpy's %" PetscInt_FMT " x %" PetscInt_FMT, cases[c], mo, no, m, n);
    }
    PetscCall(DpsOperatorApplyArray(op, x, Ax));
    for (PetscInt i = 0; i < m; i++) {
      err  = PetscMax(err, PetscAbsReal(Ax[i] - y[i]));
      ymax = PetscMax(ymax, PetscAbsReal(y[i]));
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "mri %s (%d x %d x %d, %" PetscInt_FMT " coil(s)%s): max |A x - numpy| / max |y| = %.2e\n", cases[c], (int)xd[0], (int)xd[1], (int)xd[2], hasmaps ? coils : 1, hasmaps ? "" : ", S = 1", err / ymax));
    DPS_CHECK(err <= 1e-12 * ymax, "mri %s: differs from numpy's FFT by %.2e", cases[c], err);
    /* S = 1 offers the exact inverse, and with complex images the SVD */
    PetscCall(PetscSNPrintf(what, sizeof(what), "mri %s", cases[c]));
    PetscCall(CheckOperator(op, what, rng, (PetscBool)!hasmaps, (PetscBool)(!hasmaps && xd[0] == 2), NULL));
    PetscCall(CheckRoundTrip(op, what));
    PetscCall(DpsOperatorDestroy(&op));
    PetscCall(PetscFree2(x, mask));
    PetscCall(PetscFree2(y, Ax));
    PetscCall(PetscFree(maps));
  }
  PetscCall(DpsH5Close(&f));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsTestRng rng;
  char       fixture[PETSC_MAX_PATH_LEN] = "";
  PetscBool  flg;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-fixture", fixture, sizeof(fixture), &flg));
  PetscCheck(flg, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "give -fixture tests/unit/fixtures/mri_numpy.h5");
  PetscCall(DpsInitializePackage());
  DpsTestRngSeed(&rng, 13);
  PetscCall(TestMatrix(&rng));
  PetscCall(TestMRIFixture(fixture, &rng));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "worst adjoint relative error over every operator: %.2e\n", worst_adjoint));
  DPS_TEST_END();
}
