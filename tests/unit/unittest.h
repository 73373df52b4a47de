/* Small helpers shared by the unit tests: a check that records failures without stopping (so every comparison
   is printed), and a random generator of the tests' own (splitmix64 + Box-Muller), independent of the library's
   Philox streams, for test data. */
#ifndef DPS_UNITTEST_H
#define DPS_UNITTEST_H

#include <petscsys.h>
#include <math.h>
#include <stdint.h>

static int dps_test_failures = 0;

/* DPS_CHECK(condition, printf-style message): prints FAIL with the message when the condition is false */
#define DPS_CHECK(cond, ...) \
  do { \
    if (!(cond)) { \
      dps_test_failures++; \
      (void)PetscPrintf(PETSC_COMM_SELF, "FAIL %s:%d: ", __FILE__, __LINE__); \
      (void)PetscPrintf(PETSC_COMM_SELF, __VA_ARGS__); \
      (void)PetscPrintf(PETSC_COMM_SELF, "\n"); \
    } \
  } while (0)

/* PetscFinalize, then the exit status: 0 only when every check passed */
#define DPS_TEST_END() \
  do { \
    int dps_fails_ = dps_test_failures; \
    if (dps_fails_) (void)PetscPrintf(PETSC_COMM_SELF, "%d check(s) FAILED\n", dps_fails_); \
    else (void)PetscPrintf(PETSC_COMM_WORLD, "all checks passed\n"); \
    PetscCall(PetscFinalize()); \
    return dps_fails_ ? 1 : 0; \
  } while (0)

typedef struct {
  uint64_t s;
  int      have;
  double   spare;
} DpsTestRng;

static inline uint64_t DpsTestRngNext(DpsTestRng *r)
{
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline void DpsTestRngSeed(DpsTestRng *r, uint64_t seed)
{
  r->s    = seed;
  r->have = 0;
}

/* uniform on (0, 1) */
static inline double DpsTestUniform(DpsTestRng *r)
{
  return ((double)(DpsTestRngNext(r) >> 11) + 0.5) / 9007199254740992.0;
}

static inline double DpsTestNormal(DpsTestRng *r)
{
  double u1, u2, rad;
  if (r->have) {
    r->have = 0;
    return r->spare;
  }
  u1       = DpsTestUniform(r);
  u2       = DpsTestUniform(r);
  rad      = sqrt(-2.0 * log(u1));
  r->spare = rad * sin(2.0 * M_PI * u2);
  r->have  = 1;
  return rad * cos(2.0 * M_PI * u2);
}

#endif
