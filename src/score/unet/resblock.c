/* guided-diffusion's ResBlock:
     a = SiLU(GN1(x)); [up/down: a = upd(a), x' = upd(x)]; h = conv1(a)
     scale-shift: (scale, shift) = emb_layers(emb), r = SiLU(GN2(h) (1 + scale) + shift)
     otherwise:   h = h + emb_layers(emb),         r = SiLU(GN2(h))
     out = skip(x') + conv2(r)                     (dropout is the identity at inference)
   Saved for the backward pass: x (the block's input, kept by the caller) and h (after the embedding is added).
   Everything else is recomputed: GroupNorm + SiLU costs a few operations per value, the convolutions dominate. */
#include <string.h>
#include "score/unet/layers.h"

void DpsUResBlockOutputSize(const DpsUResBlock *r, int H, int W, int *Ho, int *Wo)
{
  *Ho = r->updown == DPS_URESAMPLE_UP ? 2 * H : r->updown == DPS_URESAMPLE_DOWN ? H / 2 : H;
  *Wo = r->updown == DPS_URESAMPLE_UP ? 2 * W : r->updown == DPS_URESAMPLE_DOWN ? W / 2 : W;
}

static void DpsUResampleApply(DpsUResample dir, int C, int H, int W, const float *in, float *out)
{
  if (dir == DPS_URESAMPLE_UP) DpsUUpsampleForward(C, H, W, in, out);
  else DpsUDownsampleForward(C, H, W, in, out);
}

static void DpsUResampleAdjoint(DpsUResample dir, int C, int H, int W, const float *dout, float *din, int accumulate)
{
  if (dir == DPS_URESAMPLE_UP) DpsUUpsampleBackward(C, H, W, dout, din, accumulate);
  else DpsUDownsampleBackward(C, H, W, dout, din, accumulate);
}

/* the affine map of the second GroupNorm: vec[0, 2 cout) the embedding's projection, then gamma, beta */
static void DpsUResBlockNorm2(const DpsUResBlock *r, const float *semb, float *vec, const float **g2, const float **b2)
{
  DpsULinearForward(&r->emb, semb, vec);
  if (r->scale_shift) {
    float *g = vec + 2 * r->cout, *b = vec + 3 * r->cout;
    for (int c = 0; c < r->cout; c++) {
      g[c] = r->n2g[c] * (1.0f + vec[c]);
      b[c] = r->n2b[c] * (1.0f + vec[c]) + vec[r->cout + c];
    }
    *g2 = g;
    *b2 = b;
  } else {
    *g2 = r->n2g;
    *b2 = r->n2b;
  }
}

void DpsUResBlockForward(const DpsUResBlock *r, int H, int W, const float *semb, const float *x, float *h, float *out, DpsUScratch *s)
{
  int          Ho, Wo;
  const float *a = s->s1, *xs = x, *g2, *b2;

  DpsUResBlockOutputSize(r, H, W, &Ho, &Wo);
  const size_t HWo = (size_t)Ho * Wo;
  DpsUNormForward(r->cin, H * W, x, r->n1g, r->n1b, 1, s->s1);
  if (r->updown != DPS_URESAMPLE_NONE) {
    DpsUResampleApply(r->updown, r->cin, H, W, s->s1, s->s2);
    DpsUResampleApply(r->updown, r->cin, H, W, x, s->s3);
    a  = s->s2;
    xs = s->s3;
  }
  DpsUConvForward(&r->c1, Ho, Wo, a, h, 0, s->col, s->colsize);
  DpsUResBlockNorm2(r, semb, s->vec, &g2, &b2);
  if (!r->scale_shift)
    for (int c = 0; c < r->cout; c++)
      for (size_t p = 0; p < HWo; p++) h[c * HWo + p] += s->vec[c];
  DpsUNormForward(r->cout, (int)HWo, h, g2, b2, 1, s->s1);
  DpsUConvForward(&r->c2, Ho, Wo, s->s1, out, 0, s->col, s->colsize);
  if (r->skip.k) DpsUConvForward(&r->skip, Ho, Wo, xs, out, 1, s->col, s->colsize);
  else
    for (size_t i = 0; i < (size_t)r->cout * HWo; i++) out[i] += xs[i];
}

void DpsUResBlockBackward(const DpsUResBlock *r, int H, int W, const float *semb, const float *x, const float *h, const float *dout, float *dx, DpsUScratch *s)
{
  int          Ho, Wo;
  const float *g2, *b2;
  float       *da = s->s1;

  DpsUResBlockOutputSize(r, H, W, &Ho, &Wo);
  const size_t HWo = (size_t)Ho * Wo;
  /* the skip path: dx = upd^T skip^T dout */
  if (r->updown == DPS_URESAMPLE_NONE) {
    if (r->skip.k) DpsUConvBackward(&r->skip, H, W, dout, dx, 0, s->col, s->colsize);
    else memcpy(dx, dout, sizeof(float) * r->cin * H * W);
  } else {
    const float *dxs = dout;
    if (r->skip.k) {
      DpsUConvBackward(&r->skip, Ho, Wo, dout, s->s3, 0, s->col, s->colsize);
      dxs = s->s3;
    }
    DpsUResampleAdjoint(r->updown, r->cin, H, W, dxs, dx, 0);
  }
  /* the main path, from the output back */
  DpsUResBlockNorm2(r, semb, s->vec, &g2, &b2);
  DpsUConvBackward(&r->c2, Ho, Wo, dout, s->s1, 0, s->col, s->colsize);
  DpsUNormBackward(r->cout, (int)HWo, h, g2, b2, 1, s->s1, s->s2, 0);
  DpsUConvBackward(&r->c1, Ho, Wo, s->s2, s->s1, 0, s->col, s->colsize);
  if (r->updown != DPS_URESAMPLE_NONE) {
    DpsUResampleAdjoint(r->updown, r->cin, H, W, s->s1, s->s3, 0);
    da = s->s3;
  }
  DpsUNormBackward(r->cin, H * W, x, r->n1g, r->n1b, 1, da, dx, 1);
}
