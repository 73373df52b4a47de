/* unit_operator_medical: the scientific and medical operators of methods.md section 8 (matrix, mri, ct), each through
   the checks of operatortest.h (adjoint identity to 1e-12 relative, dense A^T = transpose of dense A, what is
   offered and what is not, the HDF5 round trip) and against an independent truth:
   - matrix: a dense random matrix written here, given as CSR with unsorted columns and a repeated (row, column)
     pair (which scipy sums); A x must equal the dense product computed from the dense array, and the operator's
     dense matrix must equal it entry for entry;
   - mri: the committed fixture tests/unit/fixtures/mri_numpy.h5 (tests/unit/make_mri_fixture.py): y computed by
     numpy's FFT, mask * fftshift(fft2(ifftshift(S x), norm="ortho")), for single- and multi-coil maps, real and
     complex images, every mask kind of the input tool; and, at small size, the single-coil exact inverse and SVD
     against the dense matrix (checks in operatortest.h);
   - ct: the modified Shepp-Logan phantom's exact line integrals (closed-form ellipse chords along the documented
     rays) at 64 x 64 and 128 x 128, parallel and fan beam: within CT_PHANTOM_TOL and first-order convergence; and
     the committed fixture tests/unit/fixtures/ct_astra.h5 (tests/unit/make_ct_fixture.py): ASTRA's CPU "linear"
     (Joseph) parallel-beam sinograms to its float32 rounding, its "line_fanflat" fan-beam one (another model: ASTRA
     has no CPU Joseph fan projector) within CT_ASTRA_FAN_TOL. */
#include "operatortest.h"
#include "operators/operatorimpl.h" /* DpsOperatorLoadGroup: the fixture's operators are groups of their cases */

/* documented tolerances of the ct comparisons (methods.md section 8) */
#define CT_PHANTOM_TOL        0.035 /* measured 0.028 at 128 x 128, 0.059 at 64: first order (the phantom has jumps) */
#define CT_ASTRA_PARALLEL_TOL 1e-5  /* ASTRA computes in float32: measured 2.6e-6 */
#define CT_ASTRA_FAN_TOL      2e-3  /* another model (intersection lengths): measured 5.5e-4 */

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

/* the modified Shepp-Logan phantom (Toft): density, semi-axes a, b, centre (x0, y0), rotation (degrees), with
   lengths in units of half the image width */
static const PetscReal SheppLogan[10][6] = {
  {1.0,  0.69,   0.92,  0,     0,       0  },
  {-0.8, 0.6624, 0.874, 0,     -0.0184, 0  },
  {-0.2, 0.11,   0.31,  0.22,  0,       -18},
  {-0.2, 0.16,   0.41,  -0.22, 0,       18 },
  {0.1,  0.21,   0.25,  0,     0.35,    0  },
  {0.1,  0.046,  0.046, 0,     0.1,     0  },
  {0.1,  0.046,  0.046, 0,     -0.1,    0  },
  {0.1,  0.046,  0.023, -0.08, -0.605,  0  },
  {0.1,  0.023,  0.023, 0,     -0.606,  0  },
  {0.1,  0.023,  0.046, 0.06,  -0.605,  0  }
};

/* the phantom's density at (x, y) (pixel units, image N x N centred at 0, y up) and its exact integral along the
   line p + s d (|d| = 1): the chord of each ellipse, from the quadratic |q' + s e'|^2 = 1 in the unit-circle frame */
static PetscReal PhantomAt(PetscInt N, PetscReal x, PetscReal y)
{
  PetscReal v = 0.0, h = 0.5 * N;
  for (int e = 0; e < 10; e++) {
    const PetscReal *E = SheppLogan[e], ph = E[5] * PETSC_PI / 180.0, dx = x - h * E[3], dy = y - h * E[4];
    PetscReal        u = (PetscCosReal(ph) * dx + PetscSinReal(ph) * dy) / (h * E[1]), w = (-PetscSinReal(ph) * dx + PetscCosReal(ph) * dy) / (h * E[2]);
    if (u * u + w * w <= 1.0) v += E[0];
  }
  return v;
}

static PetscReal PhantomLine(PetscInt N, const PetscReal p[2], const PetscReal d[2])
{
  PetscReal v = 0.0, h = 0.5 * N;
  for (int e = 0; e < 10; e++) {
    const PetscReal *E = SheppLogan[e], ph = E[5] * PETSC_PI / 180.0, c = PetscCosReal(ph), s = PetscSinReal(ph);
    PetscReal        qx = p[0] - h * E[3], qy = p[1] - h * E[4];
    PetscReal        qu = (c * qx + s * qy) / (h * E[1]), qw = (-s * qx + c * qy) / (h * E[2]);
    PetscReal        eu = (c * d[0] + s * d[1]) / (h * E[1]), ew = (-s * d[0] + c * d[1]) / (h * E[2]);
    PetscReal        A = eu * eu + ew * ew, B = 2 * (qu * eu + qw * ew), C = qu * qu + qw * qw - 1, disc = B * B - 4 * A * C;
    if (disc > 0) v += E[0] * PetscSqrtReal(disc) / A;
  }
  return v;
}

