/* Class ids of the dpsolve objects, for PetscHeaderCreate and -log_view. */
#ifndef DPSOLVE_CLASSES_H
#define DPSOLVE_CLASSES_H
#include <petscsys.h>
PETSC_EXTERN PetscClassId DPS_SCHEDULE_CLASSID, DPS_OPERATOR_CLASSID, DPS_SCORE_CLASSID, DPS_SAMPLER_CLASSID;
#endif
