/* The Gaussian-mixture benchmark problems of MCGdiff (methods.md section 7): prior, operator, noise level,
   ground truths and measurements, every number drawn from Philox keyed by the problem seed. */
#include <dpsolve/dpsolve.h>
#include <petscblaslapack.h>

/* slots of the problem stream (draw index) */
enum { SLOT_WEIGHTS, SLOT_GAUSSIAN_MATRIX, SLOT_SINGULAR_VALUES, SLOT_NOISE_LEVEL, SLOT_MASK, SLOT_COMPONENT = 10, SLOT_SIGNAL, SLOT_MEASUREMENT_NOISE };

static PetscErrorCode DpsSimulateDraw(PetscInt64 seed, PetscInt input, PetscInt slot, PetscBool normal, PetscInt n, PetscReal out[])
{
  DpsRandomAddress a = {seed, input, slot, 0, DPS_STREAM_PROBLEM};

  PetscFunctionBegin;
  if (normal) PetscCall(DpsRandomNormals(a, n, out));
  else PetscCall(DpsRandomUniforms(a, n, out));
  PetscFunctionReturn(0);
}

/* 25 components at mu_(i,j) = (8i, 8j, 8i, 8j, ...), i, j in {-2..2}, unit variances, weights q^2, q ~ N(0, I) */
static PetscErrorCode DpsSimulatePrior(PetscInt64 seed, PetscInt d, PetscReal w[], PetscReal mu[], PetscReal var[])
{
  PetscFunctionBegin;
  PetscCall(DpsSimulateDraw(seed, 0, SLOT_WEIGHTS, PETSC_TRUE, 25, w));
  for (PetscInt i = -2, k = 0; i <= 2; i++)
    for (PetscInt j = -2; j <= 2; j++, k++) {
      w[k]   = w[k] * w[k];
      var[k] = 1.0;
      for (PetscInt e = 0; e < d; e++) mu[k * d + e] = 8.0 * (e % 2 == 0 ? i : j);
    }
  PetscFunctionReturn(0);
}

static int DpsCompareDescending(const void *a, const void *b)
{
  PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return x < y ? 1 : (x > y ? -1 : 0);
}

/* A = U diag(s) V^T[:dy] from the SVD of a standard Gaussian dy x dx matrix, s sorted descending U(0, 1) */
static PetscErrorCode DpsSimulateCS(PetscInt64 seed, PetscInt dy, PetscInt dx, PetscReal A[], PetscReal *smax)
{
  PetscReal   *G, *s, *sv, *U, *VT, *work, wq;
  PetscBLASInt bm, bn, lwork = -1, info;

  PetscFunctionBegin;
  PetscCheck(dy <= dx, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-dy %" PetscInt_FMT " must not exceed -dx %" PetscInt_FMT, dy, dx);
  PetscCall(PetscMalloc5(dy * dx, &G, dy, &s, dy, &sv, dx * dy, &U, dy * dy, &VT));
  PetscCall(DpsSimulateDraw(seed, 0, SLOT_GAUSSIAN_MATRIX, PETSC_TRUE, dy * dx, G));
  PetscCall(DpsSimulateDraw(seed, 0, SLOT_SINGULAR_VALUES, PETSC_FALSE, dy, s));
  qsort(s, (size_t)dy, sizeof(PetscReal), DpsCompareDescending);
  /* row-major G (dy x dx) is column-major Gc = G^T (dx x dy) = U' S V'^T, so G = V' S U'^T:
     left singular vectors of G are V' (VT holds V'^T), right ones the columns of U' */
  PetscCall(PetscBLASIntCast(dx, &bm));
  PetscCall(PetscBLASIntCast(dy, &bn));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("S", "A", &bm, &bn, G, &bm, sv, U, &bm, VT, &bn, &wq, &lwork, &info));
  lwork = (PetscBLASInt)wq;
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("S", "A", &bm, &bn, G, &bm, sv, U, &bm, VT, &bn, work, &lwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "SVD of the Gaussian matrix failed (info %d)", (int)info);
  for (PetscInt i = 0; i < dy; i++)
    for (PetscInt j = 0; j < dx; j++) {
      PetscReal a = 0.0;
      for (PetscInt l = 0; l < dy; l++) a += VT[l + i * dy] * s[l] * U[j + l * dx];
      A[i * dx + j] = a;
    }
  *smax = s[0];
  PetscCall(PetscFree(work));
  PetscCall(PetscFree5(G, s, sv, U, VT));
  PetscFunctionReturn(0);
}

