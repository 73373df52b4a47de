/* Compressed sensing (methods.md sections 7 and 8): a dense m x n matrix stored in the input file, applied with
   BLAS GEMV. The MCGdiff benchmark builds it as U diag(s) V^T (dpsolve simulate). */
#include <dpsolve/dpsolve.h>
#include <petscblaslapack.h>
#include "operators/operatorimpl.h"
#include "io/h5.h"

typedef struct {
  PetscReal *A;  /* [m x n], row-major */
  PetscReal *U;  /* [m x m] column-major left singular vectors, once the SVD is set up */
  PetscReal *VT; /* [n x n] column-major V^T */
} Operator_CS;

/* Row-major A is column-major A^T: y = A x is GEMV with 'T' on the column-major n x m array */
static PetscErrorCode DpsOperatorGemv_CS(DpsOperator op, const char *trans, const PetscReal in[], PetscReal out[])
{
  Operator_CS *cs = (Operator_CS *)op->data;
  PetscBLASInt n, m, one = 1;
  PetscScalar  alpha = 1.0, beta = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(op->n, &n));
  PetscCall(PetscBLASIntCast(op->m, &m));
  PetscCallBLAS("BLASgemv", BLASgemv_(trans, &n, &m, &alpha, cs->A, &n, in, &one, &beta, out, &one));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApply_CS(DpsOperator op, const PetscReal x[], PetscReal y[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorGemv_CS(op, "T", x, y));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorApplyTranspose_CS(DpsOperator op, const PetscReal y[], PetscReal x[])
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorGemv_CS(op, "N", y, x));
  PetscFunctionReturn(0);
}

/* diag(A^T A)_j = sum_i A_ij^2, for Jacobi */
static PetscErrorCode DpsOperatorNormalDiagonal_CS(DpsOperator op, PetscReal d[])
{
  Operator_CS *cs = (Operator_CS *)op->data;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < op->n; j++) d[j] = 0.0;
  for (PetscInt i = 0; i < op->m; i++)
    for (PetscInt j = 0; j < op->n; j++) d[j] += cs->A[i * op->n + j] * cs->A[i * op->n + j];
  PetscFunctionReturn(0);
}

/* A = U diag(sv) V^T by LAPACK, once per run. Row-major A is column-major A^T = V diag(sv) U^T, so gesvd of that
   n x m matrix returns V as its left vectors and U^T as its right ones. */
static PetscErrorCode DpsOperatorSVDSetUp_CS(DpsOperator op)
{
  Operator_CS *cs = (Operator_CS *)op->data;
  PetscReal   *a, *s, *Vcm, *UTcm, *work, wq;
  PetscBLASInt bn, bm, lwork = -1, info;
  PetscInt     k = PetscMin(op->m, op->n);

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(op->n, &bn));
  PetscCall(PetscBLASIntCast(op->m, &bm));
  /* U (m x m) and V (n x n) are held whole: refuse before their sizes wrap */
  PetscCheck(PetscInt64Mult(op->n, op->n) <= PETSC_MAX_INT && PetscInt64Mult(op->m, op->m) <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_SUP, "the SVD of the %" PetscInt_FMT " x %" PetscInt_FMT " cs matrix (which ddrm needs) is too large: U and V would need %.1f GiB", op->m, op->n,
             ((double)op->m * op->m + (double)op->n * op->n) * sizeof(PetscReal) / 1073741824.0);
  PetscCall(PetscMalloc4(op->m * op->n, &a, k, &s, op->n * op->n, &Vcm, op->m * op->m, &UTcm));
  PetscCall(PetscArraycpy(a, cs->A, op->m * op->n));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("A", "A", &bn, &bm, a, &bn, s, Vcm, &bn, UTcm, &bm, &wq, &lwork, &info));
  lwork = (PetscBLASInt)wq;
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("A", "A", &bn, &bm, a, &bn, s, Vcm, &bn, UTcm, &bm, work, &lwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "SVD of the cs matrix failed (LAPACK info %d)", (int)info);
  PetscCall(PetscFree(work));
  PetscCall(PetscCalloc1(op->n, &op->sv));
  PetscCall(PetscArraycpy(op->sv, s, k));
  /* V^T as column-major n x n is the transpose of Vcm; U = (U^T)^T */
  PetscCall(PetscMalloc2(op->n * op->n, &cs->VT, op->m * op->m, &cs->U));
  for (PetscInt i = 0; i < op->n; i++)
    for (PetscInt j = 0; j < op->n; j++) cs->VT[i + j * op->n] = Vcm[j + i * op->n];
  for (PetscInt i = 0; i < op->m; i++)
    for (PetscInt j = 0; j < op->m; j++) cs->U[i + j * op->m] = UTcm[j + i * op->m];
  PetscCall(PetscFree4(a, s, Vcm, UTcm));
  PetscFunctionReturn(0);
}

