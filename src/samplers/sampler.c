#include <dpsolve/dpsolve.h>
#include "core/classes.h"
#include "samplers/samplerimpl.h"
#include "core/typelist.h"
#include <stdlib.h> /* getenv, for the test aid DPSOLVE_NAN_AT */

PetscFunctionList DpsSamplerList = NULL;

PETSC_EXTERN PetscErrorCode DpsSamplerCreate_DDPM(DpsSampler);
PETSC_EXTERN PetscErrorCode DpsSamplerCreate_CDPS(DpsSampler);
PETSC_EXTERN PetscErrorCode DpsSamplerCreate_DPS(DpsSampler);
PETSC_EXTERN PetscErrorCode DpsSamplerCreate_PiGDM(DpsSampler);
PETSC_EXTERN PetscErrorCode DpsSamplerCreate_DDRM(DpsSampler);
PETSC_EXTERN PetscErrorCode DpsSamplerCreate_CADPS(DpsSampler);

PetscErrorCode DpsSamplerRegister(const char name[], PetscErrorCode (*create)(DpsSampler))
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListAdd(&DpsSamplerList, name, create));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerRegisterAll(void)
{
  PetscFunctionBegin;
  PetscCall(DpsSamplerRegister(DPSSAMPLERDDPM, DpsSamplerCreate_DDPM));
  PetscCall(DpsSamplerRegister(DPSSAMPLERCDPS, DpsSamplerCreate_CDPS));
  PetscCall(DpsSamplerRegister(DPSSAMPLERCADPS, DpsSamplerCreate_CADPS));
  PetscCall(DpsSamplerRegister(DPSSAMPLERDPS, DpsSamplerCreate_DPS));
  PetscCall(DpsSamplerRegister(DPSSAMPLERPIGDM, DpsSamplerCreate_PiGDM));
  PetscCall(DpsSamplerRegister(DPSSAMPLERDDRM, DpsSamplerCreate_DDRM));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerCreate(MPI_Comm comm, DpsSampler *sampler)
{
  DpsSampler s;

  PetscFunctionBegin;
  PetscCall(DpsInitializePackage());
  PetscCall(PetscHeaderCreate(s, DPS_SAMPLER_CLASSID, "DpsSampler", "Diffusion posterior sampler", "Dps", comm, DpsSamplerDestroy, DpsSamplerView));
  s->S    = 1;
  s->clip = PETSC_TRUE;
  *sampler = s;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetType(DpsSampler s, DpsSamplerType type)
{
  PetscErrorCode (*create)(DpsSampler);
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)s, type, &same));
  if (same) PetscFunctionReturn(0);
  PetscCall(PetscFunctionListFind(DpsSamplerList, type, &create));
  if (!create) {
    char known[256];
    PetscCall(DpsTypeListString(DpsSamplerList, known, sizeof(known)));
    SETERRQ(PetscObjectComm((PetscObject)s), PETSC_ERR_ARG_UNKNOWN_TYPE, "unknown -sampler_type %s (known: %s)", type, known);
  }
  if (s->ops->destroy) PetscCall((*s->ops->destroy)(s));
  PetscCall(PetscMemzero(s->ops, sizeof(struct _DpsSamplerOps)));
  s->setupcalled = PETSC_FALSE;
  PetscCall((*create)(s));
  PetscCall(PetscObjectChangeTypeName((PetscObject)s, type));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetFromOptions(DpsSampler s)
{
  char      type[256] = DPSSAMPLERCDPS;
  PetscBool set;

  PetscFunctionBegin;
  if (((PetscObject)s)->type_name) PetscCall(PetscStrncpy(type, ((PetscObject)s)->type_name, sizeof(type)));
  PetscObjectOptionsBegin((PetscObject)s);
  PetscCall(PetscOptionsFList("-sampler_type", "Posterior sampler", "DpsSamplerSetType", DpsSamplerList, type, type, sizeof(type), &set));
  PetscCall(DpsSamplerSetType(s, type));
  PetscCall(PetscOptionsBool("-clip_x0hat", "Clip x0hat to the data range the input declares (attribute data_range; no effect without one)", "DpsSamplerSetDataRange", s->clip, &s->clip, NULL));
  if (s->ops->setfromoptions) PetscCall((*s->ops->setfromoptions)(s, PetscOptionsObject));
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

#define DPS_SAMPLER_SET(field, obj, Type) \
  do { \
    if (obj) PetscCall(PetscObjectReference((PetscObject)(obj))); \
    PetscCall(Type##Destroy(&s->field)); \
    s->field       = obj; \
    s->setupcalled = PETSC_FALSE; \
  } while (0)

PetscErrorCode DpsSamplerSetSchedule(DpsSampler s, DpsSchedule sch)
{
  PetscFunctionBegin;
  DPS_SAMPLER_SET(schedule, sch, DpsSchedule);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetScore(DpsSampler s, DpsScore score)
{
  PetscFunctionBegin;
  DPS_SAMPLER_SET(score, score, DpsScore);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetOperator(DpsSampler s, DpsOperator op, PetscReal sigma_y)
{
  PetscFunctionBegin;
  PetscCheck(sigma_y >= 0 && !PetscIsInfOrNanReal(sigma_y), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "sigma_y = %g must be finite and non-negative", (double)sigma_y);
  DPS_SAMPLER_SET(op, op, DpsOperator);
  s->sigma_y = sigma_y;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetSeed(DpsSampler s, PetscInt64 seed)
{
  PetscFunctionBegin;
  s->seed = seed;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetNumDraws(DpsSampler s, PetscInt S)
{
  PetscFunctionBegin;
  PetscCheck(S >= 1 && S < (1 << 24), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-samples %" PetscInt_FMT " must lie in [1, 2^24)", S);
  s->S           = S;
  s->setupcalled = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetDataRange(DpsSampler s, PetscReal lo, PetscReal hi)
{
  PetscFunctionBegin;
  PetscCheck(!PetscIsInfOrNanReal(lo) && !PetscIsInfOrNanReal(hi) && lo < hi, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "data range [%g, %g] must be finite with lo < hi", (double)lo, (double)hi);
  s->hasrange = PETSC_TRUE;
  s->range[0] = lo;
  s->range[1] = hi;
  PetscFunctionReturn(0);
}

const PetscReal *DpsSamplerClipRange(DpsSampler s)
{
  return s->hasrange && s->clip ? s->range : NULL;
}

PetscErrorCode DpsSamplerGetStats(DpsSampler s, DpsSamplerStats *stats)
{
  PetscFunctionBegin;
  *stats = s->stats;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetUp(DpsSampler s)
{
  PetscInt dscore;

  PetscFunctionBegin;
  if (s->setupcalled) PetscFunctionReturn(0);
  if (!((PetscObject)s)->type_name) PetscCall(DpsSamplerSetType(s, DPSSAMPLERCDPS));
  PetscCheck(s->schedule && s->score && s->op, PetscObjectComm((PetscObject)s), PETSC_ERR_ORDER, "the sampler needs a schedule, a score model and an operator before DpsSamplerSetUp()");
  PetscCall(DpsScheduleSetUp(s->schedule));
  PetscCall(DpsOperatorSetUp(s->op));
  PetscCall(DpsOperatorGetSizes(s->op, &s->m, &s->d));
  PetscCall(DpsScoreGetDimension(s->score, &dscore));
  PetscCheck(dscore == s->d, PetscObjectComm((PetscObject)s), PETSC_ERR_ARG_SIZ, "the score model works in dimension %" PetscInt_FMT " but the operator acts on %" PetscInt_FMT, dscore, s->d);
  /* an input's S draws form one group of the score model: its results never depend on the batch */
  PetscCall(DpsScoreSetGroupSize(s->score, s->S));
  PetscCall(DpsScoreSetUp(s->score));
  {
    /* a model with learned-variance channels samples with them unless -schedule_variance says otherwise */
    DpsScheduleVariance var;
    PetscBool           learned;
    PetscCall(DpsScoreHasLearnedVariance(s->score, &learned));
    PetscCall(DpsScheduleSetDefaultVariance(s->schedule, learned ? DPS_VARIANCE_LEARNED : DPS_VARIANCE_SMALL));
    PetscCall(DpsScheduleGetVariance(s->schedule, &var, NULL));
    PetscCheck(var != DPS_VARIANCE_LEARNED || learned, PetscObjectComm((PetscObject)s), PETSC_ERR_ARG_INCOMP, "-schedule_variance learned needs a model with learned-variance channels (a unet with 2 C output channels); the %s score has none", ((PetscObject)s->score)->type_name);
  }
  PetscCall(PetscFree(s->z));
  PetscCall(PetscMalloc1(s->d, &s->z));
  if (s->ops->setup) PetscCall((*s->ops->setup)(s));
  s->setupcalled = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerEnsureCapacity(DpsSampler s, PetscInt rows)
{
  PetscFunctionBegin;
  if (rows <= s->capacity) PetscFunctionReturn(0);
  PetscCall(PetscFree(s->eps));
  PetscCall(PetscFree3(s->x0hat, s->v, s->g));
  PetscCall(PetscMalloc1(rows * s->d, &s->eps));
  PetscCall(PetscMalloc3(rows * s->d, &s->x0hat, rows * s->d, &s->v, rows * s->d, &s->g));
  s->capacity = rows;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerNormals(DpsSampler s, PetscInt input, PetscInt draw, PetscInt step, DpsStream stream, PetscInt n, PetscReal out[])
{
  DpsRandomAddress a = {s->seed, input, draw, step, stream};

  PetscFunctionBegin;
  PetscCall(DpsRandomNormals(a, n, out));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerLearnedVariance(DpsSampler s, const DpsStep *st, PetscInt rows)
{
  PetscFunctionBegin;
  if (!st->learned) PetscFunctionReturn(0);
  if (rows > s->lvarcap) {
    PetscCall(PetscFree(s->lvar));
    PetscCall(PetscMalloc1(rows * s->d, &s->lvar));
    s->lvarcap = rows;
  }
  PetscCall(DpsScoreGetLearnedVariance(s->score, rows, st->t, s->lvar));
  /* guided-diffusion's LEARNED_RANGE; v is not clamped to [-1, 1] there either */
  for (PetscInt e = 0; e < rows * s->d; e++) {
    const PetscReal f = 0.5 * (s->lvar[e] + 1.0);
    s->lvar[e]        = PetscExpReal(f * st->logvar_max + (1.0 - f) * st->logvar_min);
  }
  s->lvarstep = st->i;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerAncestral(DpsSampler s, const DpsStep *st, PetscInt input, PetscInt draw, const PetscReal x0hat[], PetscReal x[])
{
  PetscFunctionBegin;
  DpsStepReverseMean(st, s->d, x, x0hat, x);
  if (st->i == 1) PetscFunctionReturn(0);
  PetscCall(DpsSamplerNormals(s, input, draw, st->i, DPS_STREAM_PRIOR_NOISE, s->d, s->z));
  if (st->learned) {
    PetscInt j = 0;
    PetscCheck(s->lvarstep == st->i && s->index, PETSC_COMM_SELF, PETSC_ERR_PLIB, "sampler %s: step %" PetscInt_FMT " has no learned variance (DpsSamplerLearnedVariance was not called after the model)", ((PetscObject)s)->type_name, st->i);
    while (j < s->nin && s->index[j] != input) j++; /* the row (j, draw) of the batch in flight */
    PetscCheck(j < s->nin, PETSC_COMM_SELF, PETSC_ERR_PLIB, "input %" PetscInt_FMT " is not in the batch in flight", input);
    for (PetscInt e = 0; e < s->d; e++) x[e] += PetscSqrtReal(s->lvar[(j * s->S + draw) * s->d + e]) * s->z[e];
  } else {
    for (PetscInt e = 0; e < s->d; e++) x[e] += PetscSqrtReal(st->var) * s->z[e];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerTweedieVJP(DpsSampler s, const DpsStep *st, PetscInt rows, const PetscReal x[], const PetscReal v[], PetscReal out[])
{
  const PetscReal se = PetscSqrtReal(1.0 - st->abar), sa = PetscSqrtReal(st->abar);

  const PetscReal *range = DpsSamplerClipRange(s);
  PetscReal       *vm    = NULL;

  PetscFunctionBegin;
  if (range) {
    /* d clip(x0hat) / d x_t = diag(1[lo <= x0hat <= hi]) J: J^T applied to v with the clipped entries zeroed */
    PetscCall(PetscMalloc1(rows * s->d, &vm));
    for (PetscInt e = 0; e < rows * s->d; e++) {
      const PetscReal raw = (x[e] - se * s->eps[e]) / sa; /* DpsStepTweedie's expression */
      vm[e]               = raw < range[0] || raw > range[1] ? 0.0 : v[e];
    }
    v = vm;
  }
  PetscCall(DpsScoreVJP(s->score, rows, st->t, st->abar, x, v, out));
  for (PetscInt e = 0; e < rows * s->d; e++) out[e] = (v[e] - se * out[e]) / sa;
  PetscCall(PetscFree(vm));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerBegin(DpsSampler s, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  PetscInt N;

  PetscFunctionBegin;
  PetscCall(DpsSamplerSetUp(s));
  PetscCall(DpsSamplerEnsureCapacity(s, nin * s->S));
  PetscCall(DpsScheduleGetNumSteps(s->schedule, &N));
  /* x_N ~ N(0, I), addressed by step N + 1 so no reverse step ever shares its counter */
  for (PetscInt j = 0; j < nin; j++)
    for (PetscInt k = 0; k < s->S; k++) PetscCall(DpsSamplerNormals(s, index[j], k, N + 1, DPS_STREAM_INIT, s->d, x + (j * s->S + k) * s->d));
  if (s->ops->begin) PetscCall((*s->ops->begin)(s, nin, index, y, x));
  PetscFunctionReturn(0);
}

/* Test aid: DPSOLVE_NAN_AT=input:draw:step writes a NaN into that draw of that input after reverse step `step`,
   as a diverging sampler would (tests/cli/sampler_diverges.sh) */
static void DpsSamplerInjectNaN(const DpsStep *st, PetscInt nin, PetscInt S, PetscInt d, const PetscInt index[], PetscReal x[])
{
  static int  parsed = 0;
  static long at[3]  = {-1, -1, -1};

  if (!parsed) {
    const char *env = getenv("DPSOLVE_NAN_AT");
    parsed          = 1;
    if (env && sscanf(env, "%ld:%ld:%ld", &at[0], &at[1], &at[2]) != 3) at[0] = -1;
  }
  if (at[0] < 0 || st->i != at[2] || at[1] >= S) return;
  for (PetscInt j = 0; j < nin; j++)
    if (index[j] == at[0]) x[(j * S + at[1]) * d] = (PetscReal)NAN;
}

/* After a step: every value finite (else an error naming sampler, input, draw, step); after the last step, the
   draws that ended more than 100 range widths outside the declared data range are counted, with one warning per
   input (docs/samplers.md) */
static PetscErrorCode DpsSamplerCheckDraws(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal x[])
{
  const PetscInt d = s->d;
  const char    *type;

  PetscFunctionBegin;
  PetscCall(PetscObjectGetType((PetscObject)s, &type));
  for (PetscInt j = 0; j < nin; j++) {
    PetscInt  out = 0;
    PetscReal worst = 0.0;
    for (PetscInt k = 0; k < s->S; k++) {
      const PetscReal *xr = x + (j * s->S + k) * d;
      PetscBool        far = PETSC_FALSE;
      for (PetscInt e = 0; e < d; e++) {
        PetscCheck(!PetscIsInfOrNanReal(xr[e]), PETSC_COMM_SELF, PETSC_ERR_FP, "sampler %s: input %" PetscInt_FMT ", draw %" PetscInt_FMT ", step %" PetscInt_FMT " (t = %" PetscInt_FMT "): the draw holds a non-finite value (entry %" PetscInt_FMT " = %g): the sampler diverged; nothing of this input is written", type, index[j], k, st->i, st->t, e, (double)xr[e]);
        if (st->i == 1 && s->hasrange) {
          const PetscReal margin = 100.0 * (s->range[1] - s->range[0]);
          if (xr[e] < s->range[0] - margin || xr[e] > s->range[1] + margin) {
            far = PETSC_TRUE;
            if (PetscAbsReal(xr[e]) > PetscAbsReal(worst)) worst = xr[e];
          }
        }
      }
      if (far) out++;
    }
    if (out) PetscCall(PetscPrintf(PETSC_COMM_SELF, "dpsolve warning: sampler %s, input %" PetscInt_FMT ": %" PetscInt_FMT " of %" PetscInt_FMT " draws end more than 100 range widths outside the data range [%g, %g] (a value %g); counted in the output attribute draws_out_of_range\n", type, index[j], out, s->S, (double)s->range[0], (double)s->range[1], (double)worst));
    s->stats.out_of_range += out;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerStep(DpsSampler s, PetscInt i, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  DpsStep st;

  PetscFunctionBegin;
  PetscCall(DpsSamplerSetUp(s));
  PetscCall(DpsSamplerEnsureCapacity(s, nin * s->S));
  PetscCall(DpsScheduleGetStep(s->schedule, i, &st));
  PetscCall(PetscLogEventBegin(DPS_EVENT_SAMPLER_STEP, 0, 0, 0, 0));
  s->index    = index;
  s->nin      = nin;
  s->lvarstep = 0; /* this step's learned variance is fetched after its own model evaluation */
  PetscCall((*s->ops->step)(s, &st, nin, index, y, x));
  s->index = NULL;
  DpsSamplerInjectNaN(&st, nin, s->S, s->d, index, x);
  PetscCall(DpsSamplerCheckDraws(s, &st, nin, index, x));
  PetscCall(PetscLogEventEnd(DPS_EVENT_SAMPLER_STEP, 0, 0, 0, 0));
  s->stats.steps += nin * s->S;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerProbes(DpsSampler s, PetscInt input, PetscInt draw, PetscInt step, PetscInt probe, PetscReal r[])
{
  DpsRandomAddress a = {s->seed, input, draw, step, DPS_STREAM_PROBES};

  PetscFunctionBegin;
  /* probe p is elements [p d, (p + 1) d) of the row's probe stream: the same whatever K */
  PetscCall(DpsRandomUniformsAt(a, (PetscInt64)probe * s->d, s->d, r));
  for (PetscInt e = 0; e < s->d; e++) r[e] = r[e] < 0.5 ? -1.0 : 1.0;
  PetscFunctionReturn(0);
}

/* d_t [rows x d] = (1/K) sum_p r_p * (eps(x + h_row r_p) - eps(x)) / h_row, the finite-difference estimate of
   diag(d eps / dx) of methods.md section 4 (shared by cadps and the C-DPS x0 form), with the relative step
   h_row = h max(1, rms(x_row)); s->eps must hold eps(x_t, t); xp, ep [rows x d] and r [d] are work arrays */
PetscErrorCode DpsSamplerJacobianDiagonalFD(DpsSampler s, const DpsStep *st, PetscInt nin, const PetscInt index[], const PetscReal x[], PetscInt K, PetscReal hrel, PetscReal xp[], PetscReal ep[], PetscReal r[], PetscReal dt[])
{
  const PetscInt d = s->d, rows = nin * s->S;
  PetscReal     *h;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(rows, &h));
  for (PetscInt e = 0; e < rows * d; e++) dt[e] = 0.0;
  for (PetscInt row = 0; row < rows; row++) {
    PetscReal ms = 0.0;
    for (PetscInt e = 0; e < d; e++) ms += x[row * d + e] * x[row * d + e] / d;
    h[row] = hrel * PetscMax(1.0, PetscSqrtReal(ms));
  }
  for (PetscInt p = 0; p < K; p++) {
    for (PetscInt j = 0; j < nin; j++)
      for (PetscInt k = 0; k < s->S; k++) {
        const PetscInt row = j * s->S + k;
        PetscCall(DpsSamplerProbes(s, index[j], k, st->i, p, r));
        for (PetscInt e = 0; e < d; e++) xp[row * d + e] = x[row * d + e] + h[row] * r[e];
      }
    PetscCall(DpsScoreEps(s->score, rows, st->t, st->abar, xp, ep));
    for (PetscInt j = 0; j < nin; j++)
      for (PetscInt k = 0; k < s->S; k++) {
        const PetscInt row = j * s->S + k;
        PetscCall(DpsSamplerProbes(s, index[j], k, st->i, p, r));
        for (PetscInt e = 0; e < d; e++) dt[row * d + e] += r[e] * (ep[row * d + e] - s->eps[row * d + e]) / (h[row] * K);
      }
  }
  PetscCall(PetscFree(h));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSample(DpsSampler s, PetscInt nin, const PetscInt index[], const PetscReal y[], PetscReal x[])
{
  PetscInt N;

  PetscFunctionBegin;
  PetscCall(DpsSamplerBegin(s, nin, index, y, x));
  PetscCall(DpsScheduleGetNumSteps(s->schedule, &N));
  for (PetscInt i = N; i >= 1; i--) PetscCall(DpsSamplerStep(s, i, nin, index, y, x));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerGetStateSize(DpsSampler s, PetscInt *size)
{
  PetscFunctionBegin;
  PetscCall(DpsSamplerSetUp(s));
  *size = 0;
  if (s->ops->statesize) PetscCall((*s->ops->statesize)(s, size));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerGetState(DpsSampler s, PetscInt nin, PetscReal state[])
{
  PetscFunctionBegin;
  if (s->ops->getstate) PetscCall((*s->ops->getstate)(s, nin, state));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerSetState(DpsSampler s, PetscInt nin, const PetscReal state[])
{
  PetscFunctionBegin;
  PetscCall(DpsSamplerSetUp(s));
  PetscCall(DpsSamplerEnsureCapacity(s, nin * s->S));
  if (s->ops->setstate) PetscCall((*s->ops->setstate)(s, nin, state));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerGetDiagnosticsInfo(DpsSampler s, PetscInt *n, const char **name)
{
  PetscFunctionBegin;
  PetscCall(DpsSamplerSetUp(s));
  *n    = 0;
  *name = NULL;
  if (s->ops->diagnosticsinfo) PetscCall((*s->ops->diagnosticsinfo)(s, n, name));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerGetDiagnostics(DpsSampler s, PetscInt nin, PetscReal out[])
{
  PetscFunctionBegin;
  if (s->ops->diagnostics && nin) PetscCall((*s->ops->diagnostics)(s, nin, out));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerView(DpsSampler s, PetscViewer viewer)
{
  PetscBool iascii;

  PetscFunctionBegin;
  if (!viewer) PetscCall(PetscViewerASCIIGetStdout(PetscObjectComm((PetscObject)s), &viewer));
  PetscCall(PetscObjectTypeCompare((PetscObject)viewer, PETSCVIEWERASCII, &iascii));
  if (!iascii) PetscFunctionReturn(0);
  PetscCall(PetscObjectPrintClassNamePrefixType((PetscObject)s, viewer));
  PetscCall(PetscViewerASCIIPushTab(viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "draws per input %" PetscInt_FMT ", sigma_y %g, seed %" PetscInt64_FMT "\n", s->S, (double)s->sigma_y, s->seed));
  if (s->hasrange) PetscCall(PetscViewerASCIIPrintf(viewer, "data range [%g, %g]: x0hat %s\n", (double)s->range[0], (double)s->range[1], s->clip ? "clipped to it" : "not clipped (-clip_x0hat false)"));
  if (s->ops->view) PetscCall((*s->ops->view)(s, viewer));
  if (s->schedule) PetscCall(DpsScheduleView(s->schedule, viewer));
  if (s->score) PetscCall(DpsScoreView(s->score, viewer));
  if (s->op) PetscCall(DpsOperatorView(s->op, viewer));
  PetscCall(PetscViewerASCIIPopTab(viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSamplerDestroy(DpsSampler *s)
{
  PetscFunctionBegin;
  if (!*s) PetscFunctionReturn(0);
  if (--((PetscObject)(*s))->refct > 0) {
    *s = NULL;
    PetscFunctionReturn(0);
  }
  if ((*s)->ops->destroy) PetscCall((*(*s)->ops->destroy)(*s));
  PetscCall(DpsScheduleDestroy(&(*s)->schedule));
  PetscCall(DpsScoreDestroy(&(*s)->score));
  PetscCall(DpsOperatorDestroy(&(*s)->op));
  PetscCall(PetscFree((*s)->eps));
  PetscCall(PetscFree3((*s)->x0hat, (*s)->v, (*s)->g));
  PetscCall(PetscFree((*s)->z));
  PetscCall(PetscFree((*s)->lvar));
  PetscCall(PetscHeaderDestroy(s));
  PetscFunctionReturn(0);
}
