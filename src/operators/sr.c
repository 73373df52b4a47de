/* Super-resolution (methods.md section 8): each channel of an H x W image is reduced by an integer factor f to
   (H / f) x (W / f). Two kinds:
   - block: the mean of each f x f block. A A^T = I / f^2, A^T A = P / f^2 with P the projection onto images
     constant on blocks, so (a I + b A^T A)^{-1} = (I - P) / a + P / (a + b / f^2), diag(A^T A) = 1 / f^4, and
     A diag(v) A^T is diagonal (the block sums of v over f^4). SVD: U = I, sv = 1 / f on the first m coordinates;
     V's first m columns are the normalised block indicators, the others a Householder basis of each block's
     zero-mean images.
   - bicubic: the reference code's resizer (MATLAB imresize with antialiasing, util/resizer.py of the DPS code):
     separable, Y = R_H X R_W^T with the 1-D matrices of DpsSRBicubicMatrix. Its SVD is the Kronecker product of the
     1-D SVDs (LAPACK dgesvd of each R), from which (a I + b A^T A)^{-1} = V diag(1 / (a + b sv^2)) V^T is exact. */
#include <dpsolve/dpsolve.h>
#include <petscblaslapack.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"

const char *const DpsSRKinds[] = {"block", "bicubic", "DpsSRKind", "DPS_SR_", NULL};

typedef struct {
  PetscInt   f;
  DpsSRKind  kind;
  PetscInt   H, W, h, w;     /* image and its reduction */
  PetscReal *Rh, *Rw;        /* bicubic: [h x H], [w x W] row-major */
  PetscReal *Uh, *Vh, *Uw, *Vw, *sh, *sw; /* bicubic SVD: R = U diag(s) V^T; U [h x h], V [H x H] row-major */
  PetscReal *t1, *t2;        /* [H x W] work */
  PetscReal *hh;             /* block SVD: the Householder vector v = e_0 - 1 / f (over one block), |v|^2 below */
  PetscReal  hh2;
} Operator_SR;

static PetscReal Cubic(PetscReal x)
{
  PetscReal a = PetscAbsReal(x), a2 = a * a, a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1.0;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0;
  return 0.0;
}

/* The resizer's 1-D weights for n -> n / f (scale s = 1 / f, antialiasing): output p = 1 .. n / f (1-based) sits
   at u = f p + (1 - f) / 2 on the input; it sees the 1-based positions floor(u - 2 f) + j, j = 0 .. ceil(4 f) + 1,
   with weights s cubic(s (u - position)) normalised to sum 1; positions outside [1, n] are mirrored with the edge
   repeated (0-based index t -> t mod 2n, then 2n - 1 - t beyond n - 1), and their weights added there. */
PetscErrorCode DpsSRBicubicMatrix(PetscInt n, PetscInt f, PetscReal R[])
{
  const PetscInt  out = n / f, taps = (PetscInt)PetscCeilReal(4.0 * f) + 2;
  const PetscReal s   = 1.0 / f;
  PetscReal      *w;

  PetscFunctionBegin;
  PetscCheck(f >= 1 && n % f == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "bicubic reduction of %" PetscInt_FMT " by %" PetscInt_FMT ": the factor must divide the size", n, f);
  PetscCall(PetscMalloc1(taps, &w));
  for (PetscInt e = 0; e < out * n; e++) R[e] = 0.0;
  for (PetscInt p = 1; p <= out; p++) {
    PetscReal u = f * p + 0.5 * (1.0 - f), left = PetscFloorReal(u - 2.0 * f), sum = 0.0;
    for (PetscInt j = 0; j < taps; j++) sum += (w[j] = s * Cubic(s * (u - (left + j))));
    if (sum == 0.0) sum = 1.0;
    for (PetscInt j = 0; j < taps; j++) {
      PetscInt t = ((PetscInt)left + j - 1) % (2 * n);
      if (t < 0) t += 2 * n;
      if (t >= n) t = 2 * n - 1 - t;
      R[(p - 1) * n + t] += w[j] / sum;
    }
  }
  PetscCall(PetscFree(w));
  PetscFunctionReturn(0);
}

