/* Multi-coil Cartesian MRI (methods.md section 8): A = M F S.
   The image x is real (data shape (1, H, W)) or complex ((2, H, W): channel 0 the real part, channel 1 the
   imaginary part). S multiplies it by each coil's sensitivity map S_c (complex, [coils, H, W]; no maps: one coil,
   S = 1). F is the centred orthonormal 2-D DFT, numpy's fftshift(fft2(ifftshift(z), norm="ortho")), the
   convention of fastMRI: k-space centre at (H / 2, W / 2). M keeps the k-space entries where the stored 0/1 mask
   [H, W] is 1. y lists, coil by coil, the kept entries in row-major order, each as (real, imaginary):
   m = 2 coils nsampled. As a map of real vectors (the real inner product) the adjoint is exact:
   A^T y = S^H F^H M^T y, and for real images its real part (the adjoint of the embedding R^n -> C^n).
   FFTW in place on one coil at a time, as 1-D transforms of the rows, a transpose, and 1-D transforms of the
   columns (the spectrum is held transposed); the shifts are index maps (no extra pass). Plans are made once with
   FFTW_ESTIMATE (the same plan, hence the same rounding, on every rank and run).
   Optional operations: diag(A^T A) = (nsampled / (H W)) sum_c |S_c|^2 for every type (|F e_p|^2 = 1 / (H W) at
   every frequency); without maps, the exact (a I + b A^T A)^{-1} = F^H diag(1 / (a + b M')) F with M' = M for
   complex images and M'(k) = (M(k) + M(-k)) / 2 for real ones (A^T A = Re F^H M F on real images), and, for complex
   images, the SVD: U = I, V^T x = F x's sampled entries (in y's order) then the others, sv = 1 on the first m. */
#include <dpsolve/dpsolve.h>
#include <fftw3.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"

typedef struct {
  PetscInt   H, W, coils, ns;
  PetscBool  complex_images;
  PetscReal *mask;  /* [H W] 0/1, centred k-space coordinates, row-major */
  PetscReal *maps;  /* [coils H W 2] (re, im), or NULL: one coil, S = 1 */
  PetscInt  *pix;    /* [H W] index in buf of image pixel p (the ifftshift) */
  PetscInt  *samp;   /* [ns] index in kbuf of the k-th kept k-space entry (the fftshift), row-major centred order */
  PetscInt  *unsamp; /* [H W - ns] the others, for the SVD's V */
  PetscReal *msym;   /* [H W] by kbuf index: M' of the normal inverse */
  double    *buf;    /* [H x W] complex, interleaved (re, im): the image side */
  double    *kbuf;   /* [W x H] complex: the spectrum, transposed */
  fftw_plan  rowf, rowb, colf, colb; /* 1-D transforms of buf's rows (length W) and kbuf's rows (length H) */
} Operator_MRI;

static PetscErrorCode DpsOperatorMRIFree(Operator_MRI *mr)
{
  PetscFunctionBegin;
  if (mr->rowf) fftw_destroy_plan(mr->rowf);
  if (mr->rowb) fftw_destroy_plan(mr->rowb);
  if (mr->colf) fftw_destroy_plan(mr->colf);
  if (mr->colb) fftw_destroy_plan(mr->colb);
  mr->rowf = mr->rowb = mr->colf = mr->colb = NULL;
  fftw_free(mr->buf);
  fftw_free(mr->kbuf);
  mr->buf = mr->kbuf = NULL;
  PetscCall(PetscFree4(mr->pix, mr->samp, mr->unsamp, mr->msym));
  PetscFunctionReturn(0);
}

