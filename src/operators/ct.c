/* 2-D computed tomography (methods.md section 8): parallel-beam and fan-beam (flat detector) projectors of
   Joseph's method, with the adjoint the exact transpose of the same discretisation (one loop computes the weights
   for both: A gathers, A^T scatters).
   Geometry, in pixel units (ASTRA's conventions): pixel (r, c) of an H x W image is the unit square centred at
   x = c - W / 2 + 1/2, y = H / 2 - r - 1/2 (columns to the right, rows downwards). Detector bin k of D sits at
   t_k = (k - (D - 1) / 2) s along u = (cos theta, sin theta). Parallel: the ray of bin k is the line through t_k u
   with direction (sin theta, -cos theta). Fan (flat detector): the source is at S (sin theta, -cos theta), the
   detector's centre at -E (sin theta, -cos theta), bin k at that centre + t_k u; the ray runs from the source to
   the bin's centre. Joseph: along a ray of unit direction d, if |d_y| >= |d_x| each image row r is crossed once,
   at a point whose column coordinate c* = x + W / 2 - 1/2 is interpolated linearly between the pixels
   floor(c*) and floor(c*) + 1 (0 outside the image), with weight 1 / |d_y| (the path length per row); otherwise
   the same with columns and rows exchanged. One ray per bin, through its centre. y is [angle][bin] row-major per
   channel (C channels of (C, H, W) data are projected alike). diag(A^T A) is offered: a ray meets each pixel at
   most once, so it is the sum of the squared weights. So is a Fourier preconditioner of a I + b A^T A where the
   views cover all directions (below). */
#include <dpsolve/dpsolve.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"
#include <fftw3.h>

const char *const DpsCTGeometries[] = {"parallel", "fan", "DpsCTGeometry", "DPS_CT_", NULL};

typedef struct {
  DpsCTGeometry geometry;
  PetscInt      na, D;       /* angles, detector bins */
  PetscReal    *angles;      /* [na] radians */
  PetscReal     ds, S, E;    /* bin spacing; fan: source-origin and origin-detector distances */
  PetscReal    *ray;         /* [na D 4]: a point of the ray (x, y) and its unit direction (dx, dy) */
  PetscReal     scale;       /* A = scale x Joseph's projector (attribute scale, default 1: DpsOperatorLoad_CT) */
  /* the preconditioner of a I + b A^T A (built on first use): the Fourier multiplier K [H Wc] of Chan's circulant
     of A^T A's point-spread function at the image centre, on the H x W torus, with FFTW's buffers and plans */
  PetscInt      Wc;
  double       *K, *pr, *pc;
  fftw_plan     pfwd, pbwd;
} Operator_CT;

static void DpsOperatorCTFreePreconditioner(Operator_CT *ct)
{
  if (ct->pfwd) fftw_destroy_plan(ct->pfwd);
  if (ct->pbwd) fftw_destroy_plan(ct->pbwd);
  fftw_free(ct->K);
  fftw_free(ct->pr);
  fftw_free(ct->pc);
  ct->pfwd = ct->pbwd = NULL;
  ct->K = ct->pr = ct->pc = NULL;
}

static PetscErrorCode DpsOperatorNormalInversePreconditioner_CT(DpsOperator, PetscReal, PetscReal, const PetscReal[], PetscReal[]);

/* The preconditioner is offered only where the view directions cover [0, pi): no gap between consecutive
   directions (mod pi, widened by the fan's half-width for fan beam) exceeds 4 pi / na. A Fourier preconditioner
   cannot represent a missing wedge: for 60 views over 90 degrees on 32 x 32 (a = 1, b = 400), P Lambda's spectrum
   reached 5.8e3 and C-DPS at sigma_y 0.05 took 6524 CG iterations per solve against 2680 unpreconditioned. */
