/* DpsOperator: the linear forward operator A of y = A x + n, as PETSc MatShells (methods.md sections 2 and 8). */
#ifndef DPSOLVE_OPERATOR_H
#define DPSOLVE_OPERATOR_H

#include <petscmat.h>
#include <hdf5.h>

typedef struct _p_DpsOperator *DpsOperator;
typedef const char            *DpsOperatorType;
#define DPSOPERATORINPAINT "inpaint"
#define DPSOPERATORCS      "cs"
#define DPSOPERATORCHAIN   "chain"
#define DPSOPERATORBLUR    "blur"
#define DPSOPERATORSR      "sr"
#define DPSOPERATORMATRIX  "matrix"
#define DPSOPERATORMRI     "mri"
#define DPSOPERATORCT      "ct"

PETSC_EXTERN PetscFunctionList DpsOperatorList;
PETSC_EXTERN PetscErrorCode    DpsOperatorRegister(const char[], PetscErrorCode (*)(DpsOperator));
PETSC_EXTERN PetscErrorCode    DpsOperatorRegisterAll(void);

PETSC_EXTERN PetscErrorCode DpsOperatorCreate(MPI_Comm, DpsOperator *);
PETSC_EXTERN PetscErrorCode DpsOperatorSetType(DpsOperator, DpsOperatorType);
PETSC_EXTERN PetscErrorCode DpsOperatorGetType(DpsOperator, DpsOperatorType *);
PETSC_EXTERN PetscErrorCode DpsOperatorSetFromOptions(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorSetUp(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorView(DpsOperator, PetscViewer);
PETSC_EXTERN PetscErrorCode DpsOperatorDestroy(DpsOperator *);

/* The data's shape (C, H, W): image operators act on each of the C channels of an H x W image. Set it before
   the type's data (DpsDatasetLoadOperator sets it from data_shape before DpsOperatorLoad). */
PETSC_EXTERN PetscErrorCode DpsOperatorSetDataShape(DpsOperator, PetscInt, PetscInt, PetscInt);
PETSC_EXTERN PetscErrorCode DpsOperatorSetDataShapeND(DpsOperator, PetscInt, const PetscInt[]); /* data_shape of any rank */
PETSC_EXTERN PetscErrorCode DpsOperatorGetDataShape(DpsOperator, PetscBool *, PetscInt[3]);
PETSC_EXTERN PetscErrorCode DpsOperatorGetMeasurementShape(DpsOperator, PetscInt[3]); /* (C, H, W) of y; (1, 1, m) if not an image */

/* Type-specific data. */
PETSC_EXTERN PetscErrorCode DpsOperatorInpaintSetMask(DpsOperator, PetscInt, const PetscReal[]); /* n or H W (shared) entries */
PETSC_EXTERN PetscErrorCode DpsOperatorInpaintSetBox(DpsOperator, PetscInt, PetscInt, PetscInt, PetscInt); /* row0, col0, height, width */
PETSC_EXTERN PetscErrorCode DpsOperatorCSSetMatrix(DpsOperator, PetscInt, PetscInt, const PetscReal[]);
/* chain: A = A_k ... A_1 (part 0 applied first); the chain keeps a reference to each part */
PETSC_EXTERN PetscErrorCode DpsOperatorChainSetParts(DpsOperator, PetscInt, const DpsOperator[]);
PETSC_EXTERN PetscErrorCode DpsOperatorChainGetParts(DpsOperator, PetscInt *, const DpsOperator **);
/* blur: correlation of each channel with a kh x kw kernel (odd sizes); default Gaussian 61 x 61, sigma 3, reflect */
typedef enum {
  DPS_BLUR_REFLECT,
  DPS_BLUR_CIRCULAR
} DpsBlurMode;
PETSC_EXTERN const char *const DpsBlurModes[];
PETSC_EXTERN PetscErrorCode    DpsOperatorBlurSetKernel(DpsOperator, PetscInt, PetscInt, const PetscReal[]);
PETSC_EXTERN PetscErrorCode    DpsOperatorBlurSetMode(DpsOperator, DpsBlurMode);
PETSC_EXTERN PetscErrorCode    DpsBlurGaussianKernel(PetscInt, PetscReal, PetscReal[]); /* size (odd), sigma: the reference kernel */
/* sr: integer-factor downsampling of each channel; block averaging or bicubic with antialiasing (MATLAB imresize) */
typedef enum {
  DPS_SR_BLOCK,
  DPS_SR_BICUBIC
} DpsSRKind;
PETSC_EXTERN const char *const DpsSRKinds[];
PETSC_EXTERN PetscErrorCode    DpsOperatorSRSetFactor(DpsOperator, PetscInt, DpsSRKind);
PETSC_EXTERN PetscErrorCode    DpsSRBicubicMatrix(PetscInt, PetscInt, PetscReal[]); /* n, factor: the (n / f) x n row-major 1-D matrix */
/* matrix: a sparse m x n system matrix in CSR form (indptr [m + 1], indices and data [indptr[m]]), copied */
PETSC_EXTERN PetscErrorCode DpsOperatorMatrixSetCSR(DpsOperator, PetscInt, PetscInt, const PetscInt[], const PetscInt[], const PetscReal[]);
/* mri: A = M F S; mask [H, W] 0/1 in centred k-space; maps [coils, H, W, 2] (re, im), coils 0 or NULL: S = 1 */
PETSC_EXTERN PetscErrorCode DpsOperatorMRISetMask(DpsOperator, PetscInt, PetscInt, const PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsOperatorMRISetMaps(DpsOperator, PetscInt, PetscInt, PetscInt, const PetscReal[]);
/* ct: Joseph's projector; geometry, angles [na] (radians), bins D, bin spacing, and for fan the source-centre and
   centre-detector distances (pixel units) */
typedef enum {
  DPS_CT_PARALLEL,
  DPS_CT_FAN
} DpsCTGeometry;
PETSC_EXTERN const char *const DpsCTGeometries[];
PETSC_EXTERN PetscErrorCode    DpsOperatorCTSetGeometry(DpsOperator, DpsCTGeometry, PetscInt, const PetscReal[], PetscInt, PetscReal, PetscReal, PetscReal);

/* HDF5: the group /operator holds the attribute "type" and the type's datasets. */
PETSC_EXTERN PetscErrorCode DpsOperatorLoad(DpsOperator, hid_t, const char[]);
PETSC_EXTERN PetscErrorCode DpsOperatorSave(DpsOperator, hid_t);

PETSC_EXTERN PetscErrorCode DpsOperatorGetSizes(DpsOperator, PetscInt *, PetscInt *); /* m (rows), n (columns) */
PETSC_EXTERN PetscErrorCode DpsOperatorGetMat(DpsOperator, Mat *);                    /* A as a MatShell, m x n */
PETSC_EXTERN PetscErrorCode DpsOperatorApply(DpsOperator, Vec, Vec);                  /* y = A x */
PETSC_EXTERN PetscErrorCode DpsOperatorApplyTranspose(DpsOperator, Vec, Vec);         /* x = A^T y */
/* Raw-array forms for the samplers' inner loops. */
PETSC_EXTERN PetscErrorCode DpsOperatorApplyArray(DpsOperator, const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsOperatorApplyTransposeArray(DpsOperator, const PetscReal[], PetscReal[]);

/* Optional capabilities: ask with Has, never by type. */
PETSC_EXTERN PetscErrorCode DpsOperatorHasNormalInverse(DpsOperator, PetscBool *);
PETSC_EXTERN PetscErrorCode DpsOperatorApplyNormalInverse(DpsOperator, PetscReal, PetscReal, Vec, Vec); /* (aI + b A^T A)^{-1} x */
/* A symmetric positive definite approximation of (aI + b A^T A)^{-1} for preconditioning CG on aI + b A^T A: the
   exact inverse where the operator has one, else the type's approximation (blur reflect: a DCT-I form for kernels
   symmetric in each axis, else the circular blur's exact inverse with the same kernel; methods.md section 8) */
PETSC_EXTERN PetscErrorCode DpsOperatorHasNormalInversePreconditioner(DpsOperator, PetscBool *);
PETSC_EXTERN PetscErrorCode DpsOperatorApplyNormalInversePreconditioner(DpsOperator, PetscReal, PetscReal, Vec, Vec);
/* (c I_m + A diag(v) A^T)^{-1} y in measurement space, v [n] >= 0 (PiGDM, CA-DPS), when the operator has it */
PETSC_EXTERN PetscErrorCode DpsOperatorHasMeasurementInverse(DpsOperator, PetscBool *);
PETSC_EXTERN PetscErrorCode DpsOperatorApplyMeasurementInverse(DpsOperator, PetscReal, const PetscReal[], const PetscReal[], PetscReal[]);
/* SVD A = U diag(sv) V^T (DDRM, methods.md section 5): sv has n entries, sorted as the type chooses, zero beyond
   the rank; V^T x and V xbar act on n-vectors, U^T y maps an m-vector to the first min(m, n) coordinates. */
PETSC_EXTERN PetscErrorCode DpsOperatorHasSVD(DpsOperator, PetscBool *);
PETSC_EXTERN PetscErrorCode DpsOperatorGetSingularValues(DpsOperator, const PetscReal **);
PETSC_EXTERN PetscErrorCode DpsOperatorApplyVT(DpsOperator, const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsOperatorApplyV(DpsOperator, const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsOperatorApplyUT(DpsOperator, const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsOperatorHasNormalDiagonal(DpsOperator, PetscBool *);
PETSC_EXTERN PetscErrorCode DpsOperatorGetNormalDiagonal(DpsOperator, Vec); /* diag(A^T A) */

#endif
