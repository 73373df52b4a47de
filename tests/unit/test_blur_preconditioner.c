/* unit_blur_preconditioner: the preconditioner of CG on Lambda = a I + b A^T A for blur with reflect boundaries
   (methods.md section 8), against dense matrices built column by column (A e_j) at small sizes, the blurs
   themselves checked against scipy in unit_operator_images:
   - a kernel that is not symmetric: Strang's circulant. DpsOperatorApplyNormalInversePreconditioner on reflect,
     applied to the columns of the dense a I + b D_c^T D_c, gives the identity, D_c the circular blur with the same
     kernel; and on circular the same call is the exact inverse;
   - a kernel symmetric in each axis: the DCT-I form. M = D^{1/2} D_r D^{-1/2} (D_r the dense reflect blur,
     D = diag(d_H (x) d_W), d = (1, 2, ..., 2, 1)) is symmetric, and the preconditioner applied to the columns of
     a S^2 + b S M^2 S (S = D^{1/2} / 2) gives the identity;
   - both with kernels smaller and larger than the image (folded onto the torus), 1 and 2 channels;
   - CG on Lambda for reflect, 32 x 32, Gaussian 7 x 7 sigma 1, a = 1 and a = 0.01, b = 1 / 0.05^2 (sigma_y 0.05):
     DpsPrecisionCreateKSP's solver converges within MAXITS iterations to a solution whose residual is checked here,
     while unpreconditioned CG (the code before this preconditioner) needs more than MAXITS. */
#include <dpsolve/dpsolve.h>
#include "cgtest.h"

#define MAXITS 30

static PetscErrorCode MakeBlur(PetscInt C, PetscInt H, PetscInt W, DpsBlurMode mode, PetscInt kh, PetscInt kw, const PetscReal k[], DpsOperator *op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, op));
  PetscCall(DpsOperatorSetType(*op, DPSOPERATORBLUR));
  PetscCall(DpsOperatorSetDataShape(*op, C, H, W));
  PetscCall(DpsOperatorBlurSetMode(*op, mode));
  PetscCall(DpsOperatorBlurSetKernel(*op, kh, kw, k));
  PetscCall(DpsOperatorSetUp(*op));
  PetscFunctionReturn(0);
}