static PetscErrorCode DpsOperatorCTCoverage(DpsOperator op, PetscBool *covered)
{
  Operator_CT *ct = (Operator_CT *)op->data;
  PetscReal   *phi, gap = 0.0, fan = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(ct->na, &phi));
  for (PetscInt a = 0; a < ct->na; a++) phi[a] = ct->angles[a] - PETSC_PI * PetscFloorReal(ct->angles[a] / PETSC_PI);
  PetscCall(PetscSortReal(ct->na, phi));
  for (PetscInt a = 1; a < ct->na; a++) gap = PetscMax(gap, phi[a] - phi[a - 1]);
  gap = PetscMax(gap, phi[0] + PETSC_PI - phi[ct->na - 1]);
  if (ct->geometry == DPS_CT_FAN) fan = PetscAsinReal(PetscMin(1.0, 0.5 * PetscSqrtReal((PetscReal)(op->shape[1] * op->shape[1] + op->shape[2] * op->shape[2])) / ct->S));
  *covered = gap - 2.0 * fan <= 4.0 * PETSC_PI / ct->na ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscFree(phi));
  PetscFunctionReturn(0);
}

/* the point and unit direction of every ray, once the operator has its geometry and data shape */
static PetscErrorCode DpsOperatorCTConfigure(DpsOperator op)
{
  Operator_CT *ct = (Operator_CT *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscFree(ct->ray));
  DpsOperatorCTFreePreconditioner(ct);
  op->ops->normalinversepc = NULL;
  op->m = op->n = 0;
  op->outshape[0] = op->outshape[1] = op->outshape[2] = 0;
  if (!op->shape[0] || !ct->angles) PetscFunctionReturn(0);
  /* a source inside the image would start rays in it, and Joseph's sweep would count pixels behind the source */
  PetscCheck(ct->geometry != DPS_CT_FAN || ct->S > 0.5 * PetscSqrtReal((PetscReal)(op->shape[1] * op->shape[1] + op->shape[2] * op->shape[2])), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "the fan-beam source distance %g lies inside the %" PetscInt_FMT " x %" PetscInt_FMT " image: it must exceed half the diagonal", (double)ct->S, op->shape[1], op->shape[2]);
  PetscCall(PetscMalloc1(4 * ct->na * ct->D, &ct->ray));
  for (PetscInt a = 0; a < ct->na; a++) {
    const PetscReal c = PetscCosReal(ct->angles[a]), s = PetscSinReal(ct->angles[a]);
    for (PetscInt k = 0; k < ct->D; k++) {
      PetscReal *r = ct->ray + 4 * (a * ct->D + k), t = (k - 0.5 * (ct->D - 1)) * ct->ds;
      if (ct->geometry == DPS_CT_PARALLEL) {
        r[0] = t * c;
        r[1] = t * s;
        r[2] = s;
        r[3] = -c;
      } else {
        PetscReal sx = ct->S * s, sy = -ct->S * c, bx = -ct->E * s + t * c, by = ct->E * c + t * s, len = PetscSqrtReal(PetscSqr(bx - sx) + PetscSqr(by - sy));
        r[0] = sx;
        r[1] = sy;
        r[2] = (bx - sx) / len;
        r[3] = (by - sy) / len;
      }
    }
  }
  op->n           = op->shape[0] * op->shape[1] * op->shape[2];
  op->m           = op->shape[0] * ct->na * ct->D;
  op->outshape[0] = op->shape[0];
  op->outshape[1] = ct->na;
  op->outshape[2] = ct->D;
  {
    PetscBool covered = PETSC_FALSE;

    PetscCall(DpsOperatorCTCoverage(op, &covered));
    op->ops->normalinversepc = covered ? DpsOperatorNormalInversePreconditioner_CT : NULL;
  }
  PetscFunctionReturn(0);
}

typedef enum {
  CT_FORWARD,  /* y[ray] = sum w x[pixel] */
  CT_ADJOINT,  /* x[pixel] += w y[ray] */
  CT_SQUARES   /* x[pixel] += w^2 */
} CTPass;