/* A x of the phantom (4 x 4 subsamples per pixel) against the exact line integrals along the documented rays:
   the relative L2 error of the sinogram, at N = 64 and 128, parallel (180 angles over [0, pi)) and fan (360 over
   [0, 2 pi), source 2N and detector N from the centre) */
static PetscErrorCode PhantomError(DpsCTGeometry geom, PetscInt N, PetscReal *relerr)
{
  const PetscInt na = geom == DPS_CT_PARALLEL ? 180 : 360, D = (PetscInt)(1.5 * N);
  const PetscReal ds = geom == DPS_CT_PARALLEL ? 1.0 : 1.5, S = 2.0 * N, E = 1.0 * N;
  PetscReal      *x, *y, *angles, num = 0.0, den = 0.0;
  DpsOperator     op;

  PetscFunctionBegin;
  PetscCall(PetscMalloc3(N * N, &x, na * D, &y, na, &angles));
  for (PetscInt a = 0; a < na; a++) angles[a] = (geom == DPS_CT_PARALLEL ? PETSC_PI : 2 * PETSC_PI) * a / na;
  for (PetscInt r = 0; r < N; r++)
    for (PetscInt c = 0; c < N; c++) {
      PetscReal v = 0.0;
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) v += PhantomAt(N, c - 0.5 * N + (j + 0.5) / 4, 0.5 * N - r - (i + 0.5) / 4);
      x[r * N + c] = v / 16;
    }
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORCT));
  PetscCall(DpsOperatorSetDataShape(op, 1, N, N));
  PetscCall(DpsOperatorCTSetGeometry(op, geom, na, angles, D, ds, S, E));
  PetscCall(DpsOperatorApplyArray(op, x, y));
  for (PetscInt a = 0; a < na; a++) {
    const PetscReal c = PetscCosReal(angles[a]), s = PetscSinReal(angles[a]);
    for (PetscInt k = 0; k < D; k++) {
      PetscReal t = (k - 0.5 * (D - 1)) * ds, p[2], d[2], exact;
      if (geom == DPS_CT_PARALLEL) {
        p[0] = t * c;
        p[1] = t * s;
        d[0] = s;
        d[1] = -c;
      } else {
        PetscReal bx = -E * s + t * c, by = E * c + t * s, len;
        p[0] = S * s;
        p[1] = -S * c;
        len  = PetscSqrtReal(PetscSqr(bx - p[0]) + PetscSqr(by - p[1]));
        d[0] = (bx - p[0]) / len;
        d[1] = (by - p[1]) / len;
      }
      exact = PhantomLine(N, p, d);
      num += PetscSqr(y[a * D + k] - exact);
      den += PetscSqr(exact);
    }
  }
  *relerr = PetscSqrtReal(num / den);
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(PetscFree3(x, y, angles));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestCTPhantom(void)
{
  PetscFunctionBegin;
  for (int g = 0; g < 2; g++) {
    PetscReal e64, e128;
    PetscCall(PhantomError((DpsCTGeometry)g, 64, &e64));
    PetscCall(PhantomError((DpsCTGeometry)g, 128, &e128));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "ct %s: Shepp-Logan sinogram against the exact line integrals, relative L2 error %.4f at 64 x 64, %.4f at 128 x 128\n", DpsCTGeometries[g], e64, e128));
    DPS_CHECK(e128 <= CT_PHANTOM_TOL && e128 < 0.6 * e64, "ct %s: phantom error %.4f at 128 (%.4f at 64): above %.3f, or not decreasing with the grid", DpsCTGeometries[g], e128, e64, CT_PHANTOM_TOL);
  }
  PetscFunctionReturn(0);
}

