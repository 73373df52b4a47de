/* DpsChecksum (src/io/checksum.h) */
#include <string.h>
#include "io/checksum.h"

static inline uint64_t DpsMix64(uint64_t z)
{
  /* splitmix64's finaliser: every input bit affects every output bit */
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t DpsChecksum(uint64_t salt, uint64_t position0, size_t n, const void *words)
{
  const unsigned char *w   = (const unsigned char *)words;
  uint64_t             sum = 0, v;

  for (size_t k = 0; k < n; k++) {
    memcpy(&v, w + 8 * k, 8);
    sum += DpsMix64(v ^ DpsMix64(salt + position0 + k));
  }
  return sum;
}

uint64_t DpsChecksumSalt(const char name[])
{
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

  for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
  return DpsMix64(h);
}