/* out [r x c] = op(M) in, for row-major M (rows x cols); trans: M^T */
static void MatVecRow(PetscBool trans, PetscInt rows, PetscInt cols, const PetscReal M[], const PetscReal in[], PetscInt instride, PetscReal out[], PetscInt outstride)
{
  if (!trans)
    for (PetscInt i = 0; i < rows; i++) {
      PetscReal a = 0.0;
      for (PetscInt j = 0; j < cols; j++) a += M[i * cols + j] * in[j * instride];
      out[i * outstride] = a;
    }
  else {
    for (PetscInt j = 0; j < cols; j++) out[j * outstride] = 0.0;
    for (PetscInt i = 0; i < rows; i++)
      for (PetscInt j = 0; j < cols; j++) out[j * outstride] += M[i * cols + j] * in[i * instride];
  }
}

/* Z [P x Q] = L X M^T for one channel, X [p x q]: L [P x p] (or L^T when tl: L is [p x P]), M [Q x q] (or M^T) */
static void Separable(Operator_SR *sr, const PetscReal L[], PetscBool tl, PetscInt P, PetscInt p, const PetscReal M[], PetscBool tm, PetscInt Q, PetscInt q, const PetscReal X[], PetscReal Z[])
{
  PetscReal *T = sr->t1; /* [p x Q]: rows of X times M^T */
  for (PetscInt i = 0; i < p; i++) {
    if (!tm) MatVecRow(PETSC_FALSE, Q, q, M, X + i * q, 1, T + i * Q, 1);
    else MatVecRow(PETSC_TRUE, q, Q, M, X + i * q, 1, T + i * Q, 1);
  }
  for (PetscInt j = 0; j < Q; j++) {
    if (!tl) MatVecRow(PETSC_FALSE, P, p, L, T + j, Q, Z + j, Q);
    else MatVecRow(PETSC_TRUE, p, P, L, T + j, Q, Z + j, Q);
  }
}