/* sizes, index maps and plans, once the operator has its data shape and its mask */
static PetscErrorCode DpsOperatorMRIConfigure(DpsOperator op)
{
  Operator_MRI  *mr = (Operator_MRI *)op->data;
  PetscInt       H, W, N, k = 0, u = 0;

  PetscFunctionBegin;
  PetscCall(DpsOperatorMRIFree(mr));
  op->m = op->n = 0;
  op->outshape[0] = op->outshape[1] = op->outshape[2] = 0;
  PetscCall(PetscFree(op->sv));
  if (!op->shape[0] || !mr->mask) PetscFunctionReturn(0);
  PetscCheck(op->shape[0] == 1 || op->shape[0] == 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "mri acts on real images (data shape (1, H, W)) or complex ones ((2, H, W): real and imaginary parts), not on %" PetscInt_FMT " channels", op->shape[0]);
  PetscCheck(op->shape[1] == mr->H && op->shape[2] == mr->W, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "the mri mask is %" PetscInt_FMT " x %" PetscInt_FMT " but the images are %" PetscInt_FMT " x %" PetscInt_FMT " (data shape)", mr->H, mr->W, op->shape[1], op->shape[2]);
  H = mr->H;
  W = mr->W;
  N = H * W;
  mr->complex_images = op->shape[0] == 2 ? PETSC_TRUE : PETSC_FALSE;
  mr->ns             = 0;
  for (PetscInt e = 0; e < N; e++) mr->ns += mr->mask[e] == 1.0;
  PetscCall(PetscMalloc4(N, &mr->pix, mr->ns, &mr->samp, N - mr->ns, &mr->unsamp, N, &mr->msym));
  /* ifftshift: image pixel (r, s) sits at buf[(r - H/2) mod H][(s - W/2) mod W]; fftshift: centred frequency
     (a, b) is kbuf[(b - W/2) mod W][(a - H/2) mod H] (the spectrum is held transposed) */
  for (PetscInt r = 0; r < H; r++)
    for (PetscInt s = 0; s < W; s++) mr->pix[r * W + s] = ((r - H / 2 + H) % H) * W + (s - W / 2 + W) % W;
  for (PetscInt a = 0; a < H; a++)
    for (PetscInt b = 0; b < W; b++) {
      PetscInt i = (a - H / 2 + H) % H, j = (b - W / 2 + W) % W, kb = j * H + i;
      /* M'(k) = (M(k) + M(-k)) / 2 on real images, -k = (-i mod H, -j mod W) */
      PetscReal mneg = mr->mask[((H - i) % H + H / 2) % H * W + ((W - j) % W + W / 2) % W];
      if (mr->mask[a * W + b] == 1.0) mr->samp[k++] = kb;
      else mr->unsamp[u++] = kb;
      mr->msym[kb] = mr->complex_images ? mr->mask[a * W + b] : 0.5 * (mr->mask[a * W + b] + mneg);
    }
  mr->buf  = (double *)fftw_alloc_complex((size_t)N);
  mr->kbuf = (double *)fftw_alloc_complex((size_t)N);
  PetscCheck(mr->buf && mr->kbuf, PETSC_COMM_SELF, PETSC_ERR_MEM, "mri: cannot allocate the FFT buffers of %" PetscInt_FMT " x %" PetscInt_FMT, H, W);
  {
    /* the 2-D DFT as two passes of contiguous 1-D transforms with a transpose between: FFTW_ESTIMATE's 2-D plan
       strides through memory for the second dimension, 12 times slower at 256 x 256 (2.8 ms against 0.24) */
    int nw = (int)W, nh = (int)H;
    mr->rowf = fftw_plan_many_dft(1, &nw, nh, (fftw_complex *)mr->buf, NULL, 1, nw, (fftw_complex *)mr->buf, NULL, 1, nw, FFTW_FORWARD, FFTW_ESTIMATE);
    mr->rowb = fftw_plan_many_dft(1, &nw, nh, (fftw_complex *)mr->buf, NULL, 1, nw, (fftw_complex *)mr->buf, NULL, 1, nw, FFTW_BACKWARD, FFTW_ESTIMATE);
    mr->colf = fftw_plan_many_dft(1, &nh, nw, (fftw_complex *)mr->kbuf, NULL, 1, nh, (fftw_complex *)mr->kbuf, NULL, 1, nh, FFTW_FORWARD, FFTW_ESTIMATE);
    mr->colb = fftw_plan_many_dft(1, &nh, nw, (fftw_complex *)mr->kbuf, NULL, 1, nh, (fftw_complex *)mr->kbuf, NULL, 1, nh, FFTW_BACKWARD, FFTW_ESTIMATE);
  }
  PetscCheck(mr->rowf && mr->rowb && mr->colf && mr->colb, PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW could not plan the transforms of a %" PetscInt_FMT " x %" PetscInt_FMT " image", H, W);
  op->n           = op->shape[0] * N;
  op->m           = 2 * mr->coils * mr->ns;
  op->outshape[0] = op->outshape[1] = 1;
  op->outshape[2] = op->m;
  PetscFunctionReturn(0);
}

/* out [cols x rows] = in [rows x cols] transposed, complex entries, in tiles that stay in cache */
static void Transpose(PetscInt rows, PetscInt cols, const double *in, double *out)
{
  const PetscInt T = 32;
  for (PetscInt i0 = 0; i0 < rows; i0 += T)
    for (PetscInt j0 = 0; j0 < cols; j0 += T)
      for (PetscInt i = i0; i < PetscMin(i0 + T, rows); i++)
        for (PetscInt j = j0; j < PetscMin(j0 + T, cols); j++) {
          out[2 * (j * rows + i)]     = in[2 * (i * cols + j)];
          out[2 * (j * rows + i) + 1] = in[2 * (i * cols + j) + 1];
        }
}

/* kbuf <- the unnormalised forward DFT of buf (transposed); buf <- the unnormalised backward DFT of kbuf */
static void ForwardFFT(Operator_MRI *mr)
{
  fftw_execute(mr->rowf);
  Transpose(mr->H, mr->W, mr->buf, mr->kbuf);
  fftw_execute(mr->colf);
}

static void BackwardFFT(Operator_MRI *mr)
{
  fftw_execute(mr->colb);
  Transpose(mr->W, mr->H, mr->kbuf, mr->buf);
  fftw_execute(mr->rowb);
}

/* buf <- S_c x at the shifted positions (x real or complex) */
static void LoadCoilImage(Operator_MRI *mr, PetscInt c, const PetscReal x[])
{
  const PetscInt   N = mr->H * mr->W;
  const PetscReal *S = mr->maps ? mr->maps + 2 * c * N : NULL;
  for (PetscInt p = 0; p < N; p++) {
    double xr = x[p], xi = mr->complex_images ? x[N + p] : 0.0, *b = mr->buf + 2 * mr->pix[p];
    if (S) {
      b[0] = S[2 * p] * xr - S[2 * p + 1] * xi;
      b[1] = S[2 * p] * xi + S[2 * p + 1] * xr;
    } else {
      b[0] = xr;
      b[1] = xi;
    }
  }
}

static PetscErrorCode DpsOperatorApply_MRI(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  Operator_MRI *mr = (Operator_MRI *)op->data;
  const double  s  = 1.0 / PetscSqrtReal((PetscReal)(mr->H * mr->W));

  PetscFunctionBegin;
  for (PetscInt c = 0; c < mr->coils; c++) {
    PetscReal *yc = y + 2 * c * mr->ns;
    LoadCoilImage(mr, c, x);
    ForwardFFT(mr);
    for (PetscInt k = 0; k < mr->ns; k++) {
      yc[2 * k]     = s * mr->kbuf[2 * mr->samp[k]];
      yc[2 * k + 1] = s * mr->kbuf[2 * mr->samp[k] + 1];
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApplyTranspose_MRI(DpsOperator op, const PetscReal y[], PetscReal x[])
{
  Operator_MRI  *mr = (Operator_MRI *)op->data;
  const PetscInt N  = mr->H * mr->W;
  const double   s  = 1.0 / PetscSqrtReal((PetscReal)N);

  PetscFunctionBegin;
  for (PetscInt e = 0; e < op->n; e++) x[e] = 0.0;
  for (PetscInt c = 0; c < mr->coils; c++) {
    const PetscReal *yc = y + 2 * c * mr->ns, *S = mr->maps ? mr->maps + 2 * c * N : NULL;
    for (PetscInt e = 0; e < N; e++) mr->kbuf[2 * e] = mr->kbuf[2 * e + 1] = 0.0;
    for (PetscInt k = 0; k < mr->ns; k++) {
      mr->kbuf[2 * mr->samp[k]] = s * yc[2 * k];
      mr->kbuf[2 * mr->samp[k] + 1] = s * yc[2 * k + 1];
    }
    BackwardFFT(mr);
    for (PetscInt p = 0; p < N; p++) { /* x += conj(S_c) z; real images keep the real part */
      const double *b = mr->buf + 2 * mr->pix[p];
      if (S) {
        x[p] += S[2 * p] * b[0] + S[2 * p + 1] * b[1];
        if (mr->complex_images) x[N + p] += S[2 * p] * b[1] - S[2 * p + 1] * b[0];
      } else {
        x[p] += b[0];
        if (mr->complex_images) x[N + p] += b[1];
      }
    }
  }
  PetscFunctionReturn(0);
}

/* diag(A^T A)_p = (ns / (H W)) sum_c |S_c[p]|^2, on both channels of a complex image */
static PetscErrorCode DpsOperatorNormalDiagonal_MRI(DpsOperator op, PetscReal d[])
{
  Operator_MRI  *mr = (Operator_MRI *)op->data;
  const PetscInt N  = mr->H * mr->W;
  const double   f  = (double)mr->ns / (double)N;

  PetscFunctionBegin;
  for (PetscInt p = 0; p < N; p++) {
    double s2 = 0.0;
    if (mr->maps)
      for (PetscInt c = 0; c < mr->coils; c++) s2 += PetscSqr(mr->maps[2 * (c * N + p)]) + PetscSqr(mr->maps[2 * (c * N + p) + 1]);
    else s2 = 1.0;
    d[p] = f * s2;
    if (mr->complex_images) d[N + p] = f * s2;
  }
  PetscFunctionReturn(0);
}

/* S = 1: (a I + b A^T A)^{-1} = F^H diag(1 / (a + b M')) F; the shifts cancel between F and F^H */
static PetscErrorCode DpsOperatorNormalInverse_MRI(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  Operator_MRI  *mr = (Operator_MRI *)op->data;
  const PetscInt N  = mr->H * mr->W;

  PetscFunctionBegin;
  LoadCoilImage(mr, 0, x);
  ForwardFFT(mr);
  for (PetscInt e = 0; e < N; e++) {
    double d = 1.0 / ((double)N * (a + b * mr->msym[e]));
    mr->kbuf[2 * e] *= d;
    mr->kbuf[2 * e + 1] *= d;
  }
  BackwardFFT(mr);
  for (PetscInt p = 0; p < N; p++) {
    y[p] = mr->buf[2 * mr->pix[p]];
    if (mr->complex_images) y[N + p] = mr->buf[2 * mr->pix[p] + 1];
  }
  PetscFunctionReturn(0);
}

/* SVD (S = 1, complex images): A = P F with P the selection of the kept entries, F unitary: V^T = the kept
   entries of F x (in y's order) then the others (row-major), U = I, sv = 1 on the m kept coordinates */
static PetscErrorCode DpsOperatorSVDSetUp_MRI(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCall(PetscCalloc1(op->n, &op->sv));
  for (PetscInt k = 0; k < op->m; k++) op->sv[k] = 1.0;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorVT_MRI(DpsOperator op, const PetscReal x[], PetscReal xbar[])
{
  Operator_MRI  *mr = (Operator_MRI *)op->data;
  const PetscInt N  = mr->H * mr->W;
  const double   s  = 1.0 / PetscSqrtReal((PetscReal)N);

  PetscFunctionBegin;
  LoadCoilImage(mr, 0, x);
  ForwardFFT(mr);
  for (PetscInt k = 0; k < mr->ns; k++) {
    xbar[2 * k]     = s * mr->kbuf[2 * mr->samp[k]];
    xbar[2 * k + 1] = s * mr->kbuf[2 * mr->samp[k] + 1];
  }
  for (PetscInt k = 0; k < N - mr->ns; k++) {
    xbar[2 * (mr->ns + k)]     = s * mr->kbuf[2 * mr->unsamp[k]];
    xbar[2 * (mr->ns + k) + 1] = s * mr->kbuf[2 * mr->unsamp[k] + 1];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorV_MRI(DpsOperator op, const PetscReal xbar[], PetscReal x[])
{
  Operator_MRI  *mr = (Operator_MRI *)op->data;
  const PetscInt N  = mr->H * mr->W;
  const double   s  = 1.0 / PetscSqrtReal((PetscReal)N);

  PetscFunctionBegin;
  for (PetscInt k = 0; k < mr->ns; k++) {
    mr->kbuf[2 * mr->samp[k]] = s * xbar[2 * k];
    mr->kbuf[2 * mr->samp[k] + 1] = s * xbar[2 * k + 1];
  }
  for (PetscInt k = 0; k < N - mr->ns; k++) {
    mr->kbuf[2 * mr->unsamp[k]] = s * xbar[2 * (mr->ns + k)];
    mr->kbuf[2 * mr->unsamp[k] + 1] = s * xbar[2 * (mr->ns + k) + 1];
  }
  BackwardFFT(mr);
  for (PetscInt p = 0; p < N; p++) {
    x[p]     = mr->buf[2 * mr->pix[p]];
    x[N + p] = mr->buf[2 * mr->pix[p] + 1];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorUT_MRI(DpsOperator op, const PetscReal y[], PetscReal ybar[])
{
  PetscFunctionBegin;
  PetscCall(PetscArraycpy(ybar, y, op->m));
  PetscFunctionReturn(0);
}

/* which optional operations this configuration offers */
static PetscErrorCode DpsOperatorMRISetOps(DpsOperator op)
{
  Operator_MRI *mr  = (Operator_MRI *)op->data;
  PetscBool     one = mr->maps ? PETSC_FALSE : PETSC_TRUE, svd = (PetscBool)(one && op->shape[0] == 2);

  PetscFunctionBegin;
  op->ops->normalinverse = one ? DpsOperatorNormalInverse_MRI : NULL;
  op->ops->svdsetup      = svd ? DpsOperatorSVDSetUp_MRI : NULL;
  op->ops->vt            = svd ? DpsOperatorVT_MRI : NULL;
  op->ops->v             = svd ? DpsOperatorV_MRI : NULL;
  op->ops->ut            = svd ? DpsOperatorUT_MRI : NULL;
  PetscCall(DpsOperatorMRIConfigure(op));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorMRICheck(DpsOperator op, const char who[])
{
  PetscBool is;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, DPSOPERATORMRI, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s() needs an mri operator", who);
  PetscCheck(!op->setupcalled, PETSC_COMM_SELF, PETSC_ERR_ORDER, "%s() after DpsOperatorSetUp()", who);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorMRISetMask(DpsOperator op, PetscInt H, PetscInt W, const PetscReal mask[])
{
  Operator_MRI *mr = (Operator_MRI *)op->data;
  PetscInt      ns = 0;

  PetscFunctionBegin;
  PetscCall(DpsOperatorMRICheck(op, "DpsOperatorMRISetMask"));
  PetscCheck(H >= 1 && W >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "an mri mask needs H, W >= 1 (got %" PetscInt_FMT " x %" PetscInt_FMT ")", H, W);
  for (PetscInt e = 0; e < H * W; e++) {
    PetscCheck(mask[e] == 0.0 || mask[e] == 1.0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "mri mask entry %" PetscInt_FMT " is %g: must be 0 or 1", e, (double)mask[e]);
    ns += mask[e] == 1.0;
  }
  PetscCheck(ns > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "the mri mask is all 0: no k-space entry is sampled");
  PetscCheck(!mr->maps || (H == mr->H && W == mr->W), PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "the mri mask is %" PetscInt_FMT " x %" PetscInt_FMT " but the coil maps are %" PetscInt_FMT " x %" PetscInt_FMT, H, W, mr->H, mr->W);
  PetscCall(PetscFree(mr->mask));
  PetscCall(PetscMalloc1(H * W, &mr->mask));
  PetscCall(PetscArraycpy(mr->mask, mask, H * W));
  mr->H = H;
  mr->W = W;
  PetscCall(DpsOperatorMRISetOps(op));
  PetscFunctionReturn(0);
}

/* maps [coils, H, W, 2]: (re, im) of S_c at each pixel; coils = 0 (or maps NULL): one coil, S = 1 */
PetscErrorCode DpsOperatorMRISetMaps(DpsOperator op, PetscInt coils, PetscInt H, PetscInt W, const PetscReal maps[])
{
  Operator_MRI *mr = (Operator_MRI *)op->data;

  PetscFunctionBegin;
  PetscCall(DpsOperatorMRICheck(op, "DpsOperatorMRISetMaps"));
  PetscCall(PetscFree(mr->maps));
  mr->coils = 1;
  if (coils && maps) {
    PetscCheck(coils >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "mri coil maps need coils >= 1 (got %" PetscInt_FMT ")", coils);
    PetscCheck(!mr->mask || (H == mr->H && W == mr->W), PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "the mri coil maps are %" PetscInt_FMT " x %" PetscInt_FMT " but the mask is %" PetscInt_FMT " x %" PetscInt_FMT, H, W, mr->H, mr->W);
    for (PetscInt e = 0; e < 2 * coils * H * W; e++) PetscCheck(!PetscIsInfOrNanReal(maps[e]), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "mri coil map entry %" PetscInt_FMT " is %g: must be finite", e, (double)maps[e]);
    PetscCall(PetscMalloc1(2 * coils * H * W, &mr->maps));
    PetscCall(PetscArraycpy(mr->maps, maps, 2 * coils * H * W));
    mr->coils = coils;
    mr->H     = H;
    mr->W     = W;
  }
  PetscCall(DpsOperatorMRISetOps(op));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSetDataShape_MRI(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorMRISetOps(op));
  PetscFunctionReturn(0);
}

/* /operator: dataset mask [H, W] (0/1, centred k-space), optional dataset maps [coils, H, W, 2] */
static PetscErrorCode DpsOperatorLoad_MRI(DpsOperator op, hid_t file, const char fname[])
{
  char       path[PETSC_MAX_PATH_LEN];
  hsize_t    md[2], sd[4];
  PetscReal *mask, *maps = NULL;
  PetscBool  has;
  PetscInt   ns = 0;

  PetscFunctionBegin;
  PetscCheck(op->shape[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the mri operator of %s needs the data shape (1, H, W) or (2, H, W) of the images: the input's attribute data_shape", fname, op->group);
  PetscCheck(op->shape[0] == 1 || op->shape[0] == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: data_shape has %" PetscInt_FMT " channels: the mri operator of %s acts on real images (1, H, W) or complex ones (2, H, W), real and imaginary parts", fname, op->shape[0], op->group);
  PetscCall(DpsOperatorDatasetName(op, "mask", path, sizeof(path)));
  PetscCall(DpsH5GetDims(file, fname, path, 2, "(H, W)", md));
  PetscCheck((PetscInt)md[0] == op->shape[1] && (PetscInt)md[1] == op->shape[2], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is %llu x %llu but the images are %" PetscInt_FMT " x %" PetscInt_FMT " (data_shape)", fname, path, (unsigned long long)md[0], (unsigned long long)md[1], op->shape[1], op->shape[2]);
  PetscCall(PetscMalloc1(md[0] * md[1], &mask));
  PetscCall(DpsH5ReadAll(file, fname, path, mask));
  for (hsize_t e = 0; e < md[0] * md[1]; e++) {
    PetscCheck(mask[e] == 0.0 || mask[e] == 1.0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s holds %g at entry %llu: must be 0 or 1", fname, path, (double)mask[e], (unsigned long long)e);
    ns += mask[e] == 1.0;
  }
  PetscCheck(ns > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is all 0: no k-space entry is sampled (1 marks a sampled one)", fname, path);
  PetscCall(DpsOperatorDatasetName(op, "maps", path, sizeof(path)));
  PetscCall(DpsH5Exists(file, path, &has));
  if (has) {
    PetscCall(DpsH5GetDims(file, fname, path, 4, "(coils, H, W, 2)", sd));
    PetscCheck(sd[0] >= 1 && sd[1] == md[0] && sd[2] == md[1] && sd[3] == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is %llu x %llu x %llu x %llu: expected (coils, %llu, %llu, 2), the real and imaginary parts of each coil's map", fname, path, (unsigned long long)sd[0], (unsigned long long)sd[1], (unsigned long long)sd[2], (unsigned long long)sd[3], (unsigned long long)md[0], (unsigned long long)md[1]);
    PetscCheck(sd[0] <= 1024, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %llu coils: at most 1024", fname, path, (unsigned long long)sd[0]);
    PetscCall(PetscMalloc1(sd[0] * sd[1] * sd[2] * 2, &maps));
    PetscCall(DpsH5ReadAll(file, fname, path, maps));
    PetscCall(DpsH5CheckFinite(fname, path, 0, (PetscInt)sd[0], (PetscInt)(sd[1] * sd[2] * 2), maps));
  }
  PetscCall(DpsOperatorMRISetMaps(op, has ? (PetscInt)sd[0] : 0, (PetscInt)md[0], (PetscInt)md[1], maps));
  PetscCall(DpsOperatorMRISetMask(op, (PetscInt)md[0], (PetscInt)md[1], mask));
  PetscCall(PetscFree(mask));
  PetscCall(PetscFree(maps));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSave_MRI(DpsOperator op, hid_t file)
{
  Operator_MRI *mr = (Operator_MRI *)op->data;
  hsize_t       md[2] = {(hsize_t)mr->H, (hsize_t)mr->W}, sd[4] = {(hsize_t)mr->coils, (hsize_t)mr->H, (hsize_t)mr->W, 2};
  char          path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(DpsOperatorDatasetName(op, "mask", path, sizeof(path)));
  PetscCall(DpsH5WriteAll(file, path, 2, md, mr->mask));
  if (mr->maps) {
    PetscCall(DpsOperatorDatasetName(op, "maps", path, sizeof(path)));
    PetscCall(DpsH5WriteAll(file, path, 4, sd, mr->maps));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorView_MRI(DpsOperator op, PetscViewer viewer)
{
  Operator_MRI *mr = (Operator_MRI *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "%s images %" PetscInt_FMT " x %" PetscInt_FMT ", %" PetscInt_FMT " coil(s)%s, %" PetscInt_FMT " of %" PetscInt_FMT " k-space entries sampled (acceleration %.2f)\n", mr->complex_images ? "complex" : "real", mr->H, mr->W, mr->coils,
                                   mr->maps ? "" : " (S = 1)", mr->ns, mr->H * mr->W, mr->ns ? (double)(mr->H * mr->W) / (double)mr->ns : 0.0));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorDestroy_MRI(DpsOperator op)
{
  Operator_MRI *mr = (Operator_MRI *)op->data;

  PetscFunctionBegin;
  PetscCall(DpsOperatorMRIFree(mr));
  PetscCall(PetscFree(mr->mask));
  PetscCall(PetscFree(mr->maps));
  PetscCall(PetscFree(op->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate_MRI(DpsOperator op)
{
  Operator_MRI *mr;

  PetscFunctionBegin;
  PetscCall(PetscNew(&mr));
  mr->coils               = 1;
  op->data                = mr;
  op->ops->apply          = DpsOperatorApply_MRI;
  op->ops->applytranspose = DpsOperatorApplyTranspose_MRI;
  op->ops->normaldiagonal = DpsOperatorNormalDiagonal_MRI;
  op->ops->setdatashape   = DpsOperatorSetDataShape_MRI;
  op->ops->load           = DpsOperatorLoad_MRI;
  op->ops->save           = DpsOperatorSave_MRI;
  op->ops->view           = DpsOperatorView_MRI;
  op->ops->destroy        = DpsOperatorDestroy_MRI;
  PetscFunctionReturn(0);
}