/* small geometries through every check (odd sizes, angles on the diagonals where Joseph switches sweeps) */
static PetscErrorCode TestCTSmall(DpsTestRng *rng)
{
  const PetscReal angles[7] = {0.0, PETSC_PI / 4, PETSC_PI / 2, 3 * PETSC_PI / 4, 0.3, 2.0, 4.0};
  DpsOperator     op;

  PetscFunctionBegin;
  for (int g = 0; g < 2; g++) {
    char what[64];
    PetscCall(PetscSNPrintf(what, sizeof(what), "ct %s 7 x 9 (2 channels)", DpsCTGeometries[g]));
    PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
    PetscCall(DpsOperatorSetType(op, DPSOPERATORCT));
    PetscCall(DpsOperatorSetDataShape(op, 2, 7, 9));
    PetscCall(DpsOperatorCTSetGeometry(op, (DpsCTGeometry)g, 7, angles, 13, 0.9, 12.0, 5.0));
    PetscCall(CheckOperator(op, what, rng, PETSC_FALSE, PETSC_FALSE, NULL));
    PetscCall(CheckRoundTrip(op, what));
    PetscCall(DpsOperatorDestroy(&op));
  }
  PetscFunctionReturn(0);
}

/* ASTRA's sinograms of the committed fixture: parallel beam to rounding (the same Joseph model), fan beam against
   ASTRA's line_fanflat (a different model of the same integrals) within CT_ASTRA_FAN_TOL */
static PetscErrorCode TestCTAstra(const char fixture[])
{
  const char *cases[] = {"parallel_random", "parallel_exact_angles", "fan_smooth"};
  hid_t       f;

  PetscFunctionBegin;
  PetscCall(DpsH5Open(PETSC_COMM_SELF, fixture, PETSC_FALSE, &f));
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char        path[128];
    hsize_t     xd[3], yd[2];
    PetscReal  *x, *y, *Ax, maxerr = 0.0, ymax = 0.0, num = 0.0, den = 0.0;
    DpsOperator op;
    PetscBool   fan;
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/x", cases[c]));
    PetscCall(DpsH5GetDims(f, fixture, path, 3, "(C, H, W)", xd));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/y", cases[c]));
    PetscCall(DpsH5GetDims(f, fixture, path, 2, "(angles, bins)", yd));
    PetscCall(PetscMalloc3(xd[0] * xd[1] * xd[2], &x, yd[0] * yd[1], &y, yd[0] * yd[1], &Ax));
    PetscCall(DpsH5ReadAll(f, fixture, path, y));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/x", cases[c]));
    PetscCall(DpsH5ReadAll(f, fixture, path, x));
    PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
    PetscCall(DpsOperatorSetDataShape(op, (PetscInt)xd[0], (PetscInt)xd[1], (PetscInt)xd[2]));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/operator", cases[c]));
    PetscCall(DpsOperatorLoadGroup(op, f, fixture, path));
    PetscCall(DpsOperatorApplyArray(op, x, Ax));
    for (hsize_t i = 0; i < yd[0] * yd[1]; i++) {
      maxerr = PetscMax(maxerr, PetscAbsReal(Ax[i] - y[i]));
      ymax   = PetscMax(ymax, PetscAbsReal(y[i]));
      num += PetscSqr(Ax[i] - y[i]);
      den += PetscSqr(y[i]);
    }
    PetscCall(PetscStrncmp(cases[c], "fan", 3, &fan));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "ct %s against ASTRA: max |A x - astra| / max |y| = %.2e, relative L2 %.2e\n", cases[c], maxerr / ymax, PetscSqrtReal(num / den)));
    if (fan) DPS_CHECK(PetscSqrtReal(num / den) <= CT_ASTRA_FAN_TOL, "ct %s: differs from ASTRA's line_fanflat by %.2e relative L2", cases[c], PetscSqrtReal(num / den));
    else DPS_CHECK(maxerr <= CT_ASTRA_PARALLEL_TOL * ymax, "ct %s: differs from ASTRA's linear projector by %.2e", cases[c], maxerr / ymax);
    PetscCall(DpsOperatorDestroy(&op));
    PetscCall(PetscFree3(x, y, Ax));
  }
  PetscCall(DpsH5Close(&f));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsTestRng rng;
  char       fixture[PETSC_MAX_PATH_LEN] = "", ctfixture[PETSC_MAX_PATH_LEN] = "";
  PetscBool  flg;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-fixture", fixture, sizeof(fixture), &flg));
  PetscCheck(flg, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "give -fixture tests/unit/fixtures/mri_numpy.h5");
  PetscCall(PetscOptionsGetString(NULL, NULL, "-ct_fixture", ctfixture, sizeof(ctfixture), &flg));
  PetscCheck(flg, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "give -ct_fixture tests/unit/fixtures/ct_astra.h5");
  PetscCall(DpsInitializePackage());
  DpsTestRngSeed(&rng, 13);
  PetscCall(TestMatrix(&rng));
  PetscCall(TestMRIFixture(fixture, &rng));
  PetscCall(TestCTSmall(&rng));
  PetscCall(TestCTPhantom());
  PetscCall(TestCTAstra(ctfixture));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "worst adjoint relative error over every operator: %.2e\n", worst_adjoint));
  DPS_TEST_END();
}
