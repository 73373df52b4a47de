/* dpsolve simulate: a Gaussian-mixture benchmark problem (methods.md section 7, the MCGdiff construction).
   The file holds the prior (/prior), the operator (/operator), ground truth /x0 [N, d], measurements /y [N, m],
   and the attributes sigma_y and data_shape. Every number comes from Philox keyed by -seed. */
#include "app/app.h"
#include <petscblaslapack.h>
#include "io/h5.h"

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

PetscErrorCode DpsAppSimulate(MPI_Comm comm)
{
  char        output[PETSC_MAX_PATH_LEN] = "", optype[16] = "cs";
  PetscInt    dx = 8, dy = 1, N = 16, seed = 0, box[4] = {0, 0, 0, 0}, nbox = 4, shape[3];
  PetscReal   missing = 0.7, sigma_y = -1.0, smax = 1.0, u;
  PetscBool   force = PETSC_FALSE, hasout, hasbox, setsigma;
  PetscMPIInt rank;
  DpsOperator op;
  DpsScore    score;
  PetscReal   w[25], var[25], *mu, *x0, *y, *z;
  hid_t       file;

  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "dpsolve simulate: a Gaussian-mixture benchmark problem", NULL);
  PetscCall(PetscOptionsString("-output", "Input file to write", NULL, output, output, sizeof(output), &hasout));
  PetscCall(PetscOptionsBool("-force", "Replace an existing file", NULL, force, &force, NULL));
  PetscCall(PetscOptionsInt("-dx", "Signal dimension d_x", NULL, dx, &dx, NULL));
  PetscCall(PetscOptionsInt("-dy", "Measurement dimension d_y (cs)", NULL, dy, &dy, NULL));
  PetscCall(PetscOptionsInt("-inputs", "Number of inputs N (ground truths and measurements)", NULL, N, &N, NULL));
  PetscCall(PetscOptionsInt("-seed", "Problem seed", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsString("-simulate_operator", "Operator: cs (MCGdiff) or inpaint", NULL, optype, optype, sizeof(optype), NULL));
  PetscCall(PetscOptionsReal("-inpaint_missing", "inpaint: fraction of entries missing at random", NULL, missing, &missing, NULL));
  PetscCall(PetscOptionsIntArray("-inpaint_box", "inpaint: missing box row0,col0,height,width on the 1 x dx grid", NULL, box, &nbox, &hasbox));
  PetscCall(PetscOptionsReal("-simulate_sigma_y", "Noise level (default: u max(s), u ~ U(0,1))", NULL, sigma_y, &sigma_y, &setsigma));
  PetscOptionsEnd();
  PetscCall(DpsOptionsCheckAllUsed(comm, "simulate"));
  PetscCheck(hasout, comm, PETSC_ERR_USER_INPUT, "dpsolve simulate needs -output <file.h5>");
  PetscCheck(dx >= 1 && N >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-dx %" PetscInt_FMT " and -inputs %" PetscInt_FMT " must be positive", dx, N);
  PetscCheck(dy >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-dy %" PetscInt_FMT " must be positive", dy);
  PetscCheck(!hasbox || nbox == 4, comm, PETSC_ERR_ARG_WRONG, "-inpaint_box needs 4 integers row0,col0,height,width (got %" PetscInt_FMT ")", nbox);
  PetscCheck(missing >= 0 && missing <= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-inpaint_missing %g must lie in [0, 1]", (double)missing);
  PetscCheck(!setsigma || sigma_y > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-simulate_sigma_y %g must be positive", (double)sigma_y);
  PetscCall(DpsCheckOutputPath(comm, output, force));
  shape[0] = 1;
  shape[1] = 1;
  shape[2] = dx;

  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, optype));
  if (!strcmp(optype, DPSOPERATORCS)) {
    PetscReal *A;
    PetscCall(PetscMalloc1(dy * dx, &A));
    PetscCall(DpsSimulateCS(seed, dy, dx, A, &smax));
    PetscCall(DpsOperatorCSSetMatrix(op, dy, dx, A));
    PetscCall(PetscFree(A));
  } else {
    PetscReal *mask;
    PetscCall(PetscMalloc1(dx, &mask));
    PetscCall(DpsSimulateMask(seed, shape, missing, box, hasbox, mask));
    PetscCall(DpsOperatorInpaintSetMask(op, dx, mask));
    PetscCall(PetscFree(mask));
  }
  PetscCall(DpsOperatorSetUp(op));
  PetscCall(DpsOperatorGetSizes(op, &dy, NULL));
  if (!setsigma) {
    PetscCall(DpsSimulateDraw(seed, 0, SLOT_NOISE_LEVEL, PETSC_FALSE, 1, &u));
    sigma_y = u * smax;
  }

  PetscCall(PetscMalloc4(25 * dx, &mu, N * dx, &x0, N * dy, &y, PetscMax(dx, dy), &z));
  PetscCall(DpsSimulatePrior(seed, dx, w, mu, var));
  {
    PetscReal total = 0.0;
    for (PetscInt k = 0; k < 25; k++) total += w[k];
    for (PetscInt i = 0; i < N; i++) {
      PetscReal c = 0.0;
      PetscInt  k = 24;
      PetscCall(DpsSimulateDraw(seed, i, SLOT_COMPONENT, PETSC_FALSE, 1, &u));
      for (PetscInt j = 0; j < 25; j++) {
        c += w[j] / total;
        if (u < c) {
          k = j;
          break;
        }
      }
      PetscCall(DpsSimulateDraw(seed, i, SLOT_SIGNAL, PETSC_TRUE, dx, z));
      for (PetscInt e = 0; e < dx; e++) x0[i * dx + e] = mu[k * dx + e] + PetscSqrtReal(var[k]) * z[e];
      PetscCall(DpsOperatorApplyArray(op, x0 + i * dx, y + i * dy));
      PetscCall(DpsSimulateDraw(seed, i, SLOT_MEASUREMENT_NOISE, PETSC_TRUE, dy, z));
      for (PetscInt l = 0; l < dy; l++) y[i * dy + l] += sigma_y * z[l];
    }
  }
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &score));
  PetscCall(DpsScoreSetType(score, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(score, 25, dx, w, mu, var));

  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    hsize_t dxdims[2] = {(hsize_t)N, (hsize_t)dx}, dydims[2] = {(hsize_t)N, (hsize_t)dy};
    PetscCall(DpsH5Create(PETSC_COMM_SELF, output, &file));
    PetscCall(DpsScoreSave(score, file));
    PetscCall(DpsOperatorSave(op, file));
    PetscCall(DpsH5WriteAll(file, "/x0", 2, dxdims, x0));
    PetscCall(DpsH5WriteAll(file, "/y", 2, dydims, y));
    PetscCall(DpsH5WriteRealAttribute(file, "/", "sigma_y", sigma_y));
    PetscCall(DpsH5WriteIntArrayAttribute(file, "/", "data_shape", 3, shape));
    PetscCall(DpsH5WriteIntAttribute(file, "/", "seed", seed));
    PetscCall(DpsH5WriteStringAttribute(file, "/", "problem", "Gaussian mixture, MCGdiff construction (methods.md section 7)"));
    PetscCall(DpsH5WriteStringAttribute(file, "/", "version", DPSOLVE_VERSION));
    PetscCall(DpsH5Close(&file));
  }
  PetscCallMPI(MPI_Barrier(comm));
  PetscCall(PetscPrintf(comm, "wrote %s: %" PetscInt_FMT " inputs, d_x = %" PetscInt_FMT ", d_y = %" PetscInt_FMT ", operator %s, sigma_y = %.4g\n", output, N, dx, dy, optype, (double)sigma_y));
  PetscCall(PetscFree4(mu, x0, y, z));
  PetscCall(DpsScoreDestroy(&score));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}
