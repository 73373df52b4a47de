/* dpsolve check: validates an input file without sampling. The file's shapes and values (DpsDatasetOpen, the
   rows of /x0 and /y read and checked finite), the operator (loaded with the data shape) and the prior (its
   dimension and, for a UNet, its data shape) are checked as dpsolve run checks them; then the operator's
   identities are measured on random vectors (methods.md section 8) and printed as a table of relative errors:
     adjoint   max |<A x, y> - <x, A^T y>| / (|A x| |y|)
     inverse   max |(a I + b A^T A)^{-1} (a x + b A^T A x) - x| / |x|, for (a, b) = (1, 1), (0.1, 10)
     diagonal  max |diag(A^T A)_j - |A e_j|^2| / |A e_j|^2 over sampled j
     SVD       max |U^T A x - diag(sv) V^T x| / |A x| and |V V^T x - x| / |x|
   A measured error above -check_tol (1e-10) fails the check: exit status 65 after the table. */
#include "app/app.h"

typedef struct {
  const char *name;
  PetscReal   err;
  PetscBool   done;
} CheckRow;

static PetscReal Norm(PetscInt n, const PetscReal a[])
{
  PetscReal s = 0.0;
  for (PetscInt i = 0; i < n; i++) s += a[i] * a[i];
  return PetscSqrtReal(s);
}