/* max |P N - I| with N the dense matrix whose inverse the preconditioner P of op must be */
static PetscErrorCode CheckAgainstDense(PetscInt C, PetscInt H, PetscInt W, PetscInt kh, PetscInt kw, PetscBool symmetric, DpsTestRng *rng)
{
  DpsOperator op, circ;
  PetscReal  *k, *D, *N, *e, *col, *d, err = 0.0;
  PetscInt    n = C * H * W;
  PetscBool   has;
  Vec         x, y;
  const PetscReal a = 0.7, b = 3.0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc6(kh * kw, &k, n * n, &D, n * n, &N, n, &e, n, &col, n, &d));
  for (PetscInt i = 0; i < kh * kw; i++) k[i] = DpsTestUniform(rng);
  if (symmetric)
    for (PetscInt i = 0; i < kh; i++)
      for (PetscInt j = 0; j < kw; j++) k[i * kw + j] = k[PetscMin(i, kh - 1 - i) * kw + PetscMin(j, kw - 1 - j)];
  PetscCall(MakeBlur(C, H, W, DPS_BLUR_REFLECT, kh, kw, k, &op));
  PetscCall(MakeBlur(C, H, W, DPS_BLUR_CIRCULAR, kh, kw, k, &circ));
  PetscCall(DpsOperatorHasNormalInverse(op, &has));
  DPS_CHECK(!has, "blur reflect must not offer an exact inverse");
  PetscCall(DpsOperatorHasNormalInversePreconditioner(op, &has));
  DPS_CHECK(has, "blur reflect must offer a preconditioner for a I + b A^T A");
  for (PetscInt c = 0; c < C; c++)
    for (PetscInt i = 0; i < H; i++)
      for (PetscInt j = 0; j < W; j++) d[(c * H + i) * W + j] = (i == 0 || i == H - 1 ? 1.0 : 2.0) * (j == 0 || j == W - 1 ? 1.0 : 2.0);
  for (PetscInt j = 0; j < n; j++) {
    for (PetscInt i = 0; i < n; i++) e[i] = i == j;
    PetscCall(DpsOperatorApplyArray(symmetric ? op : circ, e, col));
    for (PetscInt i = 0; i < n; i++) D[i * n + j] = symmetric ? PetscSqrtReal(d[i] / d[j]) * col[i] : col[i]; /* M or D_c */
  }
  if (symmetric) {
    PetscReal asym = 0.0;
    for (PetscInt i = 0; i < n; i++)
      for (PetscInt j = 0; j < n; j++) asym = PetscMax(asym, PetscAbsReal(D[i * n + j] - D[j * n + i]));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "symmetric kernel %dx%d on %dx%dx%d: max |M - M^T| = %.2e\n", (int)kh, (int)kw, (int)C, (int)H, (int)W, (double)asym));
    DPS_CHECK(asym < 1e-14, "D^{1/2} A D^{-1/2} is not symmetric: %.2e", (double)asym);
  }
  for (PetscInt i = 0; i < n; i++) /* a I + b D_c^T D_c, or a S^2 + b S M^T M S (M symmetric) */
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0.0, si = symmetric ? PetscSqrtReal(d[i]) / 2 : 1.0, sj = symmetric ? PetscSqrtReal(d[j]) / 2 : 1.0;
      for (PetscInt l = 0; l < n; l++) s += D[l * n + i] * D[l * n + j];
      N[i * n + j] = (i == j ? a : 0.0) * si * sj + b * si * sj * s;
    }
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &x));
  PetscCall(VecDuplicate(x, &y));
  for (int which = 0; which < (symmetric ? 1 : 2); which++) { /* the reflect operator's preconditioner, then the circular's own */
    err = 0.0;
    for (PetscInt j = 0; j < n; j++) {
      const PetscScalar *ya;
      PetscScalar       *xa;
      PetscCall(VecGetArrayWrite(x, &xa));
      for (PetscInt i = 0; i < n; i++) xa[i] = N[i * n + j];
      PetscCall(VecRestoreArrayWrite(x, &xa));
      PetscCall(DpsOperatorApplyNormalInversePreconditioner(which ? circ : op, a, b, x, y));
      PetscCall(VecGetArrayRead(y, &ya));
      for (PetscInt i = 0; i < n; i++) err = PetscMax(err, PetscAbsReal(ya[i] - (i == j)));
      PetscCall(VecRestoreArrayRead(y, &ya));
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s preconditioner, %dx%dx%d, %s kernel %dx%d: max |P N - I| = %.2e\n", which ? "circular" : "reflect", (int)C, (int)H, (int)W, symmetric ? "symmetric" : "non-symmetric", (int)kh, (int)kw, (double)err));
    DPS_CHECK(err < 1e-12, "%s preconditioner, %s kernel, is not the inverse of its dense matrix: %.2e", which ? "circular" : "reflect", symmetric ? "symmetric" : "non-symmetric", (double)err);
  }
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(DpsOperatorDestroy(&circ));
  PetscCall(PetscFree6(k, D, N, e, col, d));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckCG(PetscReal a, DpsTestRng *rng)
{
  DpsOperator op;
  PetscReal   k[49];
  PetscInt    its[2];

  PetscFunctionBegin;
  PetscCall(DpsBlurGaussianKernel(7, 1.0, k));
  PetscCall(MakeBlur(1, 32, 32, DPS_BLUR_REFLECT, 7, 7, k, &op));
  PetscCall(DpsTestPreconditionedCG(op, "blur reflect 32x32, Gaussian 7x7 sigma 1", a, 1.0 / (0.05 * 0.05), 10000, rng, its));
  DPS_CHECK(its[0] <= MAXITS, "preconditioned CG took %d iterations, more than %d", (int)its[0], MAXITS);
  DPS_CHECK(its[1] > MAXITS, "unpreconditioned CG took %d iterations: the bound %d does not tell them apart", (int)its[1], MAXITS);
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsTestRng rng;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  DpsTestRngSeed(&rng, 20250613);
  PetscCall(CheckAgainstDense(2, 7, 6, 5, 3, PETSC_FALSE, &rng));
  PetscCall(CheckAgainstDense(1, 6, 5, 9, 9, PETSC_FALSE, &rng));
  PetscCall(CheckAgainstDense(2, 7, 6, 5, 3, PETSC_TRUE, &rng));
  PetscCall(CheckAgainstDense(1, 6, 5, 13, 9, PETSC_TRUE, &rng));
  PetscCall(CheckCG(1.0, &rng));
  PetscCall(CheckCG(0.01, &rng));
  DPS_TEST_END();
}
