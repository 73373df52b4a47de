/* Inpainting (methods.md section 8): A = diag(mask), mask 1 where the entry is observed, 0 where it is missing.
   y has the full length n; its missing entries carry no information because A^T zeroes them. A mask of H W
   entries on data of shape (C, H, W), C > 1, is one per-pixel mask shared by every channel (A = I_C (x) diag(mask));
   a box (row0, col0, height, width) is the shared mask that is 0 inside it. */
#include <dpsolve/dpsolve.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"

typedef struct {
  PetscReal *mask;   /* [n], 0 or 1 */
  PetscInt   stored; /* the entries given: n, or H W when one mask is shared by the C channels */
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
  in->stored = n;
  if (op->shape[0] > 1 && n == op->shape[1] * op->shape[2]) { /* one mask for every channel */
    PetscCall(PetscMalloc1(op->shape[0] * n, &in->mask));
    for (PetscInt c = 0; c < op->shape[0]; c++) PetscCall(PetscArraycpy(in->mask + c * n, mask, n));
    n *= op->shape[0];
  } else {
    PetscCall(PetscMalloc1(n, &in->mask));
    PetscCall(PetscArraycpy(in->mask, mask, n));
  }
  PetscCall(PetscFree(op->sv));
  op->m = op->n = n;
  if (op->shape[0] && n == op->shape[0] * op->shape[1] * op->shape[2])
    for (int d = 0; d < 3; d++) op->outshape[d] = op->shape[d];
  PetscFunctionReturn(0);
}

/* the shared mask that is 0 on rows [row0, row0 + height) and columns [col0, col0 + width) of every channel */
PetscErrorCode DpsOperatorInpaintSetBox(DpsOperator op, PetscInt row0, PetscInt col0, PetscInt height, PetscInt width)
{
  const PetscInt H = op->shape[1], W = op->shape[2];
  PetscReal     *mask;

  PetscFunctionBegin;
  PetscCall(DpsOperatorCheckDataShape(op));
  PetscCheck(height >= 1 && width >= 1 && row0 >= 0 && col0 >= 0 && row0 + height <= H && col0 + width <= W && height * width < H * W, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "inpainting box (row0, col0, height, width) = (%" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ") must lie inside the %" PetscInt_FMT " x %" PetscInt_FMT " image and leave something observed", row0, col0, height, width, H, W);
  PetscCall(PetscMalloc1(H * W, &mask));
  for (PetscInt i = 0; i < H; i++)
    for (PetscInt j = 0; j < W; j++) mask[i * W + j] = (i >= row0 && i < row0 + height && j >= col0 && j < col0 + width) ? 0.0 : 1.0;
  PetscCall(DpsOperatorInpaintSetMask(op, H * W, mask));
  PetscCall(PetscFree(mask));
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
  if (H5Aexists_by_name(file, op->group, "box", H5P_DEFAULT) > 0) {
    PetscInt box[4], nb;
    PetscCall(DpsH5ReadIntArrayAttribute(file, fname, op->group, "box", 4, &nb, box));
    PetscCheck(nb == 4, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute box of %s has %" PetscInt_FMT " entries: it is (row0, col0, height, width)", fname, op->group, nb);
    PetscCheck(op->shape[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the inpainting box of %s needs the data shape (C, H, W): the input's attribute data_shape", fname, op->group);
    PetscCheck(box[0] >= 0 && box[1] >= 0 && box[2] >= 1 && box[3] >= 1 && box[0] + box[2] <= op->shape[1] && box[1] + box[3] <= op->shape[2] && box[2] * box[3] < op->shape[1] * op->shape[2], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: attribute box of %s is (row0, col0, height, width) = (%" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT "): it must lie inside the %" PetscInt_FMT " x %" PetscInt_FMT " images and leave something observed", fname, op->group, box[0], box[1], box[2], box[3], op->shape[1], op->shape[2]);
    PetscCall(DpsOperatorInpaintSetBox(op, box[0], box[1], box[2], box[3]));
    PetscFunctionReturn(0);
  }
  PetscCall(DpsOperatorDatasetName(op, "mask", path, sizeof(path)));
  {
    /* [n] for every entry, or [H, W] / [H W] shared by the channels */
    hsize_t d2[2];
    int     rank = 1;
    hid_t   ds = H5Dopen2(file, path, H5P_DEFAULT);
    if (ds >= 0) {
      hid_t sp = H5Dget_space(ds);
      rank     = H5Sget_simple_extent_ndims(sp);
      H5Sclose(sp);
      H5Dclose(ds);
    }
    if (rank == 2) {
      PetscCall(DpsH5GetDims(file, fname, path, 2, "(H, W)", d2));
      PetscCheck(op->shape[0] && (PetscInt)d2[0] == op->shape[1] && (PetscInt)d2[1] == op->shape[2], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is %llu x %llu but the images are %" PetscInt_FMT " x %" PetscInt_FMT " (data_shape)", fname, path, (unsigned long long)d2[0], (unsigned long long)d2[1], op->shape[1], op->shape[2]);
      dims[0] = d2[0] * d2[1];
    } else PetscCall(DpsH5GetDims(file, fname, path, 1, "(n)", dims));
  }
  PetscCheck(!op->shape[0] || (PetscInt)dims[0] == op->shape[0] * op->shape[1] * op->shape[2] || (PetscInt)dims[0] == op->shape[1] * op->shape[2], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %llu entries: the data shape (%" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ") needs C H W = %" PetscInt_FMT " (one per entry) or H W = %" PetscInt_FMT " (one per pixel, shared by the channels)", fname, path, (unsigned long long)dims[0], op->shape[0], op->shape[1], op->shape[2], op->shape[0] * op->shape[1] * op->shape[2], op->shape[1] * op->shape[2]);
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
  hsize_t           dims = (hsize_t)in->stored; /* the shared [H W] mask stays shared */
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
