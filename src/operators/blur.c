/* Blur (methods.md section 8): each of the C channels of an H x W image is correlated with a stored kh x kw
   kernel k (odd sizes, centre (ch, cw) = (kh / 2, kw / 2)), as the reference DPS code's Conv2d does:
     y[i, j] = sum_{a, b} k[a, b] x[e(i + a - ch, H), e(j + b - cw, W)]
   with the boundary extension e:
   - reflect: mirror without repeating the edge (torch's F.pad mode 'reflect', numpy 'reflect', scipy.ndimage
     'mirror'), repeated as often as the kernel reaches: e(t, n) = t mod 2(n - 1) folded back into [0, n);
   - circular: e(t, n) = t mod n.
   Both are computed by FFTW on one channel at a time. reflect: the image extended to (H + kh - 1) x (W + kw - 1)
   and correlated there (no wrap reaches the kept outputs); its adjoint correlates back with the flipped kernel
   and FOLDS the extension onto the pixels it came from (the flipped kernel alone is not the adjoint).
   circular: A = F^* diag(conj G) F with G the DFT of the kernel folded onto the H x W torus, so
   A^T A = F^* diag(|G|^2) F: exact (a I + b A^T A)^{-1}, diag(A^T A) = sum g^2, and an SVD in the real Fourier basis.
   reflect has no exact inverse; it offers a preconditioner for CG on a I + b A^T A, with its own H x W plans:
   - a kernel symmetric in each axis (k[a, b] = k[kh-1-a, b] = k[a, kw-1-b], the Gaussian): the reflect extension is
     the even extension E onto the 2(H - 1) x 2(W - 1) torus, so A = D^{-1} E^T K E with K the circular blur there and
     D = E^T E = d_H (x) d_W, d = (1, 2, ..., 2, 1); M = D^{1/2} A D^{-1/2} is symmetric and diagonal in the DCT-I,
     with eigenvalues lambda the torus DFT of the folded kernel, and A^T A = S M (4 D^{-1}) M S with S = D^{1/2} / 2.
     The preconditioner P = S^{-1} (a I + b M^2)^{-1} S^{-1} = R diag(1 / (a + b lambda^2)) R D^{-1} / ((H-1)(W-1)),
     R the unnormalised 2-D DCT-I (FFTW REDFT00), satisfies P^{-1} <= a I + b A^T A <= 4 P^{-1} (S <= I and
     I <= 4 D^{-1} <= 4 I): the preconditioned spectrum lies in [1, 4] for every a, b (the Neumann-boundary DCT
     preconditioner of Ng, Chan and Tang, here for the whole-sample mirror with its boundary weights);
   - any other kernel (motion blur): Strang's circulant, the circular blur's exact (a I + b A_c^T A_c)^{-1} with the
     same kernel (A - A_c is nonzero only within the kernel's reach of the borders).
   Plans are made once, when the operator has its shape and kernel (FFTW_ESTIMATE: the same plan, hence the same
   rounding, on every rank and every run). */
#include <dpsolve/dpsolve.h>
#include <fftw3.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"

const char *const DpsBlurModes[] = {"reflect", "circular", "DpsBlurMode", "DPS_BLUR_", NULL};

typedef struct {
  DpsBlurMode   mode;
  PetscInt      kh, kw;
  PetscReal    *kernel;             /* [kh x kw] row-major */
  PetscInt      H, W, Hp, Wp, Wc;   /* image, FFT grid (extended for reflect), Wc = Wp / 2 + 1 */
  double       *r;                  /* [Hp x Wp] real FFT buffer */
  double       *c, *G;              /* [Hp x Wc] complex (interleaved): spectrum buffer, the kernel's spectrum */
  fftw_plan     fwd, bwd;
  PetscInt     *eh, *ew;            /* reflect: the image row (column) of each extended row (column) */
  PetscReal     gsq;                /* circular: sum of the folded kernel's squares, diag(A^T A) */
  PetscInt      ne, *es, *ekind, *epart; /* circular SVD: the half-spectrum entries that carry real coefficients */
  PetscBool     dct;                /* reflect's preconditioner: DCT-I (symmetric kernel) or circulant */
  double       *pr, *pc, *pG;       /* its H x W real buffer, spectrum buffer (circulant), kernel's spectrum (lambda for DCT) */
  fftw_plan     pfwd, pbwd;         /* circulant: r2c, c2r; DCT: REDFT00 in place (its own inverse up to scale) */
} Operator_Blur;

