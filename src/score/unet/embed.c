/* Linear layers (time embedding MLP, ResBlock emb_layers) and guided-diffusion's sinusoidal timestep embedding.
   These are matrix-vector products of a few hundred thousand multiply-adds per image: accumulated in double. */
#include <math.h>
#include "score/unet/layers.h"

void DpsULinearForward(const DpsULinear *l, const float *x, float *y)
{
  for (int o = 0; o < l->out; o++) {
    const float *w = l->w + (size_t)o * l->in;
    double       s = l->b[o];
    for (int i = 0; i < l->in; i++) s += (double)w[i] * x[i];
    y[o] = (float)s;
  }
}

/* In double: PyTorch rounds t f_i to float32 (an absolute error up to 6e-5 at t = 999, which is PyTorch's, not
   the model's); tests/unet measures both against a float64 evaluation of the same model. */
void DpsUTimestepEmbedding(double t, int dim, float *emb)
{
  const int half = dim / 2;
  for (int i = 0; i < half; i++) {
    const double f = exp(-log(10000.0) * (double)i / (double)half);
    emb[i]         = (float)cos(t * f);
    emb[half + i]  = (float)sin(t * f);
  }
  if (dim % 2) emb[dim - 1] = 0.0f;
}

void DpsUSilu(int n, const float *x, float *y)
{
  for (int i = 0; i < n; i++) y[i] = x[i] * DpsUSigmoid(x[i]);
}
