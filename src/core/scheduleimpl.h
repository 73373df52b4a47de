#ifndef DPSOLVE_SCHEDULEIMPL_H
#define DPSOLVE_SCHEDULEIMPL_H
#include <petsc/private/petscimpl.h>
#include <dpsolve/schedule.h>

struct _DpsScheduleOps {
  PetscErrorCode (*betas)(DpsSchedule, PetscReal[]); /* fill beta_1..beta_T of the training chain */
  PetscErrorCode (*setfromoptions)(DpsSchedule, PetscOptionItems *);
  PetscErrorCode (*view)(DpsSchedule, PetscViewer);
  PetscErrorCode (*destroy)(DpsSchedule);
};

struct _p_DpsSchedule {
  PETSCHEADER(struct _DpsScheduleOps);
  PetscInt            T;          /* training steps */
  PetscInt            N;          /* respaced steps, N <= T */
  DpsScheduleVariance variance;
  PetscBool           variance_set; /* chosen, not the default: the sampler makes learned the default for models with v */
  PetscReal          *abar_train; /* [T + 1], abar_0 = 1 */
  PetscInt           *tau;        /* [N + 1], tau_0 = 0 */
  PetscReal          *abar;       /* [N + 1], abar'_0 = 1 */
  PetscBool           setupcalled;
  void               *data;
};
#endif
