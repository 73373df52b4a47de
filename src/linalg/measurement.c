#include <petsc/private/petscimpl.h>
#include <dpsolve/dpsolve.h>
#include "linalg/measurement.h"

struct _n_DpsMeasurementSolver {
  DpsOperator op;
  PetscInt    m, n;
  PetscReal   c;
  PetscReal  *v;    /* [n] */
  PetscReal  *work; /* [n] */
  Mat         M;
  KSP         ksp;
  Vec         r, w;
};

static PetscErrorCode DpsMeasurementMult(Mat M, Vec x, Vec y)
{
  DpsMeasurementSolver S;
  const PetscScalar   *xa;
  PetscScalar         *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(M, &S));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCall(DpsOperatorApplyTransposeArray(S->op, xa, S->work));
  for (PetscInt j = 0; j < S->n; j++) S->work[j] *= S->v[j];
  PetscCall(DpsOperatorApplyArray(S->op, S->work, ya));
  for (PetscInt l = 0; l < S->m; l++) ya[l] += S->c * xa[l];
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsMeasurementApplyExactInverse(PC pc, Vec x, Vec y)
{
  DpsMeasurementSolver S;
  const PetscScalar   *xa;
  PetscScalar         *ya;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &S));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCall(DpsOperatorApplyMeasurementInverse(S->op, S->c, S->v, xa, ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsMeasurementSolverCreate(DpsOperator op, const char prefix[], DpsMeasurementSolver *solver)
{
  DpsMeasurementSolver S;
  PC                   pc;
  PetscBool            exact;

  PetscFunctionBegin;
  PetscCall(DpsOperatorSetUp(op));
  PetscCall(PetscNew(&S));
  PetscCall(PetscObjectReference((PetscObject)op));
  S->op = op;
  S->c  = 1.0;
  PetscCall(DpsOperatorGetSizes(op, &S->m, &S->n));
  PetscCall(PetscMalloc2(S->n, &S->v, S->n, &S->work));
  for (PetscInt j = 0; j < S->n; j++) S->v[j] = 1.0;
  PetscCall(MatCreateShell(PETSC_COMM_SELF, S->m, S->m, S->m, S->m, S, &S->M));
  PetscCall(MatShellSetOperation(S->M, MATOP_MULT, (void (*)(void))DpsMeasurementMult));
  PetscCall(MatSetOption(S->M, MAT_SPD, PETSC_TRUE));
  PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, S->m, NULL, &S->r));
  PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, S->m, NULL, &S->w));
  PetscCall(KSPCreate(PETSC_COMM_SELF, &S->ksp));
  PetscCall(KSPSetOptionsPrefix(S->ksp, prefix));
  PetscCall(KSPSetType(S->ksp, KSPCG));
  PetscCall(KSPSetOperators(S->ksp, S->M, S->M));
  /* at most 20000 iterations, as the data-space solves (precision.c): pigdm on 30-view CT needs 1681 per solve */
  PetscCall(KSPSetTolerances(S->ksp, 1e-10, 1e-50, PETSC_DEFAULT, 20000));
  PetscCall(KSPSetErrorIfNotConverged(S->ksp, PETSC_TRUE));
  PetscCall(KSPGetPC(S->ksp, &pc));
  PetscCall(DpsOperatorHasMeasurementInverse(op, &exact));
  if (exact) {
    PetscCall(PCSetType(pc, PCSHELL));
    PetscCall(PCShellSetContext(pc, S));
    PetscCall(PCShellSetApply(pc, DpsMeasurementApplyExactInverse));
    PetscCall(PCShellSetName(pc, "exact (c I + A diag(v) A^T)^{-1} of the operator"));
  } else {
    /* c I plus a term of rank at most n: CG needs no preconditioner when m is small, as in the benchmarks */
    PetscCall(PCSetType(pc, PCNONE));
  }
  PetscCall(KSPSetFromOptions(S->ksp));
  *solver = S;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsMeasurementSolverSetCoefficients(DpsMeasurementSolver S, PetscReal c, const PetscReal v[], PetscReal vscalar)
{
  PetscFunctionBegin;
  PetscCheck(c > 0 && !PetscIsInfOrNanReal(c), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "measurement covariance c I + A diag(v) A^T needs c > 0 (got %g): sigma_y must be positive", (double)c);
  S->c = c;
  for (PetscInt j = 0; j < S->n; j++) S->v[j] = v ? v[j] : vscalar;
  /* the KSP sees a new matrix, so preconditioners that read it set up again */
  PetscCall(PetscObjectStateIncrease((PetscObject)S->M));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsMeasurementSolverSolve(DpsMeasurementSolver S, const PetscReal r[], PetscReal w[], PetscInt64 *its)
{
  PetscInt k;

  PetscFunctionBegin;
  PetscCall(VecPlaceArray(S->r, r));
  PetscCall(VecPlaceArray(S->w, w));
  PetscCall(KSPSolve(S->ksp, S->r, S->w));
  PetscCall(VecResetArray(S->r));
  PetscCall(VecResetArray(S->w));
  PetscCall(KSPGetIterationNumber(S->ksp, &k));
  if (its) *its += k;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsMeasurementSolverView(DpsMeasurementSolver S, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(KSPView(S->ksp, viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsMeasurementSolverDestroy(DpsMeasurementSolver *S)
{
  PetscFunctionBegin;
  if (!*S) PetscFunctionReturn(0);
  PetscCall(KSPDestroy(&(*S)->ksp));
  PetscCall(MatDestroy(&(*S)->M));
  PetscCall(VecDestroy(&(*S)->r));
  PetscCall(VecDestroy(&(*S)->w));
  PetscCall(PetscFree2((*S)->v, (*S)->work));
  PetscCall(DpsOperatorDestroy(&(*S)->op));
  PetscCall(PetscFree(*S));
  PetscFunctionReturn(0);
}
