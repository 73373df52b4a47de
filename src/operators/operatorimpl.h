#ifndef DPSOLVE_OPERATORIMPL_H
#define DPSOLVE_OPERATORIMPL_H
#include <petsc/private/petscimpl.h>
#include <dpsolve/operator.h>

struct _DpsOperatorOps {
  PetscErrorCode (*apply)(DpsOperator, const PetscReal[], PetscReal[]);          /* required */
  PetscErrorCode (*applytranspose)(DpsOperator, const PetscReal[], PetscReal[]); /* required */
  PetscErrorCode (*normalinverse)(DpsOperator, PetscReal, PetscReal, const PetscReal[], PetscReal[]);
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
};

struct _p_DpsOperator {
  PETSCHEADER(struct _DpsOperatorOps);
  PetscInt  m, n; /* A is m x n; set by the type once it has its data */
  Mat       A;    /* MatShell built at SetUp */
  PetscBool  setupcalled;
  PetscReal *sv; /* [n] singular values, once the SVD is set up */
  void      *data;
};
#endif
