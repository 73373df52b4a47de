/* guided-diffusion's AttentionBlock with QKVAttentionLegacy, on x [C][L] (L = H W pixels):
     qkv = conv1x1(GN(x)) [3C][L]; head j owns channels [3 ch j, 3 ch (j+1)): q, then k, then v (ch = C / heads)
     P_j = softmax_s(q_j^T k_j / sqrt(ch)) [L][L] (rows t, columns s), a_j = v_j P_j^T [ch][L]
     out = x + conv1x1(a),  a = [a_0; a_1; ...]
   Column-major views of the row-major [ch][L] blocks are (L x ch) matrices Q, K, V, A:
     P^T (column-major, stored row-major as P) = K Q^T,  A = P V;
   backward: dV = P^T dA, dP = dA V^T, dS = P (dP - rowsum(P dP)), dQ = dS K / sqrt(ch), dK = dS^T Q / sqrt(ch). */
#include <math.h>
#include <string.h>
#include "score/unet/layers.h"

void DpsUAttentionForward(const DpsUAttention *at, int L, const float *x, float *qkv, float *P, float *out, float *s1)
{
  const int   C = at->C, ch = C / at->heads;
  const float scale2 = (float)(1.0 / sqrt((double)ch));

  DpsUNormForward(C, L, x, at->ng, at->nb, 0, s1);
  DpsUConvForward(&at->qkv, 1, L, s1, qkv, 0, NULL, 0);
  for (int j = 0; j < at->heads; j++) {
    const float *q = qkv + (size_t)3 * ch * j * L, *k = q + (size_t)ch * L, *v = k + (size_t)ch * L;
    float       *Pj = P + (size_t)j * L * L, *a = s1 + (size_t)ch * j * L;
    DpsSgemm('N', 'T', L, L, ch, scale2, k, L, q, L, 0.0f, Pj, L);
    for (int t = 0; t < L; t++) DpsUSoftmaxRow(L, Pj + (size_t)t * L);
    DpsSgemm('T', 'N', L, ch, L, 1.0f, Pj, L, v, L, 0.0f, a, L);
  }
  memcpy(out, x, sizeof(float) * C * L);
  DpsUConvForward(&at->proj, 1, L, s1, out, 1, NULL, 0);
}

void DpsUAttentionBackward(const DpsUAttention *at, int L, const float *x, const float *qkv, const float *P, const float *dout, float *dx, float *s1, float *s2, float *s3)
{
  const int   C = at->C, ch = C / at->heads;
  const float scale2 = (float)(1.0 / sqrt((double)ch));
  float      *da = s1, *dqkv = s2, *dS = s3;

  DpsUConvBackward(&at->proj, 1, L, dout, da, 0, NULL, 0);
  for (int j = 0; j < at->heads; j++) {
    const float *q = qkv + (size_t)3 * ch * j * L, *k = q + (size_t)ch * L, *v = k + (size_t)ch * L;
    const float *Pj = P + (size_t)j * L * L, *daj = da + (size_t)ch * j * L;
    float       *dq = dqkv + (size_t)3 * ch * j * L, *dk = dq + (size_t)ch * L, *dv = dk + (size_t)ch * L;
    DpsSgemm('N', 'N', L, ch, L, 1.0f, Pj, L, daj, L, 0.0f, dv, L);
    DpsSgemm('N', 'T', L, L, ch, 1.0f, v, L, daj, L, 0.0f, dS, L);
    for (int t = 0; t < L; t++) DpsUSoftmaxAdjointRow(L, Pj + (size_t)t * L, dS + (size_t)t * L);
    DpsSgemm('T', 'N', L, ch, L, scale2, dS, L, k, L, 0.0f, dq, L);
    DpsSgemm('N', 'N', L, ch, L, scale2, dS, L, q, L, 0.0f, dk, L);
  }
  /* dx = dout + GN^T qkv^T dqkv; da is free again */
  DpsUConvBackward(&at->qkv, 1, L, dqkv, da, 0, NULL, 0);
  memcpy(dx, dout, sizeof(float) * C * L);
  DpsUNormBackward(C, L, x, at->ng, at->nb, 0, da, dx, 1);
}