/* one channel: every ray's Joseph weights, used as the pass says; the same weights in every pass */
static void Project(const Operator_CT *ct, PetscInt H, PetscInt W, CTPass pass, PetscReal x[], PetscReal y[])
{
  for (PetscInt i = 0; i < ct->na * ct->D; i++) {
    const PetscReal *r   = ct->ray + 4 * i;
    const PetscBool  row = PetscAbsReal(r[3]) >= PetscAbsReal(r[2]) ? PETSC_TRUE : PETSC_FALSE;
    const PetscInt   L = row ? H : W, n = row ? W : H;
    const PetscReal  w = ct->scale / PetscAbsReal(row ? r[3] : r[2]), slope = row ? r[2] / r[3] : r[3] / r[2];
    /* where the ray crosses row l (at y = H/2 - l - 1/2) it is at column coordinate cs = base - slope l; where it
       crosses column l (x = l - W/2 + 1/2), at row coordinate base - slope l (rows run downwards) */
    const PetscReal base = row ? r[0] + (0.5 * H - 0.5 - r[1]) * slope + 0.5 * W - 0.5 : 0.5 * H - 0.5 - r[1] - (0.5 - 0.5 * W - r[0]) * slope;
    PetscReal       acc  = 0.0;
    PetscInt        lo = 0, hi = L - 1;
    if (slope != 0.0) { /* only the l with -1 < cs < n touch the image (|slope| <= 1, so a few more are checked) */
      PetscReal a = (base - n) / slope, b = (base + 1.0) / slope; /* huge for a nearly axis-parallel ray: clamp first */
      lo = (PetscInt)PetscMax(0.0, PetscMin((PetscReal)L, PetscFloorReal(PetscMin(a, b)) - 1.0));
      hi = (PetscInt)PetscMin((PetscReal)(L - 1), PetscMax(-1.0, PetscCeilReal(PetscMax(a, b)) + 1.0));
    }
    for (PetscInt l = lo; l <= hi; l++) {
      const PetscReal cs = base - slope * l;
      PetscReal       f;
      PetscInt        c0, p0, step;
      if (!(cs > -1.0 && cs < n)) continue;
      c0   = (PetscInt)PetscFloorReal(cs);
      f    = cs - c0;
      p0   = row ? l * W + c0 : c0 * W + l; /* the pixel at c0 */
      step = row ? 1 : W;                   /* and the next one along the interpolation */
      if (c0 >= 0) {
        if (pass == CT_FORWARD) acc += w * (1.0 - f) * x[p0];
        else if (pass == CT_ADJOINT) x[p0] += w * (1.0 - f) * y[i];
        else x[p0] += PetscSqr(w * (1.0 - f));
      }
      if (c0 + 1 < n) {
        if (pass == CT_FORWARD) acc += w * f * x[p0 + step];
        else if (pass == CT_ADJOINT) x[p0 + step] += w * f * y[i];
        else x[p0 + step] += PetscSqr(w * f);
      }
    }
    if (pass == CT_FORWARD) y[i] = acc;
  }
}

