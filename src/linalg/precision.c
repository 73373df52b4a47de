#include <petsc/private/petscimpl.h>
#include <dpsolve/dpsolve.h>
#include "linalg/precision.h"

struct _n_DpsPrecision {
  DpsOperator op;
  PetscReal   a, b;  /* Lambda = a I + b A^T A */
  Mat         Lambda;
  Vec         ym;    /* work vector in measurement space */
  Vec         diag;  /* diag(A^T A) when the operator knows it */
  Vec         avec;  /* per-entry a: Lambda = diag(avec) + b A^T A (DpsPrecisionUseDiagonal) */
  Vec         wn;    /* work vector in data space, with avec */
  PetscBool   jacobi; /* with avec: precondition by diag(Lambda)^{-1}, else by diag(a)^{-1} */
  PetscReal   amean;  /* with avec: the mean of a, the scalar a of the operator's preconditioner */
};

static PetscErrorCode DpsPrecisionMult(Mat M, Vec x, Vec y)
{
  DpsPrecision P;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(M, &P));
  PetscCall(DpsOperatorApply(P->op, x, P->ym));
  PetscCall(DpsOperatorApplyTranspose(P->op, P->ym, y));
  if (P->avec) {
    PetscCall(VecPointwiseMult(P->wn, P->avec, x));
    PetscCall(VecAYPX(y, P->b, P->wn));
  } else PetscCall(VecAXPBY(y, P->a, P->b, x));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsPrecisionGetDiagonal(Mat M, Vec d)
{
  DpsPrecision P;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(M, &P));
  PetscCall(VecCopy(P->diag, d));
  PetscCall(VecScale(d, P->b));
  if (P->avec) PetscCall(VecAXPY(d, 1.0, P->avec));
  else PetscCall(VecShift(d, P->a));
  PetscFunctionReturn(0);
}

/* With a per-entry a: y = x / (a + b diag(A^T A)) (Jacobi) where P->jacobi, else y = x / a, which keeps Lambda
   "identity plus rank m" after the symmetric scaling, so CG still converges in at most m + 1 iterations */
static PetscErrorCode DpsPrecisionApplyDiagonal(PC pc, Vec x, Vec y)
{
  DpsPrecision       P;
  const PetscScalar *xa, *aa, *da = NULL;
  PetscScalar       *ya;
  PetscInt           n;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &P));
  PetscCall(VecGetLocalSize(x, &n));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayRead(P->avec, &aa));
  if (P->jacobi) PetscCall(VecGetArrayRead(P->diag, &da));
  PetscCall(VecGetArrayWrite(y, &ya));
  for (PetscInt j = 0; j < n; j++) ya[j] = xa[j] / (aa[j] + (P->jacobi ? P->b * da[j] : 0.0));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  if (P->jacobi) PetscCall(VecRestoreArrayRead(P->diag, &da));
  PetscCall(VecRestoreArrayRead(P->avec, &aa));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscFunctionReturn(0);
}

/* The operator's (a I + b A^T A)^{-1}: its exact inverse where it has one (CG preconditioned with it converges in
   one iteration), else its approximation (blur reflect, ct), with the mean of a per-entry a */
