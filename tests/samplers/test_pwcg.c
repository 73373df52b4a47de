/* PW-CG (methods.md section 3): solving Lambda v = z with z = sqrt(a) e1 + sqrt(b) A^T e2 gives
   v ~ N(0, Lambda^{-1}). Checked against a dense inverse of Lambda = a I + b A^T A built here with LAPACK,
   for an operator solved by plain CG (cs) and one with an exact-inverse preconditioner (inpaint). */
#include <dpsolve/dpsolve.h>
#include <petscblaslapack.h>
#include "linalg/precision.h"

#define D 6
#define M 3

/* Lambda^{-1} from the dense matrix, independently of the MatShell */
static PetscErrorCode DenseInverse(PetscInt n, const PetscReal A[], PetscInt m, PetscReal a, PetscReal b, PetscReal inv[])
{
  PetscBLASInt bn = (PetscBLASInt)n, info;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0.0;
      for (PetscInt l = 0; l < m; l++) s += A[l * n + i] * A[l * n + j];
      inv[i * n + j] = b * s + (i == j ? a : 0.0);
    }
  PetscCallBLAS("LAPACKpotrf", LAPACKpotrf_("L", &bn, inv, &bn, &info));
  PetscCheck(!info, PETSC_COMM_SELF, PETSC_ERR_LIB, "potrf %d", (int)info);
  PetscCallBLAS("LAPACKpotri", LAPACKpotri_("L", &bn, inv, &bn, &info));
  PetscCheck(!info, PETSC_COMM_SELF, PETSC_ERR_LIB, "potri %d", (int)info);
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = i + 1; j < n; j++) inv[j * n + i] = inv[i * n + j]; /* potri fills the column-major lower triangle */
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckOperator(DpsOperator op, const PetscReal Adense[], PetscInt m, PetscReal a, PetscReal b, PetscInt ndraws, const char *name)
{
  DpsPrecision P;
  KSP          ksp;
  Vec          z, v, r, x;
  PetscReal    inv[D * D], cov[D * D] = {0}, mean[D] = {0}, e1[D], e2[D], zmax = 0.0, merr = 0.0;
  PetscInt     its = 0;

  PetscFunctionBegin;
  PetscCall(DpsPrecisionCreate(op, &P));
  PetscCall(DpsPrecisionSetCoefficients(P, a, b));
  PetscCall(DpsPrecisionCreateKSP(P, "noise_", &ksp));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, D, &z));
  PetscCall(VecDuplicate(z, &v));
  PetscCall(VecDuplicate(z, &r));
  PetscCall(VecDuplicate(z, &x));
  PetscCall(DenseInverse(D, Adense, m, a, b, inv));
  for (PetscInt s = 0; s < ndraws; s++) {
    DpsRandomAddress a1 = {11, 0, s, 0, DPS_STREAM_PRIOR_NOISE}, a2 = {11, 0, s, 0, DPS_STREAM_MEAS_NOISE};
    const PetscScalar *va;
    PetscInt           k;
    PetscCall(DpsRandomNormals(a1, D, e1));
    PetscCall(DpsRandomNormals(a2, m, e2));
    PetscCall(DpsPrecisionPerturbation(P, e1, e2, z));
    PetscCall(KSPSolve(ksp, z, v));
    PetscCall(KSPGetIterationNumber(ksp, &k));
    its += k;
    PetscCall(VecGetArrayRead(v, &va));
    for (PetscInt i = 0; i < D; i++) {
      mean[i] += va[i] / ndraws;
      for (PetscInt j = 0; j < D; j++) cov[i * D + j] += va[i] * va[j] / ndraws;
    }
    PetscCall(VecRestoreArrayRead(v, &va));
  }
  /* each entry against its Monte Carlo standard error sqrt((S_ii S_jj + S_ij^2) / n) */
  for (PetscInt i = 0; i < D; i++)
    for (PetscInt j = 0; j < D; j++) {
      PetscReal se = PetscSqrtReal((inv[i * D + i] * inv[j * D + j] + inv[i * D + j] * inv[i * D + j]) / ndraws);
      zmax         = PetscMax(zmax, PetscAbsReal(cov[i * D + j] - inv[i * D + j]) / se);
    }
  /* the mean solve: Lambda x = r against the dense inverse */
  PetscCall(VecSetRandom(r, NULL));
  PetscCall(KSPSolve(ksp, r, x));
  {
    const PetscScalar *ra, *xa;
    PetscCall(VecGetArrayRead(r, &ra));
    PetscCall(VecGetArrayRead(x, &xa));
    for (PetscInt i = 0; i < D; i++) {
      PetscReal want = 0.0;
      for (PetscInt j = 0; j < D; j++) want += inv[i * D + j] * ra[j];
      merr = PetscMax(merr, PetscAbsReal(xa[i] - want) / PetscMax(PetscAbsReal(want), 1e-3));
    }
    PetscCall(VecRestoreArrayRead(r, &ra));
    PetscCall(VecRestoreArrayRead(x, &xa));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: %" PetscInt_FMT " draws, %.2f CG iterations per solve, max |cov - Lambda^-1| = %.4f standard errors, mean solve rel. error %.2e\n", name, ndraws, (double)its / ndraws, (double)zmax, (double)merr));
  PetscCheck(zmax < 5.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: the PW-CG covariance differs from Lambda^{-1} by %.2f standard errors", name, (double)zmax);
  PetscCheck(merr < 1e-7, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: the mean solve is off by %.2e", name, (double)merr);
  PetscCall(VecDestroy(&z));
  PetscCall(VecDestroy(&v));
  PetscCall(VecDestroy(&r));
  PetscCall(VecDestroy(&x));
  PetscCall(KSPDestroy(&ksp));
  PetscCall(DpsPrecisionDestroy(&P));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsOperator      cs, inpaint;
  PetscReal        A[M * D], mask[D] = {1, 0, 1, 1, 0, 1}, Ainp[D * D] = {0};
  DpsRandomAddress ra = {5, 0, 0, 0, DPS_STREAM_PROBLEM};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(DpsRandomNormals(ra, M * D, A));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &cs));
  PetscCall(DpsOperatorSetType(cs, DPSOPERATORCS));
  PetscCall(DpsOperatorCSSetMatrix(cs, M, D, A));
  PetscCall(CheckOperator(cs, A, M, 2.5, 4.0, 40000, "cs (plain CG)"));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &inpaint));
  PetscCall(DpsOperatorSetType(inpaint, DPSOPERATORINPAINT));
  PetscCall(DpsOperatorInpaintSetMask(inpaint, D, mask));
  for (PetscInt j = 0; j < D; j++) Ainp[j * D + j] = mask[j];
  PetscCall(CheckOperator(inpaint, Ainp, D, 0.7, 30.0, 40000, "inpaint (exact-inverse preconditioner)"));
  PetscCall(DpsOperatorDestroy(&cs));
  PetscCall(DpsOperatorDestroy(&inpaint));
  PetscCall(PetscFinalize());
  return 0;
}
