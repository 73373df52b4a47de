/* Inpainting (methods.md section 8): A = diag(mask), mask 1 where the entry is observed, 0 where it is missing.
   y has the full length n; its missing entries carry no information because A^T zeroes them. */
#include <dpsolve/dpsolve.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"

typedef struct {
  PetscReal *mask; /* [n], 0 or 1 */
} Operator_Inpaint;

static PetscErrorCode DpsOperatorApply_Inpaint(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  Operator_Inpaint *in = (Operator_Inpaint *)op->data;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < op->n; j++) y[j] = in->mask[j] * x[j];
  PetscFunctionReturn(0);
}

/* A^T A = diag(mask), so (aI + b A^T A)^{-1} is diagonal: exact, and CG preconditioned by it takes one step */
static PetscErrorCode DpsOperatorNormalInverse_Inpaint(DpsOperator op, PetscReal a, PetscReal b, const PetscReal x[], PetscReal y[])
{
  Operator_Inpaint *in = (Operator_Inpaint *)op->data;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < op->n; j++) y[j] = x[j] / (a + b * in->mask[j]);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorNormalDiagonal_Inpaint(DpsOperator op, PetscReal d[])
{
  Operator_Inpaint *in = (Operator_Inpaint *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscArraycpy(d, in->mask, op->n));
  PetscFunctionReturn(0);
}

/* A diag(v) A^T = diag(mask v): (c I + A diag(v) A^T)^{-1} is diagonal; v = NULL means v = 1 */
static PetscErrorCode DpsOperatorMeasurementInverse_Inpaint(DpsOperator op, PetscReal c, const PetscReal v[], const PetscReal y[], PetscReal out[])
{
  Operator_Inpaint *in = (Operator_Inpaint *)op->data;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < op->n; j++) out[j] = y[j] / (c + in->mask[j] * (v ? v[j] : 1.0));
  PetscFunctionReturn(0);
}

/* SVD of a 0/1 diagonal: U = V = I, singular values = the mask */
static PetscErrorCode DpsOperatorSVDSetUp_Inpaint(DpsOperator op)
{
  Operator_Inpaint *in = (Operator_Inpaint *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(op->n, &op->sv));
  PetscCall(PetscArraycpy(op->sv, in->mask, op->n));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorIdentity_Inpaint(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  PetscFunctionBegin;
  PetscCall(PetscArraycpy(y, x, op->n));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorInpaintSetMask(DpsOperator op, PetscInt n, const PetscReal mask[])
{
  Operator_Inpaint *in = (Operator_Inpaint *)op->data;
  PetscBool         is;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, DPSOPERATORINPAINT, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsOperatorInpaintSetMask() needs an inpaint operator");
  for (PetscInt j = 0; j < n; j++) PetscCheck(mask[j] == 0.0 || mask[j] == 1.0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "inpainting mask entry %" PetscInt_FMT " is %g: must be 0 or 1", j, (double)mask[j]);
  PetscCall(PetscFree(in->mask));
  PetscCall(PetscMalloc1(n, &in->mask));
  PetscCall(PetscArraycpy(in->mask, mask, n));
  PetscCall(PetscFree(op->sv));
  op->m = op->n = n;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorLoad_Inpaint(DpsOperator op, hid_t file, const char fname[])
{
  hsize_t    dims[1];
  hsize_t    j;
  PetscReal *mask, bad = 0.0;
  PetscInt   observed = 0;
  char       path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(DpsOperatorDatasetName(op, "mask", path, sizeof(path)));
  PetscCall(DpsH5GetDims(file, fname, path, 1, "(n)", dims));
  PetscCheck(dims[0] >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is empty: the operator needs n >= 1 entries", fname, path);
  PetscCheck(dims[0] <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %llu entries, too many: at most %d (the largest index), and it would need %.1f GiB", fname, path, (unsigned long long)dims[0], (int)PETSC_MAX_INT, (double)dims[0] * sizeof(PetscReal) / 1073741824.0);
  PetscCall(PetscMalloc1(dims[0], &mask));
  PetscCall(DpsH5ReadAll(file, fname, path, mask));
  for (j = 0; j < dims[0] && (mask[j] == 0.0 || mask[j] == 1.0); j++) observed += mask[j] == 1.0;
  if (j < dims[0]) bad = mask[j];
  else if (observed) PetscCall(DpsOperatorInpaintSetMask(op, (PetscInt)dims[0], mask));
  PetscCall(PetscFree(mask));
  PetscCheck(j == dims[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s holds %g at entry %llu: must be 0 or 1", fname, path, (double)bad, (unsigned long long)j);
  /* y would carry no information and every draw would be a prior draw: a wrong mask, far likelier than an intent */
  PetscCheck(observed > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is all 0: none of its %llu entries is observed (1 marks an observed entry)", fname, path, (unsigned long long)dims[0]);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSave_Inpaint(DpsOperator op, hid_t file)
{
  Operator_Inpaint *in   = (Operator_Inpaint *)op->data;
  hsize_t           dims = (hsize_t)op->n;
  char              path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(DpsOperatorDatasetName(op, "mask", path, sizeof(path)));
  PetscCall(DpsH5WriteAll(file, path, 1, &dims, in->mask));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorView_Inpaint(DpsOperator op, PetscViewer viewer)
{
  Operator_Inpaint *in       = (Operator_Inpaint *)op->data;
  PetscInt          observed = 0;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < op->n; j++) observed += in->mask[j] != 0.0;
  PetscCall(PetscViewerASCIIPrintf(viewer, "observed entries: %" PetscInt_FMT " of %" PetscInt_FMT "\n", observed, op->n));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorDestroy_Inpaint(DpsOperator op)
{
  Operator_Inpaint *in = (Operator_Inpaint *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscFree(in->mask));
  PetscCall(PetscFree(op->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate_Inpaint(DpsOperator op)
{
  Operator_Inpaint *in;

  PetscFunctionBegin;
  PetscCall(PetscNew(&in));
  op->data                 = in;
  op->ops->apply           = DpsOperatorApply_Inpaint;
  op->ops->applytranspose  = DpsOperatorApply_Inpaint; /* a diagonal is its own adjoint */
  op->ops->normalinverse   = DpsOperatorNormalInverse_Inpaint;
  op->ops->normaldiagonal  = DpsOperatorNormalDiagonal_Inpaint;
  op->ops->measurementinverse = DpsOperatorMeasurementInverse_Inpaint;
  op->ops->svdsetup        = DpsOperatorSVDSetUp_Inpaint;
  op->ops->vt              = DpsOperatorIdentity_Inpaint;
  op->ops->v               = DpsOperatorIdentity_Inpaint;
  op->ops->ut              = DpsOperatorIdentity_Inpaint;
  op->ops->load            = DpsOperatorLoad_Inpaint;
  op->ops->save            = DpsOperatorSave_Inpaint;
  op->ops->view            = DpsOperatorView_Inpaint;
  op->ops->destroy         = DpsOperatorDestroy_Inpaint;
  PetscFunctionReturn(0);
}
