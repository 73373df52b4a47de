/* Philox4x32-10 counter-based generator (Salmon et al., SC'11), usable from C and from CUDA kernels.
   methods.md section 9: every random number is a pure function of (seed, counter), so results never depend on
   the rank, the batch or a restart. This header has no dependencies so the CUDA score code can include it. */
#ifndef DPSOLVE_PHILOX_H
#define DPSOLVE_PHILOX_H

#include <stdint.h>
#include <math.h>

#if defined(__CUDACC__)
  #define DPS_HD __host__ __device__ static inline
#else
  #define DPS_HD static inline
#endif

#define DPS_PHILOX_M0 0xD2511F53u
#define DPS_PHILOX_M1 0xCD9E8D57u
#define DPS_PHILOX_W0 0x9E3779B9u
#define DPS_PHILOX_W1 0xBB67AE85u

DPS_HD void DpsPhilox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)DPS_PHILOX_M0 * c0, p1 = (uint64_t)DPS_PHILOX_M1 * c2;
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += DPS_PHILOX_W0;
    k1 += DPS_PHILOX_W1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Two 32-bit words -> a double uniform on the open interval (0, 1). 52 random bits: (k + 0.5) 2^-52 is exact
   for every k < 2^52, so the largest value is 1 - 2^-53 and never rounds up to 1. */
DPS_HD double DpsUniformFromBits(uint32_t hi, uint32_t lo)
{
  uint64_t bits = (((uint64_t)hi << 32) | lo) >> 12;
  return ((double)bits + 0.5) * (1.0 / 4503599627370496.0);
}

/* The counter of methods.md section 9: (element pair, step, draw and stream, input). Each Philox block gives two
   uniforms or two normals, so element e lives in block e/2, slot e%2. */
DPS_HD void DpsPhiloxCounter(uint32_t input, uint32_t draw, uint32_t step, uint32_t stream, uint64_t block, uint32_t ctr[4])
{
  ctr[0] = (uint32_t)block;
  ctr[1] = step;
  ctr[2] = (draw << 8) | (stream & 0xffu);
  ctr[3] = input;
}

DPS_HD void DpsPhiloxKey(uint64_t seed, uint32_t key[2])
{
  key[0] = (uint32_t)seed;
  key[1] = (uint32_t)(seed >> 32);
}

/* Box-Muller on one block's words: two independent standard normals. */
DPS_HD void DpsNormalPairFromWords(const uint32_t w[4], double out[2])
{
  double u1 = DpsUniformFromBits(w[0], w[1]);
  double u2 = DpsUniformFromBits(w[2], w[3]);
  double r  = sqrt(-2.0 * log(u1));
  double a  = 6.283185307179586476925286766559 * u2;
  out[0]    = r * cos(a);
  out[1]    = r * sin(a);
}

DPS_HD void DpsPhiloxNormalPair(const uint32_t ctr[4], const uint32_t key[2], double out[2])
{
  uint32_t w[4];
  DpsPhilox4x32_10(ctr, key, w);
  DpsNormalPairFromWords(w, out);
}

DPS_HD void DpsPhiloxUniformPair(const uint32_t ctr[4], const uint32_t key[2], double out[2])
{
  uint32_t w[4];
  DpsPhilox4x32_10(ctr, key, w);
  out[0] = DpsUniformFromBits(w[0], w[1]);
  out[1] = DpsUniformFromBits(w[2], w[3]);
}

#endif
