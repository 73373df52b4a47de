/* DpsOutput: the output file of a run (include/dpsolve/output.h), written collectively beside its final name as
   <path>.partial and renamed when complete. */
#include <dpsolve/dpsolve.h>
#include <unistd.h>
#include <errno.h>
#include "io/h5.h"

struct _n_DpsOutput {
  MPI_Comm  comm;
  char      path[PETSC_MAX_PATH_LEN], partial[PETSC_MAX_PATH_LEN + 16];
  hid_t     file;
  PetscInt  N, S, d, m;
  PetscBool has_x0;
};

/* One chunk per input means an index entry per input and dataset; HDF5 keeps the index nodes it has touched in
   its metadata cache, up to 32 MB by default, so a run of many inputs grows by a few hundred bytes per input.
   Rows are written once and never read back: a small cache costs nothing and keeps the memory flat. */
static PetscErrorCode DpsOutputLimitCache(DpsOutput out)
{
  H5AC_cache_config_t c;

  PetscFunctionBegin;
  c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  PetscCheck(H5Fget_mdc_config(out->file, &c) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "%s: cannot read the metadata cache configuration", out->partial);
  c.set_initial_size = 1;
  c.initial_size     = 1 << 20;
  c.min_size         = 1 << 20;
  c.max_size         = 1 << 20;
  c.incr_mode        = H5C_incr__off;
  c.flash_incr_mode  = H5C_flash_incr__off;
  c.decr_mode        = H5C_decr__off;
  PetscCheck(H5Fset_mdc_config(out->file, &c) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "%s: cannot limit the metadata cache", out->partial);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputPartialPath(const char path[], char partial[], size_t len)
{
  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(partial, len, "%s.partial", path));
  PetscFunctionReturn(0);
}

/* The output's sizes and names; the file itself is written beside its final name, <path>.partial, and renamed
   when complete, so a finished file is never replaced by a half-written one */
static PetscErrorCode DpsOutputNew(MPI_Comm comm, const char path[], PetscInt N, PetscInt S, PetscInt d, PetscInt m, PetscBool has_x0, DpsOutput *output)
{
  DpsOutput out;

  PetscFunctionBegin;
  PetscCall(PetscNew(&out));
  out->comm   = comm;
  out->file   = -1;
  out->N      = N;
  out->S      = S;
  out->d      = d;
  out->m      = m;
  out->has_x0 = has_x0;
  PetscCall(PetscStrncpy(out->path, path, sizeof(out->path)));
  PetscCall(DpsOutputPartialPath(path, out->partial, sizeof(out->partial)));
  *output = out;
  PetscFunctionReturn(0);
}

