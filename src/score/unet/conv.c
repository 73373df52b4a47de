/* 2-d convolution as im2col + SGEMM, over tiles of output rows so that the column buffer stays bounded.
   Row-major [C][H*W] is column-major (H*W x C): out (HoWo x cout) = col (HoWo x K) W (K x cout), K = cin k k,
   with W row-major [cout][K] read as column-major (K x cout). The backward pass is the adjoint of that:
   dcol = dout W^T, then col2im adds every column entry back to the input pixel it was copied from. */
#include <string.h>
#include "score/unet/layers.h"

/* output rows per tile: enough to fill about 4M floats (16 MB) of column buffer */
#define DPS_UCONV_COL_TARGET ((size_t)1 << 22)

void DpsUConvOutputSize(const DpsUConv *c, int H, int W, int *Ho, int *Wo)
{
  const int pad = (c->k - 1) / 2;
  *Ho           = (H + 2 * pad - c->k) / c->stride + 1;
  *Wo           = (W + 2 * pad - c->k) / c->stride + 1;
}

static int DpsUConvDirect(const DpsUConv *c) { return c->k == 1 && c->stride == 1; }

static int DpsUConvTileRows(const DpsUConv *c, int Ho, int Wo)
{
  size_t row = (size_t)c->cin * c->k * c->k * Wo;
  int    r   = (int)(DPS_UCONV_COL_TARGET / row);
  if (r < 1) r = 1;
  return r > Ho ? Ho : r;
}

size_t DpsUConvColSize(const DpsUConv *c, int H, int W)
{
  int Ho, Wo;
  if (DpsUConvDirect(c)) return 0;
  DpsUConvOutputSize(c, H, W, &Ho, &Wo);
  return (size_t)DpsUConvTileRows(c, Ho, Wo) * c->cin * c->k * c->k * Wo;
}

/* col [K][n] for output rows [oy0, oy0 + rows), n = rows Wo; zero outside the image */
static void DpsUIm2col(const DpsUConv *c, int H, int W, int Wo, int oy0, int rows, const float *in, float *col)
{
  const int k = c->k, s = c->stride, pad = (k - 1) / 2, n = rows * Wo;

  for (int ci = 0; ci < c->cin; ci++)
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        float       *dst = col + (size_t)((ci * k + ky) * k + kx) * n;
        const float *src = in + (size_t)ci * H * W;
        /* the output columns whose input column ix = ox s - pad + kx lies inside [0, W) */
        int ox0 = pad - kx > 0 ? (pad - kx + s - 1) / s : 0, ox1 = (W - 1 + pad - kx) / s + 1;
        if (ox1 > Wo) ox1 = Wo;
        for (int r = 0; r < rows; r++, dst += Wo) {
          const int iy = (oy0 + r) * s - pad + ky;
          if (iy < 0 || iy >= H || ox1 <= ox0) {
            memset(dst, 0, sizeof(float) * Wo);
            continue;
          }
          const float *row = src + (size_t)iy * W;
          for (int ox = 0; ox < ox0; ox++) dst[ox] = 0.0f;
          if (s == 1) memcpy(dst + ox0, row + ox0 - pad + kx, sizeof(float) * (ox1 - ox0));
          else
            for (int ox = ox0; ox < ox1; ox++) dst[ox] = row[ox * s - pad + kx];
          for (int ox = ox1; ox < Wo; ox++) dst[ox] = 0.0f;
        }
      }
}

/* the adjoint of DpsUIm2col: in += col */
static void DpsUCol2im(const DpsUConv *c, int H, int W, int Wo, int oy0, int rows, const float *col, float *in)
{
  const int k = c->k, s = c->stride, pad = (k - 1) / 2, n = rows * Wo;

  for (int ci = 0; ci < c->cin; ci++)
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        const float *src = col + (size_t)((ci * k + ky) * k + kx) * n;
        float       *dst = in + (size_t)ci * H * W;
        int          ox0 = pad - kx > 0 ? (pad - kx + s - 1) / s : 0, ox1 = (W - 1 + pad - kx) / s + 1;
        if (ox1 > Wo) ox1 = Wo;
        for (int r = 0; r < rows; r++, src += Wo) {
          const int iy = (oy0 + r) * s - pad + ky;
          if (iy < 0 || iy >= H) continue;
          float *row = dst + (size_t)iy * W;
          for (int ox = ox0; ox < ox1; ox++) row[ox * s - pad + kx] += src[ox];
        }
      }
}

void DpsUConvForward(const DpsUConv *c, int H, int W, const float *in, float *out, int accumulate, float *col, size_t colsize)
{
  int       Ho, Wo;
  const int K = c->cin * c->k * c->k;

  DpsUConvOutputSize(c, H, W, &Ho, &Wo);
  const int HWo = Ho * Wo;
  for (int co = 0; co < c->cout; co++) {
    float *o = out + (size_t)co * HWo;
    if (accumulate)
      for (int p = 0; p < HWo; p++) o[p] += c->b[co];
    else
      for (int p = 0; p < HWo; p++) o[p] = c->b[co];
  }
  if (DpsUConvDirect(c)) {
    DpsSgemm('N', 'N', HWo, c->cout, K, 1.0f, in, HWo, c->w, K, 1.0f, out, HWo);
    return;
  }
  const int R = DpsUConvTileRows(c, Ho, Wo);
  (void)colsize; /* >= DpsUConvColSize() */
  for (int oy0 = 0; oy0 < Ho; oy0 += R) {
    const int rows = Ho - oy0 < R ? Ho - oy0 : R, n = rows * Wo;
    DpsUIm2col(c, H, W, Wo, oy0, rows, in, col);
    DpsSgemm('N', 'N', n, c->cout, K, 1.0f, col, n, c->w, K, 1.0f, out + (size_t)oy0 * Wo, HWo);
  }
}

void DpsUConvBackward(const DpsUConv *c, int H, int W, const float *dout, float *din, int accumulate, float *col, size_t colsize)
{
  int       Ho, Wo;
  const int K = c->cin * c->k * c->k;

  DpsUConvOutputSize(c, H, W, &Ho, &Wo);
  const int HWo = Ho * Wo;
  if (DpsUConvDirect(c)) {
    DpsSgemm('N', 'T', HWo, c->cin, c->cout, 1.0f, dout, HWo, c->w, K, accumulate ? 1.0f : 0.0f, din, HWo);
    return;
  }
  if (!accumulate) memset(din, 0, sizeof(float) * c->cin * H * W);
  const int R = DpsUConvTileRows(c, Ho, Wo);
  (void)colsize;
  for (int oy0 = 0; oy0 < Ho; oy0 += R) {
    const int rows = Ho - oy0 < R ? Ho - oy0 : R, n = rows * Wo;
    DpsSgemm('N', 'T', n, K, c->cout, 1.0f, dout + (size_t)oy0 * Wo, HWo, c->w, K, 0.0f, col, n);
    DpsUCol2im(c, H, W, Wo, oy0, rows, col, din);
  }
}