/* the scipy.ndimage.gaussian_filter of a centred delta, as the reference code builds its kernel: the 1-D
   weights exp(-t^2 / (2 sigma^2)), |t| <= round(4 sigma), normalised to sum 1; k[a, b] = w[a] w[b] */
PetscErrorCode DpsBlurGaussianKernel(PetscInt size, PetscReal sigma, PetscReal k[])
{
  const PetscInt c = size / 2, radius = (PetscInt)(4.0 * sigma + 0.5);
  PetscReal     *w, sum = 0.0;

  PetscFunctionBegin;
  PetscCheck(size >= 1 && size % 2 == 1 && sigma > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a Gaussian kernel needs an odd size and sigma > 0 (got %" PetscInt_FMT ", %g)", size, (double)sigma);
  PetscCall(PetscCalloc1(size, &w));
  for (PetscInt t = -radius; t <= radius; t++) sum += PetscExpReal(-0.5 * t * t / (sigma * sigma));
  for (PetscInt t = -radius; t <= radius; t++)
    if (c + t >= 0 && c + t < size) w[c + t] = PetscExpReal(-0.5 * t * t / (sigma * sigma)) / sum;
  for (PetscInt a = 0; a < size; a++)
    for (PetscInt b = 0; b < size; b++) k[a * size + b] = w[a] * w[b];
  PetscCall(PetscFree(w));
  PetscFunctionReturn(0);
}

static PetscInt Mirror(PetscInt t, PetscInt n)
{
  PetscInt p = 2 * (n - 1);
  if (n == 1) return 0;
  t %= p;
  if (t < 0) t += p;
  return t < n ? t : p - t;
}

static PetscErrorCode DpsOperatorBlurFree(Operator_Blur *bl)
{
  PetscFunctionBegin;
  if (bl->fwd) fftw_destroy_plan(bl->fwd);
  if (bl->bwd) fftw_destroy_plan(bl->bwd);
  if (bl->pfwd) fftw_destroy_plan(bl->pfwd);
  if (bl->pbwd) fftw_destroy_plan(bl->pbwd);
  bl->fwd = bl->bwd = bl->pfwd = bl->pbwd = NULL;
  fftw_free(bl->r);
  fftw_free(bl->c);
  fftw_free(bl->G);
  fftw_free(bl->pr);
  fftw_free(bl->pc);
  fftw_free(bl->pG);
  bl->r = bl->pr = NULL;
  bl->dct = PETSC_FALSE;
  bl->c = bl->G = bl->pc = bl->pG = NULL;
  PetscCall(PetscFree2(bl->eh, bl->ew));
  PetscCall(PetscFree3(bl->es, bl->ekind, bl->epart));
  bl->ne = 0;
  PetscFunctionReturn(0);
}

/* the real Fourier basis of an H x W torus: in the columns w = 0 and w = W / 2 (W even) of the half spectrum,
   the entries h = 0 and h = H / 2 (H even) are real (one coefficient) and h < H / 2 stands for its mirror H - h
   (two coefficients); every entry of the other columns gives two. H W coefficients in all. */
static PetscErrorCode DpsOperatorBlurBasis(Operator_Blur *bl)
{
  const PetscInt H = bl->H, W = bl->W, Wc = bl->Wc;
  PetscInt       ncoef = 0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc3(H * Wc, &bl->es, H * Wc, &bl->ekind, H * Wc, &bl->epart));
  bl->ne = 0;
  for (PetscInt h = 0; h < H; h++)
    for (PetscInt w = 0; w < Wc; w++) {
      PetscBool selfcol = (w == 0 || 2 * w == W) ? PETSC_TRUE : PETSC_FALSE;
      PetscInt  hm = (H - h) % H, kind;
      if (selfcol && hm == h) kind = 1;
      else if (selfcol && h > hm) continue; /* the mirror of an entry already listed */
      else kind = 2;
      bl->es[bl->ne]    = h * Wc + w;
      bl->ekind[bl->ne] = kind;
      bl->epart[bl->ne] = selfcol && kind == 2 ? hm * Wc + w : -1;
      bl->ne++;
      ncoef += kind;
    }
  PetscCheck(ncoef == H * W, PETSC_COMM_SELF, PETSC_ERR_PLIB, "real Fourier basis of %" PetscInt_FMT " x %" PetscInt_FMT " has %" PetscInt_FMT " coefficients", H, W, ncoef);
  PetscFunctionReturn(0);
}