/* Inpainting mask on the (C, H, W) grid: a random fraction missing, or a box missing in every channel */
static PetscErrorCode DpsSimulateMask(PetscInt64 seed, const PetscInt shape[3], PetscReal missing, const PetscInt box[4], PetscBool hasbox, PetscReal mask[])
{
  const PetscInt C = shape[0], H = shape[1], W = shape[2];

  PetscFunctionBegin;
  if (hasbox) {
    for (PetscInt c = 0; c < C; c++)
      for (PetscInt h = 0; h < H; h++)
        for (PetscInt w = 0; w < W; w++) mask[(c * H + h) * W + w] = (h >= box[0] && h < box[0] + box[2] && w >= box[1] && w < box[1] + box[3]) ? 0.0 : 1.0;
  } else {
    PetscCall(DpsSimulateDraw(seed, 0, SLOT_MASK, PETSC_FALSE, C * H * W, mask));
    for (PetscInt e = 0; e < C * H * W; e++) mask[e] = mask[e] < missing ? 0.0 : 1.0;
  }
  PetscFunctionReturn(0);
}


PetscErrorCode DpsGMMProblemCreate(const DpsGMMProblemSpec *spec, DpsScore *prior, DpsOperator *op, PetscReal *sigma_y)
{
  const PetscInt dx = spec->dx, shape[3] = {1, 1, spec->dx};
  PetscReal      w[25], var[25], *mu, smax = 1.0, u;
  PetscInt       dy = spec->dy;

  PetscFunctionBegin;
  PetscCheck(dx >= 1 && dy >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-dx %" PetscInt_FMT " and -dy %" PetscInt_FMT " must be positive", dx, dy);
  PetscCheck(spec->missing >= 0 && spec->missing <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-inpaint_missing %g must lie in [0, 1]", (double)spec->missing);
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, op));
  PetscCall(DpsOperatorSetType(*op, spec->operator_type));
  if (!strcmp(spec->operator_type, DPSOPERATORCS) || !strcmp(spec->operator_type, DPSOPERATORMATRIX)) {
    PetscReal *A;
    PetscCall(PetscMalloc1(dy * dx, &A));
    PetscCall(DpsSimulateCS(spec->seed, dy, dx, A, &smax));
    if (!strcmp(spec->operator_type, DPSOPERATORCS)) PetscCall(DpsOperatorCSSetMatrix(*op, dy, dx, A));
    else {
      /* the same matrix as cs, stored as CSR with every entry (a matrix user's system matrix) */
      PetscInt *indptr, *indices;
      PetscCall(PetscMalloc2(dy + 1, &indptr, dy * dx, &indices));
      for (PetscInt i = 0; i <= dy; i++) indptr[i] = i * dx;
      for (PetscInt e = 0; e < dy * dx; e++) indices[e] = e % dx;
      PetscCall(DpsOperatorMatrixSetCSR(*op, dy, dx, indptr, indices, A));
      PetscCall(PetscFree2(indptr, indices));
    }
    PetscCall(PetscFree(A));
  } else if (!strcmp(spec->operator_type, DPSOPERATORMRI)) {
    /* single-coil MRI of a complex 1 x (dx / 2) image (data shape (2, 1, dx/2)): every other k-space column and
       the centre sampled; complex images have an SVD (ddrm) */
    const PetscInt W = dx / 2;
    PetscReal     *mask;
    PetscCheck(dx % 2 == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-dx %" PetscInt_FMT ": operator mri needs an even dx (a complex image of dx/2 pixels)", dx);
    PetscCall(DpsOperatorSetDataShape(*op, 2, 1, W));
    PetscCall(PetscMalloc1(W, &mask));
    for (PetscInt w = 0; w < W; w++) mask[w] = (w % 2 == 0 || w == W / 2) ? 1.0 : 0.0;
    PetscCall(DpsOperatorMRISetMask(*op, 1, W, mask));
    PetscCall(PetscFree(mask));
  } else if (!strcmp(spec->operator_type, DPSOPERATORCT)) {
    /* parallel-beam CT of a 2 x (dx / 2) image: dy angles evenly over [0, pi), dx/2 + 1 bins of one pixel */
    PetscReal *angles;
    PetscCheck(dx % 2 == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-dx %" PetscInt_FMT ": operator ct needs an even dx (a 2 x dx/2 image)", dx);
    PetscCall(DpsOperatorSetDataShape(*op, 1, 2, dx / 2));
    PetscCall(PetscMalloc1(dy, &angles));
    for (PetscInt a = 0; a < dy; a++) angles[a] = PETSC_PI * a / dy;
    PetscCall(DpsOperatorCTSetGeometry(*op, DPS_CT_PARALLEL, dy, angles, dx / 2 + 1, 1.0, 0.0, 0.0));
    PetscCall(PetscFree(angles));
  } else if (strcmp(spec->operator_type, DPSOPERATORINPAINT)) {
    /* an image operator on a 1 x 2 x (dx / 2) image, with an SVD (ddrm): blur circular (default kernel), sr block
       by 2, a chain of one blur (operator.h) */
    PetscCheck(dx % 2 == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-dx %" PetscInt_FMT ": operator %s needs an even dx (a 2 x dx/2 image)", dx, spec->operator_type);
    PetscCall(DpsOperatorSetDataShape(*op, 1, 2, dx / 2));
    if (!strcmp(spec->operator_type, DPSOPERATORSR)) PetscCall(DpsOperatorSRSetFactor(*op, 2, DPS_SR_BLOCK));
    else if (!strcmp(spec->operator_type, DPSOPERATORBLUR)) PetscCall(DpsOperatorBlurSetMode(*op, DPS_BLUR_CIRCULAR));
    else if (!strcmp(spec->operator_type, DPSOPERATORCHAIN)) {
      DpsOperator part;
      PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &part));
      PetscCall(DpsOperatorSetType(part, DPSOPERATORBLUR));
      PetscCall(DpsOperatorSetDataShape(part, 1, 2, dx / 2));
      PetscCall(DpsOperatorBlurSetMode(part, DPS_BLUR_CIRCULAR));
      PetscCall(DpsOperatorChainSetParts(*op, 1, &part));
      PetscCall(DpsOperatorDestroy(&part));
    }
  } else {
    PetscReal *mask;
    PetscCall(PetscMalloc1(dx, &mask));
    PetscCall(DpsSimulateMask(spec->seed, shape, spec->missing, spec->box, spec->hasbox, mask));
    PetscCall(DpsOperatorInpaintSetMask(*op, dx, mask));
    PetscCall(PetscFree(mask));
  }
  PetscCall(DpsOperatorSetUp(*op));
  *sigma_y = spec->sigma_y;
  if (*sigma_y <= 0) {
    PetscCall(DpsSimulateDraw(spec->seed, 0, SLOT_NOISE_LEVEL, PETSC_FALSE, 1, &u));
    *sigma_y = u * smax;
  }
  PetscCall(PetscMalloc1(25 * dx, &mu));
  PetscCall(DpsSimulatePrior(spec->seed, dx, w, mu, var));
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, prior));
  PetscCall(DpsScoreSetType(*prior, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(*prior, 25, dx, w, mu, var));
  PetscCall(PetscFree(mu));
  PetscFunctionReturn(0);
}

