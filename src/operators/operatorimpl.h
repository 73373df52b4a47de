#ifndef DPSOLVE_OPERATORIMPL_H
#define DPSOLVE_OPERATORIMPL_H
#include <petsc/private/petscimpl.h>
#include <dpsolve/operator.h>

struct _DpsOperatorOps {
  PetscErrorCode (*apply)(DpsOperator, const PetscReal[], PetscReal[]);          /* required */
  PetscErrorCode (*applytranspose)(DpsOperator, const PetscReal[], PetscReal[]); /* required */
  PetscErrorCode (*normalinverse)(DpsOperator, PetscReal, PetscReal, const PetscReal[], PetscReal[]);
  /* an SPD approximation of (aI + b A^T A)^{-1}, for preconditioning CG, where the type has no exact inverse */
  PetscErrorCode (*normalinversepc)(DpsOperator, PetscReal, PetscReal, const PetscReal[], PetscReal[]);
  PetscErrorCode (*normaldiagonal)(DpsOperator, PetscReal[]);
  PetscErrorCode (*measurementinverse)(DpsOperator, PetscReal, const PetscReal[], const PetscReal[], PetscReal[]);
  PetscErrorCode (*svdsetup)(DpsOperator); /* computes the SVD on first use; with vt, v, ut below */
  PetscErrorCode (*vt)(DpsOperator, const PetscReal[], PetscReal[]);
  PetscErrorCode (*v)(DpsOperator, const PetscReal[], PetscReal[]);
  PetscErrorCode (*ut)(DpsOperator, const PetscReal[], PetscReal[]);
  PetscErrorCode (*load)(DpsOperator, hid_t, const char[]);
  PetscErrorCode (*save)(DpsOperator, hid_t);
  PetscErrorCode (*view)(DpsOperator, PetscViewer);
  PetscErrorCode (*destroy)(DpsOperator);
  PetscErrorCode (*setdatashape)(DpsOperator); /* the data's (C, H, W) was set: an image type sizes itself */
};

struct _p_DpsOperator {
  PETSCHEADER(struct _DpsOperatorOps);
  PetscInt  m, n;        /* A is m x n; set by the type once it has its data */
  PetscInt  shape[3];    /* the data's (C, H, W) (DpsOperatorSetDataShape); all 0 until given */
  PetscInt  outshape[3]; /* the measurement's (C, H, W), set by an image type with m (a chain's next part acts on it) */
  char      group[256];  /* the HDF5 group that load and save use: /operator, or a chain's part */
  Mat       A;    /* MatShell built at SetUp */
  PetscBool  setupcalled;
  PetscReal *sv; /* [n] singular values, once the SVD is set up */
  void      *data;
};

/* Load and save at a group other than /operator (a chain's parts); "<group>/<name>" for a type's datasets */
PETSC_INTERN PetscErrorCode DpsOperatorLoadGroup(DpsOperator, hid_t, const char[], const char[]);
PETSC_INTERN PetscErrorCode DpsOperatorSaveGroup(DpsOperator, hid_t, const char[]);
PETSC_INTERN PetscErrorCode DpsOperatorDatasetName(DpsOperator, const char[], char[], size_t);
/* the data shape an image type needs, with a message naming the type when it was never given */
PETSC_INTERN PetscErrorCode DpsOperatorCheckDataShape(DpsOperator);
#endif
