/* unit_sliced_wasserstein: DpsSlicedWasserstein (methods.md section 7) against closed forms.
   - SW(X, X) = 0 exactly; SW is symmetric in X, Y (bitwise); the same call twice gives the same number
   - d = 1: directions are +-1, so SW is the 1-D W1 of the samples, computed here by sorting (qsort)
   - Y = X + c: every 1-D W1 is |theta . c|, whose mean over the sphere in d dimensions is
     |c| Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)); with L = 20000 directions SW is within 2% of it (d = 3, 50)
   - two independent N(0, I) sets (S = 4000, d = 4) give SW < 0.1; N(0, I) against N(0, 4 I): every projection
     compares N(0, 1) with N(0, 4), W1 = E|Z| (2 - 1) = sqrt(2/pi), within 5%.
   Test data come from the test's own generator, not the library's streams. */
#include <dpsolve/dpsolve.h>
#include <stdlib.h>
#include "unittest.h"

static int CompareReal(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : (x > y ? 1 : 0);
}

static void Normals(DpsTestRng *r, PetscInt n, PetscReal x[], double scale)
{
  for (PetscInt i = 0; i < n; i++) x[i] = scale * DpsTestNormal(r);
}

int main(int argc, char **argv)
{
  DpsTestRng rng;
  PetscReal  sw, sw2;
  PetscInt64 seed = 99;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  DpsTestRngSeed(&rng, 31337);

  /* 1. identity, and d = 1 against a W1 computed here */
  {
    const PetscInt S = 1000;
    PetscReal     *X, *Y, *xs, *ys, w1 = 0;
    PetscCall(PetscMalloc4(S * 3, &X, S, &Y, S, &xs, S, &ys));
    Normals(&rng, S * 3, X, 1.0);
    PetscCall(DpsSlicedWasserstein(S, 3, X, X, 100, seed, 0, &sw));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "SW(X, X), S = %" PetscInt_FMT ", d = 3, L = 100: %g\n", S, sw));
    DPS_CHECK(sw == 0.0, "SW(X, X) = %g, expected exactly 0", sw);
    for (PetscInt s = 0; s < S; s++) {
      Y[s]  = -log(DpsTestUniform(&rng)); /* Exp(1) */
      xs[s] = X[s];
      ys[s] = Y[s];
    }
    qsort(xs, S, sizeof(double), CompareReal);
    qsort(ys, S, sizeof(double), CompareReal);
    for (PetscInt s = 0; s < S; s++) w1 += fabs(xs[s] - ys[s]) / S;
    PetscCall(DpsSlicedWasserstein(S, 1, X, Y, 7, seed, 0, &sw));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "d = 1, N(0,1) vs Exp(1), S = %" PetscInt_FMT ": SW %.15f, W1 by sorting here %.15f, relative error %.2e\n", S, sw, w1, fabs(sw - w1) / w1));
    DPS_CHECK(fabs(sw - w1) <= 1e-13 * w1, "d = 1: SW %.17g differs from the 1-D W1 %.17g", sw, w1);
    PetscCall(PetscFree4(X, Y, xs, ys));
  }

  /* 2. a fixed shift: SW = mean over directions of |theta . c| */
  {
    const PetscInt S = 100, L = 20000, dims[2] = {3, 50};
    for (int c = 0; c < 2; c++) {
      const PetscInt d = dims[c];
      PetscReal     *X, *Y, *shift, cn = 0, expect, sd, rel;
      PetscCall(PetscMalloc3(S * d, &X, S * d, &Y, d, &shift));
      Normals(&rng, S * d, X, 1.0);
      Normals(&rng, d, shift, 1.5);
      for (PetscInt j = 0; j < d; j++) cn += shift[j] * shift[j];
      cn = sqrt(cn);
      for (PetscInt s = 0; s < S; s++)
        for (PetscInt j = 0; j < d; j++) Y[s * d + j] = X[s * d + j] + shift[j];
      PetscCall(DpsSlicedWasserstein(S, d, X, Y, L, seed, 1, &sw));
      expect = cn * exp(lgamma(0.5 * d) - lgamma(0.5 * (d + 1))) / sqrt(M_PI);
      sd     = sqrt(cn * cn / d - expect * expect) / sqrt((double)L); /* E (theta . c)^2 = |c|^2 / d */
      rel    = (sw - expect) / expect;
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "shift, d = %" PetscInt_FMT ", |c| = %.4f, L = %" PetscInt_FMT ": SW %.6f, |c| Gamma(d/2)/(sqrt(pi) Gamma((d+1)/2)) = %.6f, relative error %+.3f%% (%.2f SE)\n", d, cn, L, sw, expect, 100 * rel, (sw - expect) / sd));
      DPS_CHECK(fabs(rel) < 0.02, "d = %" PetscInt_FMT ": SW of a shift %g is not within 2%% of %g", d, sw, expect);
      PetscCall(PetscFree3(X, Y, shift));
    }
  }

  /* 3. Gaussian sets in d = 4 */
  {
    const PetscInt S = 4000, d = 4, L = 500;
    PetscReal     *X, *Y, *Z, expect = sqrt(2 / M_PI);
    PetscCall(PetscMalloc3(S * d, &X, S * d, &Y, S * d, &Z));
    Normals(&rng, S * d, X, 1.0);
    Normals(&rng, S * d, Y, 1.0);
    Normals(&rng, S * d, Z, 2.0);
    PetscCall(DpsSlicedWasserstein(S, d, X, Y, L, seed, 2, &sw));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "two independent N(0, I) sets, S = %" PetscInt_FMT ", d = %" PetscInt_FMT ", L = %" PetscInt_FMT ": SW %.4f (must be < 0.1)\n", S, d, L, sw));
    DPS_CHECK(sw < 0.1, "SW between two samples of one Gaussian is %g, not < 0.1", sw);
    PetscCall(DpsSlicedWasserstein(S, d, X, Z, L, seed, 2, &sw));
    PetscCall(DpsSlicedWasserstein(S, d, Z, X, L, seed, 2, &sw2));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "N(0, I) vs N(0, 4I): SW %.4f, sqrt(2/pi) = %.4f, relative error %+.2f%%; SW(Y, X) - SW(X, Y) = %g\n", sw, expect, 100 * (sw - expect) / expect, sw2 - sw));
    DPS_CHECK(fabs(sw - expect) < 0.05 * expect, "N(0, I) vs N(0, 4I): SW %g not within 5%% of sqrt(2/pi) = %g", sw, expect);
    DPS_CHECK(sw == sw2, "SW is not symmetric: SW(X, Y) = %.17g, SW(Y, X) = %.17g", sw, sw2);
    PetscCall(DpsSlicedWasserstein(S, d, X, Z, L, seed, 2, &sw2));
    DPS_CHECK(sw == sw2, "SW is not reproducible: %.17g then %.17g", sw, sw2);
    PetscCall(PetscFree3(X, Y, Z));
  }
  DPS_TEST_END();
}