/* Inputs [i0, i0 + n): x* ~ prior, y = A x* + sigma_y n */
PetscErrorCode DpsGMMProblemDraw(const DpsGMMProblemSpec *spec, DpsScore prior, DpsOperator op, PetscReal sigma_y, PetscInt i0, PetscInt n, PetscReal x0[], PetscReal y[])
{
  PetscInt         K, d, m;
  const PetscReal *w, *mu, *var;
  PetscReal       *z, u;

  PetscFunctionBegin;
  PetscCall(DpsScoreGMMGetPrior(prior, &K, &d, &w, &mu, &var));
  PetscCall(DpsOperatorGetSizes(op, &m, NULL));
  PetscCall(PetscMalloc1(PetscMax(d, m), &z));
  for (PetscInt i = i0; i < i0 + n; i++) {
    PetscReal *xi = x0 + (i - i0) * d, *yi = y + (i - i0) * m, c = 0.0;
    PetscInt   k = K - 1;
    PetscCall(DpsSimulateDraw(spec->seed, i, SLOT_COMPONENT, PETSC_FALSE, 1, &u));
    for (PetscInt j = 0; j < K; j++) {
      c += w[j]; /* normalised by the score */
      if (u < c) {
        k = j;
        break;
      }
    }
    PetscCall(DpsSimulateDraw(spec->seed, i, SLOT_SIGNAL, PETSC_TRUE, d, z));
    for (PetscInt e = 0; e < d; e++) xi[e] = mu[k * d + e] + PetscSqrtReal(var[k]) * z[e];
    PetscCall(DpsOperatorApplyArray(op, xi, yi));
    PetscCall(DpsSimulateDraw(spec->seed, i, SLOT_MEASUREMENT_NOISE, PETSC_TRUE, m, z));
    for (PetscInt l = 0; l < m; l++) yi[l] += sigma_y * z[l];
  }
  PetscCall(PetscFree(z));
  PetscFunctionReturn(0);
}
