/* The sampler a sampler test needs, built the way a run builds it: options from a string (the database is cleared
   before and after, so that one test's options never leak into the next), a linear schedule of `steps`, S draws,
   the test's seed and sigma_y, and, where given, a declared data range [lo, hi]; set up. On an error the
   schedule is released and the half-made sampler is returned for the caller to destroy. */
#ifndef DPS_SAMPLERTEST_H
#define DPS_SAMPLERTEST_H
#include <dpsolve/dpsolve.h>

static inline PetscErrorCode DpsTestMakeSampler(DpsScore prior, DpsOperator op, PetscReal sigma_y, PetscInt steps, PetscInt S, PetscInt64 seed, const PetscReal range[], const char options[], DpsSampler *s)
{
  DpsSchedule    sch;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(PetscOptionsInsertString(NULL, options));
  PetscCall(DpsScheduleCreate(PETSC_COMM_SELF, &sch));
  PetscCall(DpsScheduleSetNumSteps(sch, steps));
  PetscCall(DpsSamplerCreate(PETSC_COMM_SELF, s));
  PetscCall(DpsSamplerSetSchedule(*s, sch));
  PetscCall(DpsSamplerSetScore(*s, prior));
  PetscCall(DpsSamplerSetOperator(*s, op, sigma_y));
  PetscCall(DpsSamplerSetSeed(*s, seed));
  PetscCall(DpsSamplerSetNumDraws(*s, S));
  if (range) PetscCall(DpsSamplerSetDataRange(*s, range[0], range[1]));
  /* a refused setting (tests that expect the refusal go on) must not leave the schedule behind */
  ierr = DpsSamplerSetFromOptions(*s);
  if (!ierr) ierr = DpsSamplerSetUp(*s);
  PetscCall(DpsScheduleDestroy(&sch));
  PetscCall(PetscOptionsClear(NULL));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
#endif
