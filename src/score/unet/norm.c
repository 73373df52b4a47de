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

/* eight independent double accumulators: the loops vectorize without reordering any sum */
static void DpsUNormStats(size_t n, const float *x, float *mean, float *rstd)
{
  double s[8] = {0}, v[8] = {0}, m, sum = 0.0, var = 0.0;
  size_t i, n8 = n - n % 8;
  for (i = 0; i < n8; i += 8)
    for (int j = 0; j < 8; j++) s[j] += x[i + j];
  for (; i < n; i++) sum += x[i];
  for (int j = 0; j < 8; j++) sum += s[j];
  m = sum / (double)n;
  for (i = 0; i < n8; i += 8)
    for (int j = 0; j < 8; j++) v[j] += ((double)x[i + j] - m) * ((double)x[i + j] - m);
  for (; i < n; i++) var += ((double)x[i] - m) * ((double)x[i] - m);
  for (int j = 0; j < 8; j++) var += v[j];
  *mean = (float)m;
  *rstd = (float)(1.0 / sqrt(var / (double)n + DPS_UNORM_EPS));
}

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

void DpsUNormBackward(int C, int HW, const float *x, const float *gamma, const float *beta, int silu, float *dy, float *dx, int accumulate)
{
  const int    cpg = C / DPS_UNET_GROUPS;
  const size_t n   = (size_t)cpg * HW;

  for (int g = 0; g < DPS_UNET_GROUPS; g++) {
    float  mean, rstd, xh;
    double sg = 0.0, sgx = 0.0;
    DpsUNormStats(n, x + (size_t)g * n, &mean, &rstd);
    /* pass 1: g = gamma dz, kept in dy, and its sums */
    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
      const float *xc = x + (size_t)c * HW;
      float       *dyc = dy + (size_t)c * HW;
      double       a[8] = {0}, b[8] = {0};
      int          p, HW8 = HW - HW % 8;
      for (p = 0; p < HW8; p += 8)
        for (int j = 0; j < 8; j++) {
          const float gr = dyc[p + j] = DpsUNormGrad(xc[p + j], mean, rstd, gamma[c], beta[c], silu, dyc[p + j], &xh);
          a[j] += gr;
          b[j] += (double)gr * xh;
        }
      for (; p < HW; p++) {
        const float gr = dyc[p] = DpsUNormGrad(xc[p], mean, rstd, gamma[c], beta[c], silu, dyc[p], &xh);
        sg += gr;
        sgx += (double)gr * xh;
      }
      for (int j = 0; j < 8; j++) {
        sg += a[j];
        sgx += b[j];
      }
    }
    /* pass 2: dx = rstd (g - mean(g) - xhat mean(g xhat)) */
    const float mg = (float)(sg / (double)n), mgx = (float)(sgx / (double)n);
    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
      const float *xc = x + (size_t)c * HW, *gc = dy + (size_t)c * HW;
      float       *dxc = dx + (size_t)c * HW;
      if (accumulate)
        for (int p = 0; p < HW; p++) dxc[p] += rstd * (gc[p] - mg - (xc[p] - mean) * rstd * mgx);
      else
        for (int p = 0; p < HW; p++) dxc[p] = rstd * (gc[p] - mg - (xc[p] - mean) * rstd * mgx);
    }
  }
}
