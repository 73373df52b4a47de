/* Measurement-space covariances M = c I_m + A diag(v) A^T (PiGDM: c = sigma_y^2, v = r_t^2; CA-DPS: v = the
   diagonal covariance estimate) as a PETSc MatShell, solved by KSPCG with the operator's exact inverse as the
   preconditioner when it has one (methods.md sections 4, 5 and 8). */
#ifndef DPSOLVE_MEASUREMENT_H
#define DPSOLVE_MEASUREMENT_H
#include <petscksp.h>
#include <dpsolve/operator.h>

typedef struct _n_DpsMeasurementSolver *DpsMeasurementSolver;

PETSC_EXTERN PetscErrorCode DpsMeasurementSolverCreate(DpsOperator, const char[], DpsMeasurementSolver *);
/* M = c I + A diag(v) A^T; v [n] is copied. With v = NULL, v is the constant vscalar. */
PETSC_EXTERN PetscErrorCode DpsMeasurementSolverSetCoefficients(DpsMeasurementSolver, PetscReal, const PetscReal[], PetscReal);
/* w = M^{-1} r; the CG iterations are added to *its */
PETSC_EXTERN PetscErrorCode DpsMeasurementSolverSolve(DpsMeasurementSolver, const PetscReal[], PetscReal[], PetscInt64 *);
PETSC_EXTERN PetscErrorCode DpsMeasurementSolverView(DpsMeasurementSolver, PetscViewer);
PETSC_EXTERN PetscErrorCode DpsMeasurementSolverDestroy(DpsMeasurementSolver *);
#endif