static PetscErrorCode DpsOperatorApply_CT(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  Operator_CT   *ct = (Operator_CT *)op->data;
  const PetscInt H = op->shape[1], W = op->shape[2];

  PetscFunctionBegin;
  for (PetscInt c = 0; c < op->shape[0]; c++) Project(ct, H, W, CT_FORWARD, (PetscReal *)(x + c * H * W), y + c * ct->na * ct->D);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApplyTranspose_CT(DpsOperator op, const PetscReal y[], PetscReal x[])
{
  Operator_CT   *ct = (Operator_CT *)op->data;
  const PetscInt H = op->shape[1], W = op->shape[2];

  PetscFunctionBegin;
  for (PetscInt e = 0; e < op->n; e++) x[e] = 0.0;
  for (PetscInt c = 0; c < op->shape[0]; c++) Project(ct, H, W, CT_ADJOINT, x + c * H * W, (PetscReal *)(y + c * ct->na * ct->D));
  PetscFunctionReturn(0);
}

/* The preconditioner of CG on a I + b A^T A (methods.md section 8). A^T A is close to a convolution: for
   parallel beam over n equispaced views in [0, pi) with bins of ds pixels, the kernel n / (pi ds |r|), whose 2-D
   Fourier multiplier is n / (pi ds |xi|) (xi in cycles per pixel; Fessler and Booth 1999). Sparse or limited
   angles make it anisotropic and Joseph's interpolation damps its high frequencies, so the kernel is measured
   rather than modelled: h(d) = (A^T A e_p)(p + d), averaged over the CT_PSF_B x CT_PSF_B pixels p at the centre of
   a virtual image twice the size (every offset between two pixels of the image fits; the same pixel lattice) and
   symmetrised, h(d) <- (h(d) + h(-d)) / 2. The average because Joseph's A^T A varies with a pixel's position
   between the bins (the point-spread functions of two neighbours differ by a factor 1.5 at offset 1): with one
   pixel, P Lambda's spectrum reached 1e6 for 30 views on 32 x 32 at a = 1, b = 1e5; with 4 x 4, 9.2. The
   preconditioner is T. Chan's optimal circulant on the H x W torus of the Toeplitz operator with kernel h,
   c(k) = sum over the wraps d = k, k - (H, W) of (1 - |d_1| / H)(1 - |d_2| / W) h(d), with K = max(Re FFT(c), 0)
   the Rayleigh quotients of the Fourier modes: P = F^* diag(1 / (a + b K)) F, symmetric positive definite for
   a > 0. (Strang's circulant, h on a zero-padded 2H x 2W torus, had P Lambda's spectrum up to 2.7e3 for 64 views
   on 16 x 16 at a = 1, b = 400, Chan's 6.8: Strang's multiplier vanishes between the spokes of sparse views,
   where the operator on the finite image does not.) Fan beam: the parallel rays of the bin spacing
   at the centre, ds S / (S + E), and each view's angle spread over the CT_FAN_SPREAD angles gamma_j evenly in the
   fan's half-width asin(r / S) (r the image's half-diagonal), each weighted 1 / CT_FAN_SPREAD: a pixel off the
   centre sees view theta at theta + gamma(x), so that averaged over the image the fan fills the gaps between the
   views that parallel beam leaves (opposite views of a full scan are different lines). Its own rays would pass
   behind the source on the larger virtual image. */
#define CT_PSF_B      4
#define CT_FAN_SPREAD 8
static PetscErrorCode DpsOperatorCTSetUpPreconditioner(DpsOperator op)
{
  Operator_CT    *ct = (Operator_CT *)op->data;
  const PetscInt  H = op->shape[1], W = op->shape[2], Hb = 2 * H - H % 2, Wb = 2 * W - W % 2, B = CT_PSF_B, Hg = Hb + 2 * B, Wg = Wb + 2 * B;
  const PetscInt  J = ct->geometry == DPS_CT_FAN ? CT_FAN_SPREAD : 1;
  Operator_CT     par = *ct;
  PetscReal      *h, *y, *g;

  PetscFunctionBegin;
  ct->Wc = W / 2 + 1;
  PetscCall(PetscCalloc3(Hb * Wb, &h, ct->na * ct->D, &y, Hg * Wg, &g));
  if (ct->geometry == DPS_CT_FAN) {
    par.geometry = DPS_CT_PARALLEL;
    par.ds       = ct->ds * ct->S / (ct->S + ct->E);
    PetscCall(PetscMalloc1(4 * ct->na * ct->D, &par.ray));
  }
  for (PetscInt sj = 0; sj < J; sj++) {
    if (ct->geometry == DPS_CT_FAN) {
      const PetscReal gm = PetscAsinReal(0.5 * PetscSqrtReal((PetscReal)(H * H + W * W)) / ct->S), gam = gm * (2.0 * sj + 1.0 - J) / J;
      for (PetscInt a = 0; a < ct->na; a++) {
        const PetscReal c = PetscCosReal(ct->angles[a] + gam), s = PetscSinReal(ct->angles[a] + gam);
        for (PetscInt k = 0; k < ct->D; k++) {
          PetscReal *r = par.ray + 4 * (a * ct->D + k), t = (k - 0.5 * (ct->D - 1)) * par.ds;
          r[0] = t * c;
          r[1] = t * s;
          r[2] = s;
          r[3] = -c;
        }
      }
    }
    for (PetscInt pi = 0; pi < B; pi++)
      for (PetscInt pj = 0; pj < B; pj++) {
        const PetscInt ci = Hg / 2 + pi - B / 2, cj = Wg / 2 + pj - B / 2;
        for (PetscInt e = 0; e < Hg * Wg; e++) g[e] = 0.0;
        g[ci * Wg + cj] = 1.0;
        Project(&par, Hg, Wg, CT_FORWARD, g, y);
        g[ci * Wg + cj] = 0.0;
        Project(&par, Hg, Wg, CT_ADJOINT, g, y);
        for (PetscInt i = 0; i < Hb; i++)
          for (PetscInt j = 0; j < Wb; j++) h[i * Wb + j] += g[(ci + i - Hb / 2) * Wg + cj + j - Wb / 2] / (B * B * J);
      }
  }
  if (ct->geometry == DPS_CT_FAN) PetscCall(PetscFree(par.ray));
  ct->pr   = fftw_alloc_real((size_t)(H * W));
  ct->pc   = (double *)fftw_alloc_complex((size_t)(H * ct->Wc));
  ct->K    = fftw_alloc_real((size_t)(H * ct->Wc));
  ct->pfwd = fftw_plan_dft_r2c_2d((int)H, (int)W, ct->pr, (fftw_complex *)ct->pc, FFTW_ESTIMATE);
  ct->pbwd = fftw_plan_dft_c2r_2d((int)H, (int)W, (fftw_complex *)ct->pc, ct->pr, FFTW_ESTIMATE);
  PetscCheck(ct->pr && ct->pc && ct->K && ct->pfwd && ct->pbwd, PETSC_COMM_SELF, PETSC_ERR_MEM, "ct: FFTW could not allocate the %" PetscInt_FMT " x %" PetscInt_FMT " preconditioner", H, W);
  for (PetscInt i = 0; i < H; i++) /* Chan's circulant of the symmetrised kernel */
    for (PetscInt j = 0; j < W; j++) {
      PetscReal acc = 0.0;
      for (int u = 0; u < 2; u++)
        for (int v = 0; v < 2; v++) {
          const PetscInt di = u ? i - H : i, dj = v ? j - W : j;
          if (di <= -H || dj <= -W) continue;
          acc += (1.0 - PetscAbsInt(di) / (PetscReal)H) * (1.0 - PetscAbsInt(dj) / (PetscReal)W) * 0.5 * (h[(Hb / 2 + di) * Wb + Wb / 2 + dj] + h[(Hb / 2 - di) * Wb + Wb / 2 - dj]);
        }
      ct->pr[i * W + j] = acc;
    }
  PetscCall(PetscFree3(h, y, g));
  fftw_execute(ct->pfwd);
  for (PetscInt e = 0; e < H * ct->Wc; e++) ct->K[e] = PetscMax(ct->pc[2 * e], 0.0);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorNormalInversePreconditioner_CT(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  Operator_CT   *ct = (Operator_CT *)op->data;
  const PetscInt H = op->shape[1], W = op->shape[2];

  PetscFunctionBegin;
  PetscCheck(a > 0 && b >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "ct: the preconditioner of a I + b A^T A needs a > 0 and b >= 0 (got %g and %g)", (double)a, (double)b);
  if (!ct->K) PetscCall(DpsOperatorCTSetUpPreconditioner(op));
  for (PetscInt c = 0; c < op->shape[0]; c++) {
    const double s = 1.0 / ((double)H * (double)W);
    PetscCall(PetscArraycpy(ct->pr, x + c * H * W, H * W));
    fftw_execute(ct->pfwd);
    for (PetscInt e = 0; e < H * ct->Wc; e++) {
      const double d = s / (a + b * ct->K[e]);
      ct->pc[2 * e] *= d;
      ct->pc[2 * e + 1] *= d;
    }
    fftw_execute(ct->pbwd);
    PetscCall(PetscArraycpy(y + c * H * W, ct->pr, H * W));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorNormalDiagonal_CT(DpsOperator op, PetscReal d[])
{
  Operator_CT   *ct = (Operator_CT *)op->data;
  const PetscInt HW = op->shape[1] * op->shape[2];

  PetscFunctionBegin;
  for (PetscInt e = 0; e < HW; e++) d[e] = 0.0;
  Project(ct, op->shape[1], op->shape[2], CT_SQUARES, d, NULL);
  for (PetscInt c = 1; c < op->shape[0]; c++) PetscCall(PetscArraycpy(d + c * HW, d, HW));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCTSetGeometry(DpsOperator op, DpsCTGeometry geometry, PetscInt na, const PetscReal angles[], PetscInt D, PetscReal spacing, PetscReal source, PetscReal detector)
{
  Operator_CT *ct = (Operator_CT *)op->data;
  PetscBool    is;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, DPSOPERATORCT, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsOperatorCTSetGeometry() needs a ct operator");
  PetscCheck(!op->setupcalled, PETSC_COMM_SELF, PETSC_ERR_ORDER, "DpsOperatorCTSetGeometry() after DpsOperatorSetUp()");
  PetscCheck(geometry == DPS_CT_PARALLEL || geometry == DPS_CT_FAN, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "unknown ct geometry %d", (int)geometry);
  PetscCheck(na >= 1 && D >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a ct geometry needs at least one angle and one detector bin (got %" PetscInt_FMT " and %" PetscInt_FMT ")", na, D);
  PetscCheck(spacing > 0 && PetscIsNormalReal(spacing), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "the ct detector spacing %g must be positive and finite", (double)spacing);
  for (PetscInt a = 0; a < na; a++) PetscCheck(!PetscIsInfOrNanReal(angles[a]), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "ct angle %" PetscInt_FMT " is %g: must be finite", a, (double)angles[a]);
  if (geometry == DPS_CT_FAN) PetscCheck(source > 0 && detector >= 0 && PetscIsNormalReal(source) && !PetscIsInfOrNanReal(detector), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a fan-beam geometry needs a source distance > 0 and a detector distance >= 0 (got %g and %g)", (double)source, (double)detector);
  PetscCall(PetscFree(ct->angles));
  PetscCall(PetscMalloc1(na, &ct->angles));
  PetscCall(PetscArraycpy(ct->angles, angles, na));
  ct->geometry = geometry;
  ct->na       = na;
  ct->D        = D;
  ct->ds       = spacing;
  ct->S        = source;
  ct->E        = detector;
  PetscCall(DpsOperatorCTConfigure(op));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSetDataShape_CT(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorCTConfigure(op));
  PetscFunctionReturn(0);
}

/* /operator: attribute geometry (parallel or fan), det_count, det_spacing, and for fan source_distance and
   detector_distance; dataset angles [na] (radians) */
static PetscErrorCode DpsOperatorLoad_CT(DpsOperator op, hid_t file, const char fname[])
{
  char       path[PETSC_MAX_PATH_LEN], geom[32];
  hsize_t    ad[1];
  PetscInt   D, nv;
  PetscReal *angles, ds, S = 0, E = 0;
  PetscBool  fan, par;

  PetscFunctionBegin;
  PetscCheck(op->shape[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the ct operator of %s needs the data shape (C, H, W) of the images: the input's attribute data_shape", fname, op->group);
  PetscCall(DpsH5ReadStringAttribute(file, fname, op->group, "geometry", geom, sizeof(geom)));
  PetscCall(PetscStrcmp(geom, "parallel", &par));
  PetscCall(PetscStrcmp(geom, "fan", &fan));
  PetscCheck(par || fan, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute geometry of %s is '%s': must be parallel or fan", fname, op->group, geom);
  PetscCall(DpsH5ReadIntArrayAttribute(file, fname, op->group, "det_count", 1, &nv, &D));
  PetscCheck(D >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute det_count of %s is %" PetscInt_FMT ": at least 1 detector bin", fname, op->group, D);
  PetscCall(DpsH5ReadRealAttribute(file, fname, op->group, "det_spacing", &ds));
  PetscCheck(ds > 0 && PetscIsNormalReal(ds), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute det_spacing of %s is %g: must be positive (in pixels)", fname, op->group, (double)ds);
  if (fan) {
    PetscCall(DpsH5ReadRealAttribute(file, fname, op->group, "source_distance", &S));
    PetscCall(DpsH5ReadRealAttribute(file, fname, op->group, "detector_distance", &E));
    PetscCheck(S > 0 && E >= 0 && PetscIsNormalReal(S) && !PetscIsInfOrNanReal(E), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attributes source_distance %g and detector_distance %g of %s: the source must be at a distance > 0 from the centre, the detector at >= 0", fname, (double)S, (double)E, op->group);
    /* the source outside the image: else rays start inside it and Joseph's sweep would count pixels behind it */
    PetscCheck(S > 0.5 * PetscSqrtReal((PetscReal)(op->shape[1] * op->shape[1] + op->shape[2] * op->shape[2])), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute source_distance of %s is %g: the source must lie outside the %" PetscInt_FMT " x %" PetscInt_FMT " image (more than half its diagonal from the centre)", fname, op->group, (double)S, op->shape[1], op->shape[2]);
  }
  PetscCall(DpsOperatorDatasetName(op, "angles", path, sizeof(path)));
  PetscCall(DpsH5GetDims(file, fname, path, 1, "(angles)", ad));
  PetscCheck(ad[0] >= 1 && ad[0] <= 1000000, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %llu angles: between 1 and 10^6", fname, path, (unsigned long long)ad[0]);
  PetscCall(PetscMalloc1(ad[0], &angles));
  PetscCall(DpsH5ReadAll(file, fname, path, angles));
  PetscCall(DpsH5CheckFinite(fname, path, 0, 1, (PetscInt)ad[0], angles));
  PetscCall(DpsOperatorCTSetGeometry(op, fan ? DPS_CT_FAN : DPS_CT_PARALLEL, (PetscInt)ad[0], angles, D, ds, S, E));
  PetscCall(PetscFree(angles));
  /* optional attribute scale: A = scale x Joseph (dpstools.make ct --normalise stores 1 / ||Joseph||_2 with sigma_y
     divided by the same: the same problem in units where ||A||_2 = 1, the units DPS's step zeta is set for) */
  if (H5Aexists_by_name(file, op->group, "scale", H5P_DEFAULT) > 0) {
    PetscReal sc;

    PetscCall(DpsH5ReadRealAttribute(file, fname, op->group, "scale", &sc));
    PetscCheck(sc > 0 && PetscIsNormalReal(sc), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute scale of %s is %g: must be positive and finite", fname, op->group, (double)sc);
    ((Operator_CT *)op->data)->scale = sc;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSave_CT(DpsOperator op, hid_t file)
{
  Operator_CT *ct = (Operator_CT *)op->data;
  hsize_t      na = (hsize_t)ct->na;
  char         path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(DpsH5WriteStringAttribute(file, op->group, "geometry", DpsCTGeometries[ct->geometry]));
  PetscCall(DpsH5WriteIntAttribute(file, op->group, "det_count", ct->D));
  PetscCall(DpsH5WriteRealAttribute(file, op->group, "det_spacing", ct->ds));
  if (ct->scale != 1.0) PetscCall(DpsH5WriteRealAttribute(file, op->group, "scale", ct->scale));
  if (ct->geometry == DPS_CT_FAN) {
    PetscCall(DpsH5WriteRealAttribute(file, op->group, "source_distance", ct->S));
    PetscCall(DpsH5WriteRealAttribute(file, op->group, "detector_distance", ct->E));
  }
  PetscCall(DpsOperatorDatasetName(op, "angles", path, sizeof(path)));
  PetscCall(DpsH5WriteAll(file, path, 1, &na, ct->angles));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorView_CT(DpsOperator op, PetscViewer viewer)
{
  Operator_CT *ct = (Operator_CT *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "%s beam, Joseph's projector: %" PetscInt_FMT " angles, %" PetscInt_FMT " bins of %g pixels", DpsCTGeometries[ct->geometry], ct->na, ct->D, (double)ct->ds));
  if (ct->geometry == DPS_CT_FAN) PetscCall(PetscViewerASCIIPrintf(viewer, ", source %g and detector %g pixels from the centre", (double)ct->S, (double)ct->E));
  if (ct->scale != 1.0) PetscCall(PetscViewerASCIIPrintf(viewer, ", scaled by %g", (double)ct->scale));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorDestroy_CT(DpsOperator op)
{
  Operator_CT *ct = (Operator_CT *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscFree(ct->angles));
  PetscCall(PetscFree(ct->ray));
  DpsOperatorCTFreePreconditioner(ct);
  PetscCall(PetscFree(op->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate_CT(DpsOperator op)
{
  Operator_CT *ct;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ct));
  ct->scale               = 1.0;
  op->data                = ct;
  op->ops->apply          = DpsOperatorApply_CT;
  op->ops->applytranspose = DpsOperatorApplyTranspose_CT;
  op->ops->normaldiagonal = DpsOperatorNormalDiagonal_CT;
  op->ops->setdatashape   = DpsOperatorSetDataShape_CT;
  op->ops->load           = DpsOperatorLoad_CT;
  op->ops->save           = DpsOperatorSave_CT;
  op->ops->view           = DpsOperatorView_CT;
  op->ops->destroy        = DpsOperatorDestroy_CT;
  PetscFunctionReturn(0);
}
