#include <dpsolve/dpsolve.h>
#include "core/classes.h"

PetscClassId  DPS_SCHEDULE_CLASSID, DPS_OPERATOR_CLASSID, DPS_SCORE_CLASSID, DPS_SAMPLER_CLASSID;
PetscLogEvent DPS_EVENT_SCORE_EPS, DPS_EVENT_SCORE_JVP, DPS_EVENT_SCORE_VJP;
PetscLogEvent DPS_EVENT_SAMPLER_STEP, DPS_EVENT_IO_READ, DPS_EVENT_IO_WRITE, DPS_EVENT_EVAL;

static PetscBool DpsPackageInitialized = PETSC_FALSE;

PetscErrorCode DpsInitializePackage(void)
{
  PetscFunctionBegin;
  if (DpsPackageInitialized) PetscFunctionReturn(0);
  DpsPackageInitialized = PETSC_TRUE;
  PetscCall(PetscClassIdRegister("DpsSchedule", &DPS_SCHEDULE_CLASSID));
  PetscCall(PetscClassIdRegister("DpsOperator", &DPS_OPERATOR_CLASSID));
  PetscCall(PetscClassIdRegister("DpsScore", &DPS_SCORE_CLASSID));
  PetscCall(PetscClassIdRegister("DpsSampler", &DPS_SAMPLER_CLASSID));
  PetscCall(PetscLogEventRegister("DpsScoreEps", DPS_SCORE_CLASSID, &DPS_EVENT_SCORE_EPS));
  PetscCall(PetscLogEventRegister("DpsScoreJVP", DPS_SCORE_CLASSID, &DPS_EVENT_SCORE_JVP));
  PetscCall(PetscLogEventRegister("DpsScoreVJP", DPS_SCORE_CLASSID, &DPS_EVENT_SCORE_VJP));
  PetscCall(PetscLogEventRegister("DpsSamplerStep", DPS_SAMPLER_CLASSID, &DPS_EVENT_SAMPLER_STEP));
  PetscCall(PetscLogEventRegister("DpsIORead", DPS_SAMPLER_CLASSID, &DPS_EVENT_IO_READ));
  PetscCall(PetscLogEventRegister("DpsIOWrite", DPS_SAMPLER_CLASSID, &DPS_EVENT_IO_WRITE));
  PetscCall(PetscLogEventRegister("DpsEval", DPS_SAMPLER_CLASSID, &DPS_EVENT_EVAL));
  PetscCall(DpsScheduleRegisterAll());
  PetscCall(DpsOperatorRegisterAll());
  PetscCall(DpsScoreRegisterAll());
  PetscCall(DpsSamplerRegisterAll());
  PetscFunctionReturn(0);
}
