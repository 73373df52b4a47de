/* Sparse system matrix (methods.md section 8): any linear instrument's A, m x n, brought by the user in CSR form
   (scipy.sparse's csr_matrix: data, indices, indptr and the shape), held as a PETSc SeqAIJ matrix and applied with
   MatMult and MatMultTranspose. Repeated (row, column) pairs are summed, as scipy sums them. diag(A^T A) (Jacobi)
   is the column sums of squares of the assembled matrix. No exact inverse and no SVD: a general sparse A has
   neither cheaply. */
#include <dpsolve/dpsolve.h>
#include <petscmat.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"

typedef struct {
  Mat A;      /* SeqAIJ, m x n */
  Vec vx, vy; /* array-less wrappers of the samplers' raw arrays (n and m entries) */
} Operator_Matrix;

static PetscErrorCode DpsOperatorMatrixMult(DpsOperator op, PetscBool transpose, const PetscReal in[], PetscReal out[])
{
  Operator_Matrix *mt = (Operator_Matrix *)op->data;
  Vec              vin = transpose ? mt->vy : mt->vx, vout = transpose ? mt->vx : mt->vy;

  PetscFunctionBegin;
  PetscCall(VecPlaceArray(vin, in));
  PetscCall(VecPlaceArray(vout, out));
  if (transpose) PetscCall(MatMultTranspose(mt->A, vin, vout));
  else PetscCall(MatMult(mt->A, vin, vout));
  PetscCall(VecResetArray(vin));
  PetscCall(VecResetArray(vout));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApply_Matrix(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorMatrixMult(op, PETSC_FALSE, x, y));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApplyTranspose_Matrix(DpsOperator op, const PetscReal y[], PetscReal x[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorMatrixMult(op, PETSC_TRUE, y, x));
  PetscFunctionReturn(0);
}

/* diag(A^T A)_j = sum_i A_ij^2 over the assembled (duplicates summed) entries */
static PetscErrorCode DpsOperatorNormalDiagonal_Matrix(DpsOperator op, PetscReal d[])
{
  Operator_Matrix   *mt = (Operator_Matrix *)op->data;
  const PetscInt    *cols;
  const PetscScalar *vals;
  PetscInt           nc;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < op->n; j++) d[j] = 0.0;
  for (PetscInt i = 0; i < op->m; i++) {
    PetscCall(MatGetRow(mt->A, i, &nc, &cols, &vals));
    for (PetscInt k = 0; k < nc; k++) d[cols[k]] += vals[k] * vals[k];
    PetscCall(MatRestoreRow(mt->A, i, &nc, &cols, &vals));
  }
  PetscFunctionReturn(0);
}