static PetscErrorCode DpsPrecisionApplyOperatorPreconditioner(PC pc, Vec x, Vec y)
{
  DpsPrecision P;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &P));
  PetscCall(DpsOperatorApplyNormalInversePreconditioner(P->op, P->avec ? P->amean : P->a, P->b, x, y));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsPrecisionCreate(DpsOperator op, DpsPrecision *prec)
{
  DpsPrecision P;
  PetscInt     m, n;
  PetscBool    hasdiag;

  PetscFunctionBegin;
  PetscCall(DpsOperatorSetUp(op));
  PetscCall(PetscNew(&P));
  PetscCall(PetscObjectReference((PetscObject)op));
  P->op = op;
  P->a  = 1.0;
  P->b  = 1.0;
  PetscCall(DpsOperatorGetSizes(op, &m, &n));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, m, &P->ym));
  PetscCall(MatCreateShell(PETSC_COMM_SELF, n, n, n, n, P, &P->Lambda));
  PetscCall(MatShellSetOperation(P->Lambda, MATOP_MULT, (void (*)(void))DpsPrecisionMult));
  PetscCall(MatSetOption(P->Lambda, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatSetOption(P->Lambda, MAT_SPD, PETSC_TRUE));
  PetscCall(DpsOperatorHasNormalDiagonal(op, &hasdiag));
  if (hasdiag) {
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &P->diag));
    PetscCall(DpsOperatorGetNormalDiagonal(op, P->diag));
    PetscCall(MatShellSetOperation(P->Lambda, MATOP_GET_DIAGONAL, (void (*)(void))DpsPrecisionGetDiagonal));
  }
  *prec = P;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsPrecisionSetCoefficients(DpsPrecision P, PetscReal a, PetscReal b)
{
  PetscFunctionBegin;
  PetscCheck(a > 0 && b >= 0 && PetscIsNormalReal(a) && !PetscIsInfOrNanReal(b), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "precision a I + b A^T A needs a > 0, b >= 0 (got a = %g, b = %g)", (double)a, (double)b);
  if (a == P->a && b == P->b) PetscFunctionReturn(0);
  P->a = a;
  P->b = b;
  /* a new matrix for the KSPs: Jacobi re-reads the diagonal at the next solve */
  PetscCall(PetscObjectStateIncrease((PetscObject)P->Lambda));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsPrecisionUseDiagonal(DpsPrecision P)
{
  PetscInt m, n;

  PetscFunctionBegin;
  if (P->avec) PetscFunctionReturn(0);
  PetscCall(DpsOperatorGetSizes(P->op, &m, &n));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &P->avec));
  PetscCall(VecDuplicate(P->avec, &P->wn));
  PetscCall(VecSet(P->avec, P->a));
  P->amean = P->a;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsPrecisionSetDiagonalCoefficients(DpsPrecision P, const PetscReal a[], PetscReal b)
{
  PetscScalar *aa;
  PetscInt     n;

  PetscFunctionBegin;
  PetscCheck(P->avec, PETSC_COMM_SELF, PETSC_ERR_ORDER, "DpsPrecisionUseDiagonal() must come before per-entry coefficients");
  PetscCheck(b >= 0 && !PetscIsInfOrNanReal(b), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "precision diag(a) + b A^T A needs b >= 0 (got b = %g)", (double)b);
  PetscCall(VecGetLocalSize(P->avec, &n));
  for (PetscInt j = 0; j < n; j++) PetscCheck(a[j] > 0 && PetscIsNormalReal(a[j]), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "precision diag(a) + b A^T A needs every a > 0 (entry %" PetscInt_FMT ": a = %g)", j, (double)a[j]);
  PetscCall(VecGetArrayWrite(P->avec, &aa));
  PetscCall(PetscArraycpy(aa, a, n));
  PetscCall(VecRestoreArrayWrite(P->avec, &aa));
  P->amean = 0.0;
  for (PetscInt j = 0; j < n; j++) P->amean += a[j] / n;
  P->b = b;
  PetscCall(PetscObjectStateIncrease((PetscObject)P->Lambda));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsPrecisionPerturbation(DpsPrecision P, const PetscReal e1[], PetscReal e2[], Vec z)
{
  PetscScalar       *za;
  const PetscScalar *aa = NULL;
  PetscInt           m, n;
  PetscReal          sa = PetscSqrtReal(P->a), sb = PetscSqrtReal(P->b);

  PetscFunctionBegin;
  PetscCall(DpsOperatorGetSizes(P->op, &m, &n));
  for (PetscInt l = 0; l < m; l++) e2[l] *= sb;
  PetscCall(VecGetArrayWrite(z, &za));
  PetscCall(DpsOperatorApplyTransposeArray(P->op, e2, za));
  if (P->avec) {
    PetscCall(VecGetArrayRead(P->avec, &aa));
    for (PetscInt j = 0; j < n; j++) za[j] += PetscSqrtReal(aa[j]) * e1[j];
    PetscCall(VecRestoreArrayRead(P->avec, &aa));
  } else
    for (PetscInt j = 0; j < n; j++) za[j] += sa * e1[j];
  PetscCall(VecRestoreArrayWrite(z, &za));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsPrecisionGetMat(DpsPrecision P, Mat *M)
{
  PetscFunctionBegin;
  *M = P->Lambda;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsPrecisionCreateKSP(DpsPrecision P, const char prefix[], KSP *ksp)
{
  PC        pc;
  PetscBool exact, approx;

  PetscFunctionBegin;
  PetscCall(KSPCreate(PETSC_COMM_SELF, ksp));
  PetscCall(KSPSetOptionsPrefix(*ksp, prefix));
  PetscCall(KSPSetType(*ksp, KSPCG));
  PetscCall(KSPSetOperators(*ksp, P->Lambda, P->Lambda));
  /* at most 20000 iterations: sparse-view CT needs 6275 preconditioned ones at the first step of 30 views at
     sigma_y 0.05 (b/a about 1.2e5; 2004 on average over 5 steps), where 1000 stopped every run; at 32x32 that
     is seconds. Well-conditioned problems stop at rtol long before (inpainting, circular blur: 1) */
  PetscCall(KSPSetTolerances(*ksp, 1e-10, 1e-50, PETSC_DEFAULT, 20000));
  /* a solve that fails must stop the run, never return a wrong sample */
  PetscCall(KSPSetErrorIfNotConverged(*ksp, PETSC_TRUE));
  PetscCall(KSPGetPC(*ksp, &pc));
  PetscCall(DpsOperatorHasNormalInverse(P->op, &exact));
  PetscCall(DpsOperatorHasNormalInversePreconditioner(P->op, &approx));
  /* without an exact inverse, the operator's approximation of it (blur reflect: DCT-I for a symmetric kernel,
     Strang's circulant otherwise; methods.md section 8). Plain CG grows with b / a: blur reflect, 32 x 32, Gaussian
     7 x 7 sigma 1, C-DPS (xt), 5 steps: 78, 168, over 1000 iterations per solve at sigma_y 0.5, 0.2, 0.05
     unpreconditioned, 10.4, 11.6, 12.0 with the DCT-I form (117 at 0.05 with the circulant); motion kernel
     (circulant) at 0.05: over 1000 -> 199; x0 form at 0.05: 128 -> 12.8 (Gaussian), 140 -> 71 (motion) */
  approx = approx && !exact ? PETSC_TRUE : PETSC_FALSE;
  if (P->avec && !approx) {
    /* per-entry a: Jacobi where the operator has diag(A^T A) and an exact inverse (its A^T A is structured:
       for inpainting diagonal, and Jacobi exact); else diag(a)^{-1}, which keeps "diagonal plus rank m" (cs:
       d = 8, m = 1, 7.8 iterations per solve with Jacobi against 2 with diag(a)^{-1}) */
    P->jacobi = P->diag && exact ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(PCSetType(pc, PCSHELL));
    PetscCall(PCShellSetContext(pc, P));
    PetscCall(PCShellSetApply(pc, DpsPrecisionApplyDiagonal));
    PetscCall(PCShellSetName(pc, P->jacobi ? "diag(a + b diag(A^T A))^{-1}" : "diag(a)^{-1}"));
  } else if (exact) {
    PetscCall(PCSetType(pc, PCSHELL));
    PetscCall(PCShellSetContext(pc, P));
    PetscCall(PCShellSetApply(pc, DpsPrecisionApplyOperatorPreconditioner));
    PetscCall(PCShellSetName(pc, "exact (aI + b A^T A)^{-1} of the operator"));
  } else if (approx) {
    /* per-entry a: the operator's approximation at the mean of a (blur reflect, -cdps_x0_variance cadps, sigma_y
       0.05, Gaussian sigma 1: over 1000 iterations per solve with diag(a)^{-1}, 61 with it; motion: over 1000, 186;
       the protocol's Gaussian scaled to 32 x 32: 109 -> 18. With the circulant, diag(a)^{-1/2} scaling around
       (I + b / mean(a) A_c^T A_c)^{-1} did worse than the plain mean: over 1000 against 211) */
    PetscCall(PCSetType(pc, PCSHELL));
    PetscCall(PCShellSetContext(pc, P));
    PetscCall(PCShellSetApply(pc, DpsPrecisionApplyOperatorPreconditioner));
    PetscCall(PCShellSetName(pc, P->avec ? "the operator's approximate (mean(a) I + b A^T A)^{-1}" : "the operator's approximate (aI + b A^T A)^{-1}"));
  } else {
    /* Lambda is a I plus a rank-m term: plain CG converges in at most m + 1 iterations, and Jacobi would
       break that structure (d = 8, m = 1: 7.6 iterations with Jacobi against 2 without).
       -mean_pc_type jacobi remains available where the operator knows diag(A^T A). */
    PetscCall(PCSetType(pc, PCNONE));
  }
  PetscCall(KSPSetFromOptions(*ksp));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsPrecisionDestroy(DpsPrecision *P)
{
  PetscFunctionBegin;
  if (!*P) PetscFunctionReturn(0);
  PetscCall(MatDestroy(&(*P)->Lambda));
  PetscCall(VecDestroy(&(*P)->ym));
  PetscCall(VecDestroy(&(*P)->diag));
  PetscCall(VecDestroy(&(*P)->avec));
  PetscCall(VecDestroy(&(*P)->wn));
  PetscCall(DpsOperatorDestroy(&(*P)->op));
  PetscCall(PetscFree(*P));
  PetscFunctionReturn(0);
}
