/* The CUDA backend of the UNet (unet.h): the operation list that model.c builds, walked over a whole batch on one
   GPU. Same layers and the same math as the CPU backend (conv.c, norm.c, resblock.c, attention.c, resample.c,
   embed.c; the per-value functions of layers.h are shared), with these differences:
   - a batch of images goes through each operation together: tensors are [n][C][H][W], contiguous, and the
     workspace is model.c's per-image layout with every offset scaled by the images per pass (`chunk`);
   - GEMMs are cuBLAS (strided-batched over images, and over images x heads in attention), float32, or TF32
     tensor cores when asked; convolutions are im2col over groups of images + GEMM, their adjoints GEMM + a
     gathering col2im (each input pixel sums its own column entries: no atomics, a fixed order);
   - GroupNorm statistics are double sums in two kernels: strided chunks of each group (their number a function
     of the group size), then the chunks in order, so that every sum has a fixed order (no atomics).
   Every kernel is a grid-stride loop over its outputs, with no shared memory and no synchronisation inside
   (cuda_check.h): a thread's outputs depend only on inputs that an earlier kernel finished, which lets
   tests/kernels/cuda_emulation.h run this file on a machine without a GPU (where CI tests it).
   Parameters are copied to the device once; the workspace grows to the largest batch seen (memory permitting,
   larger batches are split into passes); each call copies its inputs in and its results out once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifndef DPS_CUDA_EMULATION
#include <cuda_runtime.h>
#include <cublas_v2.h>
#endif
#include "score/unet/model.h"
#include "score/cuda_check.h"

#define DPS_NORM_CHUNKS 1024               /* partial sums per GroupNorm group at most (DpsNormChunks) */
#define DPS_COL_TARGET  ((size_t)1 << 27)  /* floats of im2col buffer (512 MB) a convolution groups images into */
#define DPS_ALIGN       64                 /* floats: every workspace region starts on a 256-byte boundary */

#define DPS_RUN(kernel, n, ...) DPS_RUN_ON(cu->stream, kernel, n, __VA_ARGS__)
#define DPS_TRY(call) \
  do { \
    int dps_r_ = (call); \
    if (dps_r_) return dps_r_; \
  } while (0)

/* ------------------------------------------------------------------------------------------------------------ */
/* kernels: elementwise */

/* out[i][c][p] = b[c] (+ out) */
__global__ void DpsBiasPlanesKernel(size_t total, int C, size_t HW, const float *b, int accumulate, float *out)
{
  DPS_FOR(e, total)
  {
    const float v = b[(e / HW) % C];
    out[e]        = accumulate ? out[e] + v : v;
  }
}

/* y[i][o] += b[o] */
__global__ void DpsBiasRowsKernel(size_t total, int m, const float *b, float *y)
{
  DPS_FOR(e, total) y[e] += b[e % m];
}

__global__ void DpsSiluKernel(size_t total, const float *x, float *y)
{
  DPS_FOR(e, total) y[e] = x[e] * DpsUSigmoid(x[e]);
}

__global__ void DpsAddKernel(size_t total, const float *x, float *y)
{
  DPS_FOR(e, total) y[e] += x[e];
}

/* h[i][c][p] += v[i vs + c] (the time embedding added to h, without scale-shift) */
__global__ void DpsAddChannelKernel(size_t total, int C, size_t HW, const float *v, int vs, float *h)
{
  DPS_FOR(e, total) h[e] += v[(e / (C * HW)) * vs + (e / HW) % C];
}

/* scale-shift: gamma = n2g (1 + scale), beta = n2b (1 + scale) + shift; v[i] = [scale (C), shift (C)] */
__global__ void DpsScaleShiftKernel(size_t total, int C, const float *n2g, const float *n2b, const float *v, float *g, float *b)
{
  DPS_FOR(e, total)
  {
    const size_t i = e / C, c = e % C;
    const float  s = v[2 * C * i + c];
    g[e]           = n2g[c] * (1.0f + s);
    b[e]           = n2b[c] * (1.0f + s) + v[2 * C * i + C + c];
  }
}

/* guided-diffusion's timestep_embedding, as DpsUTimestepEmbedding */
__global__ void DpsTimestepKernel(size_t total, int dim, const float *t, float *emb)
{
  DPS_FOR(e, total)
  {
    const int    k = (int)(e % dim), half = dim / 2;
    const double ti = (double)t[e / dim];
    if (k < 2 * half) {
      const double f = exp(-log(10000.0) * (double)(k % half) / (double)half);
      emb[e]         = (float)(k < half ? cos(ti * f) : sin(ti * f));
    } else emb[e] = 0.0f;
  }
}

/* th.cat([x, skip], 1): out[i] = [in[i] (a floats), skip[i] (b floats)] */
__global__ void DpsCatKernel(size_t total, size_t a, size_t b, const float *in, const float *skip, float *out)
{
  DPS_FOR(e, total)
  {
    const size_t i = e / (a + b), r = e % (a + b);
    out[e]         = r < a ? in[i * a + r] : skip[i * b + r - a];
  }
}

/* its adjoint: din[i] = dout[i][0, a), gskip[i] += dout[i][a, a + b) */
__global__ void DpsCatAdjointKernel(size_t total, size_t a, size_t b, const float *dout, float *din, float *gskip)
{
  DPS_FOR(e, total)
  {
    const size_t i = e / (a + b), r = e % (a + b);
    if (r < a) din[i * a + r] = dout[e];
    else gskip[i * b + r - a] += dout[e];
  }
}

/* ---- resampling over n C planes of H x W (resample.c) ---- */
__global__ void DpsUpsampleKernel(size_t total, int H, int W, const float *in, float *out)
{
  DPS_FOR(e, total)
  {
    const size_t plane = e / ((size_t)4 * H * W), r = e % ((size_t)4 * H * W);
    const int    y = (int)(r / (2 * W)), x = (int)(r % (2 * W));
    out[e]         = in[plane * H * W + (size_t)(y / 2) * W + x / 2];
  }
}

__global__ void DpsUpsampleAdjointKernel(size_t total, int H, int W, const float *dout, int accumulate, float *din)
{
  DPS_FOR(e, total)
  {
    const size_t plane = e / ((size_t)H * W), r = e % ((size_t)H * W);
    const int    y = (int)(r / W), x = (int)(r % W);
    const float *r0 = dout + plane * 4 * H * W + (size_t)2 * y * 2 * W, *r1 = r0 + 2 * W;
    const float  v = (r0[2 * x] + r0[2 * x + 1]) + (r1[2 * x] + r1[2 * x + 1]);
    din[e]         = accumulate ? din[e] + v : v;
  }
}

/* H, W: the input's (even) size */
__global__ void DpsDownsampleKernel(size_t total, int H, int W, const float *in, float *out)
{
  DPS_FOR(e, total)
  {
    const int    Ho = H / 2, Wo = W / 2;
    const size_t plane = e / ((size_t)Ho * Wo), r = e % ((size_t)Ho * Wo);
    const int    y = (int)(r / Wo), x = (int)(r % Wo);
    const float *r0 = in + plane * H * W + (size_t)2 * y * W, *r1 = r0 + W;
    out[e]          = (r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1]) * 0.25f;
  }
}

