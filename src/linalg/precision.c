#include <petsc/private/petscimpl.h>
#include <dpsolve/dpsolve.h>
#include "linalg/precision.h"

struct _n_DpsPrecision {
  DpsOperator op;
  PetscReal   a, b;  /* Lambda = a I + b A^T A */
  Mat         Lambda;
  Vec         ym;    /* work vector in measurement space */
  Vec         diag;  /* diag(A^T A) when the operator knows it */
};

static PetscErrorCode DpsPrecisionMult(Mat M, Vec x, Vec y)
{
  DpsPrecision P;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(M, &P));
  PetscCall(DpsOperatorApply(P->op, x, P->ym));
  PetscCall(DpsOperatorApplyTranspose(P->op, P->ym, y));
  PetscCall(VecAXPBY(y, P->a, P->b, x));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsPrecisionGetDiagonal(Mat M, Vec d)
{
  DpsPrecision P;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(M, &P));
  PetscCall(VecCopy(P->diag, d));
  PetscCall(VecScale(d, P->b));
  PetscCall(VecShift(d, P->a));
  PetscFunctionReturn(0);
}

/* Exact (a I + b A^T A)^{-1}: CG preconditioned with it converges in one iteration */
static PetscErrorCode DpsPrecisionApplyExactInverse(PC pc, Vec x, Vec y)
{
  DpsPrecision P;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &P));
  PetscCall(DpsOperatorApplyNormalInverse(P->op, P->a, P->b, x, y));
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

PetscErrorCode DpsPrecisionPerturbation(DpsPrecision P, const PetscReal e1[], PetscReal e2[], Vec z)
{
  PetscScalar *za;
  PetscInt     m, n;
  PetscReal    sa = PetscSqrtReal(P->a), sb = PetscSqrtReal(P->b);

  PetscFunctionBegin;
  PetscCall(DpsOperatorGetSizes(P->op, &m, &n));
  for (PetscInt l = 0; l < m; l++) e2[l] *= sb;
  PetscCall(VecGetArrayWrite(z, &za));
  PetscCall(DpsOperatorApplyTransposeArray(P->op, e2, za));
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
  PetscBool exact;

  PetscFunctionBegin;
  PetscCall(KSPCreate(PETSC_COMM_SELF, ksp));
  PetscCall(KSPSetOptionsPrefix(*ksp, prefix));
  PetscCall(KSPSetType(*ksp, KSPCG));
  PetscCall(KSPSetOperators(*ksp, P->Lambda, P->Lambda));
  PetscCall(KSPSetTolerances(*ksp, 1e-10, 1e-50, PETSC_DEFAULT, 1000));
  /* a solve that fails must stop the run, never return a wrong sample */
  PetscCall(KSPSetErrorIfNotConverged(*ksp, PETSC_TRUE));
  PetscCall(KSPGetPC(*ksp, &pc));
  PetscCall(DpsOperatorHasNormalInverse(P->op, &exact));
  if (exact) {
    PetscCall(PCSetType(pc, PCSHELL));
    PetscCall(PCShellSetContext(pc, P));
    PetscCall(PCShellSetApply(pc, DpsPrecisionApplyExactInverse));
    PetscCall(PCShellSetName(pc, "exact (aI + b A^T A)^{-1} of the operator"));
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
  PetscCall(DpsOperatorDestroy(&(*P)->op));
  PetscCall(PetscFree(*P));
  PetscFunctionReturn(0);
}
