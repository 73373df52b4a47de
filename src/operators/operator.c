#include <dpsolve/dpsolve.h>
#include "core/classes.h"
#include "operators/operatorimpl.h"
#include "io/h5.h"
#include "core/typelist.h"

PetscFunctionList DpsOperatorList = NULL;

PETSC_EXTERN PetscErrorCode DpsOperatorCreate_Inpaint(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorCreate_CS(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorCreate_Chain(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorCreate_Blur(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorCreate_SR(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorCreate_Matrix(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorCreate_MRI(DpsOperator);
PETSC_EXTERN PetscErrorCode DpsOperatorCreate_CT(DpsOperator);

PetscErrorCode DpsOperatorRegister(const char name[], PetscErrorCode (*create)(DpsOperator))
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListAdd(&DpsOperatorList, name, create));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorRegisterAll(void)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorRegister(DPSOPERATORINPAINT, DpsOperatorCreate_Inpaint));
  PetscCall(DpsOperatorRegister(DPSOPERATORCS, DpsOperatorCreate_CS));
  PetscCall(DpsOperatorRegister(DPSOPERATORCHAIN, DpsOperatorCreate_Chain));
  PetscCall(DpsOperatorRegister(DPSOPERATORBLUR, DpsOperatorCreate_Blur));
  PetscCall(DpsOperatorRegister(DPSOPERATORSR, DpsOperatorCreate_SR));
  PetscCall(DpsOperatorRegister(DPSOPERATORMATRIX, DpsOperatorCreate_Matrix));
  PetscCall(DpsOperatorRegister(DPSOPERATORMRI, DpsOperatorCreate_MRI));
  PetscCall(DpsOperatorRegister(DPSOPERATORCT, DpsOperatorCreate_CT));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate(MPI_Comm comm, DpsOperator *op)
{
  DpsOperator o;

  PetscFunctionBegin;
  PetscCall(DpsInitializePackage());
  PetscCall(PetscHeaderCreate(o, DPS_OPERATOR_CLASSID, "DpsOperator", "Linear forward operator", "Dps", comm, DpsOperatorDestroy, DpsOperatorView));
  PetscCall(PetscStrncpy(o->group, "/operator", sizeof(o->group)));
  *op = o;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorSetType(DpsOperator op, DpsOperatorType type)
{
  PetscErrorCode (*create)(DpsOperator);
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, type, &same));
  if (same) PetscFunctionReturn(0);
  PetscCall(PetscFunctionListFind(DpsOperatorList, type, &create));
  if (!create) {
    char known[256];
    PetscCall(DpsTypeListString(DpsOperatorList, known, sizeof(known)));
    SETERRQ(PetscObjectComm((PetscObject)op), PETSC_ERR_ARG_UNKNOWN_TYPE, "unknown operator type '%s' (known: %s)", type, known);
  }
  if (op->ops->destroy) PetscCall((*op->ops->destroy)(op));
  PetscCall(PetscMemzero(op->ops, sizeof(struct _DpsOperatorOps)));
  PetscCall(MatDestroy(&op->A));
  PetscCall(PetscFree(op->sv));
  op->m = op->n = 0;
  op->outshape[0] = op->outshape[1] = op->outshape[2] = 0;
  op->setupcalled = PETSC_FALSE;
  PetscCall((*create)(op));
  PetscCall(PetscObjectChangeTypeName((PetscObject)op, type));
  /* the data shape outlives the type: an image type sizes itself from it */
  if (op->shape[0] && op->ops->setdatashape) PetscCall((*op->ops->setdatashape)(op));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorSetDataShape(DpsOperator op, PetscInt C, PetscInt H, PetscInt W)
{
  PetscFunctionBegin;
  PetscCheck(C >= 1 && H >= 1 && W >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "the data shape (C, H, W) = (%" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ") needs every dimension >= 1", C, H, W);
  PetscCheck(!op->setupcalled || (op->shape[0] == C && op->shape[1] == H && op->shape[2] == W), PETSC_COMM_SELF, PETSC_ERR_ORDER, "the data shape of an operator cannot change after DpsOperatorSetUp()");
  op->shape[0] = C;
  op->shape[1] = H;
  op->shape[2] = W;
  if (((PetscObject)op)->type_name && op->ops->setdatashape) PetscCall((*op->ops->setdatashape)(op));
  PetscFunctionReturn(0);
}

/* data_shape of any rank as (C, H, W): (d) is (1, 1, d), (H, W) is (1, H, W), (..., C, H, W) merges the leading
   dimensions into C (the images of one input share the operator) */
PetscErrorCode DpsOperatorSetDataShapeND(DpsOperator op, PetscInt nshape, const PetscInt shape[])
{
  PetscInt chw[3] = {1, 1, 1};

  PetscFunctionBegin;
  PetscCheck(nshape >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "data_shape has no dimensions");
  for (PetscInt k = 0; k < nshape; k++) {
    PetscInt slot = PetscMax(0, 3 - nshape + k);
    chw[slot] *= shape[k];
  }
  PetscCall(DpsOperatorSetDataShape(op, chw[0], chw[1], chw[2]));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorGetDataShape(DpsOperator op, PetscBool *has, PetscInt shape[3])
{
  PetscFunctionBegin;
  *has = op->shape[0] ? PETSC_TRUE : PETSC_FALSE;
  for (int k = 0; k < 3; k++) shape[k] = op->shape[k];
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorGetMeasurementShape(DpsOperator op, PetscInt shape[3])
{
  PetscFunctionBegin;
  if (op->outshape[0]) for (int k = 0; k < 3; k++) shape[k] = op->outshape[k];
  else {
    shape[0] = shape[1] = 1;
    shape[2] = op->m;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCheckDataShape(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCheck(op->shape[0], PETSC_COMM_SELF, PETSC_ERR_ORDER, "operator type %s acts on images and needs the data shape (C, H, W): call DpsOperatorSetDataShape() first (the input's attribute data_shape)", ((PetscObject)op)->type_name);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorDatasetName(DpsOperator op, const char name[], char path[], size_t size)
{
  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, size, "%s/%s", op->group, name));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorGetType(DpsOperator op, DpsOperatorType *type)
{
  PetscFunctionBegin;
  *type = ((PetscObject)op)->type_name;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorSetFromOptions(DpsOperator op)
{
  PetscFunctionBegin;
  /* the operator's data comes from the input file; -operator_view is the only option */
  PetscObjectOptionsBegin((PetscObject)op);
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorMatMult(Mat A, Vec x, Vec y)
{
  DpsOperator        op;
  const PetscScalar *xa;
  PetscScalar       *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &op));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCall((*op->ops->apply)(op, xa, ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorMatMultTranspose(Mat A, Vec y, Vec x)
{
  DpsOperator        op;
  const PetscScalar *ya;
  PetscScalar       *xa;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &op));
  PetscCall(VecGetArrayRead(y, &ya));
  PetscCall(VecGetArrayWrite(x, &xa));
  PetscCall((*op->ops->applytranspose)(op, ya, xa));
  PetscCall(VecRestoreArrayRead(y, &ya));
  PetscCall(VecRestoreArrayWrite(x, &xa));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorSetUp(DpsOperator op)
{
  PetscFunctionBegin;
  if (op->setupcalled) PetscFunctionReturn(0);
  PetscCheck(((PetscObject)op)->type_name, PetscObjectComm((PetscObject)op), PETSC_ERR_ORDER, "operator has no type: load it from a file or call DpsOperatorSetType()");
  PetscCheck(op->m > 0 && op->n > 0, PetscObjectComm((PetscObject)op), PETSC_ERR_ORDER, "operator '%s' has no data (sizes %" PetscInt_FMT " x %" PetscInt_FMT ")", ((PetscObject)op)->type_name, op->m, op->n);
  /* each rank solves its own inputs: the operator acts on one sequential vector */
  PetscCall(MatCreateShell(PETSC_COMM_SELF, op->m, op->n, op->m, op->n, op, &op->A));
  PetscCall(MatShellSetOperation(op->A, MATOP_MULT, (void (*)(void))DpsOperatorMatMult));
  PetscCall(MatShellSetOperation(op->A, MATOP_MULT_TRANSPOSE, (void (*)(void))DpsOperatorMatMultTranspose));
  op->setupcalled = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorLoad(DpsOperator op, hid_t file, const char filename[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorLoadGroup(op, file, filename, "/operator"));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorLoadGroup(DpsOperator op, hid_t file, const char filename[], const char group[])
{
  char type[64];

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(op->group, group, sizeof(op->group)));
  PetscCall(DpsH5ReadStringAttribute(file, filename, group, "type", type, sizeof(type)));
  PetscCall(DpsOperatorSetType(op, type));
  PetscCheck(op->ops->load, PETSC_COMM_SELF, PETSC_ERR_SUP, "operator type %s cannot be loaded", type);
  PetscCall((*op->ops->load)(op, file, filename));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorSave(DpsOperator op, hid_t file)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSaveGroup(op, file, "/operator"));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorSaveGroup(DpsOperator op, hid_t file, const char group[])
{
  hid_t g;

  PetscFunctionBegin;
  PetscCheck(op->ops->save, PETSC_COMM_SELF, PETSC_ERR_SUP, "operator type %s cannot be saved", ((PetscObject)op)->type_name);
  PetscCall(PetscStrncpy(op->group, group, sizeof(op->group)));
  g = H5Gcreate2(file, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create HDF5 group %s", group);
  PetscCheck(H5Gclose(g) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "H5Gclose failed");
  PetscCall(DpsH5WriteStringAttribute(file, group, "type", ((PetscObject)op)->type_name));
  PetscCall((*op->ops->save)(op, file));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorGetSizes(DpsOperator op, PetscInt *m, PetscInt *n)
{
  PetscFunctionBegin;
  if (m) *m = op->m;
  if (n) *n = op->n;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorGetMat(DpsOperator op, Mat *A)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSetUp(op));
  *A = op->A;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApply(DpsOperator op, Vec x, Vec y)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSetUp(op));
  PetscCall(MatMult(op->A, x, y));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyTranspose(DpsOperator op, Vec y, Vec x)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSetUp(op));
  PetscCall(MatMultTranspose(op->A, y, x));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyArray(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  PetscFunctionBegin;
  PetscCall((*op->ops->apply)(op, x, y));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyTransposeArray(DpsOperator op, const PetscReal y[], PetscReal x[])
{
  PetscFunctionBegin;
  PetscCall((*op->ops->applytranspose)(op, y, x));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorHasNormalInverse(DpsOperator op, PetscBool *has)
{
  PetscFunctionBegin;
  *has = op->ops->normalinverse ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyNormalInverse(DpsOperator op, PetscReal a, PetscReal b, Vec x, Vec y)
{
  const PetscScalar *xa;
  PetscScalar       *ya;

  PetscFunctionBegin;
  PetscCheck(op->ops->normalinverse, PETSC_COMM_SELF, PETSC_ERR_SUP, "operator type %s has no exact (aI + b A^T A)^{-1}", ((PetscObject)op)->type_name);
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCall((*op->ops->normalinverse)(op, a, b, xa, ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorHasNormalInversePreconditioner(DpsOperator op, PetscBool *has)
{
  PetscFunctionBegin;
  *has = op->ops->normalinverse || op->ops->normalinversepc ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyNormalInversePreconditioner(DpsOperator op, PetscReal a, PetscReal b, Vec x, Vec y)
{
  const PetscScalar *xa;
  PetscScalar       *ya;

  PetscFunctionBegin;
  PetscCheck(op->ops->normalinverse || op->ops->normalinversepc, PETSC_COMM_SELF, PETSC_ERR_SUP, "operator type %s has no preconditioner for aI + b A^T A", ((PetscObject)op)->type_name);
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  if (op->ops->normalinverse) PetscCall((*op->ops->normalinverse)(op, a, b, xa, ya));
  else PetscCall((*op->ops->normalinversepc)(op, a, b, xa, ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorHasMeasurementInverse(DpsOperator op, PetscBool *has)
{
  PetscFunctionBegin;
  *has = op->ops->measurementinverse ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyMeasurementInverse(DpsOperator op, PetscReal c, const PetscReal v[], const PetscReal y[], PetscReal out[])
{
  PetscFunctionBegin;
  PetscCheck(op->ops->measurementinverse, PETSC_COMM_SELF, PETSC_ERR_SUP, "operator type %s has no exact (c I + A diag(v) A^T)^{-1}", ((PetscObject)op)->type_name);
  PetscCall((*op->ops->measurementinverse)(op, c, v, y, out));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorHasSVD(DpsOperator op, PetscBool *has)
{
  PetscFunctionBegin;
  *has = op->ops->svdsetup ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSVDSetUp(DpsOperator op)
{
  PetscFunctionBegin;
  PetscCheck(op->ops->svdsetup, PETSC_COMM_SELF, PETSC_ERR_SUP, "operator type %s has no SVD, which ddrm needs (methods.md section 5); use another sampler", ((PetscObject)op)->type_name);
  if (!op->sv) PetscCall((*op->ops->svdsetup)(op));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorGetSingularValues(DpsOperator op, const PetscReal **sv)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSVDSetUp(op));
  *sv = op->sv;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyVT(DpsOperator op, const PetscReal x[], PetscReal xbar[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSVDSetUp(op));
  PetscCall((*op->ops->vt)(op, x, xbar));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyV(DpsOperator op, const PetscReal xbar[], PetscReal x[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSVDSetUp(op));
  PetscCall((*op->ops->v)(op, xbar, x));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorApplyUT(DpsOperator op, const PetscReal y[], PetscReal ybar[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorSVDSetUp(op));
  PetscCall((*op->ops->ut)(op, y, ybar));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorHasNormalDiagonal(DpsOperator op, PetscBool *has)
{
  PetscFunctionBegin;
  *has = op->ops->normaldiagonal ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorGetNormalDiagonal(DpsOperator op, Vec d)
{
  PetscScalar *da;

  PetscFunctionBegin;
  PetscCheck(op->ops->normaldiagonal, PETSC_COMM_SELF, PETSC_ERR_SUP, "operator type %s has no diag(A^T A)", ((PetscObject)op)->type_name);
  PetscCall(VecGetArrayWrite(d, &da));
  PetscCall((*op->ops->normaldiagonal)(op, da));
  PetscCall(VecRestoreArrayWrite(d, &da));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorView(DpsOperator op, PetscViewer viewer)
{
  PetscBool iascii;

  PetscFunctionBegin;
  if (!viewer) PetscCall(PetscViewerASCIIGetStdout(PetscObjectComm((PetscObject)op), &viewer));
  PetscCall(PetscObjectTypeCompare((PetscObject)viewer, PETSCVIEWERASCII, &iascii));
  if (!iascii) PetscFunctionReturn(0);
  PetscCall(PetscObjectPrintClassNamePrefixType((PetscObject)op, viewer));
  PetscCall(PetscViewerASCIIPushTab(viewer));
  if (op->shape[0]) PetscCall(PetscViewerASCIIPrintf(viewer, "data shape (C, H, W) = (%" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ")\n", op->shape[0], op->shape[1], op->shape[2]));
  PetscCall(PetscViewerASCIIPrintf(viewer, "A: %" PetscInt_FMT " x %" PetscInt_FMT "; exact normal inverse: %s; diag(A^T A): %s; SVD: %s\n", op->m, op->n, op->ops->normalinverse ? "yes" : "no", op->ops->normaldiagonal ? "yes" : "no", op->ops->svdsetup ? "yes" : "no"));
  if (op->ops->view) PetscCall((*op->ops->view)(op, viewer));
  PetscCall(PetscViewerASCIIPopTab(viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorDestroy(DpsOperator *op)
{
  PetscFunctionBegin;
  if (!*op) PetscFunctionReturn(0);
  if (--((PetscObject)(*op))->refct > 0) {
    *op = NULL;
    PetscFunctionReturn(0);
  }
  if ((*op)->ops->destroy) PetscCall((*(*op)->ops->destroy)(*op));
  PetscCall(MatDestroy(&(*op)->A));
  PetscCall(PetscFree((*op)->sv));
  PetscCall(PetscHeaderDestroy(op));
  PetscFunctionReturn(0);
}
