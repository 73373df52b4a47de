/* The posterior precision Lambda = a I + b A^T A of a Gaussian step (methods.md sections 3 and 8) as a PETSc
   MatShell, and CG solvers for it preconditioned by the operator's exact inverse, Jacobi, or nothing. */
#ifndef DPSOLVE_PRECISION_H
#define DPSOLVE_PRECISION_H
#include <petscksp.h>
#include <dpsolve/operator.h>

typedef struct _n_DpsPrecision *DpsPrecision;

PETSC_EXTERN PetscErrorCode DpsPrecisionCreate(DpsOperator, DpsPrecision *);
PETSC_EXTERN PetscErrorCode DpsPrecisionSetCoefficients(DpsPrecision, PetscReal, PetscReal);
/* Lambda = diag(a) + b A^T A with a per-entry a [n] (the C-DPS x0 form with a covariance-aware r_t^2). Call
   DpsPrecisionUseDiagonal before DpsPrecisionCreateKSP: its KSPs are then preconditioned by
   diag(a + b diag(A^T A))^{-1} where the operator has both diag(A^T A) and an exact (aI + b A^T A)^{-1}
   (inpainting: exact); by the operator's approximate (mean(a) I + b A^T A)^{-1} where it has one and no exact
   inverse (blur reflect); else by diag(a)^{-1} (diagonal plus rank m: at most m + 1 CG iterations). */
PETSC_EXTERN PetscErrorCode DpsPrecisionUseDiagonal(DpsPrecision);
PETSC_EXTERN PetscErrorCode DpsPrecisionSetDiagonalCoefficients(DpsPrecision, const PetscReal[], PetscReal);
/* PW-CG (methods.md section 3): z = sqrt(a) e1 + sqrt(b) A^T e2 (sqrt(a) entrywise with a per-entry a) for standard normal e1 [n], e2 [m], so that
   cov(z) = Lambda and Lambda^{-1} z ~ N(0, Lambda^{-1}). e2 is overwritten. */
PETSC_EXTERN PetscErrorCode DpsPrecisionPerturbation(DpsPrecision, const PetscReal[], PetscReal[], Vec);
PETSC_EXTERN PetscErrorCode DpsPrecisionGetMat(DpsPrecision, Mat *);
/* A KSPCG on Lambda with its own options prefix ("mean_", "noise_"): -mean_ksp_rtol, -noise_pc_type, ... */
PETSC_EXTERN PetscErrorCode DpsPrecisionCreateKSP(DpsPrecision, const char[], KSP *);
PETSC_EXTERN PetscErrorCode DpsPrecisionDestroy(DpsPrecision *);
#endif