/* the datasets of a new output, allocated at once (HDF5 writes their fill value, zero: /done says "not done") */
static PetscErrorCode DpsOutputCreateDatasets(DpsOutput out)
{
  const PetscInt N = out->N, S = out->S, d = out->d, m = out->m;
  hsize_t        dsamp[3] = {(hsize_t)N, (hsize_t)S, (hsize_t)d}, dx[2] = {(hsize_t)N, (hsize_t)d}, dy[2] = {(hsize_t)N, (hsize_t)m}, dn[1] = {(hsize_t)N};
  int64_t        zero     = 0;

  PetscFunctionBegin;
  PetscCall(DpsH5Create(out->comm, out->partial, &out->file));
  PetscCall(DpsOutputLimitCache(out));
  PetscCall(DpsH5CreateDataset(out->file, "/samples", 3, dsamp, H5T_NATIVE_DOUBLE));
  if (S > 1) {
    PetscCall(DpsH5CreateDataset(out->file, "/mean", 2, dx, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5CreateDataset(out->file, "/std", 2, dx, H5T_NATIVE_DOUBLE));
  }
  PetscCall(DpsH5CreateDataset(out->file, "/y", 2, dy, H5T_NATIVE_DOUBLE));
  if (out->has_x0) PetscCall(DpsH5CreateDataset(out->file, "/x0", 2, dx, H5T_NATIVE_DOUBLE));
  PetscCall(DpsH5CreateDataset(out->file, "/done", 1, dn, H5T_NATIVE_UCHAR));
  /* not complete until DpsOutputSetComplete, the last change before the rename */
  PetscCall(DpsH5WriteInt64Attribute(out->file, "/", "complete", 1, &zero));
  PetscFunctionReturn(0);
}

/* After a failed write (a full disk): the partial file goes, on every rank that failed (any rank may remove it:
   the one that failed may not be rank 0, and the others may never get here). Any earlier output is untouched. */
static void DpsOutputDiscard(DpsOutput out)
{
  PetscErrorCode ierr;

  (void)unlink(out->partial);
  if (out->file >= 0) {
    ierr = PetscPushErrorHandler(PetscIgnoreErrorHandler, NULL);
    if (!ierr) {
      (void)DpsH5Close(&out->file); /* its error (the same full disk) is not the first one: the caller has that */
      (void)PetscPopErrorHandler();
    }
  }
}

/* The sizes the output file would have, checked before anything is made: each product fits the types that hold
   it (PetscInt for the rows a rank writes, 64-bit for the file), and the error says what and how much */
static PetscErrorCode DpsOutputCheckSizes(DpsOutput out)
{
  PetscInt64 rowlen = (PetscInt64)out->S * out->d; /* < 2^62 */
  uint64_t   values;
  PetscBool  big;

  PetscFunctionBegin;
  PetscCheck(out->N >= 1 && out->S >= 1 && out->d >= 1 && out->m >= 1, out->comm, PETSC_ERR_ARG_OUTOFRANGE, "%s: cannot make an output of %" PetscInt_FMT " inputs x %" PetscInt_FMT " draws x %" PetscInt_FMT " values (m = %" PetscInt_FMT "): every size must be at least 1", out->path, out->N, out->S, out->d, out->m);
  /* (PETSc's PetscIntMultError would say only "product of two integers overflows") */
  big = (PetscBool)(rowlen > PETSC_MAX_INT);
  PetscCheck(!big, out->comm, PETSC_ERR_INT_OVERFLOW, "%s: -samples %" PetscInt_FMT " draws x d = %" PetscInt_FMT " values = %.0f values per input (%.3g GiB), more than the %" PetscInt_FMT " that this build's %d-bit PetscInt can index", out->path, out->S, out->d, (double)out->S * (double)out->d, 8.0 * out->S * out->d / 1073741824.0, PETSC_MAX_INT, (int)(8 * sizeof(PetscInt)));
  big = (PetscBool)__builtin_mul_overflow((uint64_t)out->N, (uint64_t)rowlen, &values) || values > UINT64_MAX / 8;
  PetscCheck(!big, out->comm, PETSC_ERR_INT_OVERFLOW, "%s: /samples of %" PetscInt_FMT " inputs x %" PetscInt_FMT " draws x %" PetscInt_FMT " values would need %.3g bytes, more than a 64-bit file offset can address", out->path, out->N, out->S, out->d, 8.0 * out->N * (double)rowlen);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputCreate(MPI_Comm comm, const char path[], PetscInt N, PetscInt S, PetscInt d, PetscInt m, PetscBool has_x0, DpsOutput *output)
{
  DpsOutput      out;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *output = NULL;
  PetscCall(DpsOutputNew(comm, path, N, S, d, m, has_x0, &out));
  ierr = DpsOutputCheckSizes(out);
  if (!ierr) {
    ierr = DpsOutputCreateDatasets(out);
    if (ierr) DpsOutputDiscard(out);
  }
  if (ierr) {
    PetscCall(PetscFree(out));
    PetscCall(ierr);
  }
  *output = out;
  PetscFunctionReturn(0);
}

/* Rank 0, serial HDF5: can the partial file of an interrupted run be continued? why[] is empty when it can. */
static PetscErrorCode DpsOutputCheckPartial(DpsOutput out, uint64_t run_id, char why[], size_t len)
{
  hid_t       f;
  int64_t     v = -1;
  hsize_t     dims[3];
  PetscBool   exists;
  PetscErrorCode ierr = 0;
  struct {
    const char *name;
    int         rank;
    hsize_t     dims[3];
    PetscBool   present;
  } want[] = {
    {"/samples", 3, {(hsize_t)out->N, (hsize_t)out->S, (hsize_t)out->d}, PETSC_TRUE      },
    {"/y",       2, {(hsize_t)out->N, (hsize_t)out->m, 0},               PETSC_TRUE      },
    {"/done",    1, {(hsize_t)out->N, 0, 0},                             PETSC_TRUE      },
    {"/x0",      2, {(hsize_t)out->N, (hsize_t)out->d, 0},               out->has_x0     },
    {"/mean",    2, {(hsize_t)out->N, (hsize_t)out->d, 0},               out->S > 1      },
    {"/std",     2, {(hsize_t)out->N, (hsize_t)out->d, 0},               out->S > 1      },
  };

  PetscFunctionBegin;
  why[0] = '\0';
  if (access(out->partial, F_OK)) {
    PetscCall(PetscSNPrintf(why, len, "%s not found", out->partial));
    PetscFunctionReturn(0);
  }
  DpsH5Init();
  f = H5Fopen(out->partial, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    PetscCall(PetscSNPrintf(why, len, "%s is not a readable HDF5 file", out->partial));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  if (H5Aexists_by_name(f, "/", "run_id", H5P_DEFAULT) <= 0 || DpsH5ReadInt64Attribute(f, out->partial, "/", "run_id", 1, &v) || (uint64_t)v != run_id) {
    PetscCall(PetscSNPrintf(why, len, "%s belongs to another run", out->partial));
  } else {
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]) && !why[0]; k++) {
      ierr = DpsH5Exists(f, want[k].name, &exists);
      if (ierr || exists != want[k].present) PetscCall(PetscSNPrintf(why, len, "%s: dataset %s is %s", out->partial, want[k].name, exists ? "unexpected" : "missing"));
      else if (exists && (DpsH5GetDims(f, out->partial, want[k].name, want[k].rank, "", dims) || memcmp(dims, want[k].dims, want[k].rank * sizeof(hsize_t)))) PetscCall(PetscSNPrintf(why, len, "%s: dataset %s has other dimensions", out->partial, want[k].name));
    }
  }
  PetscCall(PetscPopErrorHandler());
  H5Fclose(f);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputReopen(MPI_Comm comm, const char path[], PetscInt N, PetscInt S, PetscInt d, PetscInt m, PetscBool has_x0, uint64_t run_id, DpsOutput *output, char why[], size_t len)
{
  DpsOutput   out;
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCall(DpsOutputNew(comm, path, N, S, d, m, has_x0, &out));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  /* rank 0 looks first, alone: a damaged file must not stop some ranks inside a collective open */
  if (rank == 0) PetscCall(DpsOutputCheckPartial(out, run_id, why, len));
  PetscCallMPI(MPI_Bcast(why, (PetscMPIInt)len, MPI_CHAR, 0, comm));
  if (why[0]) {
    PetscCall(PetscFree(out));
    *output = NULL;
    PetscFunctionReturn(0);
  }
  PetscCall(DpsH5Open(comm, out->partial, PETSC_TRUE, &out->file));
  PetscCall(DpsOutputLimitCache(out));
  *output = out;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputReadDone(DpsOutput out, PetscInt row0, PetscInt n, PetscBool done[])
{
  PetscReal *v;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(n, 1), &v));
  PetscCall(DpsH5ReadRows(out->file, out->partial, "/done", row0, n, 1, v));
  for (PetscInt i = 0; i < n; i++) done[i] = v[i] == 1 ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscFree(v));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputFlush(DpsOutput out)
{
  PetscFunctionBegin;
  PetscErrorCode ierr;

  /* with MPI-IO this is MPI_File_sync on every rank: the rows written so far are on disk */
  ierr = DpsH5Flush(out->file);
  if (ierr) {
    DpsOutputDiscard(out); /* (a failed flush, a full disk: the file is incomplete whatever the caller does) */
    PetscCall(ierr);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputSetComplete(DpsOutput out)
{
  int64_t one = 1;

  PetscFunctionBegin;
  PetscCall(DpsH5WriteInt64Attribute(out->file, "/", "complete", 1, &one));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputPeek(MPI_Comm comm, const char path[], PetscBool *complete, uint64_t *run_id)
{
  PetscMPIInt rank;
  int64_t     v[2] = {0, 0};

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && access(path, F_OK) == 0) {
    hid_t f;
    DpsH5Init();
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      if (DpsH5ReadInt64Attribute(f, path, "/", "complete", 1, &v[0])) v[0] = 0;
      if (DpsH5ReadInt64Attribute(f, path, "/", "run_id", 1, &v[1])) v[1] = 0;
      PetscCall(PetscPopErrorHandler());
      H5Fclose(f);
    }
  }
  PetscCallMPI(MPI_Bcast(v, 2, MPIU_INT64, 0, comm));
  *complete = v[0] == 1 ? PETSC_TRUE : PETSC_FALSE;
  *run_id   = (uint64_t)v[1];
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputGetFile(DpsOutput out, hid_t *file)
{
  PetscFunctionBegin;
  *file = out->file;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputWrite(DpsOutput out, PetscInt row0, PetscInt n, const PetscReal samples[], const PetscReal y[], const PetscReal x0[])
{
  const PetscInt S = out->S, d = out->d;
  PetscReal     *mean = NULL, *std = NULL;
  unsigned char *done;

  PetscFunctionBegin;
  PetscCall(DpsH5WriteRows(out->file, "/samples", row0, n, S * d, samples, H5T_NATIVE_DOUBLE));
  if (S > 1) {
    /* two-pass moments over the draws, in a fixed order: bit-identical whatever the batch */
    PetscCall(PetscCalloc2(PetscMax(n * d, 1), &mean, PetscMax(n * d, 1), &std));
    for (PetscInt i = 0; i < n; i++) {
      for (PetscInt k = 0; k < S; k++)
        for (PetscInt e = 0; e < d; e++) mean[i * d + e] += samples[(i * S + k) * d + e] / S;
      for (PetscInt k = 0; k < S; k++)
        for (PetscInt e = 0; e < d; e++) std[i * d + e] += PetscSqr(samples[(i * S + k) * d + e] - mean[i * d + e]) / (S - 1);
      for (PetscInt e = 0; e < d; e++) std[i * d + e] = PetscSqrtReal(std[i * d + e]);
    }
    PetscCall(DpsH5WriteRows(out->file, "/mean", row0, n, d, mean, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5WriteRows(out->file, "/std", row0, n, d, std, H5T_NATIVE_DOUBLE));
    PetscCall(PetscFree2(mean, std));
  }
  PetscCall(DpsH5WriteRows(out->file, "/y", row0, n, out->m, y, H5T_NATIVE_DOUBLE));
  if (out->has_x0) PetscCall(DpsH5WriteRows(out->file, "/x0", row0, n, d, x0, H5T_NATIVE_DOUBLE));
  PetscCall(PetscMalloc1(PetscMax(n, 1), &done));
  for (PetscInt i = 0; i < n; i++) done[i] = 1;
  PetscCall(DpsH5WriteRows(out->file, "/done", row0, n, 1, done, H5T_NATIVE_UCHAR));
  PetscCall(PetscFree(done));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputFinish(DpsOutput *out)
{
  PetscMPIInt    rank;
  int            err = 0;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  if (!*out) PetscFunctionReturn(0);
  ierr = DpsOutputFlush(*out);
  if (!ierr) ierr = DpsH5Close(&(*out)->file);
  if (ierr) {
    DpsOutputDiscard(*out);
    PetscCall(PetscFree(*out));
    PetscCall(ierr);
  }
  PetscCallMPI(MPI_Comm_rank((*out)->comm, &rank));
  /* durable before it takes its name, and the name durable before the caller drops its checkpoint */
  if (rank == 0) {
    if (DpsSyncPath((*out)->partial, PETSC_FALSE)) err = EIO;
    DpsKillPoint("output-rename");
    if (!err && rename((*out)->partial, (*out)->path)) err = errno;
    if (!err && DpsSyncPath((*out)->path, PETSC_TRUE)) err = EIO;
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, (*out)->comm));
  if (err && rank == 0) (void)unlink((*out)->partial);
  PetscCheck(!err, (*out)->comm, PETSC_ERR_FILE_WRITE, "cannot move finished output %s to %s: %s", (*out)->partial, (*out)->path, strerror(err));
  PetscCall(PetscFree(*out));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputClose(DpsOutput *out)
{
  PetscFunctionBegin;
  if (!*out) PetscFunctionReturn(0);
  PetscCall(DpsOutputFlush(*out));
  PetscCall(DpsH5Close(&(*out)->file));
  PetscCall(PetscFree(*out));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputAbort(DpsOutput *out)
{
  PetscMPIInt rank;

  PetscFunctionBegin;
  if (!*out) PetscFunctionReturn(0);
  PetscCall(DpsH5Close(&(*out)->file));
  PetscCallMPI(MPI_Comm_rank((*out)->comm, &rank));
  if (rank == 0) (void)unlink((*out)->partial);
  PetscCall(PetscFree(*out));
  PetscFunctionReturn(0);
}