/* r [H x stride] <- the kernel folded onto the H x W torus: k[a, b] added at ((a - ch) mod H, (b - cw) mod W) */
static void FoldKernel(Operator_Blur *bl, PetscInt H, PetscInt W, PetscInt stride, double r[])
{
  const PetscInt ch = bl->kh / 2, cw = bl->kw / 2;
  for (PetscInt e = 0; e < H * stride; e++) r[e] = 0.0;
  for (PetscInt a = 0; a < bl->kh; a++)
    for (PetscInt b = 0; b < bl->kw; b++) r[((a - ch) % H + H) % H * stride + ((b - cw) % W + W) % W] += bl->kernel[a * bl->kw + b];
}

/* sizes, plans and the kernel's spectrum, once the operator has both its data shape and its kernel */
static PetscErrorCode DpsOperatorBlurConfigure(DpsOperator op)
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  PetscInt       N, ch = bl->kh / 2, cw = bl->kw / 2;

  PetscFunctionBegin;
  PetscCall(DpsOperatorBlurFree(bl));
  op->m = op->n = 0;
  PetscCall(PetscFree(op->sv));
  if (!op->shape[0] || !bl->kernel) PetscFunctionReturn(0);
  bl->H  = op->shape[1];
  bl->W  = op->shape[2];
  bl->Hp = bl->mode == DPS_BLUR_REFLECT ? bl->H + bl->kh - 1 : bl->H;
  bl->Wp = bl->mode == DPS_BLUR_REFLECT ? bl->W + bl->kw - 1 : bl->W;
  bl->Wc = bl->Wp / 2 + 1;
  N      = bl->Hp * bl->Wp;
  bl->r  = fftw_alloc_real((size_t)N);
  bl->c  = (double *)fftw_alloc_complex((size_t)(bl->Hp * bl->Wc));
  bl->G  = (double *)fftw_alloc_complex((size_t)(bl->Hp * bl->Wc));
  PetscCheck(bl->r && bl->c && bl->G, PETSC_COMM_SELF, PETSC_ERR_MEM, "blur: cannot allocate the FFT buffers of %" PetscInt_FMT " x %" PetscInt_FMT, bl->Hp, bl->Wp);
  bl->fwd = fftw_plan_dft_r2c_2d((int)bl->Hp, (int)bl->Wp, bl->r, (fftw_complex *)bl->c, FFTW_ESTIMATE);
  bl->bwd = fftw_plan_dft_c2r_2d((int)bl->Hp, (int)bl->Wp, (fftw_complex *)bl->c, bl->r, FFTW_ESTIMATE);
  PetscCheck(bl->fwd && bl->bwd, PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW could not plan a %" PetscInt_FMT " x %" PetscInt_FMT " transform", bl->Hp, bl->Wp);
  /* the kernel on the FFT grid: at the origin (reflect, no wrap reaches a kept output) or folded onto the torus */
  if (bl->mode == DPS_BLUR_CIRCULAR) FoldKernel(bl, bl->H, bl->W, bl->Wp, bl->r);
  else {
    for (PetscInt e = 0; e < N; e++) bl->r[e] = 0.0;
    for (PetscInt a = 0; a < bl->kh; a++)
      for (PetscInt b = 0; b < bl->kw; b++) bl->r[a * bl->Wp + b] = bl->kernel[a * bl->kw + b];
  }
  bl->gsq = 0.0;
  for (PetscInt e = 0; e < N; e++) bl->gsq += bl->r[e] * bl->r[e];
  fftw_execute(bl->fwd);
  for (PetscInt e = 0; e < bl->Hp * bl->Wc; e++) {
    bl->G[2 * e] = bl->c[2 * e];
    bl->G[2 * e + 1] = bl->c[2 * e + 1];
  }
  if (bl->mode == DPS_BLUR_REFLECT) {
    PetscCall(PetscMalloc2(bl->Hp, &bl->eh, bl->Wp, &bl->ew));
    for (PetscInt p = 0; p < bl->Hp; p++) bl->eh[p] = Mirror(p - ch, bl->H);
    for (PetscInt q = 0; q < bl->Wp; q++) bl->ew[q] = Mirror(q - cw, bl->W);
    /* the preconditioner: DCT-I for a kernel symmetric in each axis, else the circular blur's spectrum */
    bl->dct = bl->H > 1 && bl->W > 1 ? PETSC_TRUE : PETSC_FALSE;
    for (PetscInt a = 0; a < bl->kh; a++)
      for (PetscInt b = 0; b < bl->kw; b++)
        if (bl->kernel[a * bl->kw + b] != bl->kernel[(bl->kh - 1 - a) * bl->kw + b] || bl->kernel[a * bl->kw + b] != bl->kernel[a * bl->kw + bl->kw - 1 - b]) bl->dct = PETSC_FALSE;
    if (bl->dct) {
      const PetscInt Ht = 2 * (bl->H - 1), Wt = 2 * (bl->W - 1);
      double        *t;
      bl->pr = fftw_alloc_real((size_t)(bl->H * bl->W));
      bl->pG = fftw_alloc_real((size_t)(bl->H * bl->W));
      t      = fftw_alloc_real((size_t)(Ht * Wt));
      PetscCheck(bl->pr && bl->pG && t, PETSC_COMM_SELF, PETSC_ERR_MEM, "blur: cannot allocate the preconditioner's DCT buffers of %" PetscInt_FMT " x %" PetscInt_FMT, bl->H, bl->W);
      bl->pfwd = fftw_plan_r2r_2d((int)bl->H, (int)bl->W, bl->pr, bl->pr, FFTW_REDFT00, FFTW_REDFT00, FFTW_ESTIMATE);
      PetscCheck(bl->pfwd, PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW could not plan a %" PetscInt_FMT " x %" PetscInt_FMT " DCT-I", bl->H, bl->W);
      /* lambda: the DFT of the kernel folded onto the 2(H - 1) x 2(W - 1) torus (even), the DCT-I of its first block */
      FoldKernel(bl, Ht, Wt, Wt, t);
      for (PetscInt i = 0; i < bl->H; i++)
        for (PetscInt j = 0; j < bl->W; j++) bl->pr[i * bl->W + j] = t[i * Wt + j];
      fftw_free(t);
      fftw_execute(bl->pfwd);
      for (PetscInt e = 0; e < bl->H * bl->W; e++) bl->pG[e] = bl->pr[e];
    } else {
      const PetscInt Wc = bl->W / 2 + 1;
      bl->pr = fftw_alloc_real((size_t)(bl->H * bl->W));
      bl->pc = (double *)fftw_alloc_complex((size_t)(bl->H * Wc));
      bl->pG = (double *)fftw_alloc_complex((size_t)(bl->H * Wc));
      PetscCheck(bl->pr && bl->pc && bl->pG, PETSC_COMM_SELF, PETSC_ERR_MEM, "blur: cannot allocate the preconditioner's FFT buffers of %" PetscInt_FMT " x %" PetscInt_FMT, bl->H, bl->W);
      bl->pfwd = fftw_plan_dft_r2c_2d((int)bl->H, (int)bl->W, bl->pr, (fftw_complex *)bl->pc, FFTW_ESTIMATE);
      bl->pbwd = fftw_plan_dft_c2r_2d((int)bl->H, (int)bl->W, (fftw_complex *)bl->pc, bl->pr, FFTW_ESTIMATE);
      PetscCheck(bl->pfwd && bl->pbwd, PETSC_COMM_SELF, PETSC_ERR_LIB, "FFTW could not plan a %" PetscInt_FMT " x %" PetscInt_FMT " transform", bl->H, bl->W);
      FoldKernel(bl, bl->H, bl->W, bl->W, bl->pr);
      fftw_execute(bl->pfwd);
      for (PetscInt e = 0; e < 2 * bl->H * Wc; e++) bl->pG[e] = bl->pc[e];
    }
  } else PetscCall(DpsOperatorBlurBasis(bl));
  op->m = op->n = op->shape[0] * bl->H * bl->W;
  for (int d = 0; d < 3; d++) op->outshape[d] = op->shape[d];
  PetscFunctionReturn(0);
}

/* c <- c * G (adjoint) or c * conj(G) (forward), divided by the grid size (FFTW's round trip multiplies by it) */
static void MultiplySpectrum(Operator_Blur *bl, PetscBool conjugate)
{
  const double s = 1.0 / (double)(bl->Hp * bl->Wp), sg = conjugate ? -1.0 : 1.0;
  for (PetscInt e = 0; e < bl->Hp * bl->Wc; e++) {
    double gr = bl->G[2 * e], gi = sg * bl->G[2 * e + 1], cr = bl->c[2 * e], ci = bl->c[2 * e + 1];
    bl->c[2 * e] = s * (cr * gr - ci * gi);
    bl->c[2 * e + 1] = s * (cr * gi + ci * gr);
  }
}

static PetscErrorCode DpsOperatorApply_Blur(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  const PetscInt H = bl->H, W = bl->W, Wp = bl->Wp;

  PetscFunctionBegin;
  for (PetscInt ch = 0; ch < op->shape[0]; ch++) {
    const PetscReal *xc = x + ch * H * W;
    PetscReal       *yc = y + ch * H * W;
    if (bl->mode == DPS_BLUR_REFLECT)
      for (PetscInt p = 0; p < bl->Hp; p++)
        for (PetscInt q = 0; q < Wp; q++) bl->r[p * Wp + q] = xc[bl->eh[p] * W + bl->ew[q]];
    else PetscCall(PetscArraycpy(bl->r, xc, H * W));
    fftw_execute(bl->fwd);
    MultiplySpectrum(bl, PETSC_TRUE);
    fftw_execute(bl->bwd);
    for (PetscInt i = 0; i < H; i++)
      for (PetscInt j = 0; j < W; j++) yc[i * W + j] = bl->r[i * Wp + j];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApplyTranspose_Blur(DpsOperator op, const PetscReal y[], PetscReal x[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  const PetscInt H = bl->H, W = bl->W, Wp = bl->Wp;

  PetscFunctionBegin;
  for (PetscInt ch = 0; ch < op->shape[0]; ch++) {
    const PetscReal *yc = y + ch * H * W;
    PetscReal       *xc = x + ch * H * W;
    for (PetscInt e = 0; e < bl->Hp * Wp; e++) bl->r[e] = 0.0;
    for (PetscInt i = 0; i < H; i++)
      for (PetscInt j = 0; j < W; j++) bl->r[i * Wp + j] = yc[i * W + j];
    fftw_execute(bl->fwd);
    MultiplySpectrum(bl, PETSC_FALSE);
    fftw_execute(bl->bwd);
    if (bl->mode == DPS_BLUR_REFLECT) {
      /* every extended pixel goes back to the image pixel it was copied from */
      for (PetscInt e = 0; e < H * W; e++) xc[e] = 0.0;
      for (PetscInt p = 0; p < bl->Hp; p++)
        for (PetscInt q = 0; q < Wp; q++) xc[bl->eh[p] * W + bl->ew[q]] += bl->r[p * Wp + q];
    } else PetscCall(PetscArraycpy(xc, bl->r, H * W));
  }
  PetscFunctionReturn(0);
}

/* circular: (a I + b A^T A)^{-1} = F^* diag(1 / (a + b |G|^2)) F */
static PetscErrorCode DpsOperatorNormalInverse_Blur(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  const PetscInt HW = bl->H * bl->W;
  const double   s  = 1.0 / (double)HW;

  PetscFunctionBegin;
  for (PetscInt ch = 0; ch < op->shape[0]; ch++) {
    PetscCall(PetscArraycpy(bl->r, x + ch * HW, HW));
    fftw_execute(bl->fwd);
    for (PetscInt e = 0; e < bl->Hp * bl->Wc; e++) {
      double d = s / (a + b * (bl->G[2 * e] * bl->G[2 * e] + bl->G[2 * e + 1] * bl->G[2 * e + 1]));
      bl->c[2 * e] *= d;
      bl->c[2 * e + 1] *= d;
    }
    fftw_execute(bl->bwd);
    PetscCall(PetscArraycpy(y + ch * HW, bl->r, HW));
  }
  PetscFunctionReturn(0);
}

/* reflect's preconditioner (symmetric positive definite, as CG needs): for a symmetric kernel the DCT-I form
   R diag(1 / (a + b lambda^2)) R D^{-1} / ((H-1)(W-1)); else (a I + b A_c^T A_c)^{-1} = F^* diag(1 / (a + b |G_c|^2)) F
   of the circular blur A_c with the same kernel */
static PetscErrorCode DpsOperatorNormalInversePreconditioner_Blur(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  const PetscInt HW = bl->H * bl->W, nc = bl->H * (bl->W / 2 + 1);
  const double   s  = 1.0 / (double)HW;

  PetscFunctionBegin;
  if (bl->dct) {
    const double sd = 1.0 / ((double)(bl->H - 1) * (double)(bl->W - 1));
    for (PetscInt ch = 0; ch < op->shape[0]; ch++) {
      const PetscReal *xc = x + ch * HW;
      for (PetscInt i = 0; i < bl->H; i++)
        for (PetscInt j = 0; j < bl->W; j++) { /* D^{-1} x */
          double d = (i == 0 || i == bl->H - 1 ? 1.0 : 2.0) * (j == 0 || j == bl->W - 1 ? 1.0 : 2.0);
          bl->pr[i * bl->W + j] = xc[i * bl->W + j] / d;
        }
      fftw_execute(bl->pfwd);
      for (PetscInt e = 0; e < HW; e++) bl->pr[e] *= sd / (a + b * bl->pG[e] * bl->pG[e]);
      fftw_execute(bl->pfwd);
      PetscCall(PetscArraycpy(y + ch * HW, bl->pr, HW));
    }
    PetscFunctionReturn(0);
  }
  for (PetscInt ch = 0; ch < op->shape[0]; ch++) {
    PetscCall(PetscArraycpy(bl->pr, x + ch * HW, HW));
    fftw_execute(bl->pfwd);
    for (PetscInt e = 0; e < nc; e++) {
      double d = s / (a + b * (bl->pG[2 * e] * bl->pG[2 * e] + bl->pG[2 * e + 1] * bl->pG[2 * e + 1]));
      bl->pc[2 * e] *= d;
      bl->pc[2 * e + 1] *= d;
    }
    fftw_execute(bl->pbwd);
    PetscCall(PetscArraycpy(y + ch * HW, bl->pr, HW));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorNormalDiagonal_Blur(DpsOperator op, PetscReal d[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;

  PetscFunctionBegin;
  for (PetscInt e = 0; e < op->n; e++) d[e] = bl->gsq;
  PetscFunctionReturn(0);
}

/* SVD (circular): V is the real Fourier basis, sv = |G| on each of its coefficients, U = the same basis turned by
   the phase of G (U^T y = coefficients of F y * G / |G|), so that U^T A x = |G| V^T x. Channel-major coordinates. */
static PetscErrorCode DpsOperatorSVDSetUp_Blur(DpsOperator op)
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  const PetscInt HW = bl->H * bl->W;
  PetscInt       k  = 0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(op->n, &op->sv));
  for (PetscInt e = 0; e < bl->ne; e++) {
    PetscReal g = PetscSqrtReal(bl->G[2 * (bl->es[e])] * bl->G[2 * (bl->es[e])] + bl->G[2 * (bl->es[e]) + 1] * bl->G[2 * (bl->es[e]) + 1]);
    for (PetscInt t = 0; t < bl->ekind[e]; t++) op->sv[k++] = g;
  }
  for (PetscInt ch = 1; ch < op->shape[0]; ch++) PetscCall(PetscArraycpy(op->sv + ch * HW, op->sv, HW));
  PetscFunctionReturn(0);
}

/* coefficients of one channel from the spectrum in bl->c, optionally turned by the phase of G */
static void ExtractCoefficients(Operator_Blur *bl, PetscBool phase, PetscReal out[])
{
  const double s = 1.0 / PetscSqrtReal((double)(bl->H * bl->W)), s2 = PETSC_SQRT2 * s;
  PetscInt     k = 0;
  for (PetscInt e = 0; e < bl->ne; e++) {
    const PetscInt i = bl->es[e];
    double         cr = bl->c[2 * i], ci = bl->c[2 * i + 1];
    if (phase) {
      double gr = bl->G[2 * i], gi = bl->G[2 * i + 1], g = PetscSqrtReal(gr * gr + gi * gi), t;
      if (g > 0) {
        t  = (cr * gr - ci * gi) / g;
        ci = (cr * gi + ci * gr) / g;
        cr = t;
      }
    }
    if (bl->ekind[e] == 1) out[k++] = s * cr;
    else {
      out[k++] = s2 * cr;
      out[k++] = s2 * ci;
    }
  }
}

static PetscErrorCode DpsOperatorVT_Blur(DpsOperator op, const PetscReal x[], PetscReal xbar[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  const PetscInt HW = bl->H * bl->W;

  PetscFunctionBegin;
  for (PetscInt ch = 0; ch < op->shape[0]; ch++) {
    PetscCall(PetscArraycpy(bl->r, x + ch * HW, HW));
    fftw_execute(bl->fwd);
    ExtractCoefficients(bl, PETSC_FALSE, xbar + ch * HW);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorUT_Blur(DpsOperator op, const PetscReal y[], PetscReal ybar[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  const PetscInt HW = bl->H * bl->W;

  PetscFunctionBegin;
  for (PetscInt ch = 0; ch < op->shape[0]; ch++) {
    PetscCall(PetscArraycpy(bl->r, y + ch * HW, HW));
    fftw_execute(bl->fwd);
    ExtractCoefficients(bl, PETSC_TRUE, ybar + ch * HW);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorV_Blur(DpsOperator op, const PetscReal xbar[], PetscReal x[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  const PetscInt HW = bl->H * bl->W;
  const double   s = PetscSqrtReal((double)HW), s2 = s / PETSC_SQRT2, inv = 1.0 / (double)HW;

  PetscFunctionBegin;
  for (PetscInt ch = 0; ch < op->shape[0]; ch++) {
    const PetscReal *xb = xbar + ch * HW;
    PetscInt         k  = 0;
    for (PetscInt e = 0; e < bl->Hp * bl->Wc; e++) bl->c[2 * e] = bl->c[2 * e + 1] = 0.0;
    for (PetscInt e = 0; e < bl->ne; e++) {
      const PetscInt i = bl->es[e];
      if (bl->ekind[e] == 1) bl->c[2 * i] = s * xb[k++];
      else {
        bl->c[2 * i] = s2 * xb[k++];
        bl->c[2 * i + 1] = s2 * xb[k++];
        if (bl->epart[e] >= 0) { /* the mirror entry of a self-conjugate column: its conjugate */
          bl->c[2 * (bl->epart[e])] = bl->c[2 * i];
          bl->c[2 * (bl->epart[e]) + 1] = -bl->c[2 * i + 1];
        }
      }
    }
    fftw_execute(bl->bwd);
    for (PetscInt e = 0; e < HW; e++) x[ch * HW + e] = inv * bl->r[e];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorBlurSetOps(DpsOperator op)
{
  Operator_Blur *bl   = (Operator_Blur *)op->data;
  PetscBool      circ = bl->mode == DPS_BLUR_CIRCULAR ? PETSC_TRUE : PETSC_FALSE;

  PetscFunctionBegin;
  op->ops->normalinverse   = circ ? DpsOperatorNormalInverse_Blur : NULL;
  op->ops->normalinversepc = circ ? NULL : DpsOperatorNormalInversePreconditioner_Blur;
  op->ops->normaldiagonal  = circ ? DpsOperatorNormalDiagonal_Blur : NULL;
  op->ops->svdsetup        = circ ? DpsOperatorSVDSetUp_Blur : NULL;
  op->ops->vt              = circ ? DpsOperatorVT_Blur : NULL;
  op->ops->v               = circ ? DpsOperatorV_Blur : NULL;
  op->ops->ut              = circ ? DpsOperatorUT_Blur : NULL;
  PetscCall(DpsOperatorBlurConfigure(op));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorBlurCheck(DpsOperator op, const char who[])
{
  PetscBool is;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, DPSOPERATORBLUR, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s() needs a blur operator", who);
  PetscCheck(!op->setupcalled, PETSC_COMM_SELF, PETSC_ERR_ORDER, "%s() after DpsOperatorSetUp()", who);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorBlurSetKernel(DpsOperator op, PetscInt kh, PetscInt kw, const PetscReal k[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;

  PetscFunctionBegin;
  PetscCall(DpsOperatorBlurCheck(op, "DpsOperatorBlurSetKernel"));
  PetscCheck(kh >= 1 && kw >= 1 && kh % 2 == 1 && kw % 2 == 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a blur kernel needs odd sizes, centred on (kh / 2, kw / 2) (got %" PetscInt_FMT " x %" PetscInt_FMT ")", kh, kw);
  for (PetscInt e = 0; e < kh * kw; e++) PetscCheck(PetscIsNormalReal(k[e]) || k[e] == 0.0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "blur kernel entry %" PetscInt_FMT " is %g: must be finite", e, (double)k[e]);
  PetscCall(PetscFree(bl->kernel));
  PetscCall(PetscMalloc1(kh * kw, &bl->kernel));
  PetscCall(PetscArraycpy(bl->kernel, k, kh * kw));
  bl->kh = kh;
  bl->kw = kw;
  PetscCall(DpsOperatorBlurSetOps(op));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorBlurSetMode(DpsOperator op, DpsBlurMode mode)
{
  Operator_Blur *bl = (Operator_Blur *)op->data;

  PetscFunctionBegin;
  PetscCall(DpsOperatorBlurCheck(op, "DpsOperatorBlurSetMode"));
  PetscCheck(mode == DPS_BLUR_REFLECT || mode == DPS_BLUR_CIRCULAR, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "unknown blur mode %d", (int)mode);
  bl->mode = mode;
  PetscCall(DpsOperatorBlurSetOps(op));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSetDataShape_Blur(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorBlurConfigure(op));
  PetscFunctionReturn(0);
}

/* /operator: attribute mode ("reflect" or "circular"), dataset kernel [kh, kw] (odd sizes); without kernel, the
   protocol's Gaussian 61 x 61, sigma 3 */
static PetscErrorCode DpsOperatorLoad_Blur(DpsOperator op, hid_t file, const char fname[])
{
  Operator_Blur *bl = (Operator_Blur *)op->data;
  char           path[PETSC_MAX_PATH_LEN], mode[32] = "reflect";
  PetscBool      has, found = PETSC_FALSE;
  hsize_t        dims[2];
  PetscReal     *k;

  PetscFunctionBegin;
  if (H5Aexists_by_name(file, op->group, "mode", H5P_DEFAULT) > 0) PetscCall(DpsH5ReadStringAttribute(file, fname, op->group, "mode", mode, sizeof(mode)));
  for (int i = 0; i < 2; i++) {
    PetscBool same;
    PetscCall(PetscStrcmp(mode, DpsBlurModes[i], &same));
    if (same) {
      bl->mode = (DpsBlurMode)i;
      found    = PETSC_TRUE;
    }
  }
  PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute mode of %s is '%s': must be reflect or circular", fname, op->group, mode);
  PetscCall(DpsOperatorDatasetName(op, "kernel", path, sizeof(path)));
  PetscCall(DpsH5Exists(file, path, &has));
  if (has) {
    PetscCall(DpsH5GetDims(file, fname, path, 2, "(kh, kw)", dims));
    PetscCheck(dims[0] % 2 == 1 && dims[1] % 2 == 1 && dims[0] <= 4097 && dims[1] <= 4097, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is %llu x %llu: a blur kernel needs odd sizes (it is centred on (kh / 2, kw / 2)), at most 4097", fname, path, (unsigned long long)dims[0], (unsigned long long)dims[1]);
    PetscCall(PetscMalloc1(dims[0] * dims[1], &k));
    PetscCall(DpsH5ReadAll(file, fname, path, k));
    PetscCall(DpsH5CheckFinite(fname, path, 0, (PetscInt)dims[0], (PetscInt)dims[1], k));
    PetscCall(DpsOperatorBlurSetKernel(op, (PetscInt)dims[0], (PetscInt)dims[1], k));
    PetscCall(PetscFree(k));
  } else PetscCall(DpsOperatorBlurSetOps(op));
  PetscCheck(op->shape[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the blur operator of %s needs the data shape (C, H, W) of the images: the input's attribute data_shape", fname, op->group);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSave_Blur(DpsOperator op, hid_t file)
{
  Operator_Blur *bl      = (Operator_Blur *)op->data;
  hsize_t        dims[2] = {(hsize_t)bl->kh, (hsize_t)bl->kw};
  char           path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(DpsH5WriteStringAttribute(file, op->group, "mode", DpsBlurModes[bl->mode]));
  PetscCall(DpsOperatorDatasetName(op, "kernel", path, sizeof(path)));
  PetscCall(DpsH5WriteAll(file, path, 2, dims, bl->kernel));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorView_Blur(DpsOperator op, PetscViewer viewer)
{
  Operator_Blur *bl = (Operator_Blur *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "kernel %" PetscInt_FMT " x %" PetscInt_FMT ", boundary %s, FFT grid %" PetscInt_FMT " x %" PetscInt_FMT " per channel\n", bl->kh, bl->kw, DpsBlurModes[bl->mode], bl->Hp, bl->Wp));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorDestroy_Blur(DpsOperator op)
{
  Operator_Blur *bl = (Operator_Blur *)op->data;

  PetscFunctionBegin;
  PetscCall(DpsOperatorBlurFree(bl));
  PetscCall(PetscFree(bl->kernel));
  PetscCall(PetscFree(op->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate_Blur(DpsOperator op)
{
  Operator_Blur *bl;

  PetscFunctionBegin;
  PetscCall(PetscNew(&bl));
  op->data = bl;
  /* the reference protocol's default: Gaussian 61 x 61, sigma 3.0, reflect boundary */
  bl->mode = DPS_BLUR_REFLECT;
  bl->kh = bl->kw = 61;
  PetscCall(PetscMalloc1(61 * 61, &bl->kernel));
  PetscCall(DpsBlurGaussianKernel(61, 3.0, bl->kernel));
  op->ops->apply          = DpsOperatorApply_Blur;
  op->ops->applytranspose = DpsOperatorApplyTranspose_Blur;
  op->ops->setdatashape   = DpsOperatorSetDataShape_Blur;
  op->ops->load           = DpsOperatorLoad_Blur;
  op->ops->save           = DpsOperatorSave_Blur;
  op->ops->view           = DpsOperatorView_Blur;
  op->ops->destroy        = DpsOperatorDestroy_Blur;
  PetscCall(DpsOperatorBlurSetOps(op));
  PetscFunctionReturn(0);
}
