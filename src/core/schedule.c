#include <dpsolve/dpsolve.h>
#include "core/classes.h"
#include "core/scheduleimpl.h"
#include "core/typelist.h"

PetscFunctionList  DpsScheduleList     = NULL;
const char *const  DpsScheduleVariances[] = {"small", "large", "learned", "DpsScheduleVariance", "DPS_VARIANCE_", NULL};

typedef struct {
  PetscReal beta_start, beta_end; /* for T = 1000; scaled by 1000/T otherwise (guided-diffusion) */
} Schedule_Linear;

static PetscErrorCode DpsScheduleBetas_Linear(DpsSchedule s, PetscReal beta[])
{
  Schedule_Linear *lin   = (Schedule_Linear *)s->data;
  PetscReal        scale = 1000.0 / (PetscReal)s->T;

  PetscFunctionBegin;
  for (PetscInt t = 1; t <= s->T; t++) {
    PetscReal f = s->T == 1 ? 0.0 : (PetscReal)(t - 1) / (PetscReal)(s->T - 1);
    beta[t]     = scale * (lin->beta_start + f * (lin->beta_end - lin->beta_start));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScheduleSetFromOptions_Linear(DpsSchedule s, PetscOptionItems *PetscOptionsObject)
{
  Schedule_Linear *lin = (Schedule_Linear *)s->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Linear schedule");
  PetscCall(PetscOptionsReal("-schedule_beta_start", "beta_1 for T = 1000", NULL, lin->beta_start, &lin->beta_start, NULL));
  PetscCall(PetscOptionsReal("-schedule_beta_end", "beta_T for T = 1000", NULL, lin->beta_end, &lin->beta_end, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(lin->beta_start > 0 && lin->beta_end < 1 && lin->beta_start <= lin->beta_end, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "-schedule_beta_start %g and -schedule_beta_end %g must satisfy 0 < start <= end < 1", (double)lin->beta_start, (double)lin->beta_end);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScheduleDestroy_Linear(DpsSchedule s)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScheduleCreate_Linear(DpsSchedule s)
{
  Schedule_Linear *lin;

  PetscFunctionBegin;
  PetscCall(PetscNew(&lin));
  lin->beta_start         = 1e-4;
  lin->beta_end           = 0.02;
  s->data                 = lin;
  s->ops->betas           = DpsScheduleBetas_Linear;
  s->ops->setfromoptions  = DpsScheduleSetFromOptions_Linear;
  s->ops->destroy         = DpsScheduleDestroy_Linear;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleRegister(const char name[], PetscErrorCode (*create)(DpsSchedule))
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListAdd(&DpsScheduleList, name, create));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleRegisterAll(void)
{
  PetscFunctionBegin;
  PetscCall(DpsScheduleRegister(DPSSCHEDULELINEAR, DpsScheduleCreate_Linear));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleCreate(MPI_Comm comm, DpsSchedule *s)
{
  DpsSchedule sch;

  PetscFunctionBegin;
  PetscCall(DpsInitializePackage());
  PetscCall(PetscHeaderCreate(sch, DPS_SCHEDULE_CLASSID, "DpsSchedule", "Diffusion noise schedule", "Dps", comm, DpsScheduleDestroy, DpsScheduleView));
  sch->T        = 1000;
  sch->N        = 1000;
  sch->variance = DPS_VARIANCE_SMALL;
  *s            = sch;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleSetType(DpsSchedule s, DpsScheduleType type)
{
  PetscErrorCode (*create)(DpsSchedule);
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)s, type, &same));
  if (same) PetscFunctionReturn(0);
  PetscCall(PetscFunctionListFind(DpsScheduleList, type, &create));
  if (!create) {
    char known[256];
    PetscCall(DpsTypeListString(DpsScheduleList, known, sizeof(known)));
    SETERRQ(PetscObjectComm((PetscObject)s), PETSC_ERR_ARG_UNKNOWN_TYPE, "unknown -schedule_type %s (known: %s)", type, known);
  }
  if (s->ops->destroy) PetscCall((*s->ops->destroy)(s));
  PetscCall(PetscMemzero(s->ops, sizeof(struct _DpsScheduleOps)));
  s->setupcalled = PETSC_FALSE;
  PetscCall((*create)(s));
  PetscCall(PetscObjectChangeTypeName((PetscObject)s, type));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleSetNumSteps(DpsSchedule s, PetscInt N)
{
  PetscFunctionBegin;
  s->N           = N;
  s->setupcalled = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleSetVariance(DpsSchedule s, DpsScheduleVariance v)
{
  PetscFunctionBegin;
  s->variance     = v;
  s->variance_set = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleSetDefaultVariance(DpsSchedule s, DpsScheduleVariance v)
{
  PetscFunctionBegin;
  if (!s->variance_set) s->variance = v;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleGetVariance(DpsSchedule s, DpsScheduleVariance *v, PetscBool *set)
{
  PetscFunctionBegin;
  if (v) *v = s->variance;
  if (set) *set = s->variance_set;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleSetFromOptions(DpsSchedule s)
{
  char      type[256] = DPSSCHEDULELINEAR;
  PetscBool set, vset;

  PetscFunctionBegin;
  if (((PetscObject)s)->type_name) PetscCall(PetscStrncpy(type, ((PetscObject)s)->type_name, sizeof(type)));
  PetscObjectOptionsBegin((PetscObject)s);
  PetscCall(PetscOptionsFList("-schedule_type", "Noise schedule", "DpsScheduleSetType", DpsScheduleList, type, type, sizeof(type), &set));
  PetscCall(DpsScheduleSetType(s, type));
  PetscCall(DpsOptionsInt("-schedule_train_steps", "T: steps of the training chain", NULL, s->T, &s->T, NULL));
  PetscCall(DpsOptionsInt("-steps", "N: respaced reverse steps (N <= T)", "DpsScheduleSetNumSteps", s->N, &s->N, NULL));
  PetscCall(PetscOptionsEnum("-schedule_variance", "Reverse-kernel variance (default: learned for a model with learned-variance channels, else small)", "DpsScheduleSetVariance", DpsScheduleVariances, (PetscEnum)s->variance, (PetscEnum *)&s->variance, &vset));
  if (vset) s->variance_set = PETSC_TRUE;
  if (s->ops->setfromoptions) PetscCall((*s->ops->setfromoptions)(s, PetscOptionsObject));
  PetscOptionsEnd();
  s->setupcalled = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleSetUp(DpsSchedule s)
{
  PetscReal *beta;

  PetscFunctionBegin;
  if (s->setupcalled) PetscFunctionReturn(0);
  if (!((PetscObject)s)->type_name) PetscCall(DpsScheduleSetType(s, DPSSCHEDULELINEAR));
  PetscCheck(s->T >= 2, PetscObjectComm((PetscObject)s), PETSC_ERR_ARG_OUTOFRANGE, "-schedule_train_steps %" PetscInt_FMT " must be at least 2", s->T);
  PetscCheck(s->N >= 2 && s->N <= s->T, PetscObjectComm((PetscObject)s), PETSC_ERR_ARG_OUTOFRANGE, "-steps %" PetscInt_FMT " must lie in [2, %" PetscInt_FMT "] (the training steps)", s->N, s->T);
  PetscCall(PetscFree3(s->abar_train, s->tau, s->abar));
  PetscCall(PetscMalloc3(s->T + 1, &s->abar_train, s->N + 1, &s->tau, s->N + 1, &s->abar));
  PetscCall(PetscMalloc1(s->T + 1, &beta));
  PetscCall((*s->ops->betas)(s, beta));
  s->abar_train[0] = 1.0;
  for (PetscInt t = 1; t <= s->T; t++) s->abar_train[t] = s->abar_train[t - 1] * (1.0 - beta[t]);
  PetscCall(PetscFree(beta));
  /* tau_i evenly over [1, T], rounded, tau_N = T; spacing >= 1 keeps them strictly increasing */
  s->tau[0]  = 0;
  s->abar[0] = 1.0;
  for (PetscInt i = 1; i <= s->N; i++) {
    s->tau[i]  = 1 + (2 * (i - 1) * (s->T - 1) + (s->N - 1)) / (2 * (s->N - 1));
    s->abar[i] = s->abar_train[s->tau[i]];
  }
  s->setupcalled = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleGetNumSteps(DpsSchedule s, PetscInt *N)
{
  PetscFunctionBegin;
  *N = s->N;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleGetNumTrainSteps(DpsSchedule s, PetscInt *T)
{
  PetscFunctionBegin;
  *T = s->T;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleGetTrainAlphaBar(DpsSchedule s, PetscInt t, PetscReal *abar)
{
  PetscFunctionBegin;
  PetscCheck(s->setupcalled, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call DpsScheduleSetUp() first");
  PetscCheck(t >= 0 && t <= s->T, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "time %" PetscInt_FMT " outside [0, %" PetscInt_FMT "]", t, s->T);
  *abar = s->abar_train[t];
  PetscFunctionReturn(0);
}

/* betatilde_i of the respaced chain, for i in 1..N */
static PetscReal DpsScheduleBetaTilde(DpsSchedule s, PetscInt i)
{
  PetscReal beta = 1.0 - s->abar[i] / s->abar[i - 1];
  return beta * (1.0 - s->abar[i - 1]) / (1.0 - s->abar[i]);
}

PetscErrorCode DpsScheduleGetStep(DpsSchedule s, PetscInt i, DpsStep *st)
{
  PetscFunctionBegin;
  PetscCheck(s->setupcalled, PETSC_COMM_SELF, PETSC_ERR_ORDER, "call DpsScheduleSetUp() first");
  PetscCheck(i >= 1 && i <= s->N, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "step %" PetscInt_FMT " outside [1, %" PetscInt_FMT "]", i, s->N);
  st->i           = i;
  st->t           = s->tau[i];
  st->abar        = s->abar[i];
  st->abar_prev   = s->abar[i - 1];
  st->beta        = 1.0 - st->abar / st->abar_prev;
  st->alpha       = 1.0 - st->beta;
  st->betatilde   = DpsScheduleBetaTilde(s, i);
  st->c1          = st->beta * PetscSqrtReal(st->abar_prev) / (1.0 - st->abar);
  st->c2          = PetscSqrtReal(st->alpha) * (1.0 - st->abar_prev) / (1.0 - st->abar);
  /* guided-diffusion: the first variance is clipped to betatilde_2, both for "large" and inside logs
     (posterior_log_variance_clipped); on a respaced chain these are the respaced beta' and betatilde' (its
     SpacedDiffusion rebuilds the betas from the kept abar) */
  st->learned    = (PetscBool)(s->variance == DPS_VARIANCE_LEARNED);
  st->logvar_min = PetscLogReal(i == 1 ? DpsScheduleBetaTilde(s, 2) : st->betatilde);
  st->logvar_max = PetscLogReal(st->beta);
  if (s->variance == DPS_VARIANCE_SMALL) {
    st->var         = st->betatilde;
    st->var_clipped = i == 1 ? DpsScheduleBetaTilde(s, 2) : st->betatilde;
  } else if (s->variance == DPS_VARIANCE_LARGE) {
    st->var         = i == 1 ? DpsScheduleBetaTilde(s, 2) : st->beta;
    st->var_clipped = st->var;
  } else {
    /* per entry from the model (DpsSamplerLearnedVariance): a sampler that used a scalar here would diverge loudly */
    st->var         = (PetscReal)NAN;
    st->var_clipped = (PetscReal)NAN;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleView(DpsSchedule s, PetscViewer viewer)
{
  PetscBool iascii;

  PetscFunctionBegin;
  if (!viewer) PetscCall(PetscViewerASCIIGetStdout(PetscObjectComm((PetscObject)s), &viewer));
  PetscCall(PetscObjectTypeCompare((PetscObject)viewer, PETSCVIEWERASCII, &iascii));
  if (!iascii) PetscFunctionReturn(0);
  PetscCall(PetscObjectPrintClassNamePrefixType((PetscObject)s, viewer));
  PetscCall(PetscViewerASCIIPushTab(viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "training steps T = %" PetscInt_FMT ", respaced to N = %" PetscInt_FMT ", variance %s\n", s->T, s->N, DpsScheduleVariances[s->variance]));
  if (s->setupcalled) PetscCall(PetscViewerASCIIPrintf(viewer, "abar_T = %g, model times %" PetscInt_FMT " .. %" PetscInt_FMT "\n", (double)s->abar[s->N], s->tau[1], s->tau[s->N]));
  PetscCall(PetscViewerASCIIPopTab(viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScheduleDestroy(DpsSchedule *s)
{
  PetscFunctionBegin;
  if (!*s) PetscFunctionReturn(0);
  if (--((PetscObject)(*s))->refct > 0) {
    *s = NULL;
    PetscFunctionReturn(0);
  }
  if ((*s)->ops->destroy) PetscCall((*(*s)->ops->destroy)(*s));
  PetscCall(PetscFree3((*s)->abar_train, (*s)->tau, (*s)->abar));
  PetscCall(PetscHeaderDestroy(s));
  PetscFunctionReturn(0);
}
