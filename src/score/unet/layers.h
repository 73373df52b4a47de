/* The layers of the UNet (unet.h), one image at a time, float32, tensors [C][H][W] row-major.
   Each layer has a forward and a backward (vector-Jacobian product with respect to its input only: no weight
   gradients). Weights are pointers into the network's parameter storage. */
#ifndef DPSOLVE_UNET_LAYERS_H
#define DPSOLVE_UNET_LAYERS_H

#include <math.h>
#include <stddef.h>

/* Per-value math that the CUDA backend (cuda.cu) runs in its kernels: one definition for both backends */
#ifdef __CUDACC__
#define DPS_HD __host__ __device__
#else
#define DPS_HD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Fortran BLAS, as every BLAS provides it (reference, OpenBLAS, MKL) */
extern void sgemm_(const char *, const char *, const int *, const int *, const int *, const float *, const float *, const int *, const float *, const int *, const float *, float *, const int *);

/* C (column-major m x n, ldc) = alpha op(A) op(B) + beta C */
static inline void DpsSgemm(char ta, char tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  sgemm_(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}

/* SiLU's sigmoid; its derivative is sigma (1 + z (1 - sigma)) */
DPS_HD static inline float DpsUSigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

/* ---- convolution (conv.c): weight [cout][cin][k][k], bias [cout]; zero padding (k - 1) / 2 ---- */
typedef struct {
  int          cin, cout, k, stride;
  const float *w, *b;
} DpsUConv;

void DpsUConvOutputSize(const DpsUConv *c, int H, int W, int *Ho, int *Wo);
/* floats of im2col buffer the convolution wants (tiles of output rows; a 1x1 stride-1 convolution needs none) */
size_t DpsUConvColSize(const DpsUConv *c, int H, int W);
/* out = conv(in) (+ out when accumulate) */
void DpsUConvForward(const DpsUConv *c, int H, int W, const float *in, float *out, int accumulate, float *col, size_t colsize);
/* din = conv^T(dout) (+ din when accumulate): the adjoint of the linear part */
void DpsUConvBackward(const DpsUConv *c, int H, int W, const float *dout, float *din, int accumulate, float *col, size_t colsize);

/* ---- GroupNorm(32) with an affine map per channel, optionally followed by SiLU (norm.c) ---- */
#define DPS_UNET_GROUPS 32
/* y = act(xhat gamma_c + beta_c); silu: act = SiLU, else identity */
void DpsUNormForward(int C, int HW, const float *x, const float *gamma, const float *beta, int silu, float *y);
/* dx = J^T dy of the map above at x (+ dx when accumulate); dy is overwritten (with gamma times the SiLU's
   derivative times dy, so that the exponentials are computed once) */
void DpsUNormBackward(int C, int HW, const float *x, const float *gamma, const float *beta, int silu, float *dy, float *dx, int accumulate);

/* GroupNorm backward at one value: g = gamma dz (dz = dy act'(z), z = gamma xhat + beta); xhat returned too */
DPS_HD static inline float DpsUNormGrad(float x, float mean, float rstd, float gamma, float beta, int silu, float dy, float *xhat)
{
  const float xh = (x - mean) * rstd;
  float       dz = dy;
  if (silu) {
    const float z = xh * gamma + beta, sg = DpsUSigmoid(z);
    dz *= sg * (1.0f + z * (1.0f - sg));
  }
  *xhat = xh;
  return dz * gamma;
}

/* softmax of one row of attention logits, in place (the row's largest value subtracted; the sum in double) */
DPS_HD static inline void DpsUSoftmaxRow(int L, float *row)
{
  float  m   = row[0];
  double sum = 0.0;
  for (int s = 1; s < L; s++) m = row[s] > m ? row[s] : m;
  for (int s = 0; s < L; s++) row[s] = expf(row[s] - m);
  for (int s = 0; s < L; s++) sum += row[s];
  const float inv = (float)(1.0 / sum);
  for (int s = 0; s < L; s++) row[s] *= inv;
}

/* its adjoint at the softmax p: dS = p (dP - p . dP), in place on the row dP */
DPS_HD static inline void DpsUSoftmaxAdjointRow(int L, const float *p, float *row)
{
  double dot = 0.0;
  for (int s = 0; s < L; s++) dot += (double)p[s] * row[s];
  for (int s = 0; s < L; s++) row[s] = p[s] * (row[s] - (float)dot);
}

/* ---- resampling (resample.c): nearest 2x upsampling, 2x2 average pooling ---- */
void DpsUUpsampleForward(int C, int H, int W, const float *in, float *out);  /* out [C][2H][2W] */
void DpsUUpsampleBackward(int C, int H, int W, const float *dout, float *din, int accumulate);
void DpsUDownsampleForward(int C, int H, int W, const float *in, float *out); /* out [C][H/2][W/2] */
void DpsUDownsampleBackward(int C, int H, int W, const float *dout, float *din, int accumulate);

/* ---- linear layers and the timestep embedding (embed.c) ---- */
typedef struct {
  int          in, out;
  const float *w, *b; /* w [out][in] */
} DpsULinear;
void DpsULinearForward(const DpsULinear *l, const float *x, float *y);
/* guided-diffusion's timestep_embedding: [cos(t f_i), sin(t f_i)], f_i = 10000^(-i/half), zero-padded to dim */
void DpsUTimestepEmbedding(double t, int dim, float *emb);
void DpsUSilu(int n, const float *x, float *y);

/* ---- ResBlock (resblock.c) ---- */
typedef enum { DPS_URESAMPLE_NONE, DPS_URESAMPLE_UP, DPS_URESAMPLE_DOWN } DpsUResample;
typedef struct {
  int          cin, cout, scale_shift;
  DpsUResample updown;
  const float *n1g, *n1b, *n2g, *n2b; /* in_layers.0, out_layers.0 */
  DpsUConv     c1, c2, skip;          /* in_layers.2, out_layers.3, skip_connection (skip.k = 0: identity) */
  DpsULinear   emb;                   /* emb_layers.1 */
} DpsUResBlock;

/* Scratch for one ResBlock call: three buffers of `big` floats (the largest of the block's tensors), an im2col
   buffer and 4 cout floats */
typedef struct {
  float *s1, *s2, *s3, *col, *vec;
  size_t colsize;
} DpsUScratch;

/* the output's size: the input's, doubled (up) or halved (down) */
void DpsUResBlockOutputSize(const DpsUResBlock *r, int H, int W, int *Ho, int *Wo);
/* semb = SiLU(emb), the time embedding after the SiLU of emb_layers; h [cout][Ho][Wo] is saved for backward */
void DpsUResBlockForward(const DpsUResBlock *r, int H, int W, const float *semb, const float *x, float *h, float *out, DpsUScratch *s);
void DpsUResBlockBackward(const DpsUResBlock *r, int H, int W, const float *semb, const float *x, const float *h, const float *dout, float *dx, DpsUScratch *s);

/* ---- attention (attention.c): AttentionBlock with QKVAttentionLegacy ---- */
typedef struct {
  int          C, heads;
  const float *ng, *nb; /* norm */
  DpsUConv     qkv, proj;
} DpsUAttention;
/* qkv [3C][L] and the attention weights P [heads][L][L] are saved for backward; s1 holds C L floats */
void DpsUAttentionForward(const DpsUAttention *a, int L, const float *x, float *qkv, float *P, float *out, float *s1);
/* s1: C L floats, s2: 3 C L floats, s3: L L floats */
void DpsUAttentionBackward(const DpsUAttention *a, int L, const float *x, const float *qkv, const float *P, const float *dout, float *dx, float *s1, float *s2, float *s3);

#ifdef __cplusplus
}
#endif
#endif