__global__ void DpsDownsampleAdjointKernel(size_t total, int H, int W, const float *dout, int accumulate, float *din)
{
  DPS_FOR(e, total)
  {
    const size_t plane = e / ((size_t)H * W), r = e % ((size_t)H * W);
    const int    y = (int)(r / W), x = (int)(r % W);
    const float  v = 0.25f * dout[plane * (H / 2) * (W / 2) + (size_t)(y / 2) * (W / 2) + x / 2];
    din[e]         = accumulate ? din[e] + v : v;
  }
}

/* ---- convolution (conv.c): col[i][(ci k + ky) k + kx][oy Wo + ox] = in[i][ci][oy s - pad + ky][ox s - pad + kx] ---- */
__global__ void DpsIm2colKernel(size_t total, int cin, int H, int W, int k, int s, int Ho, int Wo, const float *in, float *col)
{
  DPS_FOR(e, total)
  {
    const size_t HWo = (size_t)Ho * Wo, K = (size_t)cin * k * k;
    const size_t i = e / (K * HWo), r = e % (K * HWo), kk = r / HWo, p = r % HWo;
    const int    ci = (int)(kk / (k * k)), ky = (int)(kk / k) % k, kx = (int)(kk % k), pad = (k - 1) / 2;
    const int    iy = (int)(p / Wo) * s - pad + ky, ix = (int)(p % Wo) * s - pad + kx;
    col[e]          = iy >= 0 && iy < H && ix >= 0 && ix < W ? in[((i * cin + ci) * H + iy) * W + ix] : 0.0f;
  }
}

/* the adjoint: din[i][ci][iy][ix] (+)= the sum of the column entries copied from that pixel, in (ky, kx) order */
__global__ void DpsCol2imKernel(size_t total, int cin, int H, int W, int k, int s, int Ho, int Wo, const float *col, int accumulate, float *din)
{
  DPS_FOR(e, total)
  {
    const size_t HWo = (size_t)Ho * Wo, K = (size_t)cin * k * k;
    const size_t i = e / ((size_t)cin * H * W), r = e % ((size_t)cin * H * W);
    const int    ci = (int)(r / ((size_t)H * W)), iy = (int)(r / W) % H, ix = (int)(r % W), pad = (k - 1) / 2;
    const float *coli = col + i * K * HWo;
    float        sum  = 0.0f;
    for (int ky = 0; ky < k; ky++) {
      const int ty = iy + pad - ky;
      if (ty < 0 || ty % s || ty / s >= Ho) continue;
      for (int kx = 0; kx < k; kx++) {
        const int tx = ix + pad - kx;
        if (tx < 0 || tx % s || tx / s >= Wo) continue;
        sum += coli[(size_t)((ci * k + ky) * k + kx) * HWo + (size_t)(ty / s) * Wo + tx / s];
      }
    }
    din[e] = accumulate ? din[e] + sum : sum;
  }
}

/* ---- GroupNorm (norm.c); a group is gsize = C / 32 H W contiguous values, group index i 32 + g ---- */

/* Partial sums per group: nch of them (a function of the group size only, so results never depend on the batch),
   about 512 values each, that enough threads stream the tensor; chunk c sums values c, c + nch, ... (the
   threads of a warp read consecutive values) */
static int DpsNormChunks(size_t gsize)
{
  size_t c = gsize / 512;
  return c < 1 ? 1 : c > DPS_NORM_CHUNKS ? DPS_NORM_CHUNKS : (int)c;
}

/* part[grp][c] = sum of x (mean NULL) or of (x - mean[grp])^2 over chunk c of the group's values */
__global__ void DpsNormPartialKernel(size_t total, int nch, size_t gsize, const float *x, const double *mean, double *part)
{
  DPS_FOR(e, total)
  {
    const size_t grp = e / nch;
    const float *xg  = x + grp * gsize;
    double       s   = 0.0;
    if (!mean)
      for (size_t q = e % nch; q < gsize; q += nch) s += xg[q];
    else
      for (size_t q = e % nch; q < gsize; q += nch) s += ((double)xg[q] - mean[grp]) * ((double)xg[q] - mean[grp]);
    part[e] = s;
  }
}

/* the chunks in order: the mean (meanf NULL), or the reciprocal standard deviation and the float mean */
__global__ void DpsNormFinishKernel(size_t ngroups, int nch, size_t gsize, const double *part, double *mean, float *meanf, float *rstd)
{
  DPS_FOR(grp, ngroups)
  {
    double s = 0.0;
    for (int c = 0; c < nch; c++) s += part[grp * nch + c];
    if (!meanf) mean[grp] = s / (double)gsize;
    else {
      meanf[grp] = (float)mean[grp];
      rstd[grp]  = (float)(1.0 / sqrt(s / (double)gsize + 1e-5));
    }
  }
}

/* y = act((x - mean) gamma rstd + beta); gamma, beta of image i at gamma + i gs (gs = 0: shared) */
__global__ void DpsNormApplyKernel(size_t total, int C, size_t HW, const float *x, const float *mean, const float *rstd, const float *gamma, const float *beta, int gs, int silu, float *y)
{
  DPS_FOR(e, total)
  {
    const size_t i = e / (C * HW), c = (e / HW) % C, grp = i * DPS_UNET_GROUPS + c / (C / DPS_UNET_GROUPS);
    const float  a = gamma[i * gs + c] * rstd[grp], b = beta[i * gs + c];
    const float  z = (x[e] - mean[grp]) * a + b;
    y[e]           = silu ? z * DpsUSigmoid(z) : z;
  }
}

/* backward, pass 1: dy <- g = gamma dz, and per chunk the sums of g and g xhat */
__global__ void DpsNormGradPartialKernel(size_t total, int nch, int C, size_t HW, const float *x, const float *mean, const float *rstd, const float *gamma, const float *beta, int gs, int silu, float *dy, double *part)
{
  DPS_FOR(e, total)
  {
    const size_t grp = e / nch, gsize = (size_t)(C / DPS_UNET_GROUPS) * HW, i = grp / DPS_UNET_GROUPS;
    const size_t c0 = (grp % DPS_UNET_GROUPS) * (C / DPS_UNET_GROUPS);
    double       sg = 0.0, sgx = 0.0;
    for (size_t q = e % nch; q < gsize; q += nch) {
      const size_t idx = grp * gsize + q, c = c0 + q / HW;
      float        xh;
      const float  g = DpsUNormGrad(x[idx], mean[grp], rstd[grp], gamma[i * gs + c], beta[i * gs + c], silu, dy[idx], &xh);
      dy[idx]        = g;
      sg += g;
      sgx += (double)g * xh;
    }
    part[2 * e]     = sg;
    part[2 * e + 1] = sgx;
  }
}

