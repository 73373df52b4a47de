/* Philox4x32-10 counter-based generator (Salmon et al., SC'11), usable from C and from CUDA kernels.
   methods.md section 9: every random number is a pure function of (seed, counter), so results never depend on
   the rank, the batch or a restart. The generator itself is Random123's (Debian: librandom123-dev, header-only,
   C, C++ and CUDA); the conversions of its words to uniforms and normals below are dpsolve's own. This header
   needs nothing but Random123 and libm, so the CUDA score code can include it. */
#ifndef DPSOLVE_PHILOX_H
#define DPSOLVE_PHILOX_H

#include <stdint.h>
#include <math.h>
/* Random123's features headers pick the compiler's settings (gcc, nvcc host and device passes); Philox4x32 needs
   none of its optional R123_USE_ macros (AES-NI, SSE, 64-bit mulhilo), so none is set here. Under nvcc its
   functions are __device__ in the device pass and host functions in the host pass, so the __host__ __device__
   wrappers below can call them in both. */
#include <Random123/philox.h>

#if defined(__CUDACC__)
  #define DPS_HD __host__ __device__ static inline
#else
  #define DPS_HD static inline
#endif

/* The 4 words of block ctr under key: Random123's philox4x32 with its 10 rounds named explicitly, so that a
   PHILOX4x32_DEFAULT_ROUNDS set elsewhere cannot change dpsolve's streams. */
DPS_HD void DpsPhilox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
  philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
  philox4x32_key_t k = {{key[0], key[1]}};
  philox4x32_ctr_t r = philox4x32_R(10, c, k);
  out[0] = r.v[0]; out[1] = r.v[1]; out[2] = r.v[2]; out[3] = r.v[3];
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