/* out = op(M) in with a column-major square or rectangular M */
static PetscErrorCode DpsGemvColumnMajor(const char *trans, PetscInt rows, PetscInt cols, const PetscReal M[], const PetscReal in[], PetscReal out[])
{
  PetscBLASInt br, bc, one = 1;
  PetscScalar  alpha = 1.0, beta = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(rows, &br));
  PetscCall(PetscBLASIntCast(cols, &bc));
  PetscCallBLAS("BLASgemv", BLASgemv_(trans, &br, &bc, &alpha, M, &br, in, &one, &beta, out, &one));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorVT_CS(DpsOperator op, const PetscReal x[], PetscReal xbar[])
{
  PetscFunctionBegin;
  PetscCall(DpsGemvColumnMajor("N", op->n, op->n, ((Operator_CS *)op->data)->VT, x, xbar));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorV_CS(DpsOperator op, const PetscReal xbar[], PetscReal x[])
{
  PetscFunctionBegin;
  PetscCall(DpsGemvColumnMajor("T", op->n, op->n, ((Operator_CS *)op->data)->VT, xbar, x));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorUT_CS(DpsOperator op, const PetscReal y[], PetscReal ybar[])
{
  PetscFunctionBegin;
  PetscCall(DpsGemvColumnMajor("T", op->m, op->m, ((Operator_CS *)op->data)->U, y, ybar));
  PetscFunctionReturn(0);
}

/* takes A (m x n, row-major, PetscMalloc'ed) as the operator's matrix, without a copy: the largest matrices fit once */
static PetscErrorCode DpsOperatorCSTakeMatrix(DpsOperator op, PetscInt m, PetscInt n, PetscReal *A)
{
  Operator_CS *cs = (Operator_CS *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscFree(cs->A));
  cs->A = A;
  PetscCall(PetscFree2(cs->VT, cs->U));
  PetscCall(PetscFree(op->sv));
  op->m = m;
  op->n = n;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCSSetMatrix(DpsOperator op, PetscInt m, PetscInt n, const PetscReal A[])
{
  PetscBool  is;
  PetscInt   mn;
  PetscReal *copy;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)op, DPSOPERATORCS, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsOperatorCSSetMatrix() needs a cs operator");
  PetscCheck(m >= 1 && n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a cs matrix needs m >= 1 rows and n >= 1 columns (got %" PetscInt_FMT " x %" PetscInt_FMT ")", m, n);
  PetscCall(PetscIntMultError(m, n, &mn));
  PetscCall(PetscMalloc1(mn, &copy));
  PetscCall(PetscArraycpy(copy, A, mn));
  PetscCall(DpsOperatorCSTakeMatrix(op, m, n, copy));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorLoad_CS(DpsOperator op, hid_t file, const char fname[])
{
  hsize_t        dims[2];
  PetscReal     *A;
  double         count, gib;
  PetscErrorCode ierr;
  char           path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(DpsOperatorDatasetName(op, "matrix", path, sizeof(path)));
  PetscCall(DpsH5GetDims(file, fname, path, 2, "(m, n)", dims));
  count = (double)dims[0] * (double)dims[1];
  gib   = count * sizeof(PetscReal) / 1073741824.0;
  PetscCheck(dims[0] >= 1 && dims[1] >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is %llu x %llu: the operator needs m >= 1 rows and n >= 1 columns", fname, path, (unsigned long long)dims[0], (unsigned long long)dims[1]);
  /* every rank holds A whole and BLAS applies it: its entry count must be a PetscInt (and each size a BLAS int) */
  PetscCheck(count <= (double)PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is %llu x %llu, too large: its %.4g entries exceed the %" PetscInt_FMT " that one rank can index, and would need %.1f GiB of memory on every rank", fname, path,
             (unsigned long long)dims[0], (unsigned long long)dims[1], count, (PetscInt)PETSC_MAX_INT, gib);
  /* an allocation that fails says how much it asked for, not PETSc's bare "Out of memory" */
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = PetscMalloc1((size_t)count, &A);
  PetscCall(PetscPopErrorHandler());
  PetscCheck(!ierr, PETSC_COMM_SELF, PETSC_ERR_MEM, "%s: dataset %s is %llu x %llu: cannot allocate the %.1f GiB it needs on this rank", fname, path, (unsigned long long)dims[0], (unsigned long long)dims[1], gib);
  PetscCall(DpsH5ReadAll(file, fname, path, A));
  PetscCall(DpsH5CheckFinite(fname, path, 0, (PetscInt)dims[0], (PetscInt)dims[1], A));
  PetscCall(DpsOperatorCSTakeMatrix(op, (PetscInt)dims[0], (PetscInt)dims[1], A));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorSave_CS(DpsOperator op, hid_t file)
{
  Operator_CS *cs      = (Operator_CS *)op->data;
  hsize_t      dims[2] = {(hsize_t)op->m, (hsize_t)op->n};
  char         path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(DpsOperatorDatasetName(op, "matrix", path, sizeof(path)));
  PetscCall(DpsH5WriteAll(file, path, 2, dims, cs->A));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsOperatorDestroy_CS(DpsOperator op)
{
  Operator_CS *cs = (Operator_CS *)op->data;

  PetscFunctionBegin;
  PetscCall(PetscFree(cs->A));
  PetscCall(PetscFree2(cs->VT, cs->U));
  PetscCall(PetscFree(op->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOperatorCreate_CS(DpsOperator op)
{
  Operator_CS *cs;

  PetscFunctionBegin;
  PetscCall(PetscNew(&cs));
  op->data                = cs;
  op->ops->apply          = DpsOperatorApply_CS;
  op->ops->applytranspose = DpsOperatorApplyTranspose_CS;
  op->ops->normaldiagonal = DpsOperatorNormalDiagonal_CS;
  op->ops->svdsetup       = DpsOperatorSVDSetUp_CS;
  op->ops->vt             = DpsOperatorVT_CS;
  op->ops->v              = DpsOperatorV_CS;
  op->ops->ut             = DpsOperatorUT_CS;
  op->ops->load           = DpsOperatorLoad_CS;
  op->ops->save           = DpsOperatorSave_CS;
  op->ops->destroy        = DpsOperatorDestroy_CS;
  PetscFunctionReturn(0);
}