__global__ void DpsNormGradFinishKernel(size_t ngroups, int nch, size_t gsize, const double *part, float *mg, float *mgx)
{
  DPS_FOR(grp, ngroups)
  {
    double sg = 0.0, sgx = 0.0;
    for (int c = 0; c < nch; c++) {
      sg += part[2 * (grp * nch + c)];
      sgx += part[2 * (grp * nch + c) + 1];
    }
    mg[grp]  = (float)(sg / (double)gsize);
    mgx[grp] = (float)(sgx / (double)gsize);
  }
}

/* pass 2: dx (+)= rstd (g - mean(g) - xhat mean(g xhat)) */
__global__ void DpsNormGradApplyKernel(size_t total, int C, size_t HW, const float *x, const float *mean, const float *rstd, const float *g, const float *mg, const float *mgx, int accumulate, float *dx)
{
  DPS_FOR(e, total)
  {
    const size_t grp = (e / (C * HW)) * DPS_UNET_GROUPS + ((e / HW) % C) / (C / DPS_UNET_GROUPS);
    const float  v   = rstd[grp] * (g[e] - mg[grp] - (x[e] - mean[grp]) * rstd[grp] * mgx[grp]);
    dx[e]            = accumulate ? dx[e] + v : v;
  }
}

/* ---- attention (attention.c): rows of P [n heads L][L] ---- */
__global__ void DpsSoftmaxKernel(size_t rows, int L, float *P)
{
  DPS_FOR(r, rows) DpsUSoftmaxRow(L, P + r * L);
}