static PetscErrorCode DpsOperatorApply_SR(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  Operator_SR   *sr = (Operator_SR *)op->data;
  const PetscInt H = sr->H, W = sr->W, h = sr->h, w = sr->w, f = sr->f;

  PetscFunctionBegin;
  for (PetscInt c = 0; c < op->shape[0]; c++) {
    const PetscReal *xc = x + c * H * W;
    PetscReal       *yc = y + c * h * w;
    if (sr->kind == DPS_SR_BLOCK)
      for (PetscInt i = 0; i < h; i++)
        for (PetscInt j = 0; j < w; j++) {
          PetscReal a = 0.0;
          for (PetscInt di = 0; di < f; di++)
            for (PetscInt dj = 0; dj < f; dj++) a += xc[(f * i + di) * W + f * j + dj];
          yc[i * w + j] = a / (f * f);
        }
    else Separable(sr, sr->Rh, PETSC_FALSE, h, H, sr->Rw, PETSC_FALSE, w, W, xc, yc);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApplyTranspose_SR(DpsOperator op, const PetscReal y[], PetscReal x[])
{
  Operator_SR   *sr = (Operator_SR *)op->data;
  const PetscInt H = sr->H, W = sr->W, h = sr->h, w = sr->w, f = sr->f;

  PetscFunctionBegin;
  for (PetscInt c = 0; c < op->shape[0]; c++) {
    const PetscReal *yc = y + c * h * w;
    PetscReal       *xc = x + c * H * W;
    if (sr->kind == DPS_SR_BLOCK)
      for (PetscInt r = 0; r < H; r++)
        for (PetscInt s = 0; s < W; s++) xc[r * W + s] = yc[(r / f) * w + s / f] / (f * f);
    else Separable(sr, sr->Rh, PETSC_TRUE, H, h, sr->Rw, PETSC_TRUE, W, w, yc, xc);
  }
  PetscFunctionReturn(0);
}

/* block: (I - P) / a + P / (a + b / f^2), P x = the block means spread over their blocks */
static PetscErrorCode DpsOperatorNormalInverse_SRBlock(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  Operator_SR    *sr = (Operator_SR *)op->data;
  const PetscInt  H = sr->H, W = sr->W, f = sr->f;
  const PetscReal q = 1.0 / (a + b / (f * f));

  PetscFunctionBegin;
  for (PetscInt c = 0; c < op->shape[0]; c++)
    for (PetscInt i = 0; i < sr->h; i++)
      for (PetscInt j = 0; j < sr->w; j++) {
        PetscReal mean = 0.0;
        for (PetscInt di = 0; di < f; di++)
          for (PetscInt dj = 0; dj < f; dj++) mean += x[c * H * W + (f * i + di) * W + f * j + dj];
        mean /= f * f;
        for (PetscInt di = 0; di < f; di++)
          for (PetscInt dj = 0; dj < f; dj++) {
            PetscInt e = c * H * W + (f * i + di) * W + f * j + dj;
            y[e]       = (x[e] - mean) / a + mean * q;
          }
      }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorNormalDiagonal_SRBlock(DpsOperator op, PetscReal d[])
{
  Operator_SR *sr = (Operator_SR *)op->data;

  PetscFunctionBegin;
  for (PetscInt e = 0; e < op->n; e++) d[e] = 1.0 / (PetscReal)(sr->f * sr->f * sr->f * sr->f);
  PetscFunctionReturn(0);
}

/* block: A diag(v) A^T = diag(block sums of v) / f^4; v = NULL means v = 1 */
static PetscErrorCode DpsOperatorMeasurementInverse_SRBlock(DpsOperator op, PetscReal cc, const PetscReal v[], const PetscReal y[], PetscReal out[])
{
  Operator_SR   *sr = (Operator_SR *)op->data;
  const PetscInt H = sr->H, W = sr->W, f = sr->f, f4 = f * f * f * f;

  PetscFunctionBegin;
  for (PetscInt c = 0; c < op->shape[0]; c++)
    for (PetscInt i = 0; i < sr->h; i++)
      for (PetscInt j = 0; j < sr->w; j++) {
        PetscReal s = 0.0;
        for (PetscInt di = 0; di < f; di++)
          for (PetscInt dj = 0; dj < f; dj++) s += v ? v[c * H * W + (f * i + di) * W + f * j + dj] : 1.0;
        out[(c * sr->h + i) * sr->w + j] = y[(c * sr->h + i) * sr->w + j] / (cc + s / f4);
      }
  PetscFunctionReturn(0);
}

/* block SVD: in each block (f^2 entries, row-major within the block), the Householder reflection
   Q = I - 2 v v^T / |v|^2, v = e_0 - 1 / f, is symmetric and orthogonal with first column 1 / f (the normalised
   indicator). V^T x: Q x_block; its first entry is coordinate b (b the block's index), the others go to
   m + b (f^2 - 1) + r - 1. */
static PetscErrorCode DpsOperatorSVDSetUp_SR(DpsOperator op)
{
  Operator_SR *sr = (Operator_SR *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(op->n, &op->sv));
  if (sr->kind == DPS_SR_BLOCK)
    for (PetscInt e = 0; e < op->m; e++) op->sv[e] = 1.0 / sr->f;
  else
    for (PetscInt c = 0; c < op->shape[0]; c++)
      for (PetscInt i = 0; i < sr->h; i++)
        for (PetscInt j = 0; j < sr->w; j++) op->sv[(c * sr->h + i) * sr->w + j] = sr->sh[i] * sr->sw[j];
  PetscFunctionReturn(0);
}

static void Householder(Operator_SR *sr, PetscInt q, PetscReal z[])
{
  PetscReal d = 0.0;
  for (PetscInt r = 0; r < q; r++) d += sr->hh[r] * z[r];
  d *= 2.0 / sr->hh2;
  for (PetscInt r = 0; r < q; r++) z[r] -= d * sr->hh[r];
}

/* bicubic coordinates: channel c's (i, j) with i < h, j < w is coordinate (c h + i) w + j (the measured ones, in
   the order of y); the others follow channel by channel, row-major over the rest of the H x W grid */
static PetscInt BicubicIndex(Operator_SR *sr, PetscInt m, PetscInt c, PetscInt i, PetscInt j)
{
  PetscInt rest = sr->H * sr->W - sr->h * sr->w, k;
  if (i < sr->h && j < sr->w) return (c * sr->h + i) * sr->w + j;
  k = i < sr->h ? i * (sr->W - sr->w) + (j - sr->w) : sr->h * (sr->W - sr->w) + (i - sr->h) * sr->W + j;
  return m + c * rest + k;
}

static PetscErrorCode DpsOperatorVT_SR(DpsOperator op, const PetscReal x[], PetscReal xbar[])
{
  Operator_SR   *sr = (Operator_SR *)op->data;
  const PetscInt H = sr->H, W = sr->W, f = sr->f, q = f * f;
  PetscReal     *z = sr->t2;

  PetscFunctionBegin;
  for (PetscInt c = 0; c < op->shape[0]; c++) {
    if (sr->kind == DPS_SR_BLOCK)
      for (PetscInt i = 0; i < sr->h; i++)
        for (PetscInt j = 0; j < sr->w; j++) {
          PetscInt b = (c * sr->h + i) * sr->w + j;
          for (PetscInt di = 0; di < f; di++)
            for (PetscInt dj = 0; dj < f; dj++) z[di * f + dj] = x[c * H * W + (f * i + di) * W + f * j + dj];
          Householder(sr, q, z);
          xbar[b] = z[0];
          for (PetscInt r = 1; r < q; r++) xbar[op->m + b * (q - 1) + r - 1] = z[r];
        }
    else {
      PetscReal *Z = sr->t2 + H * W; /* Vh^T X Vw, H x W */
      Separable(sr, sr->Vh, PETSC_TRUE, H, H, sr->Vw, PETSC_TRUE, W, W, x + c * H * W, Z);
      for (PetscInt i = 0; i < H; i++)
        for (PetscInt j = 0; j < W; j++) xbar[BicubicIndex(sr, op->m, c, i, j)] = Z[i * W + j];
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorV_SR(DpsOperator op, const PetscReal xbar[], PetscReal x[])
{
  Operator_SR   *sr = (Operator_SR *)op->data;
  const PetscInt H = sr->H, W = sr->W, f = sr->f, q = f * f;
  PetscReal     *z = sr->t2;

  PetscFunctionBegin;
  for (PetscInt c = 0; c < op->shape[0]; c++) {
    if (sr->kind == DPS_SR_BLOCK)
      for (PetscInt i = 0; i < sr->h; i++)
        for (PetscInt j = 0; j < sr->w; j++) {
          PetscInt b = (c * sr->h + i) * sr->w + j;
          z[0]       = xbar[b];
          for (PetscInt r = 1; r < q; r++) z[r] = xbar[op->m + b * (q - 1) + r - 1];
          Householder(sr, q, z); /* Q is its own inverse */
          for (PetscInt di = 0; di < f; di++)
            for (PetscInt dj = 0; dj < f; dj++) x[c * H * W + (f * i + di) * W + f * j + dj] = z[di * f + dj];
        }
    else {
      PetscReal *Z = sr->t2 + H * W;
      for (PetscInt i = 0; i < H; i++)
        for (PetscInt j = 0; j < W; j++) Z[i * W + j] = xbar[BicubicIndex(sr, op->m, c, i, j)];
      Separable(sr, sr->Vh, PETSC_FALSE, H, H, sr->Vw, PETSC_FALSE, W, W, Z, x + c * H * W);
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorUT_SR(DpsOperator op, const PetscReal y[], PetscReal ybar[])
{
  Operator_SR *sr = (Operator_SR *)op->data;

  PetscFunctionBegin;
  if (sr->kind == DPS_SR_BLOCK) PetscCall(PetscArraycpy(ybar, y, op->m));
  else
    for (PetscInt c = 0; c < op->shape[0]; c++) Separable(sr, sr->Uh, PETSC_TRUE, sr->h, sr->h, sr->Uw, PETSC_TRUE, sr->w, sr->w, y + c * sr->h * sr->w, ybar + c * sr->h * sr->w);
  PetscFunctionReturn(0);
}

/* bicubic: V diag(1 / (a + b sv^2)) V^T, exact through the SVD */
static PetscErrorCode DpsOperatorNormalInverse_SRBicubic(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  PetscReal *xb;

  PetscFunctionBegin;
  if (!op->sv) PetscCall(DpsOperatorSVDSetUp_SR(op));
  PetscCall(PetscMalloc1(op->n, &xb));
  PetscCall(DpsOperatorVT_SR(op, x, xb));
  for (PetscInt e = 0; e < op->n; e++) xb[e] /= a + b * op->sv[e] * op->sv[e];
  PetscCall(DpsOperatorV_SR(op, xb, y));
  PetscCall(PetscFree(xb));
  PetscFunctionReturn(0);
}

/* R (r x n, row-major) = U diag(s) V^T: U [r x r], V [n x n] row-major, s [r] (r <= n) */
static PetscErrorCode SVD1(PetscInt r, PetscInt n, const PetscReal R[], PetscReal U[], PetscReal V[], PetscReal s[])
{
  PetscReal   *a, *Vcm, *UTcm, *work, wq;
  PetscBLASInt bn, br, lwork = -1, info;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscBLASIntCast(r, &br));
  /* row-major R is column-major R^T (n x r) = V diag(s) U^T: gesvd gives V as left and U^T as right vectors */
  PetscCall(PetscMalloc3(r * n, &a, n * n, &Vcm, r * r, &UTcm));
  PetscCall(PetscArraycpy(a, R, r * n));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("A", "A", &bn, &br, a, &bn, s, Vcm, &bn, UTcm, &br, &wq, &lwork, &info));
  lwork = (PetscBLASInt)wq;
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("A", "A", &bn, &br, a, &bn, s, Vcm, &bn, UTcm, &br, work, &lwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "SVD of the %" PetscInt_FMT " x %" PetscInt_FMT " bicubic matrix failed (LAPACK info %d)", r, n, (int)info);
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) V[i * n + j] = Vcm[i + j * n]; /* V[i][j], column j of V */
  for (PetscInt i = 0; i < r; i++)
    for (PetscInt j = 0; j < r; j++) U[i * r + j] = UTcm[j + i * r]; /* U[i][j] = (U^T)[j][i] */
  PetscCall(PetscFree(work));
  PetscCall(PetscFree3(a, Vcm, UTcm));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSRFree(DpsOperator op)
{
  Operator_SR *sr = (Operator_SR *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscFree2(sr->Rh, sr->Rw));
  PetscCall(PetscFree6(sr->Uh, sr->Vh, sr->Uw, sr->Vw, sr->sh, sr->sw));
  PetscCall(PetscFree2(sr->t1, sr->t2));
  PetscCall(PetscFree(sr->hh));
  PetscCall(PetscFree(op->sv));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSRConfigure(DpsOperator op)
{
  Operator_SR *sr = (Operator_SR *)op->data;
  PetscBool    block = sr->kind == DPS_SR_BLOCK ? PETSC_TRUE : PETSC_FALSE;
  PetscInt     f = sr->f;

  PetscFunctionBegin;
  PetscCall(DpsOperatorSRFree(op));
  op->m = op->n = 0;
  op->ops->normalinverse      = block ? DpsOperatorNormalInverse_SRBlock : DpsOperatorNormalInverse_SRBicubic;
  op->ops->normaldiagonal     = block ? DpsOperatorNormalDiagonal_SRBlock : NULL;
  op->ops->measurementinverse = block ? DpsOperatorMeasurementInverse_SRBlock : NULL;
  if (!op->shape[0]) PetscFunctionReturn(0);
  sr->H = op->shape[1];
  sr->W = op->shape[2];
  if (sr->H % f || sr->W % f) PetscFunctionReturn(0); /* unsized: DpsOperatorSRSetFactor and the load say why */
  sr->h = sr->H / f;
  sr->w = sr->W / f;
  PetscCall(PetscMalloc2(sr->H * sr->W + f * f, &sr->t1, 2 * sr->H * sr->W + f * f, &sr->t2));
  if (block) {
    PetscCall(PetscMalloc1(f * f, &sr->hh));
    for (PetscInt r = 0; r < f * f; r++) sr->hh[r] = (r == 0) - 1.0 / f;
    sr->hh2 = 0.0;
    for (PetscInt r = 0; r < f * f; r++) sr->hh2 += sr->hh[r] * sr->hh[r];
    if (f == 1) sr->hh2 = 1.0, sr->hh[0] = 0.0; /* Q = I */
  } else {
    PetscCall(PetscMalloc2(sr->h * sr->H, &sr->Rh, sr->w * sr->W, &sr->Rw));
    PetscCall(DpsSRBicubicMatrix(sr->H, f, sr->Rh));
    PetscCall(DpsSRBicubicMatrix(sr->W, f, sr->Rw));
    PetscCall(PetscMalloc6(sr->h * sr->h, &sr->Uh, sr->H * sr->H, &sr->Vh, sr->w * sr->w, &sr->Uw, sr->W * sr->W, &sr->Vw, sr->h, &sr->sh, sr->w, &sr->sw));
    PetscCall(SVD1(sr->h, sr->H, sr->Rh, sr->Uh, sr->Vh, sr->sh));
    PetscCall(SVD1(sr->w, sr->W, sr->Rw, sr->Uw, sr->Vw, sr->sw));
  }
  op->n           = op->shape[0] * sr->H * sr->W;
  op->m           = op->shape[0] * sr->h * sr->w;
  op->outshape[0] = op->shape[0];
  op->outshape[1] = sr->h;
  op->outshape[2] = sr->w;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorSRSetFactor(DpsOperator op, PetscInt f, DpsSRKind kind)
{
  Operator_SR *sr = (Operator_SR *)op->data;
  PetscBool    is;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, DPSOPERATORSR, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsOperatorSRSetFactor() needs an sr operator");
  PetscCheck(!op->setupcalled, PETSC_COMM_SELF, PETSC_ERR_ORDER, "DpsOperatorSRSetFactor() after DpsOperatorSetUp()");
  PetscCheck(f >= 1 && f <= 64, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "super-resolution factor %" PetscInt_FMT ": must be an integer from 1 to 64", f);
  PetscCheck(kind == DPS_SR_BLOCK || kind == DPS_SR_BICUBIC, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "unknown super-resolution kind %d", (int)kind);
  PetscCheck(!op->shape[0] || (op->shape[1] % f == 0 && op->shape[2] % f == 0), PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "super-resolution by %" PetscInt_FMT " needs image sides divisible by it: the data shape is (C, H, W) = (%" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ")", f, op->shape[0], op->shape[1], op->shape[2]);
  sr->f    = f;
  sr->kind = kind;
  PetscCall(DpsOperatorSRConfigure(op));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSetDataShape_SR(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSRConfigure(op));
  PetscFunctionReturn(0);
}

/* /operator: attributes factor (integer, default 4) and kind ("bicubic", the default, or "block") */
static PetscErrorCode DpsOperatorLoad_SR(DpsOperator op, hid_t file, const char fname[])
{
  Operator_SR *sr = (Operator_SR *)op->data;
  char         kind[32] = "bicubic";
  PetscInt     f = 4, nf = 1;
  PetscBool    found = PETSC_FALSE;
  DpsSRKind    k     = DPS_SR_BICUBIC;

  PetscFunctionBegin;
  if (H5Aexists_by_name(file, op->group, "kind", H5P_DEFAULT) > 0) PetscCall(DpsH5ReadStringAttribute(file, fname, op->group, "kind", kind, sizeof(kind)));
  for (int i = 0; i < 2; i++) {
    PetscBool same;
    PetscCall(PetscStrcmp(kind, DpsSRKinds[i], &same));
    if (same) {
      k     = (DpsSRKind)i;
      found = PETSC_TRUE;
    }
  }
  PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute kind of %s is '%s': must be bicubic or block", fname, op->group, kind);
  if (H5Aexists_by_name(file, op->group, "factor", H5P_DEFAULT) > 0) PetscCall(DpsH5ReadIntArrayAttribute(file, fname, op->group, "factor", 1, &nf, &f));
  PetscCheck(nf == 1 && f >= 1 && f <= 64, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute factor of %s is %" PetscInt_FMT ": must be one integer from 1 to 64", fname, op->group, f);
  PetscCheck(op->shape[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the sr operator of %s needs the data shape (C, H, W) of the images: the input's attribute data_shape", fname, op->group);
  PetscCheck(op->shape[1] % f == 0 && op->shape[2] % f == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute factor of %s is %" PetscInt_FMT " but the images are %" PetscInt_FMT " x %" PetscInt_FMT ": the factor must divide both sides", fname, op->group, f, op->shape[1], op->shape[2]);
  sr->f    = f;
  sr->kind = k;
  PetscCall(DpsOperatorSRConfigure(op));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSave_SR(DpsOperator op, hid_t file)
{
  Operator_SR *sr = (Operator_SR *)op->data;

  PetscFunctionBegin;
  PetscCall(DpsH5WriteStringAttribute(file, op->group, "kind", DpsSRKinds[sr->kind]));
  PetscCall(DpsH5WriteIntAttribute(file, op->group, "factor", sr->f));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorView_SR(DpsOperator op, PetscViewer viewer)
{
  Operator_SR *sr = (Operator_SR *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "factor %" PetscInt_FMT ", %s, %" PetscInt_FMT " x %" PetscInt_FMT " -> %" PetscInt_FMT " x %" PetscInt_FMT " per channel\n", sr->f, DpsSRKinds[sr->kind], sr->H, sr->W, sr->h, sr->w));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorDestroy_SR(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSRFree(op));
  PetscCall(PetscFree(op->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate_SR(DpsOperator op)
{
  Operator_SR *sr;

  PetscFunctionBegin;
  PetscCall(PetscNew(&sr));
  op->data = sr;
  sr->f    = 4; /* the protocol's 4x, bicubic */
  sr->kind = DPS_SR_BICUBIC;
  op->ops->apply          = DpsOperatorApply_SR;
  op->ops->applytranspose = DpsOperatorApplyTranspose_SR;
  op->ops->svdsetup       = DpsOperatorSVDSetUp_SR;
  op->ops->vt             = DpsOperatorVT_SR;
  op->ops->v              = DpsOperatorV_SR;
  op->ops->ut             = DpsOperatorUT_SR;
  op->ops->setdatashape   = DpsOperatorSetDataShape_SR;
  op->ops->load           = DpsOperatorLoad_SR;
  op->ops->save           = DpsOperatorSave_SR;
  op->ops->view           = DpsOperatorView_SR;
  op->ops->destroy        = DpsOperatorDestroy_SR;
  PetscCall(DpsOperatorSRConfigure(op));
  PetscFunctionReturn(0);
}
