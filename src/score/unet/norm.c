/* GroupNorm(32 groups, eps 1e-5, biased variance, as torch.nn.GroupNorm) with a per-channel affine map, fused
   with the SiLU that follows it everywhere but in the attention block. A group is cpg = C / 32 consecutive
   channels, so its cpg H W values are contiguous. Statistics are accumulated in double, two-pass.
   Scale-shift norm (ResBlock with use_scale_shift_norm) is this map with gamma (1 + scale), beta (1 + scale) + shift.

   Backward, with xhat = (x - mean) rstd, z = gamma xhat + beta, dz = dy act'(z), g = gamma dz:
   dx = rstd (g - mean(g) - xhat mean(g xhat)), means over the group. */
#include <math.h>
#include <string.h>
#include "score/unet/layers.h"

static const double DPS_UNORM_EPS = 1e-5;

static void DpsUNormStats(size_t n, const float *x, float *mean, float *rstd)
{
  double s = 0.0, v = 0.0, m;
  for (size_t i = 0; i < n; i++) s += x[i];
  m = s / (double)n;
  for (size_t i = 0; i < n; i++) v += ((double)x[i] - m) * ((double)x[i] - m);
  *mean = (float)m;
  *rstd = (float)(1.0 / sqrt(v / (double)n + DPS_UNORM_EPS));
}

static inline float DpsUSigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

void DpsUNormForward(int C, int HW, const float *x, const float *gamma, const float *beta, int silu, float *y)
{
  const int cpg = C / DPS_UNET_GROUPS;

  for (int g = 0; g < DPS_UNET_GROUPS; g++) {
    float mean, rstd;
    DpsUNormStats((size_t)cpg * HW, x + (size_t)g * cpg * HW, &mean, &rstd);
    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
      const float *xc = x + (size_t)c * HW;
      float       *yc = y + (size_t)c * HW;
      const float  a = gamma[c] * rstd, b = beta[c];
      if (silu)
        for (int p = 0; p < HW; p++) {
          const float z = (xc[p] - mean) * a + b;
          yc[p]         = z * DpsUSigmoid(z);
        }
      else
        for (int p = 0; p < HW; p++) yc[p] = (xc[p] - mean) * a + b;
    }
  }
}

/* g = gamma dz at one pixel; xhat returned too */
static inline float DpsUNormGrad(float x, float mean, float rstd, float gamma, float beta, int silu, float dy, float *xhat)
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

void DpsUNormBackward(int C, int HW, const float *x, const float *gamma, const float *beta, int silu, const float *dy, float *dx, int accumulate)
{
  const int    cpg = C / DPS_UNET_GROUPS;
  const size_t n   = (size_t)cpg * HW;

  for (int g = 0; g < DPS_UNET_GROUPS; g++) {
    float  mean, rstd, xh;
    double sg = 0.0, sgx = 0.0;
    DpsUNormStats(n, x + (size_t)g * n, &mean, &rstd);
    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
      const float *xc = x + (size_t)c * HW, *dyc = dy + (size_t)c * HW;
      for (int p = 0; p < HW; p++) {
        const float gr = DpsUNormGrad(xc[p], mean, rstd, gamma[c], beta[c], silu, dyc[p], &xh);
        sg += gr;
        sgx += (double)gr * xh;
      }
    }
    const float mg = (float)(sg / (double)n), mgx = (float)(sgx / (double)n);
    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
      const float *xc = x + (size_t)c * HW, *dyc = dy + (size_t)c * HW;
      float       *dxc = dx + (size_t)c * HW;
      for (int p = 0; p < HW; p++) {
        const float gr = DpsUNormGrad(xc[p], mean, rstd, gamma[c], beta[c], silu, dyc[p], &xh);
        const float v  = rstd * (gr - mg - xh * mgx);
        dxc[p]         = accumulate ? dxc[p] + v : v;
      }
    }
  }
}