static PetscReal Dot(PetscInt n, const PetscReal a[], const PetscReal b[])
{
  PetscReal s = 0.0;
  for (PetscInt i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static PetscErrorCode CheckOperatorIdentities(DpsOperator op, PetscInt pairs, CheckRow rows[5])
{
  PetscInt    m, n;
  PetscReal  *x, *y, *Ax, *Aty, *t, *u;
  PetscRandom rnd;
  PetscBool   has;

  PetscFunctionBegin;
  PetscCall(DpsOperatorGetSizes(op, &m, &n));
  PetscCall(PetscRandomCreate(PETSC_COMM_SELF, &rnd));
  PetscCall(PetscRandomSetInterval(rnd, -1.0, 1.0));
  PetscCall(PetscRandomSetSeed(rnd, 20250612));
  PetscCall(PetscRandomSeed(rnd));
  PetscCall(PetscMalloc6(n, &x, m, &y, m, &Ax, n, &Aty, PetscMax(m, n), &t, PetscMax(m, n), &u));
  for (PetscInt p = 0; p < pairs; p++) {
    for (PetscInt i = 0; i < n; i++) PetscCall(PetscRandomGetValueReal(rnd, &x[i]));
    for (PetscInt i = 0; i < m; i++) PetscCall(PetscRandomGetValueReal(rnd, &y[i]));
    PetscCall(DpsOperatorApplyArray(op, x, Ax));
    PetscCall(DpsOperatorApplyTransposeArray(op, y, Aty));
    rows[0].err  = PetscMax(rows[0].err, PetscAbsReal(Dot(m, Ax, y) - Dot(n, x, Aty)) / PetscMax(Norm(m, Ax) * Norm(m, y), PETSC_SMALL));
    rows[0].done = PETSC_TRUE;
    PetscCall(DpsOperatorHasNormalInverse(op, &has));
    if (has) {
      const PetscReal ab[2][2] = {
        {1.0, 1.0 },
        {0.1, 10.0}
      };
      Vec vin, vout;
      PetscCall(DpsOperatorApplyTransposeArray(op, Ax, Aty)); /* A^T A x */
      PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, n, t, &vin));
      PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, n, u, &vout));
      for (int c = 0; c < 2; c++) {
        for (PetscInt i = 0; i < n; i++) t[i] = ab[c][0] * x[i] + ab[c][1] * Aty[i];
        PetscCall(DpsOperatorApplyNormalInverse(op, ab[c][0], ab[c][1], vin, vout));
        for (PetscInt i = 0; i < n; i++) u[i] -= x[i];
        rows[1].err = PetscMax(rows[1].err, Norm(n, u) / Norm(n, x));
      }
      rows[1].done = PETSC_TRUE;
      PetscCall(VecDestroy(&vin));
      PetscCall(VecDestroy(&vout));
    }
    PetscCall(DpsOperatorHasSVD(op, &has));
    if (has) {
      const PetscReal *sv;
      const PetscInt   k0 = PetscMin(m, n);
      PetscCall(DpsOperatorGetSingularValues(op, &sv));
      PetscCall(DpsOperatorApplyUT(op, Ax, t));
      PetscCall(DpsOperatorApplyVT(op, x, u));
      for (PetscInt i = 0; i < k0; i++) t[i] -= sv[i] * u[i];
      rows[3].err = PetscMax(rows[3].err, Norm(k0, t) / PetscMax(Norm(m, Ax), PETSC_SMALL));
      PetscCall(DpsOperatorApplyV(op, u, t));
      for (PetscInt i = 0; i < n; i++) t[i] -= x[i];
      rows[4].err  = PetscMax(rows[4].err, Norm(n, t) / Norm(n, x));
      rows[3].done = rows[4].done = PETSC_TRUE;
    }
  }
  PetscCall(DpsOperatorHasNormalDiagonal(op, &has));
  if (has) {
    Vec        d;
    PetscReal *da;
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &d));
    PetscCall(DpsOperatorGetNormalDiagonal(op, d));
    PetscCall(VecGetArray(d, &da));
    for (PetscInt p = 0; p < pairs; p++) {
      PetscReal r, c2;
      PetscInt  j;
      PetscCall(PetscRandomGetValueReal(rnd, &r));
      j = PetscMin(n - 1, (PetscInt)((r + 1.0) / 2.0 * n));
      for (PetscInt i = 0; i < n; i++) x[i] = i == j;
      PetscCall(DpsOperatorApplyArray(op, x, Ax));
      c2          = Dot(m, Ax, Ax);
      rows[2].err = PetscMax(rows[2].err, PetscAbsReal(da[j] - c2) / PetscMax(c2, PETSC_SMALL));
    }
    rows[2].done = PETSC_TRUE;
    PetscCall(VecRestoreArray(d, &da));
    PetscCall(VecDestroy(&d));
  }
  PetscCall(PetscFree6(x, y, Ax, Aty, t, u));
  PetscCall(PetscRandomDestroy(&rnd));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsAppCheck(MPI_Comm comm)
{
  char            input[PETSC_MAX_PATH_LEN] = "";
  PetscBool       hasin, hasx0, failed = PETSC_FALSE;
  PetscInt        pairs = 5, N, d, m, nshape, shape[8], opshape[3];
  PetscReal       tol = 1e-10, *y = NULL, *x0 = NULL;
  DpsDataset      data;
  DpsOperator     op;
  DpsScore        score;
  DpsSchedule     schedule;
  DpsOperatorType type;
  const char     *stype;
  CheckRow        rows[5] = {
    {"adjoint <Ax, y> = <x, A^T y>",           0, PETSC_FALSE},
    {"inverse of a I + b A^T A",               0, PETSC_FALSE},
    {"diag(A^T A)",                            0, PETSC_FALSE},
    {"SVD: U^T A x = diag(sv) V^T x",          0, PETSC_FALSE},
    {"SVD: V V^T x = x",                       0, PETSC_FALSE}
  };

  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "dpsolve check: validate an input file without sampling", NULL);
  PetscCall(PetscOptionsString("-input", "Input file to check", NULL, input, input, sizeof(input), &hasin));
  PetscCall(DpsOptionsInt("-check_pairs", "Random vectors per identity", NULL, pairs, &pairs, NULL));
  PetscCall(PetscOptionsReal("-check_tol", "Largest relative error that passes", NULL, tol, &tol, NULL));
  PetscOptionsEnd();
  if (DpsAppHelpOnly()) PetscFunctionReturn(0);
  PetscCheck(hasin, comm, PETSC_ERR_USER_INPUT, "dpsolve check needs -input <in.h5>");
  PetscCheck(pairs >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-check_pairs %" PetscInt_FMT " must be at least 1", pairs);
  PetscCheck(tol > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-check_tol %g must be positive", (double)tol);

  PetscCall(DpsDatasetOpen(comm, input, &data));
  PetscCall(DpsOperatorCreate(comm, &op));
  PetscCall(DpsDatasetLoadOperator(data, op));
  PetscCall(DpsOperatorSetUp(op));
  PetscCall(DpsScoreCreate(comm, &score));
  PetscCall(DpsDatasetLoadScore(data, score));
  PetscCall(DpsScoreSetFromOptions(score));
  /* the schedule too: a model's configuration (a file in configs/models/) sets both, and check takes it as run does */
  PetscCall(DpsScheduleCreate(comm, &schedule));
  PetscCall(DpsScheduleSetFromOptions(schedule));
  PetscCall(DpsScheduleSetUp(schedule));
  PetscCall(DpsOptionsCheckAllUsed(comm, "check"));
  /* every row of /x0 and /y (this rank's shard) read and checked finite */
  PetscCall(DpsDatasetHasGroundTruth(data, &hasx0));
  if (hasx0) PetscCall(DpsDatasetReadGroundTruth(data, &x0));
  PetscCall(DpsDatasetReadMeasurements(data, op, 0, &y));
  PetscCall(DpsDatasetGetSizes(data, &N, &d, &m));
  PetscCall(DpsDatasetGetShape(data, &nshape, shape));
  PetscCall(DpsOperatorGetType(op, &type));
  PetscCall(PetscObjectGetType((PetscObject)score, &stype));
  {
    PetscBool has;
    PetscCall(DpsOperatorGetDataShape(op, &has, opshape));
  }
  PetscCall(PetscPrintf(comm, "%s: %" PetscInt_FMT " inputs, d = %" PetscInt_FMT " (operator's (C, H, W) = (%" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ")), m = %" PetscInt_FMT "; /x0 %s, /y %s; values finite\n", input, N, d, opshape[0], opshape[1], opshape[2], m, hasx0 ? "present" : "absent",
                        "read or simulated"));
  PetscCall(PetscPrintf(comm, "operator %s: loaded; prior %s: dimension and data shape agree\n", type, stype));
  PetscCall(CheckOperatorIdentities(op, pairs, rows));
  PetscCall(PetscPrintf(comm, "%-34s %-14s %s\n", "identity", "rel. error", "verdict"));
  for (int r = 0; r < 5; r++) {
    if (!rows[r].done) {
      PetscCall(PetscPrintf(comm, "%-34s %-14s %s\n", rows[r].name, "-", "not offered"));
      continue;
    }
    PetscCall(PetscPrintf(comm, "%-34s %-14.3e %s\n", rows[r].name, (double)rows[r].err, rows[r].err <= tol ? "ok" : "FAILED"));
    failed = failed || !(rows[r].err <= tol);
  }
  PetscCall(PetscFree(y));
  PetscCall(PetscFree(x0));
  PetscCall(DpsScheduleDestroy(&schedule));
  PetscCall(DpsScoreDestroy(&score));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(DpsDatasetClose(&data));
  PetscCheck(!failed, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the operator fails an identity above (tolerance -check_tol %g)", input, (double)tol);
  PetscCall(PetscPrintf(comm, "%s: all checks passed\n", input));
  PetscFunctionReturn(0);
}
