/* Exact posteriors of Gaussian-mixture priors and the sliced Wasserstein distance (methods.md section 7). */
#ifndef DPSOLVE_EVAL_H
#define DPSOLVE_EVAL_H

#include <dpsolve/score.h>
#include <dpsolve/operator.h>

typedef struct _n_DpsGMMPosterior *DpsGMMPosterior;

/* Factorises what does not depend on y: the precisions I/v_k + A^T A / sigma_y^2 and v_k A A^T + sigma_y^2 I. */
PETSC_EXTERN PetscErrorCode DpsGMMPosteriorCreate(DpsScore, DpsOperator, PetscReal, DpsGMMPosterior *);
PETSC_EXTERN PetscErrorCode DpsGMMPosteriorDestroy(DpsGMMPosterior *);
/* The posterior for measurement y: sum_k wt_k N(m_k, C_k); weights [K] and means [K x d] are borrowed */
PETSC_EXTERN PetscErrorCode DpsGMMPosteriorCondition(DpsGMMPosterior, const PetscReal[], const PetscReal **, const PetscReal **);
/* S exact draws [S x d] from the conditioned posterior, addressed by (seed, input, stream) */
PETSC_EXTERN PetscErrorCode DpsGMMPosteriorSample(DpsGMMPosterior, PetscInt64, PetscInt, PetscInt, PetscInt, PetscReal[]);
/* S draws [S x d] from the prior itself, addressed by (seed, input, stream) */
PETSC_EXTERN PetscErrorCode DpsGMMPriorSample(DpsScore, PetscInt64, PetscInt, PetscInt, PetscInt, PetscReal[]);
/* The dense covariance C_k [d x d] of component k, for tests */
PETSC_EXTERN PetscErrorCode DpsGMMPosteriorGetCovariance(DpsGMMPosterior, PetscInt, PetscReal[]);

/* SW_1 between two sets of S points in R^d [S x d], over L directions uniform on the sphere drawn from
   (seed, input): the mean over directions of the 1-D W1 distance of the projections. */
PETSC_EXTERN PetscErrorCode DpsSlicedWasserstein(PetscInt, PetscInt, const PetscReal[], const PetscReal[], PetscInt, PetscInt64, PetscInt, PetscReal *);

/* The MCGdiff Gaussian-mixture benchmark (methods.md section 7) */
typedef struct {
  PetscInt   dx, dy;            /* dy is ignored for inpaint (m = dx) */
  char       operator_type[16]; /* cs or inpaint */
  PetscReal  missing;           /* inpaint: fraction missing at random ... */
  PetscInt   box[4];            /* ... or this box (row0, col0, height, width) on the 1 x dx grid */
  PetscBool  hasbox;
  PetscReal  sigma_y;           /* <= 0: u max(s), u ~ U(0, 1), as MCGdiff */
  PetscInt64 seed;
} DpsGMMProblemSpec;
PETSC_EXTERN PetscErrorCode DpsGMMProblemCreate(const DpsGMMProblemSpec *, DpsScore *, DpsOperator *, PetscReal *);
PETSC_EXTERN PetscErrorCode DpsGMMProblemDraw(const DpsGMMProblemSpec *, DpsScore, DpsOperator, PetscReal, PetscInt, PetscInt, PetscReal[], PetscReal[]);

#endif
