#include <dpsolve/random.h>

#define DPS_RANDOM_CHUNK 128 /* Philox blocks generated per pass */

/* Philox words for blocks b0 .. b0 + nb - 1 of one stream. Kept apart from the floating-point transform so the
   compiler can run several blocks per SIMD instruction; integer arithmetic, so every clone gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((optimize("O3"), target_clones("avx512f", "avx2", "default")))
#endif
static void DpsPhiloxBlocks(uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, uint64_t b0, int nb, uint32_t out[][4])
{
  for (int b = 0; b < nb; b++) {
    const uint32_t ctr[4] = {(uint32_t)(b0 + (uint64_t)b), c1, c2, c3}, key[2] = {k0, k1};
    DpsPhilox4x32_10(ctr, key, out[b]);
  }
}

/* Element e of a stream is a pure function of (address, e): filling elements [offset, offset + n) never depends
   on how a caller splits the work. */
static PetscErrorCode DpsRandomFill(DpsRandomAddress a, PetscInt64 offset, PetscInt n, PetscReal out[], PetscBool normal)
{
  uint32_t   key[2], ctr[4], words[DPS_RANDOM_CHUNK][4];
  PetscInt64 first = offset / 2, last = (offset + n + 1) / 2; /* blocks [first, last) hold the elements */

  PetscFunctionBegin;
  PetscCheck(a.input >= 0 && a.draw >= 0 && a.draw < (1 << 24) && a.step >= 0 && offset >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "random address out of range: input %" PetscInt_FMT ", draw %" PetscInt_FMT " (< 2^24), step %" PetscInt_FMT ", offset %" PetscInt64_FMT, a.input, a.draw, a.step, offset);
  DpsPhiloxKey((uint64_t)a.seed, key);
  DpsPhiloxCounter((uint32_t)a.input, (uint32_t)a.draw, (uint32_t)a.step, (uint32_t)a.stream, 0, ctr);
  for (PetscInt64 b0 = first; b0 < last; b0 += DPS_RANDOM_CHUNK) {
    int nb = (int)PetscMin(DPS_RANDOM_CHUNK, last - b0);
    DpsPhiloxBlocks(ctr[1], ctr[2], ctr[3], key[0], key[1], (uint64_t)b0, nb, words);
    for (int b = 0; b < nb; b++) {
      double pair[2];
      if (normal) DpsNormalPairFromWords(words[b], pair);
      else {
        pair[0] = DpsUniformFromBits(words[b][0], words[b][1]);
        pair[1] = DpsUniformFromBits(words[b][2], words[b][3]);
      }
      for (int slot = 0; slot < 2; slot++) {
        PetscInt64 e = 2 * (b0 + b) + slot - offset;
        if (e >= 0 && e < n) out[e] = pair[slot];
      }
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRandomNormals(DpsRandomAddress a, PetscInt n, PetscReal out[])
{
  PetscFunctionBegin;
  PetscCall(DpsRandomFill(a, 0, n, out, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRandomUniforms(DpsRandomAddress a, PetscInt n, PetscReal out[])
{
  PetscFunctionBegin;
  PetscCall(DpsRandomFill(a, 0, n, out, PETSC_FALSE));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRandomUniformsAt(DpsRandomAddress a, PetscInt64 offset, PetscInt n, PetscReal out[])
{
  PetscFunctionBegin;
  PetscCall(DpsRandomFill(a, offset, n, out, PETSC_FALSE));
  PetscFunctionReturn(0);
}
