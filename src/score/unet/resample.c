/* Nearest-neighbour 2x upsampling (F.interpolate(scale_factor=2, mode="nearest")) and 2x2 average pooling
   (nn.AvgPool2d(2, 2)), with their adjoints. */
#include <string.h>
#include "score/unet/layers.h"

void DpsUUpsampleForward(int C, int H, int W, const float *in, float *out)
{
  const int W2 = 2 * W;
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++) {
      const float *src = in + ((size_t)c * H + y) * W;
      float       *dst = out + ((size_t)c * 2 * H + 2 * y) * W2;
      for (int x = 0; x < W; x++) dst[2 * x] = dst[2 * x + 1] = src[x];
      memcpy(dst + W2, dst, sizeof(float) * W2);
    }
}

void DpsUUpsampleBackward(int C, int H, int W, const float *dout, float *din, int accumulate)
{
  const int W2 = 2 * W;
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++) {
      const float *r0 = dout + ((size_t)c * 2 * H + 2 * y) * W2, *r1 = r0 + W2;
      float       *dst = din + ((size_t)c * H + y) * W;
      for (int x = 0; x < W; x++) {
        const float v = (r0[2 * x] + r0[2 * x + 1]) + (r1[2 * x] + r1[2 * x + 1]);
        dst[x]        = accumulate ? dst[x] + v : v;
      }
    }
}

void DpsUDownsampleForward(int C, int H, int W, const float *in, float *out)
{
  const int Ho = H / 2, Wo = W / 2;
  for (int c = 0; c < C; c++)
    for (int y = 0; y < Ho; y++) {
      const float *r0 = in + ((size_t)c * H + 2 * y) * W, *r1 = r0 + W;
      float       *dst = out + ((size_t)c * Ho + y) * Wo;
      for (int x = 0; x < Wo; x++) dst[x] = (r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1]) * 0.25f;
    }
}

void DpsUDownsampleBackward(int C, int H, int W, const float *dout, float *din, int accumulate)
{
  const int Ho = H / 2, Wo = W / 2;
  for (int c = 0; c < C; c++)
    for (int y = 0; y < Ho; y++) {
      const float *src = dout + ((size_t)c * Ho + y) * Wo;
      float       *r0 = din + ((size_t)c * H + 2 * y) * W, *r1 = r0 + W;
      for (int x = 0; x < Wo; x++) {
        const float v = 0.25f * src[x];
        if (accumulate) {
          r0[2 * x] += v;
          r0[2 * x + 1] += v;
          r1[2 * x] += v;
          r1[2 * x + 1] += v;
        } else r0[2 * x] = r0[2 * x + 1] = r1[2 * x] = r1[2 * x + 1] = v;
      }
    }
}
