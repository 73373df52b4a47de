#ifndef DPSOLVE_SCOREIMPL_H
#define DPSOLVE_SCOREIMPL_H
#include <petsc/private/petscimpl.h>
#include <dpsolve/score.h>

struct _DpsScoreOps {
  PetscErrorCode (*setfromoptions)(DpsScore, PetscOptionItems *);
  PetscErrorCode (*setup)(DpsScore); /* chooses and prepares the backend */
  PetscErrorCode (*eps)(DpsScore, PetscInt, PetscInt, PetscReal, const PetscReal[], PetscReal[]);
  PetscErrorCode (*jvp)(DpsScore, PetscInt, PetscInt, PetscReal, const PetscReal[], const PetscReal[], PetscReal[]);
  PetscErrorCode (*vjp)(DpsScore, PetscInt, PetscInt, PetscReal, const PetscReal[], const PetscReal[], PetscReal[]);
  PetscErrorCode (*haslearnedvariance)(DpsScore, PetscBool *);
  PetscErrorCode (*learnedvariance)(DpsScore, PetscInt, PetscReal[]); /* v of the last eps call, n rows */
  PetscErrorCode (*datavariance)(DpsScore, PetscReal *);               /* the prior's variance per entry, if known */
  PetscErrorCode (*load)(DpsScore, hid_t, const char[]);
  PetscErrorCode (*save)(DpsScore, hid_t);
  PetscErrorCode (*view)(DpsScore, PetscViewer);
  PetscErrorCode (*destroy)(DpsScore);
};

struct _p_DpsScore {
  PETSCHEADER(struct _DpsScoreOps);
  PetscInt        dim;       /* d, set by the type */
  PetscInt        group;     /* rows per group (DpsScoreSetGroupSize) */
  DpsScoreBackend requested; /* -score_backend */
  DpsScoreBackend backend;   /* in use after SetUp */
  PetscInt64      neps, njvp, nvjp;
  PetscInt        last_n, last_t; /* the last DpsScoreEps: rows and time (-1: none), for GetLearnedVariance */
  PetscBool       setupcalled;
  void           *data;
};

/* The backend a type's SetUp uses (auto: CUDA when `devices` > 0) and, for CUDA, the device of this rank: the
   ranks of a node take the node's devices round-robin by their rank on the node. Fails for cuda without a
   device, with `why` (the backend's reason) in the message. */
PETSC_INTERN PetscErrorCode DpsScoreChooseBackend(DpsScore, int devices, const char why[], int *device);
#endif
