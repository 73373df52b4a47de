/* The CG check the preconditioner tests share (unit_blur_preconditioner, unit_ct_preconditioner). */
#ifndef DPS_CGTEST_H
#define DPS_CGTEST_H
#include <dpsolve/dpsolve.h>
#include "linalg/precision.h"
#include "unittest.h"

/* CG iterations on a I + b A^T A to relative residual 1e-10 (at most maxits), from a standard normal right-hand
   side: DpsPrecisionCreateKSP's, then without a preconditioner; each converges, to a true residual below 1e-8 */
static inline PetscErrorCode DpsTestPreconditionedCG(DpsOperator op, const char name[], PetscReal a, PetscReal b, PetscInt maxits, DpsTestRng *rng, PetscInt its[2])
{
  DpsPrecision P;
  KSP          ksp;
  PC           pc;
  Mat          L;
  Vec          rhs, sol, res;
  PetscReal    rn, bn;
  PetscInt     n;
  PetscScalar *ra;

  PetscFunctionBegin;
  PetscCall(DpsPrecisionCreate(op, &P));
  PetscCall(DpsPrecisionSetCoefficients(P, a, b));
  PetscCall(DpsPrecisionCreateKSP(P, "test_", &ksp));
  PetscCall(KSPSetErrorIfNotConverged(ksp, PETSC_FALSE));
  PetscCall(KSPSetTolerances(ksp, 1e-10, 1e-50, PETSC_DEFAULT, maxits));
  PetscCall(DpsPrecisionGetMat(P, &L));
  PetscCall(MatCreateVecs(L, &sol, &rhs));
  PetscCall(VecDuplicate(rhs, &res));
  PetscCall(VecGetSize(rhs, &n));
  PetscCall(VecGetArrayWrite(rhs, &ra));
  for (PetscInt i = 0; i < n; i++) ra[i] = DpsTestNormal(rng);
  PetscCall(VecRestoreArrayWrite(rhs, &ra));
  for (int t = 0; t < 2; t++) {
    KSPConvergedReason reason;
    if (t == 1) {
      PetscCall(KSPGetPC(ksp, &pc));
      PetscCall(PCSetType(pc, PCNONE));
    }
    PetscCall(KSPSolve(ksp, rhs, sol));
    PetscCall(KSPGetIterationNumber(ksp, &its[t]));
    PetscCall(KSPGetConvergedReason(ksp, &reason));
    PetscCall(MatMult(L, sol, res));
    PetscCall(VecAXPY(res, -1.0, rhs));
    PetscCall(VecNorm(res, NORM_2, &rn));
    PetscCall(VecNorm(rhs, NORM_2, &bn));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "CG on a I + b A^T A, %s, a = %g, b = %g, %s: %d iterations, |Lambda x - r| / |r| = %.1e\n", name, (double)a, (double)b, t ? "no preconditioner" : "DpsPrecisionCreateKSP's", (int)its[t], (double)(rn / bn)));
    DPS_CHECK(reason > 0, "CG did not converge (reason %d)", (int)reason);
    DPS_CHECK(rn <= 1e-8 * bn, "CG's solution has relative residual %.1e", (double)(rn / bn));
  }
  PetscCall(VecDestroy(&rhs));
  PetscCall(VecDestroy(&sol));
  PetscCall(VecDestroy(&res));
  PetscCall(KSPDestroy(&ksp));
  PetscCall(DpsPrecisionDestroy(&P));
  PetscFunctionReturn(0);
}
#endif