/* dS = P (dP - rowsum(P dP)), in place on dP */
__global__ void DpsSoftmaxAdjointKernel(size_t rows, int L, const float *P, float *dS)
{
  DPS_FOR(r, rows) DpsUSoftmaxAdjointRow(L, P + r * L, dS + r * L);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* the context */

struct DpsUnetCuda {
  const DpsUnet *net;
  int            device, tf32;
  cudaStream_t   stream;
  cublasHandle_t blas;
  float         *params; /* the device copy of net->params */
  void          *block;  /* the workspace, carved by DpsCudaCarve for the current mode and chunk */
  size_t         blockbytes;
  size_t         s3;       /* attention scratch per image: every head's L x L at once */
  size_t         colimage; /* im2col floats of the largest convolution, one image */
  int            maxchunk; /* images per pass at most (0: as many as fit) */
  int            lastchunk[2]; /* images in the first pass of the last call, per mode */
  /* carved */
  int     chunk;
  double *part, *mean;                     /* GroupNorm partial sums [chunk 32 DPS_NORM_CHUNKS 2], means [chunk 32] */
  float  *meanf, *rstd, *mg, *mgx;         /* [chunk 32] */
  float  *base, *s1, *s2, *s3buf, *col;    /* tensors and saved internals; scratch */
  float  *vec, *emb, *semb, *tmp;          /* [chunk net->vec], [chunk 4 mc] x 2, [chunk 8 mc] */
  float  *g[2], *gskip;                    /* VJP only */
  float  *x, *t, *out, *dx;                /* the call's inputs and results */
  size_t  colsize;
};

/* the device address of a parameter */
static const float *DpsDev(const DpsUnetCuda *cu, const float *p) { return cu->params + (p - cu->net->params); }

static size_t DpsRound(size_t n) { return (n + DPS_ALIGN - 1) / DPS_ALIGN * DPS_ALIGN; }

/* The bytes `chunk` images of one mode need; with a block, also sets the region pointers into it (a count, block
   NULL, changes nothing). Doubles first, then floats, every region aligned. */
static size_t DpsCudaCarve(DpsUnetCuda *cu, int vjp, int chunk, char *block)
{
  const DpsUnet *net = cu->net;
  const size_t   n = (size_t)chunk, mc = (size_t)net->cfg.model_channels, R = (size_t)net->cfg.image_size;
  const size_t   din = (size_t)net->cfg.in_channels * R * R, dout = (size_t)net->cfg.out_channels * R * R;
  size_t         off = 0;
  size_t         colimages = cu->colimage ? DPS_COL_TARGET / cu->colimage : 1;
#define DPS_TAKE(ptr, type, count) \
  do { \
    if (block) (ptr) = (type *)(block + off); \
    off += DpsRound(count) * sizeof(type); \
  } while (0)

  if (colimages < 1) colimages = 1;
  if (colimages > n) colimages = n;
  const size_t colsize = cu->colimage * colimages;
  DPS_TAKE(cu->part, double, n * DPS_UNET_GROUPS * DPS_NORM_CHUNKS * 2);
  DPS_TAKE(cu->mean, double, n * DPS_UNET_GROUPS);
  DPS_TAKE(cu->meanf, float, n * DPS_UNET_GROUPS);
  DPS_TAKE(cu->rstd, float, n * DPS_UNET_GROUPS);
  DPS_TAKE(cu->mg, float, n * DPS_UNET_GROUPS);
  DPS_TAKE(cu->mgx, float, n * DPS_UNET_GROUPS);
  DPS_TAKE(cu->base, float, n * (vjp ? net->vjp.size : net->fwd.size));
  DPS_TAKE(cu->s1, float, n * net->s1);
  DPS_TAKE(cu->s2, float, n * net->s2);
  DPS_TAKE(cu->s3buf, float, n * cu->s3);
  DPS_TAKE(cu->col, float, colsize);
  DPS_TAKE(cu->vec, float, n * net->vec);
  DPS_TAKE(cu->emb, float, n * 4 * mc);
  DPS_TAKE(cu->semb, float, n * 4 * mc);
  DPS_TAKE(cu->tmp, float, n * 8 * mc);
  DPS_TAKE(cu->x, float, n * din);
  DPS_TAKE(cu->t, float, n);
  DPS_TAKE(cu->out, float, n * dout);
  if (block) cu->g[0] = cu->g[1] = cu->gskip = cu->dx = NULL;
  if (vjp) {
    DPS_TAKE(cu->g[0], float, n * net->maxact);
    DPS_TAKE(cu->g[1], float, n * net->maxact);
    DPS_TAKE(cu->gskip, float, n * net->skipoffset[net->nskip]);
    DPS_TAKE(cu->dx, float, n * din);
  }
#undef DPS_TAKE
  if (block) { /* a count leaves the current carving as it is */
    cu->colsize = colsize;
    cu->chunk   = chunk;
  }
  return off;
}

/* Room for min(n, what fits) images of one mode: the workspace is only ever enlarged, and kept between calls. */
static int DpsCudaReserve(DpsUnetCuda *cu, int n, int vjp)
{
  size_t freeb, total, budget;
  int    fit = 0, want;

  if (cu->maxchunk > 0 && n > cu->maxchunk) n = cu->maxchunk;
  /* how many images the current workspace holds in this mode */
  while (fit < n && DpsCudaCarve(cu, vjp, fit + 1, NULL) <= cu->blockbytes) fit++;
  if (fit < n) {
    DPS_CUDA(cudaMemGetInfo(&freeb, &total));
    /* what is free plus what we hold, less headroom for cuBLAS and the runtime */
    budget = (size_t)(0.85 * (double)(freeb + cu->blockbytes));
    want   = fit;
    while (want < n && DpsCudaCarve(cu, vjp, want + 1, NULL) <= budget) want++;
    if (want < 1) {
      DpsCudaSetError("unet on CUDA device %d: one image needs %.1f MB of workspace (%s), %.1f MB are free", cu->device, DpsCudaCarve(cu, vjp, 1, NULL) / 1048576.0, vjp ? "VJP" : "forward", freeb / 1048576.0);
      return (int)cudaErrorMemoryAllocation;
    }
    if (want > fit) {
      void *b;
      DPS_CUDA(cudaStreamSynchronize(cu->stream));
      DPS_CUDA(cudaFree(cu->block));
      cu->block      = NULL;
      cu->blockbytes = 0;
      const size_t bytes = DpsCudaCarve(cu, vjp, want, NULL);
      DPS_CUDA(cudaMalloc(&b, bytes));
      cu->block      = b;
      cu->blockbytes = bytes;
      fit            = want;
    }
  }
  DpsCudaCarve(cu, vjp, fit, (char *)cu->block);
  return 0;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* GEMMs: row-major [r][c] arrays are column-major (c x r), as in layers.h's DpsSgemm calls */

static int DpsGemm(DpsUnetCuda *cu, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const float *a, int lda, long long sa, const float *b, int ldb, long long sb, float beta, float *c, int ldc, long long sc, int batch)
{
  DPS_CUBLAS(cublasSgemmStridedBatched(cu->blas, ta, tb, m, n, k, &alpha, a, lda, sa, b, ldb, sb, &beta, c, ldc, sc, batch));
  return 0;
}

/* y[n][out] = x[n][in] W^T + b */
static int DpsCudaLinear(DpsUnetCuda *cu, const DpsULinear *l, int n, const float *x, float *y)
{
  DPS_TRY(DpsGemm(cu, CUBLAS_OP_T, CUBLAS_OP_N, l->out, n, l->in, 1.0f, DpsDev(cu, l->w), l->in, 0, x, l->in, 0, 0.0f, y, l->out, 0, 1));
  DPS_RUN(DpsBiasRowsKernel, (size_t)n * l->out, (size_t)n * l->out, l->out, DpsDev(cu, l->b), y);
  return 0;
}

static int DpsCudaSilu(DpsUnetCuda *cu, size_t len, const float *x, float *y)
{
  DPS_RUN(DpsSiluKernel, len, len, x, y);
  return 0;
}

/* ---- convolutions of n images ---- */

static int DpsColImages(const DpsUnetCuda *cu, size_t colimage, int n)
{
  size_t g = colimage ? cu->colsize / colimage : (size_t)n;
  return g < 1 ? 1 : g > (size_t)n ? n : (int)g;
}

/* out = conv(in) (+ out) */
static int DpsCudaConvForward(DpsUnetCuda *cu, const DpsUConv *c, int n, int H, int W, const float *in, float *out, int accumulate)
{
  int       Ho, Wo;
  const int K = c->cin * c->k * c->k;

  DpsUConvOutputSize(c, H, W, &Ho, &Wo);
  const size_t HWo = (size_t)Ho * Wo, outsize = (size_t)c->cout * HWo;
  DPS_RUN(DpsBiasPlanesKernel, n * outsize, n * outsize, c->cout, HWo, DpsDev(cu, c->b), accumulate, out);
  if (c->k == 1 && c->stride == 1) return DpsGemm(cu, CUBLAS_OP_N, CUBLAS_OP_N, (int)HWo, c->cout, K, 1.0f, in, (int)HWo, (long long)K * HWo, DpsDev(cu, c->w), K, 0, 1.0f, out, (int)HWo, (long long)outsize, n);
  const int group = DpsColImages(cu, K * HWo, n);
  for (int i0 = 0; i0 < n; i0 += group) {
    const int    m   = n - i0 < group ? n - i0 : group;
    const size_t tot = (size_t)m * K * HWo;
    DPS_RUN(DpsIm2colKernel, tot, tot, c->cin, H, W, c->k, c->stride, Ho, Wo, in + (size_t)i0 * c->cin * H * W, cu->col);
    DPS_TRY(DpsGemm(cu, CUBLAS_OP_N, CUBLAS_OP_N, (int)HWo, c->cout, K, 1.0f, cu->col, (int)HWo, (long long)K * HWo, DpsDev(cu, c->w), K, 0, 1.0f, out + (size_t)i0 * outsize, (int)HWo, (long long)outsize, m));
  }
  return 0;
}

/* din = conv^T(dout) (+ din) */
static int DpsCudaConvBackward(DpsUnetCuda *cu, const DpsUConv *c, int n, int H, int W, const float *dout, float *din, int accumulate)
{
  int       Ho, Wo;
  const int K = c->cin * c->k * c->k;

  DpsUConvOutputSize(c, H, W, &Ho, &Wo);
  const size_t HWo = (size_t)Ho * Wo, outsize = (size_t)c->cout * HWo, insize = (size_t)c->cin * H * W;
  if (c->k == 1 && c->stride == 1) return DpsGemm(cu, CUBLAS_OP_N, CUBLAS_OP_T, (int)HWo, c->cin, c->cout, 1.0f, dout, (int)HWo, (long long)outsize, DpsDev(cu, c->w), K, 0, accumulate ? 1.0f : 0.0f, din, (int)HWo, (long long)insize, n);
  const int group = DpsColImages(cu, K * HWo, n);
  for (int i0 = 0; i0 < n; i0 += group) {
    const int    m   = n - i0 < group ? n - i0 : group;
    const size_t tot = (size_t)m * insize;
    DPS_TRY(DpsGemm(cu, CUBLAS_OP_N, CUBLAS_OP_T, (int)HWo, K, c->cout, 1.0f, dout + (size_t)i0 * outsize, (int)HWo, (long long)outsize, DpsDev(cu, c->w), K, 0, 0.0f, cu->col, (int)HWo, (long long)K * HWo, m));
    DPS_RUN(DpsCol2imKernel, tot, tot, c->cin, H, W, c->k, c->stride, Ho, Wo, cu->col, accumulate, din + (size_t)i0 * insize);
  }
  return 0;
}

/* ---- GroupNorm of n images ---- */

/* meanf and rstd of every group */
static int DpsCudaNormStats(DpsUnetCuda *cu, int n, int C, size_t HW, const float *x)
{
  const size_t ng = (size_t)n * DPS_UNET_GROUPS, gsize = (size_t)(C / DPS_UNET_GROUPS) * HW;
  const int    nch = DpsNormChunks(gsize);
  DPS_RUN(DpsNormPartialKernel, ng * nch, ng * nch, nch, gsize, x, (const double *)NULL, cu->part);
  DPS_RUN(DpsNormFinishKernel, ng, ng, nch, gsize, cu->part, cu->mean, (float *)NULL, (float *)NULL);
  DPS_RUN(DpsNormPartialKernel, ng * nch, ng * nch, nch, gsize, x, cu->mean, cu->part);
  DPS_RUN(DpsNormFinishKernel, ng, ng, nch, gsize, cu->part, cu->mean, cu->meanf, cu->rstd);
  return 0;
}

/* gamma, beta: device arrays, per image gs apart (0: the same for every image) */
static int DpsCudaNormForward(DpsUnetCuda *cu, int n, int C, size_t HW, const float *x, const float *gamma, const float *beta, int gs, int silu, float *y)
{
  const size_t tot = (size_t)n * C * HW;
  DPS_TRY(DpsCudaNormStats(cu, n, C, HW, x));
  DPS_RUN(DpsNormApplyKernel, tot, tot, C, HW, x, cu->meanf, cu->rstd, gamma, beta, gs, silu, y);
  return 0;
}

/* dx (+)= J^T dy; dy is overwritten */
static int DpsCudaNormBackward(DpsUnetCuda *cu, int n, int C, size_t HW, const float *x, const float *gamma, const float *beta, int gs, int silu, float *dy, float *dx, int accumulate)
{
  const size_t ng = (size_t)n * DPS_UNET_GROUPS, gsize = (size_t)(C / DPS_UNET_GROUPS) * HW, tot = (size_t)n * C * HW;
  const int    nch = DpsNormChunks(gsize);
  DPS_TRY(DpsCudaNormStats(cu, n, C, HW, x));
  DPS_RUN(DpsNormGradPartialKernel, ng * nch, ng * nch, nch, C, HW, x, cu->meanf, cu->rstd, gamma, beta, gs, silu, dy, cu->part);
  DPS_RUN(DpsNormGradFinishKernel, ng, ng, nch, gsize, cu->part, cu->mg, cu->mgx);
  DPS_RUN(DpsNormGradApplyKernel, tot, tot, C, HW, x, cu->meanf, cu->rstd, dy, cu->mg, cu->mgx, accumulate, dx);
  return 0;
}

/* ---- resampling ---- */

static int DpsCudaResample(DpsUnetCuda *cu, DpsUResample dir, int n, int C, int H, int W, const float *in, float *out)
{
  const size_t planes = (size_t)n * C;
  if (dir == DPS_URESAMPLE_UP) DPS_RUN(DpsUpsampleKernel, planes * 4 * H * W, planes * 4 * H * W, H, W, in, out);
  else DPS_RUN(DpsDownsampleKernel, planes * (H / 2) * (W / 2), planes * (H / 2) * (W / 2), H, W, in, out);
  return 0;
}

static int DpsCudaResampleAdjoint(DpsUnetCuda *cu, DpsUResample dir, int n, int C, int H, int W, const float *dout, float *din, int accumulate)
{
  const size_t tot = (size_t)n * C * H * W;
  if (dir == DPS_URESAMPLE_UP) DPS_RUN(DpsUpsampleAdjointKernel, tot, tot, H, W, dout, accumulate, din);
  else DPS_RUN(DpsDownsampleAdjointKernel, tot, tot, H, W, dout, accumulate, din);
  return 0;
}

/* ---- ResBlock (resblock.c) ---- */

/* the second GroupNorm's affine map: the embedding's projection at vec [n][eo], then per-image gamma, beta */
static int DpsCudaResNorm2(DpsUnetCuda *cu, const DpsUResBlock *r, int n, const float **g2, const float **b2, int *gs)
{
  DPS_TRY(DpsCudaLinear(cu, &r->emb, n, cu->semb, cu->vec));
  if (r->scale_shift) {
    float *g = cu->vec + (size_t)n * r->emb.out, *b = g + (size_t)n * r->cout;
    DPS_RUN(DpsScaleShiftKernel, (size_t)n * r->cout, (size_t)n * r->cout, r->cout, DpsDev(cu, r->n2g), DpsDev(cu, r->n2b), cu->vec, g, b);
    *g2 = g;
    *b2 = b;
    *gs = r->cout;
  } else {
    *g2 = DpsDev(cu, r->n2g);
    *b2 = DpsDev(cu, r->n2b);
    *gs = 0;
  }
  return 0;
}

static int DpsCudaResForward(DpsUnetCuda *cu, const DpsUResBlock *r, int n, int H, int W, const float *x, float *h, float *out)
{
  const float *a = cu->s1, *xs = x, *g2, *b2;
  int          Ho, Wo, gs;

  DpsUResBlockOutputSize(r, H, W, &Ho, &Wo);
  const size_t HWo = (size_t)Ho * Wo;
  DPS_TRY(DpsCudaNormForward(cu, n, r->cin, (size_t)H * W, x, DpsDev(cu, r->n1g), DpsDev(cu, r->n1b), 0, 1, cu->s1));
  if (r->updown != DPS_URESAMPLE_NONE) {
    DPS_TRY(DpsCudaResample(cu, r->updown, n, r->cin, H, W, cu->s1, cu->s2));
    DPS_TRY(DpsCudaResample(cu, r->updown, n, r->cin, H, W, x, cu->s3buf));
    a  = cu->s2;
    xs = cu->s3buf;
  }
  DPS_TRY(DpsCudaConvForward(cu, &r->c1, n, Ho, Wo, a, h, 0));
  DPS_TRY(DpsCudaResNorm2(cu, r, n, &g2, &b2, &gs));
  if (!r->scale_shift) DPS_RUN(DpsAddChannelKernel, (size_t)n * r->cout * HWo, (size_t)n * r->cout * HWo, r->cout, HWo, cu->vec, r->emb.out, h);
  DPS_TRY(DpsCudaNormForward(cu, n, r->cout, HWo, h, g2, b2, gs, 1, cu->s1));
  DPS_TRY(DpsCudaConvForward(cu, &r->c2, n, Ho, Wo, cu->s1, out, 0));
  if (r->skip.k) return DpsCudaConvForward(cu, &r->skip, n, Ho, Wo, xs, out, 1);
  DPS_RUN(DpsAddKernel, (size_t)n * r->cout * HWo, (size_t)n * r->cout * HWo, xs, out);
  return 0;
}

static int DpsCudaResBackward(DpsUnetCuda *cu, const DpsUResBlock *r, int n, int H, int W, const float *x, const float *h, const float *dout, float *dx)
{
  const float *g2, *b2;
  float       *da = cu->s1;
  int          Ho, Wo, gs;

  DpsUResBlockOutputSize(r, H, W, &Ho, &Wo);
  const size_t HWo = (size_t)Ho * Wo;
  /* the skip path: dx = upd^T skip^T dout */
  if (r->updown == DPS_URESAMPLE_NONE) {
    if (r->skip.k) DPS_TRY(DpsCudaConvBackward(cu, &r->skip, n, H, W, dout, dx, 0));
    else DPS_CUDA(cudaMemcpyAsync(dx, dout, sizeof(float) * n * r->cin * H * W, cudaMemcpyDeviceToDevice, cu->stream));
  } else {
    const float *dxs = dout;
    if (r->skip.k) {
      DPS_TRY(DpsCudaConvBackward(cu, &r->skip, n, Ho, Wo, dout, cu->s3buf, 0));
      dxs = cu->s3buf;
    }
    DPS_TRY(DpsCudaResampleAdjoint(cu, r->updown, n, r->cin, H, W, dxs, dx, 0));
  }
  /* the main path, from the output back */
  DPS_TRY(DpsCudaResNorm2(cu, r, n, &g2, &b2, &gs));
  DPS_TRY(DpsCudaConvBackward(cu, &r->c2, n, Ho, Wo, dout, cu->s1, 0));
  DPS_TRY(DpsCudaNormBackward(cu, n, r->cout, HWo, h, g2, b2, gs, 1, cu->s1, cu->s2, 0));
  DPS_TRY(DpsCudaConvBackward(cu, &r->c1, n, Ho, Wo, cu->s2, cu->s1, 0));
  if (r->updown != DPS_URESAMPLE_NONE) {
    DPS_TRY(DpsCudaResampleAdjoint(cu, r->updown, n, r->cin, H, W, cu->s1, cu->s3buf, 0));
    da = cu->s3buf;
  }
  return DpsCudaNormBackward(cu, n, r->cin, (size_t)H * W, x, DpsDev(cu, r->n1g), DpsDev(cu, r->n1b), 0, 1, da, dx, 1);
}

/* ---- attention (attention.c), every image and head in one batched GEMM ---- */

static int DpsCudaAttnForward(DpsUnetCuda *cu, const DpsUAttention *at, int n, int L, const float *x, float *qkv, float *P, float *out)
{
  const int       C = at->C, ch = C / at->heads, nb = n * at->heads;
  const float     scale2 = (float)(1.0 / sqrt((double)ch));
  const long long sq = 3LL * ch * L, sp = (long long)L * L, sa = (long long)ch * L;
  const float    *q = qkv, *k = qkv + sa, *v = qkv + 2 * sa;

  DPS_TRY(DpsCudaNormForward(cu, n, C, (size_t)L, x, DpsDev(cu, at->ng), DpsDev(cu, at->nb), 0, 0, cu->s1));
  DPS_TRY(DpsCudaConvForward(cu, &at->qkv, n, 1, L, cu->s1, qkv, 0));
  DPS_TRY(DpsGemm(cu, CUBLAS_OP_N, CUBLAS_OP_T, L, L, ch, scale2, k, L, sq, q, L, sq, 0.0f, P, L, sp, nb));
  DPS_RUN(DpsSoftmaxKernel, (size_t)nb * L, (size_t)nb * L, L, P);
  DPS_TRY(DpsGemm(cu, CUBLAS_OP_T, CUBLAS_OP_N, L, ch, L, 1.0f, P, L, sp, v, L, sq, 0.0f, cu->s1, L, sa, nb));
  DPS_CUDA(cudaMemcpyAsync(out, x, sizeof(float) * n * C * L, cudaMemcpyDeviceToDevice, cu->stream));
  return DpsCudaConvForward(cu, &at->proj, n, 1, L, cu->s1, out, 1);
}

static int DpsCudaAttnBackward(DpsUnetCuda *cu, const DpsUAttention *at, int n, int L, const float *x, const float *qkv, const float *P, const float *dout, float *dx)
{
  const int       C = at->C, ch = C / at->heads, nb = n * at->heads;
  const float     scale2 = (float)(1.0 / sqrt((double)ch));
  const long long sq = 3LL * ch * L, sp = (long long)L * L, sa = (long long)ch * L;
  const float    *q = qkv, *k = qkv + sa, *v = qkv + 2 * sa;
  float          *da = cu->s1, *dqkv = cu->s2, *dS = cu->s3buf;

  DPS_TRY(DpsCudaConvBackward(cu, &at->proj, n, 1, L, dout, da, 0));
  DPS_TRY(DpsGemm(cu, CUBLAS_OP_N, CUBLAS_OP_N, L, ch, L, 1.0f, P, L, sp, da, L, sa, 0.0f, dqkv + 2 * sa, L, sq, nb));
  DPS_TRY(DpsGemm(cu, CUBLAS_OP_N, CUBLAS_OP_T, L, L, ch, 1.0f, v, L, sq, da, L, sa, 0.0f, dS, L, sp, nb));
  DPS_RUN(DpsSoftmaxAdjointKernel, (size_t)nb * L, (size_t)nb * L, L, P, dS);
  DPS_TRY(DpsGemm(cu, CUBLAS_OP_T, CUBLAS_OP_N, L, ch, L, scale2, dS, L, sp, k, L, sq, 0.0f, dqkv, L, sq, nb));
  DPS_TRY(DpsGemm(cu, CUBLAS_OP_N, CUBLAS_OP_N, L, ch, L, scale2, dS, L, sp, q, L, sq, 0.0f, dqkv + sa, L, sq, nb));
  /* dx = dout + GN^T qkv^T dqkv; da is free again */
  DPS_TRY(DpsCudaConvBackward(cu, &at->qkv, n, 1, L, dqkv, da, 0));
  DPS_CUDA(cudaMemcpyAsync(dx, dout, sizeof(float) * n * C * L, cudaMemcpyDeviceToDevice, cu->stream));
  return DpsCudaNormBackward(cu, n, C, (size_t)L, x, DpsDev(cu, at->ng), DpsDev(cu, at->nb), 0, 0, da, dx, 1);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* the network (model.c's DpsUnetForwardImage and DpsUnetVJP, over n images) */

static float *DpsCudaTensor(const DpsUnetCuda *cu, const DpsULayout *lay, int j) { return cu->base + (size_t)cu->chunk * lay->tensor[j]; }
static float *DpsCudaAux(const DpsUnetCuda *cu, const DpsULayout *lay, int j, int a) { return cu->base + (size_t)cu->chunk * lay->aux[2 * j + a]; }

/* emb and semb = SiLU(emb) of the time embedding MLP */
static int DpsCudaEmbedding(DpsUnetCuda *cu, int n)
{
  const int mc = cu->net->cfg.model_channels;
  float    *e0 = cu->tmp, *e1 = cu->tmp + (size_t)n * mc;

  DPS_RUN(DpsTimestepKernel, (size_t)n * mc, (size_t)n * mc, mc, cu->t, e0);
  DPS_TRY(DpsCudaLinear(cu, &cu->net->temb0, n, e0, e1));
  DPS_TRY(DpsCudaSilu(cu, (size_t)n * 4 * mc, e1, e1));
  DPS_TRY(DpsCudaLinear(cu, &cu->net->temb2, n, e1, cu->emb));
  return DpsCudaSilu(cu, (size_t)n * 4 * mc, cu->emb, cu->semb);
}

static int DpsCudaOpForward(DpsUnetCuda *cu, const DpsULayout *lay, int j, int n, const float *in, float *out)
{
  const DpsUOp *op = &cu->net->ops[j];
  float        *a0 = DpsCudaAux(cu, lay, j, 0), *a1 = DpsCudaAux(cu, lay, j, 1);
  const size_t  HW = (size_t)op->H * op->W;

  switch (op->kind) {
  case DPS_UOP_CONV:
    return DpsCudaConvForward(cu, &op->conv, n, op->H, op->W, in, out, 0);
  case DPS_UOP_RES:
    return DpsCudaResForward(cu, &op->res, n, op->H, op->W, in, a0, out);
  case DPS_UOP_ATTN:
    return DpsCudaAttnForward(cu, &op->attn, n, (int)HW, in, a0, a1, out);
  case DPS_UOP_DOWN:
    if (op->useconv) return DpsCudaConvForward(cu, &op->conv, n, op->H, op->W, in, out, 0);
    return DpsCudaResample(cu, DPS_URESAMPLE_DOWN, n, op->cin, op->H, op->W, in, out);
  case DPS_UOP_UP:
    if (!op->useconv) return DpsCudaResample(cu, DPS_URESAMPLE_UP, n, op->cin, op->H, op->W, in, out);
    DPS_TRY(DpsCudaResample(cu, DPS_URESAMPLE_UP, n, op->cin, op->H, op->W, in, cu->s1));
    return DpsCudaConvForward(cu, &op->conv, n, op->Ho, op->Wo, cu->s1, out, 0);
  case DPS_UOP_CAT: {
    const size_t a = (size_t)op->cin * HW, b = (size_t)op->cout * HW - a;
    DPS_RUN(DpsCatKernel, (size_t)n * (a + b), (size_t)n * (a + b), a, b, in, DpsCudaTensor(cu, lay, op->skip), out);
    return 0;
  }
  case DPS_UOP_OUT:
    DPS_TRY(DpsCudaNormForward(cu, n, op->cin, HW, in, DpsDev(cu, op->ng), DpsDev(cu, op->nb), 0, 1, cu->s1));
    return DpsCudaConvForward(cu, &op->conv, n, op->H, op->W, cu->s1, out, 0);
  }
  return 0;
}

/* din = op^T dout; a concatenation also adds the skip tensor's part of dout to its gradient in gskip */
static int DpsCudaOpBackward(DpsUnetCuda *cu, const DpsULayout *lay, int j, int n, const float *in, float *dout, float *din)
{
  const DpsUnet *net = cu->net;
  const DpsUOp  *op  = &net->ops[j];
  float         *a0 = DpsCudaAux(cu, lay, j, 0), *a1 = DpsCudaAux(cu, lay, j, 1);
  const size_t   HW = (size_t)op->H * op->W;

  switch (op->kind) {
  case DPS_UOP_CONV:
    return DpsCudaConvBackward(cu, &op->conv, n, op->H, op->W, dout, din, 0);
  case DPS_UOP_RES:
    return DpsCudaResBackward(cu, &op->res, n, op->H, op->W, in, a0, dout, din);
  case DPS_UOP_ATTN:
    return DpsCudaAttnBackward(cu, &op->attn, n, (int)HW, in, a0, a1, dout, din);
  case DPS_UOP_DOWN:
    if (op->useconv) return DpsCudaConvBackward(cu, &op->conv, n, op->H, op->W, dout, din, 0);
    return DpsCudaResampleAdjoint(cu, DPS_URESAMPLE_DOWN, n, op->cin, op->H, op->W, dout, din, 0);
  case DPS_UOP_UP:
    if (!op->useconv) return DpsCudaResampleAdjoint(cu, DPS_URESAMPLE_UP, n, op->cin, op->H, op->W, dout, din, 0);
    DPS_TRY(DpsCudaConvBackward(cu, &op->conv, n, op->Ho, op->Wo, dout, cu->s1, 0));
    return DpsCudaResampleAdjoint(cu, DPS_URESAMPLE_UP, n, op->cin, op->H, op->W, cu->s1, din, 0);
  case DPS_UOP_CAT: {
    const size_t a = (size_t)op->cin * HW, b = (size_t)op->cout * HW - a;
    float       *gs = cu->gskip + (size_t)cu->chunk * net->skipoffset[net->isskip[op->skip] - 1];
    DPS_RUN(DpsCatAdjointKernel, (size_t)n * (a + b), (size_t)n * (a + b), a, b, dout, din, gs);
    return 0;
  }
  case DPS_UOP_OUT:
    DPS_TRY(DpsCudaConvBackward(cu, &op->conv, n, op->H, op->W, dout, cu->s1, 0));
    return DpsCudaNormBackward(cu, n, op->cin, HW, in, DpsDev(cu, op->ng), DpsDev(cu, op->nb), 0, 1, cu->s1, din, 0);
  }
  return 0;
}

/* the forward pass of n images from cu->x, cu->t into cu->out */
static int DpsCudaForwardPass(DpsUnetCuda *cu, const DpsULayout *lay, int n)
{
  const int nops = cu->net->nops;
  DPS_TRY(DpsCudaEmbedding(cu, n));
  for (int j = 0; j < nops; j++) DPS_TRY(DpsCudaOpForward(cu, lay, j, n, j ? DpsCudaTensor(cu, lay, j) : cu->x, j == nops - 1 ? cu->out : DpsCudaTensor(cu, lay, j + 1)));
  return 0;
}

static int DpsCudaBegin(DpsUnetCuda *cu, int n)
{
  if (!cu || n < 0) {
    DpsCudaSetError("DpsUnetCuda: invalid arguments (%s, n = %d)", cu ? "context" : "no context", n);
    return (int)cudaErrorInvalidValue;
  }
  /* a stale error of some unrelated runtime call would otherwise be blamed on our launches */
  (void)cudaGetLastError();
  DPS_CUDA(cudaSetDevice(cu->device));
  return 0;
}

/* copies host rows [i0, i0 + m) of x (din each) and t to the device */
static int DpsCudaUpload(DpsUnetCuda *cu, int i0, int m, const float *t, const float *x)
{
  const size_t din = (size_t)cu->net->cfg.in_channels * cu->net->cfg.image_size * cu->net->cfg.image_size;
  DPS_CUDA(cudaMemcpyAsync(cu->x, x + i0 * din, sizeof(float) * m * din, cudaMemcpyHostToDevice, cu->stream));
  DPS_CUDA(cudaMemcpyAsync(cu->t, t + i0, sizeof(float) * m, cudaMemcpyHostToDevice, cu->stream));
  return 0;
}

extern "C" int DpsUnetCudaForward(DpsUnetCuda *cu, int n, const float *t, const float *x, float *out)
{
  DPS_TRY(DpsCudaBegin(cu, n));
  const size_t dout = (size_t)cu->net->cfg.out_channels * cu->net->cfg.image_size * cu->net->cfg.image_size;
  for (int i0 = 0; i0 < n;) {
    DPS_TRY(DpsCudaReserve(cu, n - i0, 0));
    const int m = cu->chunk;
    if (!i0) cu->lastchunk[0] = m;
    DPS_TRY(DpsCudaUpload(cu, i0, m, t, x));
    DPS_TRY(DpsCudaForwardPass(cu, &cu->net->fwd, m));
    DPS_CUDA(cudaMemcpyAsync(out + i0 * dout, cu->out, sizeof(float) * m * dout, cudaMemcpyDeviceToHost, cu->stream));
    DPS_CUDA(cudaStreamSynchronize(cu->stream));
    i0 += m;
  }
  return 0;
}

extern "C" int DpsUnetCudaVJP(DpsUnetCuda *cu, int n, const float *t, const float *x, const float *u, float *dx, float *out)
{
  DPS_TRY(DpsCudaBegin(cu, n));
  const DpsUnet    *net = cu->net;
  const DpsULayout *lay = &net->vjp;
  const size_t      R = (size_t)net->cfg.image_size, din = (size_t)net->cfg.in_channels * R * R, dout = (size_t)net->cfg.out_channels * R * R;

  for (int i0 = 0; i0 < n;) {
    DPS_TRY(DpsCudaReserve(cu, n - i0, 1));
    const int m = cu->chunk;
    if (!i0) cu->lastchunk[1] = m;
    float    *g;
    DPS_TRY(DpsCudaUpload(cu, i0, m, t, x));
    DPS_TRY(DpsCudaForwardPass(cu, lay, m));
    if (out) DPS_CUDA(cudaMemcpyAsync(out + i0 * dout, cu->out, sizeof(float) * m * dout, cudaMemcpyDeviceToHost, cu->stream));
    DPS_CUDA(cudaMemcpyAsync(cu->g[0], u + i0 * dout, sizeof(float) * m * dout, cudaMemcpyHostToDevice, cu->stream));
    DPS_CUDA(cudaMemsetAsync(cu->gskip, 0, sizeof(float) * m * net->skipoffset[net->nskip], cu->stream));
    g = cu->g[0];
    for (int j = net->nops - 1; j >= 0; j--) {
      float *d = j ? (g == cu->g[0] ? cu->g[1] : cu->g[0]) : cu->dx;
      DPS_TRY(DpsCudaOpBackward(cu, lay, j, m, j ? DpsCudaTensor(cu, lay, j) : cu->x, g, d));
      g = d;
      if (j && net->isskip[j]) {
        const float *gs   = cu->gskip + (size_t)cu->chunk * net->skipoffset[net->isskip[j] - 1];
        const size_t size = (size_t)m * net->skipsize[net->isskip[j] - 1];
        DPS_RUN(DpsAddKernel, size, size, gs, g);
      }
    }
    DPS_CUDA(cudaMemcpyAsync(dx + i0 * din, cu->dx, sizeof(float) * m * din, cudaMemcpyDeviceToHost, cu->stream));
    DPS_CUDA(cudaStreamSynchronize(cu->stream));
    i0 += m;
  }
  return 0;
}

/* ------------------------------------------------------------------------------------------------------------ */

extern "C" int DpsUnetCudaDeviceCount(void) { return DpsCudaCountDevices(); }

extern "C" int DpsUnetCudaGetChunk(const DpsUnetCuda *cu, int vjp) { return cu ? cu->lastchunk[vjp ? 1 : 0] : 0; }

extern "C" size_t DpsUnetCudaGetMemory(const DpsUnetCuda *cu) { return cu ? cu->blockbytes + sizeof(float) * cu->net->nfloats : 0; }

extern "C" void DpsUnetCudaSetMaxChunk(DpsUnetCuda *cu, int max) { cu->maxchunk = max > 0 ? max : 0; }

static int DpsCudaSetUp(DpsUnetCuda *cu)
{
  const DpsUnet *net = cu->net;
  void          *p;

  /* attention keeps every head's L x L at once; the im2col buffer fits the largest convolution's image */
  cu->s3 = net->s3;
  for (int j = 0; j < net->nops; j++) {
    const DpsUOp *op = &net->ops[j];
    const size_t  L  = (size_t)op->H * op->W;
    const DpsUConv *convs[4] = {NULL, NULL, NULL, NULL};
    if (op->kind == DPS_UOP_ATTN && (size_t)op->attn.heads * L * L > cu->s3) cu->s3 = (size_t)op->attn.heads * L * L;
    if (op->kind == DPS_UOP_RES) {
      convs[0] = &op->res.c1;
      convs[1] = &op->res.c2;
      if (op->res.skip.k) convs[2] = &op->res.skip;
    } else if (op->kind == DPS_UOP_CONV || op->kind == DPS_UOP_OUT || ((op->kind == DPS_UOP_UP || op->kind == DPS_UOP_DOWN) && op->useconv)) convs[0] = &op->conv;
    for (int c = 0; convs[c]; c++) {
      /* the input size: a ResBlock's and an Upsample's convolutions see the resampled size */
      const int H = op->kind == DPS_UOP_DOWN ? op->H : op->Ho, W = op->kind == DPS_UOP_DOWN ? op->W : op->Wo;
      int       Ho, Wo;
      if (convs[c]->k == 1 && convs[c]->stride == 1) continue;
      DpsUConvOutputSize(convs[c], H, W, &Ho, &Wo);
      const size_t col = (size_t)convs[c]->cin * convs[c]->k * convs[c]->k * Ho * Wo;
      if (col > cu->colimage) cu->colimage = col;
    }
  }
  DPS_CUDA(cudaSetDevice(cu->device));
  /* non-blocking: work that other libraries queue on the legacy default stream need not wait for ours */
  DPS_CUDA(cudaStreamCreateWithFlags(&cu->stream, cudaStreamNonBlocking));
  DPS_CUBLAS(cublasCreate(&cu->blas));
  DPS_CUBLAS(cublasSetStream(cu->blas, cu->stream));
  DPS_CUBLAS(cublasSetPointerMode(cu->blas, CUBLAS_POINTER_MODE_HOST));
  DPS_CUBLAS(cublasSetMathMode(cu->blas, cu->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  DPS_CUDA(cudaMalloc(&p, sizeof(float) * net->nfloats));
  cu->params = (float *)p;
  DPS_CUDA(cudaMemcpyAsync(cu->params, net->params, sizeof(float) * net->nfloats, cudaMemcpyHostToDevice, cu->stream));
  DPS_CUDA(cudaStreamSynchronize(cu->stream));
  return 0;
}

extern "C" int DpsUnetCudaCreate(const DpsUnet *net, int device, int tf32, DpsUnetCuda **out)
{
  DpsUnetCuda *cu;
  int          err;

  *out = NULL;
  if (!net) {
    DpsCudaSetError("DpsUnetCudaCreate: no network");
    return (int)cudaErrorInvalidValue;
  }
  if (!(cu = (DpsUnetCuda *)calloc(1, sizeof *cu))) {
    DpsCudaSetError("DpsUnetCudaCreate: out of host memory");
    return (int)cudaErrorMemoryAllocation;
  }
  cu->net    = net;
  cu->device = device;
  cu->tf32   = tf32;
  if ((err = DpsCudaSetUp(cu))) {
    DpsUnetCudaDestroy(cu); /* keeps the message of the failure */
    return err;
  }
  *out = cu;
  return 0;
}

/* Best effort, and silent: it also cleans up after a failed Create, whose message must survive. */
extern "C" void DpsUnetCudaDestroy(DpsUnetCuda *cu)
{
  if (!cu) return;
  if (cudaSetDevice(cu->device) == cudaSuccess) {
    if (cu->stream) (void)cudaStreamSynchronize(cu->stream);
    if (cu->blas) (void)cublasDestroy(cu->blas);
    (void)cudaFree(cu->block);
    (void)cudaFree(cu->params);
    if (cu->stream) (void)cudaStreamDestroy(cu->stream);
  }
  (void)cudaGetLastError();
  free(cu);
}

extern "C" const char *DpsUnetCudaError(void) { return dps_cuda_error; }
