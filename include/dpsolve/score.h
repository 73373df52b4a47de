/* DpsScore: the noise-prediction model eps_theta(x_t, t), with its JVP and VJP, batched over rows
   (methods.md sections 1 and 7). Callers see host arrays; a GPU backend keeps its buffers on the device. */
#ifndef DPSOLVE_SCORE_H
#define DPSOLVE_SCORE_H

#include <petscsys.h>
#include <hdf5.h>

typedef struct _p_DpsScore *DpsScore;
typedef const char         *DpsScoreType;
#define DPSSCOREGMM  "gmm"
#define DPSSCOREUNET "unet"

typedef enum { DPS_BACKEND_AUTO, DPS_BACKEND_CPU, DPS_BACKEND_CUDA } DpsScoreBackend;
PETSC_EXTERN const char *const DpsScoreBackends[];

PETSC_EXTERN PetscFunctionList DpsScoreList;
PETSC_EXTERN PetscErrorCode    DpsScoreRegister(const char[], PetscErrorCode (*)(DpsScore));
PETSC_EXTERN PetscErrorCode    DpsScoreRegisterAll(void);

PETSC_EXTERN PetscErrorCode DpsScoreCreate(MPI_Comm, DpsScore *);
PETSC_EXTERN PetscErrorCode DpsScoreSetType(DpsScore, DpsScoreType);
PETSC_EXTERN PetscErrorCode DpsScoreSetFromOptions(DpsScore);
PETSC_EXTERN PetscErrorCode DpsScoreSetUp(DpsScore);
PETSC_EXTERN PetscErrorCode DpsScoreView(DpsScore, PetscViewer);
PETSC_EXTERN PetscErrorCode DpsScoreDestroy(DpsScore *);
PETSC_EXTERN PetscErrorCode DpsScoreLoad(DpsScore, hid_t, const char[]);
PETSC_EXTERN PetscErrorCode DpsScoreSave(DpsScore, hid_t);

PETSC_EXTERN PetscErrorCode DpsScoreSetBackend(DpsScore, DpsScoreBackend);
PETSC_EXTERN PetscErrorCode DpsScoreGetBackend(DpsScore, DpsScoreBackend *); /* after SetUp: the one in use */
/* Rows are evaluated in groups of this many; results for a group never depend on the other groups. */
PETSC_EXTERN PetscErrorCode DpsScoreSetGroupSize(DpsScore, PetscInt);
PETSC_EXTERN PetscErrorCode DpsScoreGetDimension(DpsScore, PetscInt *);

/* n rows of length d; t is the model time, abar = abar_t of the training chain */
PETSC_EXTERN PetscErrorCode DpsScoreEps(DpsScore, PetscInt, PetscInt, PetscReal, const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsScoreJVP(DpsScore, PetscInt, PetscInt, PetscReal, const PetscReal[], const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsScoreVJP(DpsScore, PetscInt, PetscInt, PetscReal, const PetscReal[], const PetscReal[], PetscReal[]);
/* Learned variance (guided-diffusion's learned sigma, methods.md section 1): whether the model has v channels, and
   the v of the last DpsScoreEps (n rows of d, no new evaluation). n and t must be those of that call: asking for
   another evaluation's v is an error, never a stale answer. */
PETSC_EXTERN PetscErrorCode DpsScoreHasLearnedVariance(DpsScore, PetscBool *);
PETSC_EXTERN PetscErrorCode DpsScoreGetLearnedVariance(DpsScore, PetscInt, PetscInt, PetscReal[]);
/* The prior's variance per entry, trace(Cov[x0]) / d, where the model can tell (known = PETSC_TRUE: the Gaussian
   mixture, exactly); known = PETSC_FALSE and s2 = 0 where it cannot (a learned model). PiGDM's r_t^2 uses it. */
PETSC_EXTERN PetscErrorCode DpsScoreGetDataVariance(DpsScore, PetscReal *, PetscBool *);
/* rows evaluated so far: eps, JVP, VJP */
PETSC_EXTERN PetscErrorCode DpsScoreGetCounts(DpsScore, PetscInt64 *, PetscInt64 *, PetscInt64 *);

/* gmm: prior sum_k w_k N(mu_k, v_k I); arrays are borrowed (Get) or copied (Set) */
PETSC_EXTERN PetscErrorCode DpsScoreGMMSetPrior(DpsScore, PetscInt, PetscInt, const PetscReal[], const PetscReal[], const PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsScoreGMMGetPrior(DpsScore, PetscInt *, PetscInt *, const PetscReal **, const PetscReal **, const PetscReal **);

/* unet: guided-diffusion's UNetModel (docs/models.md). A row is an image [C][H][W]; DpsScoreEps at time t
   evaluates the model at its step index t - 1. SetWeights loads an HDF5 weights file (-score_unet_weights);
   GetVariance gives the v half of the output (learned-sigma models) of the last DpsScoreEps: n rows of d, n = 0
   for an eps-only model. */
PETSC_EXTERN PetscErrorCode DpsScoreUNetSetWeights(DpsScore, const char[]);
PETSC_EXTERN PetscErrorCode DpsScoreUNetGetVariance(DpsScore, PetscInt *, const PetscReal **);
/* an error naming the input file fname unless its data_shape is the loaded unet's (C, H, W); no-op for other types */
PETSC_EXTERN PetscErrorCode DpsScoreUNetCheckDataShape(DpsScore, const char[], PetscInt, const PetscInt[]);

#endif
