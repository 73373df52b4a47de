/* Composition (methods.md section 8): A = A_k ... A_1, parts applied in order (part 0 first), as BART's linops
   are built from small parts. A^T = A_1^T ... A_k^T. Part 0 acts on the data's shape (C, H, W); part i acts on the
   measurement shape of part i - 1. A chain of two or more parts offers none of the optional operations: they do
   not follow from the parts' in general (a blur then a mask has no exact (a I + b A^T A)^{-1}, no cheap
   diag(A^T A) and no SVD built from theirs). A chain of one part is that part and offers what it offers. In a file: /operator has the attribute parts = k and the groups /operator/part0 ... part{k-1},
   each an operator group of its own (attribute type and the type's datasets). */
#include <dpsolve/dpsolve.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"

typedef struct {
  PetscInt     k;
  DpsOperator *parts;
  PetscReal   *w[2]; /* ping-pong buffers for the intermediate vectors, each of the largest intermediate size */
} Operator_Chain;

/* one part: its optional operations are the chain's */
static PetscErrorCode DpsOperatorNormalInverse_Chain(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  DpsOperator p = ((Operator_Chain *)op->data)->parts[0];

  PetscFunctionBegin;
  PetscCall((*p->ops->normalinverse)(p, a, b, x, y));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorNormalInversePreconditioner_Chain(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  DpsOperator p = ((Operator_Chain *)op->data)->parts[0];

  PetscFunctionBegin;
  PetscCall((*p->ops->normalinversepc)(p, a, b, x, y));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorNormalDiagonal_Chain(DpsOperator op, PetscReal d[])
{
  DpsOperator p = ((Operator_Chain *)op->data)->parts[0];

  PetscFunctionBegin;
  PetscCall((*p->ops->normaldiagonal)(p, d));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorMeasurementInverse_Chain(DpsOperator op, PetscReal c, const PetscReal v[], const PetscReal y[], PetscReal out[])
{
  DpsOperator p = ((Operator_Chain *)op->data)->parts[0];

  PetscFunctionBegin;
  PetscCall((*p->ops->measurementinverse)(p, c, v, y, out));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSVDSetUp_Chain(DpsOperator op)
{
  DpsOperator      p = ((Operator_Chain *)op->data)->parts[0];
  const PetscReal *sv;

  PetscFunctionBegin;
  PetscCall(DpsOperatorGetSingularValues(p, &sv));
  PetscCall(PetscMalloc1(op->n, &op->sv));
  PetscCall(PetscArraycpy(op->sv, sv, op->n));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorVT_Chain(DpsOperator op, const PetscReal x[], PetscReal xbar[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorApplyVT(((Operator_Chain *)op->data)->parts[0], x, xbar));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorV_Chain(DpsOperator op, const PetscReal xbar[], PetscReal x[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorApplyV(((Operator_Chain *)op->data)->parts[0], xbar, x));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorUT_Chain(DpsOperator op, const PetscReal y[], PetscReal ybar[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorApplyUT(((Operator_Chain *)op->data)->parts[0], y, ybar));
  PetscFunctionReturn(0);
}

/* a chain of one part offers that part's optional operations (the part's may change with its data shape, so
   this runs again once the shapes have flowed through) */
static void DpsOperatorChainForward(DpsOperator op)
{
  Operator_Chain *ch = (Operator_Chain *)op->data;
  DpsOperator     one = ch->k == 1 ? ch->parts[0] : NULL;

  op->ops->normalinverse      = one && one->ops->normalinverse ? DpsOperatorNormalInverse_Chain : NULL;
  op->ops->normalinversepc    = one && one->ops->normalinversepc ? DpsOperatorNormalInversePreconditioner_Chain : NULL;
  op->ops->normaldiagonal     = one && one->ops->normaldiagonal ? DpsOperatorNormalDiagonal_Chain : NULL;
  op->ops->measurementinverse = one && one->ops->measurementinverse ? DpsOperatorMeasurementInverse_Chain : NULL;
  op->ops->svdsetup           = one && one->ops->svdsetup ? DpsOperatorSVDSetUp_Chain : NULL;
  op->ops->vt                 = one && one->ops->svdsetup ? DpsOperatorVT_Chain : NULL;
  op->ops->v                  = one && one->ops->svdsetup ? DpsOperatorV_Chain : NULL;
  op->ops->ut                 = one && one->ops->svdsetup ? DpsOperatorUT_Chain : NULL;
}

/* the shapes flow through the parts; m and n from the ends once every part is sized and they fit together */
static PetscErrorCode DpsOperatorChainSize(DpsOperator op)
{
  Operator_Chain *ch = (Operator_Chain *)op->data;
  PetscInt        wmax = 0, shape[3];

  PetscFunctionBegin;
  op->m = op->n = 0;
  PetscCall(PetscFree(op->sv));
  DpsOperatorChainForward(op);
  if (!ch->k) PetscFunctionReturn(0);
  if (op->shape[0]) {
    for (int d = 0; d < 3; d++) shape[d] = op->shape[d];
    for (PetscInt i = 0; i < ch->k; i++) {
      PetscCall(DpsOperatorSetDataShape(ch->parts[i], shape[0], shape[1], shape[2]));
      PetscCall(DpsOperatorGetMeasurementShape(ch->parts[i], shape));
    }
    DpsOperatorChainForward(op);
  }
  for (PetscInt i = 0; i < ch->k; i++) {
    PetscInt m, n;
    PetscCall(DpsOperatorGetSizes(ch->parts[i], &m, &n));
    if (!m || !n) PetscFunctionReturn(0); /* a part not yet sized (its data shape comes later) */
    if (i > 0) {
      PetscInt mprev;
      PetscCall(DpsOperatorGetSizes(ch->parts[i - 1], &mprev, NULL));
      PetscCheck(n == mprev, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "chain: part %" PetscInt_FMT " (%s) acts on %" PetscInt_FMT " entries but part %" PetscInt_FMT " (%s) gives %" PetscInt_FMT, i, ((PetscObject)ch->parts[i])->type_name, n, i - 1, ((PetscObject)ch->parts[i - 1])->type_name, mprev);
    }
    if (i < ch->k - 1) wmax = PetscMax(wmax, m);
  }
  PetscCall(PetscFree2(ch->w[0], ch->w[1]));
  PetscCall(PetscMalloc2(PetscMax(wmax, 1), &ch->w[0], PetscMax(wmax, 1), &ch->w[1]));
  PetscCall(DpsOperatorGetSizes(ch->parts[0], NULL, &op->n));
  PetscCall(DpsOperatorGetSizes(ch->parts[ch->k - 1], &op->m, NULL));
  PetscCall(DpsOperatorGetMeasurementShape(ch->parts[ch->k - 1], op->outshape));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorChainSetParts(DpsOperator op, PetscInt k, const DpsOperator parts[])
{
  Operator_Chain *ch = (Operator_Chain *)op->data;
  PetscBool       is;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, DPSOPERATORCHAIN, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsOperatorChainSetParts() needs a chain operator");
  PetscCheck(k >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a chain needs at least one part (got %" PetscInt_FMT ")", k);
  for (PetscInt i = 0; i < k; i++) PetscCall(PetscObjectReference((PetscObject)parts[i]));
  for (PetscInt i = 0; i < ch->k; i++) PetscCall(DpsOperatorDestroy(&ch->parts[i]));
  PetscCall(PetscFree(ch->parts));
  PetscCall(PetscMalloc1(k, &ch->parts));
  for (PetscInt i = 0; i < k; i++) ch->parts[i] = parts[i];
  ch->k = k;
  PetscCall(DpsOperatorChainSize(op));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorChainGetParts(DpsOperator op, PetscInt *k, const DpsOperator **parts)
{
  Operator_Chain *ch = (Operator_Chain *)op->data;

  PetscFunctionBegin;
  *k = ch->k;
  if (parts) *parts = ch->parts;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApply_Chain(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  Operator_Chain  *ch = (Operator_Chain *)op->data;
  const PetscReal *in = x;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < ch->k; i++) {
    PetscReal *out = i == ch->k - 1 ? y : ch->w[i % 2];
    PetscCall(DpsOperatorApplyArray(ch->parts[i], in, out));
    in = out;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApplyTranspose_Chain(DpsOperator op, const PetscReal y[], PetscReal x[])
{
  Operator_Chain  *ch = (Operator_Chain *)op->data;
  const PetscReal *in = y;

  PetscFunctionBegin;
  for (PetscInt i = ch->k - 1; i >= 0; i--) {
    PetscReal *out = i == 0 ? x : ch->w[i % 2];
    PetscCall(DpsOperatorApplyTransposeArray(ch->parts[i], in, out));
    in = out;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSetDataShape_Chain(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorChainSize(op));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorLoad_Chain(DpsOperator op, hid_t file, const char fname[])
{
  PetscInt        k, nk;
  DpsOperator    *parts;
  char            group[256];

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(group, op->group, sizeof(group))); /* loading the parts must not move the chain's own */
  PetscCall(DpsH5ReadIntArrayAttribute(file, fname, group, "parts", 1, &nk, &k));
  PetscCheck(nk == 1 && k >= 1 && k <= 64, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute parts of %s is %" PetscInt_FMT ": a chain needs 1 to 64 parts, in the groups %s/part0 ...", fname, group, k, group);
  PetscCall(PetscCalloc1(k, &parts));
  for (PetscInt i = 0; i < k; i++) {
    char sub[256];
    PetscCall(PetscSNPrintf(sub, sizeof(sub), "%s/part%" PetscInt_FMT, group, i));
    PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &parts[i]));
    /* an image part sizes itself from its data shape while it loads */
    if (i == 0 && op->shape[0]) PetscCall(DpsOperatorSetDataShape(parts[0], op->shape[0], op->shape[1], op->shape[2]));
    else if (i > 0) {
      PetscInt s[3];
      PetscCall(DpsOperatorGetMeasurementShape(parts[i - 1], s));
      if (op->shape[0]) PetscCall(DpsOperatorSetDataShape(parts[i], s[0], s[1], s[2]));
    }
    PetscCall(DpsOperatorLoadGroup(parts[i], file, fname, sub));
  }
  PetscCall(PetscStrncpy(op->group, group, sizeof(op->group)));
  for (PetscInt i = 0; i < k; i++) {
    PetscInt m, n;
    PetscCall(DpsOperatorGetSizes(parts[i], &m, &n));
    PetscCheck(m >= 1 && n >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s/part%" PetscInt_FMT " (%s) has no size: an image operator needs the input's data_shape", fname, group, i, ((PetscObject)parts[i])->type_name);
  }
  PetscCall(DpsOperatorChainSetParts(op, k, parts));
  for (PetscInt i = 0; i < k; i++) PetscCall(DpsOperatorDestroy(&parts[i]));
  PetscCall(PetscFree(parts));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSave_Chain(DpsOperator op, hid_t file)
{
  Operator_Chain *ch = (Operator_Chain *)op->data;
  char            group[256];

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(group, op->group, sizeof(group)));
  PetscCall(DpsH5WriteIntAttribute(file, group, "parts", ch->k));
  for (PetscInt i = 0; i < ch->k; i++) {
    char sub[256];
    PetscCall(PetscSNPrintf(sub, sizeof(sub), "%s/part%" PetscInt_FMT, group, i));
    PetscCall(DpsOperatorSaveGroup(ch->parts[i], file, sub));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorView_Chain(DpsOperator op, PetscViewer viewer)
{
  Operator_Chain *ch = (Operator_Chain *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "%" PetscInt_FMT " parts, applied in order (part 0 first):\n", ch->k));
  PetscCall(PetscViewerASCIIPushTab(viewer));
  for (PetscInt i = 0; i < ch->k; i++) PetscCall(DpsOperatorView(ch->parts[i], viewer));
  PetscCall(PetscViewerASCIIPopTab(viewer));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorDestroy_Chain(DpsOperator op)
{
  Operator_Chain *ch = (Operator_Chain *)op->data;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < ch->k; i++) PetscCall(DpsOperatorDestroy(&ch->parts[i]));
  PetscCall(PetscFree(ch->parts));
  PetscCall(PetscFree2(ch->w[0], ch->w[1]));
  PetscCall(PetscFree(op->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate_Chain(DpsOperator op)
{
  Operator_Chain *ch;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ch));
  op->data                = ch;
  op->ops->apply          = DpsOperatorApply_Chain;
  op->ops->applytranspose = DpsOperatorApplyTranspose_Chain;
  op->ops->setdatashape   = DpsOperatorSetDataShape_Chain;
  op->ops->load           = DpsOperatorLoad_Chain;
  op->ops->save           = DpsOperatorSave_Chain;
  op->ops->view           = DpsOperatorView_Chain;
  op->ops->destroy        = DpsOperatorDestroy_Chain;
  PetscFunctionReturn(0);
}