/* the checks of a CSR triple; what[] and group[] name the source in the messages (the file and the operator's group) */
static PetscErrorCode DpsOperatorMatrixCheckCSR(const char what[], const char group[], PetscInt m, PetscInt n, PetscInt nnz, const int64_t indptr[], const int64_t indices[], const PetscReal data[])
{
  PetscFunctionBegin;
  PetscCheck(indptr[0] == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s/indptr starts at %lld: CSR row pointers start at 0", what, group, (long long)indptr[0]);
  for (PetscInt i = 0; i < m; i++)
    PetscCheck(indptr[i + 1] >= indptr[i], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s/indptr decreases at row %" PetscInt_FMT " (%lld then %lld): CSR row pointers never decrease", what, group, i, (long long)indptr[i], (long long)indptr[i + 1]);
  PetscCheck(indptr[m] == nnz, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s/indptr ends at %lld but %s/data and %s/indices hold %" PetscInt_FMT " entries: the last row pointer is their length", what, group, (long long)indptr[m], group, group, nnz);
  for (PetscInt k = 0; k < nnz; k++) {
    PetscCheck(indices[k] >= 0 && indices[k] < n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s/indices holds %lld at entry %" PetscInt_FMT ": column indices must lie in [0, %" PetscInt_FMT ") (shape %" PetscInt_FMT " x %" PetscInt_FMT ")", what, group, (long long)indices[k], k, n, m, n);
    PetscCheck(!PetscIsInfOrNanReal(data[k]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s/data holds %g at entry %" PetscInt_FMT ": every value must be finite", what, group, (double)data[k], k);
  }
  PetscFunctionReturn(0);
}

/* assembles A from a CSR triple that has passed the checks */
static PetscErrorCode DpsOperatorMatrixAssemble(DpsOperator op, PetscInt m, PetscInt n, const int64_t indptr[], const int64_t indices[], const PetscReal data[])
{
  Operator_Matrix *mt = (Operator_Matrix *)op->data;
  PetscInt        *nnzrow, *cols, maxrow = 0;

  PetscFunctionBegin;
  PetscCall(MatDestroy(&mt->A));
  PetscCall(VecDestroy(&mt->vx));
  PetscCall(VecDestroy(&mt->vy));
  PetscCall(PetscMalloc1(m, &nnzrow));
  for (PetscInt i = 0; i < m; i++) {
    nnzrow[i] = PetscMin((PetscInt)(indptr[i + 1] - indptr[i]), n); /* duplicates make a row's count an upper bound */
    maxrow    = PetscMax(maxrow, (PetscInt)(indptr[i + 1] - indptr[i]));
  }
  PetscCall(MatCreateSeqAIJ(PETSC_COMM_SELF, m, n, 0, nnzrow, &mt->A));
  PetscCall(MatSetOption(mt->A, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
  PetscCall(PetscMalloc1(PetscMax(maxrow, 1), &cols));
  for (PetscInt i = 0; i < m; i++) {
    PetscInt len = (PetscInt)(indptr[i + 1] - indptr[i]);
    for (PetscInt k = 0; k < len; k++) cols[k] = (PetscInt)indices[indptr[i] + k];
    if (len) PetscCall(MatSetValues(mt->A, 1, &i, len, cols, data + indptr[i], ADD_VALUES)); /* repeated pairs add up */
  }
  PetscCall(MatAssemblyBegin(mt->A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(mt->A, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree(cols));
  PetscCall(PetscFree(nnzrow));
  PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, n, NULL, &mt->vx));
  PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, m, NULL, &mt->vy));
  op->m = m;
  op->n = n;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorMatrixSetCSR(DpsOperator op, PetscInt m, PetscInt n, const PetscInt indptr[], const PetscInt indices[], const PetscReal data[])
{
  PetscBool is;
  int64_t  *ip, *ix;
  PetscInt  nnz;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, DPSOPERATORMATRIX, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsOperatorMatrixSetCSR() needs a matrix operator");
  PetscCheck(!op->setupcalled, PETSC_COMM_SELF, PETSC_ERR_ORDER, "DpsOperatorMatrixSetCSR() after DpsOperatorSetUp()");
  PetscCheck(m >= 1 && n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a matrix operator needs m >= 1 rows and n >= 1 columns (got %" PetscInt_FMT " x %" PetscInt_FMT ")", m, n);
  nnz = indptr[m];
  PetscCheck(nnz >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "DpsOperatorMatrixSetCSR(): indptr[m] = %" PetscInt_FMT " is negative", nnz);
  PetscCall(PetscMalloc2(m + 1, &ip, PetscMax(nnz, 1), &ix));
  for (PetscInt i = 0; i <= m; i++) ip[i] = indptr[i];
  for (PetscInt k = 0; k < nnz; k++) ix[k] = indices[k];
  PetscCall(DpsOperatorMatrixCheckCSR("DpsOperatorMatrixSetCSR()", "argument", m, n, nnz, ip, ix, data));
  PetscCall(DpsOperatorMatrixAssemble(op, m, n, ip, ix, data));
  PetscCall(PetscFree2(ip, ix));
  PetscFunctionReturn(0);
}

/* a 1-D integer dataset of the group, checked for its class and length, read as int64 */
static PetscErrorCode ReadIndexDataset(hid_t file, const char fname[], const char path[], hsize_t len, const char meaning[], int64_t buf[])
{
  hsize_t dims[1];
  hid_t   d, type;
  H5T_class_t cls;

  PetscFunctionBegin;
  PetscCall(DpsH5GetDims(file, fname, path, 1, meaning, dims));
  d    = H5Dopen2(file, path, H5P_DEFAULT);
  type = H5Dget_type(d);
  cls  = H5Tget_class(type);
  H5Tclose(type);
  H5Dclose(d);
  PetscCheck(cls == H5T_INTEGER, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s holds floating-point values: CSR %s must be integers", fname, path, meaning);
  PetscCheck(dims[0] == len, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %llu entries, expected %llu %s", fname, path, (unsigned long long)dims[0], (unsigned long long)len, meaning);
  if (len) PetscCall(DpsH5ReadRowsTyped(file, fname, path, 0, (PetscInt)len, 1, buf, H5T_NATIVE_INT64));
  PetscFunctionReturn(0);
}

/* /operator: attribute shape = (m, n); datasets data [nnz] (float), indices [nnz] and indptr [m + 1] (integers) */
static PetscErrorCode DpsOperatorLoad_Matrix(DpsOperator op, hid_t file, const char fname[])
{
  PetscInt   shape[2], ns;
  hsize_t    dims[1];
  int64_t   *indptr, *indices;
  PetscReal *data;
  char       path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(DpsH5ReadIntArrayAttribute(file, fname, op->group, "shape", 2, &ns, shape));
  PetscCheck(ns == 2 && shape[0] >= 1 && shape[1] >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute shape of %s must be (m, n) with m, n >= 1", fname, op->group);
  PetscCall(DpsOperatorDatasetName(op, "data", path, sizeof(path)));
  PetscCall(DpsH5GetDims(file, fname, path, 1, "(nnz)", dims));
  PetscCheck(dims[0] >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is empty: an all-zero matrix observes nothing", fname, path);
  PetscCheck(dims[0] <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %llu nonzeros, more than the %d that one rank can index", fname, path, (unsigned long long)dims[0], (int)PETSC_MAX_INT);
  PetscCall(PetscMalloc3(shape[0] + 1, &indptr, (size_t)dims[0], &indices, (size_t)dims[0], &data));
  PetscCall(DpsH5ReadAll(file, fname, path, data));
  PetscCall(DpsOperatorDatasetName(op, "indices", path, sizeof(path)));
  PetscCall(ReadIndexDataset(file, fname, path, dims[0], "column indices (one per entry of data)", indices));
  PetscCall(DpsOperatorDatasetName(op, "indptr", path, sizeof(path)));
  PetscCall(ReadIndexDataset(file, fname, path, (hsize_t)shape[0] + 1, "row pointers (m + 1, m from the attribute shape)", indptr));
  PetscCall(DpsOperatorMatrixCheckCSR(fname, op->group, shape[0], shape[1], (PetscInt)dims[0], indptr, indices, data));
  PetscCall(DpsOperatorMatrixAssemble(op, shape[0], shape[1], indptr, indices, data));
  PetscCall(PetscFree3(indptr, indices, data));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteInt64(hid_t file, const char path[], hsize_t len, const int64_t buf[])
{
  hid_t  space, d;
  herr_t err;

  PetscFunctionBegin;
  space = H5Screate_simple(1, &len, NULL);
  d     = H5Dcreate2(file, path, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  err   = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  if (d >= 0) H5Dclose(d);
  H5Sclose(space);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write dataset %s", path);
  PetscFunctionReturn(0);
}

/* the assembled matrix (duplicates summed, columns sorted) in the same CSR form */
static PetscErrorCode DpsOperatorSave_Matrix(DpsOperator op, hid_t file)
{
  Operator_Matrix   *mt = (Operator_Matrix *)op->data;
  MatInfo            info;
  int64_t           *indptr, *indices;
  PetscReal         *data;
  PetscInt           nnz = 0, nc, shape[2] = {op->m, op->n};
  const PetscInt    *cols;
  const PetscScalar *vals;
  hsize_t            len;
  char               path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(MatGetInfo(mt->A, MAT_LOCAL, &info));
  PetscCall(PetscMalloc3(op->m + 1, &indptr, (PetscInt)info.nz_used + 1, &indices, (PetscInt)info.nz_used + 1, &data));
  indptr[0] = 0;
  for (PetscInt i = 0; i < op->m; i++) {
    PetscCall(MatGetRow(mt->A, i, &nc, &cols, &vals));
    for (PetscInt k = 0; k < nc; k++) {
      indices[nnz] = cols[k];
      data[nnz++]  = vals[k];
    }
    PetscCall(MatRestoreRow(mt->A, i, &nc, &cols, &vals));
    indptr[i + 1] = nnz;
  }
  PetscCall(DpsH5WriteIntArrayAttribute(file, op->group, "shape", 2, shape));
  len = (hsize_t)nnz;
  PetscCall(DpsOperatorDatasetName(op, "data", path, sizeof(path)));
  PetscCall(DpsH5WriteAll(file, path, 1, &len, data));
  PetscCall(DpsOperatorDatasetName(op, "indices", path, sizeof(path)));
  PetscCall(WriteInt64(file, path, len, indices));
  PetscCall(DpsOperatorDatasetName(op, "indptr", path, sizeof(path)));
  PetscCall(WriteInt64(file, path, (hsize_t)op->m + 1, indptr));
  PetscCall(PetscFree3(indptr, indices, data));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorView_Matrix(DpsOperator op, PetscViewer viewer)
{
  Operator_Matrix *mt = (Operator_Matrix *)op->data;
  MatInfo          info;

  PetscFunctionBegin;
  PetscCall(MatGetInfo(mt->A, MAT_LOCAL, &info));
  PetscCall(PetscViewerASCIIPrintf(viewer, "sparse (SeqAIJ), %.0f nonzeros\n", info.nz_used));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorDestroy_Matrix(DpsOperator op)
{
  Operator_Matrix *mt = (Operator_Matrix *)op->data;

  PetscFunctionBegin;
  PetscCall(MatDestroy(&mt->A));
  PetscCall(VecDestroy(&mt->vx));
  PetscCall(VecDestroy(&mt->vy));
  PetscCall(PetscFree(op->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate_Matrix(DpsOperator op)
{
  Operator_Matrix *mt;

  PetscFunctionBegin;
  PetscCall(PetscNew(&mt));
  op->data                = mt;
  op->ops->apply          = DpsOperatorApply_Matrix;
  op->ops->applytranspose = DpsOperatorApplyTranspose_Matrix;
  op->ops->normaldiagonal = DpsOperatorNormalDiagonal_Matrix;
  op->ops->load           = DpsOperatorLoad_Matrix;
  op->ops->save           = DpsOperatorSave_Matrix;
  op->ops->view           = DpsOperatorView_Matrix;
  op->ops->destroy        = DpsOperatorDestroy_Matrix;
  PetscFunctionReturn(0);
}
