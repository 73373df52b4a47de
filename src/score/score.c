#include <dpsolve/dpsolve.h>
#include "core/classes.h"
#include "score/scoreimpl.h"
#include "io/h5.h"
#include "core/typelist.h"

PetscFunctionList DpsScoreList       = NULL;
const char *const DpsScoreBackends[] = {"auto", "cpu", "cuda", "DpsScoreBackend", "DPS_BACKEND_", NULL};

PETSC_EXTERN PetscErrorCode DpsScoreCreate_GMM(DpsScore);
PETSC_EXTERN PetscErrorCode DpsScoreCreate_UNet(DpsScore);

PetscErrorCode DpsScoreRegister(const char name[], PetscErrorCode (*create)(DpsScore))
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListAdd(&DpsScoreList, name, create));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreRegisterAll(void)
{
  PetscFunctionBegin;
  PetscCall(DpsScoreRegister(DPSSCOREGMM, DpsScoreCreate_GMM));
  PetscCall(DpsScoreRegister(DPSSCOREUNET, DpsScoreCreate_UNet));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreCreate(MPI_Comm comm, DpsScore *score)
{
  DpsScore s;

  PetscFunctionBegin;
  PetscCall(DpsInitializePackage());
  PetscCall(PetscHeaderCreate(s, DPS_SCORE_CLASSID, "DpsScore", "Noise-prediction score model", "Dps", comm, DpsScoreDestroy, DpsScoreView));
  s->group     = 1;
  s->requested = DPS_BACKEND_AUTO;
  s->backend   = DPS_BACKEND_CPU;
  s->last_n    = -1;
  s->last_t    = -1;
  *score       = s;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreSetType(DpsScore s, DpsScoreType type)
{
  PetscErrorCode (*create)(DpsScore);
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)s, type, &same));
  if (same) PetscFunctionReturn(0);
  PetscCall(PetscFunctionListFind(DpsScoreList, type, &create));
  if (!create) {
    char known[256];
    PetscCall(DpsTypeListString(DpsScoreList, known, sizeof(known)));
    SETERRQ(PetscObjectComm((PetscObject)s), PETSC_ERR_ARG_UNKNOWN_TYPE, "unknown -score_type %s (known: %s)", type, known);
  }
  if (s->ops->destroy) PetscCall((*s->ops->destroy)(s));
  PetscCall(PetscMemzero(s->ops, sizeof(struct _DpsScoreOps)));
  s->setupcalled = PETSC_FALSE;
  PetscCall((*create)(s));
  PetscCall(PetscObjectChangeTypeName((PetscObject)s, type));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreSetFromOptions(DpsScore s)
{
  char      type[256] = DPSSCOREGMM;
  PetscBool set;

  PetscFunctionBegin;
  if (((PetscObject)s)->type_name) PetscCall(PetscStrncpy(type, ((PetscObject)s)->type_name, sizeof(type)));
  PetscObjectOptionsBegin((PetscObject)s);
  PetscCall(PetscOptionsFList("-score_type", "Score model", "DpsScoreSetType", DpsScoreList, type, type, sizeof(type), &set));
  PetscCall(DpsScoreSetType(s, type));
  PetscCall(PetscOptionsEnum("-score_backend", "Where the model runs: auto (CUDA when a GPU is present), cpu or cuda", "DpsScoreSetBackend", DpsScoreBackends, (PetscEnum)s->requested, (PetscEnum *)&s->requested, NULL));
  if (s->ops->setfromoptions) PetscCall((*s->ops->setfromoptions)(s, PetscOptionsObject));
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreSetBackend(DpsScore s, DpsScoreBackend b)
{
  PetscFunctionBegin;
  s->requested   = b;
  s->setupcalled = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreGetBackend(DpsScore s, DpsScoreBackend *b)
{
  PetscFunctionBegin;
  *b = s->backend;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreSetGroupSize(DpsScore s, PetscInt group)
{
  PetscFunctionBegin;
  PetscCheck(group >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "group size %" PetscInt_FMT " must be positive", group);
  s->group       = group;
  s->setupcalled = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreGetDimension(DpsScore s, PetscInt *d)
{
  PetscFunctionBegin;
  *d = s->dim;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreSetUp(DpsScore s)
{
  PetscFunctionBegin;
  if (s->setupcalled) PetscFunctionReturn(0);
  PetscCheck(((PetscObject)s)->type_name, PetscObjectComm((PetscObject)s), PETSC_ERR_ORDER, "score has no type");
  PetscCheck(s->dim > 0, PetscObjectComm((PetscObject)s), PETSC_ERR_ORDER, "score model '%s' has no parameters: load it first", ((PetscObject)s)->type_name);
  if (s->ops->setup) PetscCall((*s->ops->setup)(s));
  s->setupcalled = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreLoad(DpsScore s, hid_t file, const char fname[])
{
  PetscFunctionBegin;
  if (!((PetscObject)s)->type_name) {
    /* the driver loads before it sets the options: -score_type, else the type attribute of the file's /prior */
    char      type[256] = DPSSCOREGMM;
    PetscBool set, exists;
    PetscCall(PetscOptionsGetString(((PetscObject)s)->options, ((PetscObject)s)->prefix, "-score_type", type, sizeof(type), &set));
    if (!set) {
      PetscCall(DpsH5Exists(file, "/prior", &exists));
      if (exists && H5Aexists_by_name(file, "/prior", "type", H5P_DEFAULT) > 0) {
        PetscErrorCode (*create)(DpsScore);
        PetscCall(DpsH5ReadStringAttribute(file, fname, "/prior", "type", type, sizeof(type)));
        /* the file's value, not an option, is what is wrong: say so (DpsScoreSetType would blame -score_type) */
        PetscCall(PetscFunctionListFind(DpsScoreList, type, &create));
        if (!create) {
          char known[256];
          PetscCall(DpsTypeListString(DpsScoreList, known, sizeof(known)));
          SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute type of /prior is '%s', not a score type (known: %s)", fname, type, known);
        }
      }
    }
    PetscCall(DpsScoreSetType(s, type));
  }
  PetscCheck(s->ops->load, PETSC_COMM_SELF, PETSC_ERR_SUP, "score type %s cannot be loaded", ((PetscObject)s)->type_name);
  PetscCall((*s->ops->load)(s, file, fname));
  s->setupcalled = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreSave(DpsScore s, hid_t file)
{
  PetscFunctionBegin;
  PetscCheck(s->ops->save, PETSC_COMM_SELF, PETSC_ERR_SUP, "score type %s cannot be saved", ((PetscObject)s)->type_name);
  PetscCall((*s->ops->save)(s, file));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreEps(DpsScore s, PetscInt n, PetscInt t, PetscReal abar, const PetscReal x[], PetscReal eps[])
{
  PetscFunctionBegin;
  PetscCall(DpsScoreSetUp(s));
  PetscCall(PetscLogEventBegin(DPS_EVENT_SCORE_EPS, 0, 0, 0, 0));
  s->last_n = s->last_t = -1; /* a failed evaluation leaves no v to read */
  PetscCall((*s->ops->eps)(s, n, t, abar, x, eps));
  PetscCall(PetscLogEventEnd(DPS_EVENT_SCORE_EPS, 0, 0, 0, 0));
  s->neps += n;
  s->last_n = n;
  s->last_t = t;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreHasLearnedVariance(DpsScore s, PetscBool *has)
{
  PetscFunctionBegin;
  *has = PETSC_FALSE;
  if (s->ops->haslearnedvariance) PetscCall((*s->ops->haslearnedvariance)(s, has));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreGetLearnedVariance(DpsScore s, PetscInt n, PetscInt t, PetscReal v[])
{
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(DpsScoreHasLearnedVariance(s, &has));
  PetscCheck(has && s->ops->learnedvariance, PETSC_COMM_SELF, PETSC_ERR_SUP, "score model %s has no learned-variance output (-schedule_variance learned needs a unet with 2 C output channels)", ((PetscObject)s)->type_name);
  PetscCheck(s->last_n == n && s->last_t == t, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the learned variance of %" PetscInt_FMT " rows at time %" PetscInt_FMT " was asked for, but the last evaluation was %" PetscInt_FMT " rows at time %" PetscInt_FMT, n, t, s->last_n, s->last_t);
  PetscCall((*s->ops->learnedvariance)(s, n, v));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreGetDataVariance(DpsScore s, PetscReal *s2, PetscBool *known)
{
  PetscFunctionBegin;
  *s2    = 0.0;
  *known = s->ops->datavariance ? PETSC_TRUE : PETSC_FALSE;
  if (*known) PetscCall((*s->ops->datavariance)(s, s2));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreJVP(DpsScore s, PetscInt n, PetscInt t, PetscReal abar, const PetscReal x[], const PetscReal v[], PetscReal out[])
{
  PetscFunctionBegin;
  PetscCall(DpsScoreSetUp(s));
  PetscCheck(s->ops->jvp, PETSC_COMM_SELF, PETSC_ERR_SUP, "score type %s has no JVP", ((PetscObject)s)->type_name);
  PetscCall(PetscLogEventBegin(DPS_EVENT_SCORE_JVP, 0, 0, 0, 0));
  PetscCall((*s->ops->jvp)(s, n, t, abar, x, v, out));
  PetscCall(PetscLogEventEnd(DPS_EVENT_SCORE_JVP, 0, 0, 0, 0));
  s->njvp += n;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreVJP(DpsScore s, PetscInt n, PetscInt t, PetscReal abar, const PetscReal x[], const PetscReal v[], PetscReal out[])
{
  PetscFunctionBegin;
  PetscCall(DpsScoreSetUp(s));
  PetscCheck(s->ops->vjp, PETSC_COMM_SELF, PETSC_ERR_SUP, "score type %s has no VJP", ((PetscObject)s)->type_name);
  PetscCall(PetscLogEventBegin(DPS_EVENT_SCORE_VJP, 0, 0, 0, 0));
  PetscCall((*s->ops->vjp)(s, n, t, abar, x, v, out));
  PetscCall(PetscLogEventEnd(DPS_EVENT_SCORE_VJP, 0, 0, 0, 0));
  s->nvjp += n;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreGetCounts(DpsScore s, PetscInt64 *neps, PetscInt64 *njvp, PetscInt64 *nvjp)
{
  PetscFunctionBegin;
  if (neps) *neps = s->neps;
  if (njvp) *njvp = s->njvp;
  if (nvjp) *nvjp = s->nvjp;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreView(DpsScore s, PetscViewer viewer)
{
  PetscBool iascii;

  PetscFunctionBegin;
  if (!viewer) PetscCall(PetscViewerASCIIGetStdout(PetscObjectComm((PetscObject)s), &viewer));
  PetscCall(PetscObjectTypeCompare((PetscObject)viewer, PETSCVIEWERASCII, &iascii));
  if (!iascii) PetscFunctionReturn(0);
  PetscCall(PetscObjectPrintClassNamePrefixType((PetscObject)s, viewer));
  PetscCall(PetscViewerASCIIPushTab(viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "dimension %" PetscInt_FMT ", backend %s (requested %s)\n", s->dim, DpsScoreBackends[s->backend], DpsScoreBackends[s->requested]));
  if (s->ops->view) PetscCall((*s->ops->view)(s, viewer));
  PetscCall(PetscViewerASCIIPopTab(viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreDestroy(DpsScore *s)
{
  PetscFunctionBegin;
  if (!*s) PetscFunctionReturn(0);
  if (--((PetscObject)(*s))->refct > 0) {
    *s = NULL;
    PetscFunctionReturn(0);
  }
  if ((*s)->ops->destroy) PetscCall((*(*s)->ops->destroy)(*s));
  PetscCall(PetscHeaderDestroy(s));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreChooseBackend(DpsScore s, int devices, const char why[], int *device)
{
  /* the rank on the node, as the launchers tell it (no collective: SetUp may run on one rank only) */
  const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"};
  PetscMPIInt       rank = -1;

  PetscFunctionBegin;
  *device    = -1;
  s->backend = s->requested == DPS_BACKEND_AUTO ? (devices > 0 ? DPS_BACKEND_CUDA : DPS_BACKEND_CPU) : s->requested;
  if (s->backend != DPS_BACKEND_CUDA) PetscFunctionReturn(0);
  PetscCheck(devices > 0, PETSC_COMM_SELF, PETSC_ERR_SUP, "-score_backend cuda: %s", why);
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && rank < 0; i++) {
    const char *v = getenv(vars[i]);
    if (v && *v) rank = (PetscMPIInt)atoi(v);
  }
  if (rank < 0) PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  *device = rank % devices;
  PetscFunctionReturn(0);
}
