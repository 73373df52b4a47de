#include <dpsolve/dpsolve.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include "io/h5.h"
#include "io/ioimpl.h"

struct _n_DpsDataset {
  MPI_Comm  comm;
  char      filename[PETSC_MAX_PATH_LEN];
  hid_t     file;
  PetscInt  N, d, m;
  PetscInt  nshape, shape[DPS_H5_MAX_RANK];
  PetscReal sigma_y;
  PetscBool has_y, has_x0;
  PetscInt  lo, hi;
};

PetscErrorCode DpsShard(PetscInt N, PetscMPIInt rank, PetscMPIInt size, PetscInt *lo, PetscInt *hi)
{
  PetscInt base = N / size, extra = N % size;

  PetscFunctionBegin;
  *lo = rank * base + PetscMin(rank, extra);
  *hi = *lo + base + (rank < extra ? 1 : 0);
  PetscFunctionReturn(0);
}

static inline uint64_t DpsMix64(uint64_t z)
{
  /* splitmix64's finaliser: every input bit affects every output bit */
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t DpsChecksum(uint64_t salt, uint64_t position0, size_t n, const void *words)
{
  const unsigned char *w   = (const unsigned char *)words;
  uint64_t             sum = 0, v;

  for (size_t k = 0; k < n; k++) {
    memcpy(&v, w + 8 * k, 8);
    sum += DpsMix64(v ^ DpsMix64(salt + position0 + k));
  }
  return sum;
}

uint64_t DpsChecksumSalt(const char name[])
{
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

  for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
  return DpsMix64(h);
}

PetscErrorCode DpsDatasetOpen(MPI_Comm comm, const char filename[], DpsDataset *dataset)
{
  DpsDataset  ds;
  hsize_t     dims[2];
  PetscMPIInt rank, size;
  PetscInt    shapeprod = 1;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ds));
  ds->comm = comm;
  ds->file = -1;
  PetscCall(PetscStrncpy(ds->filename, filename, sizeof(ds->filename)));
  PetscCall(DpsH5Open(comm, filename, PETSC_FALSE, &ds->file));
  PetscCall(DpsH5Exists(ds->file, "/y", &ds->has_y));
  PetscCall(DpsH5Exists(ds->file, "/x0", &ds->has_x0));
  PetscCheck(ds->has_y || ds->has_x0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /y not found (expected 2 dims (N, m)), and no /x0 to simulate it from", filename);
  if (ds->has_y) {
    PetscCall(DpsH5GetDims(ds->file, filename, "/y", 2, "(N, m)", dims));
    ds->N = (PetscInt)dims[0];
    ds->m = (PetscInt)dims[1];
  }
  if (ds->has_x0) {
    PetscCall(DpsH5GetDims(ds->file, filename, "/x0", 2, "(N, d)", dims));
    PetscCheck(!ds->has_y || (PetscInt)dims[0] == ds->N, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /x0 has %llu inputs but /y has %" PetscInt_FMT, filename, (unsigned long long)dims[0], ds->N);
    ds->N = (PetscInt)dims[0];
    ds->d = (PetscInt)dims[1];
  }
  PetscCheck(ds->N > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the data set holds no inputs (first dimension of /y or /x0 is 0)", filename);
  PetscCall(DpsH5ReadRealAttribute(ds->file, filename, "/", "sigma_y", &ds->sigma_y));
  PetscCheck(PetscIsNormalReal(ds->sigma_y) && ds->sigma_y > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute sigma_y = %g must be positive and finite", filename, (double)ds->sigma_y);
  PetscCall(DpsH5ReadIntArrayAttribute(ds->file, filename, "/", "data_shape", DPS_H5_MAX_RANK, &ds->nshape, ds->shape));
  for (PetscInt k = 0; k < ds->nshape; k++) shapeprod *= ds->shape[k];
  PetscCheck(!ds->has_x0 || shapeprod == ds->d, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute data_shape has %" PetscInt_FMT " entries in all but /x0 rows have %" PetscInt_FMT, filename, shapeprod, ds->d);
  ds->d = shapeprod;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(DpsShard(ds->N, rank, size, &ds->lo, &ds->hi));
  *dataset = ds;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetClose(DpsDataset *ds)
{
  PetscFunctionBegin;
  if (!*ds) PetscFunctionReturn(0);
  PetscCall(DpsH5Close(&(*ds)->file));
  PetscCall(PetscFree(*ds));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetLoadOperator(DpsDataset ds, DpsOperator op)
{
  PetscInt m, n;

  PetscFunctionBegin;
  PetscCall(DpsOperatorLoad(op, ds->file, ds->filename));
  PetscCall(DpsOperatorGetSizes(op, &m, &n));
  PetscCheck(n == ds->d, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the operator acts on %" PetscInt_FMT " entries but the data have %" PetscInt_FMT " (data_shape)", ds->filename, n, ds->d);
  PetscCheck(!ds->has_y || m == ds->m, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /y has %" PetscInt_FMT " entries per input, expected m = %" PetscInt_FMT " (the operator's rows)", ds->filename, ds->m, m);
  ds->m = m;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetLoadScore(DpsDataset ds, DpsScore score)
{
  PetscInt d;

  PetscFunctionBegin;
  PetscCall(DpsScoreLoad(score, ds->file, ds->filename));
  PetscCall(DpsScoreGetDimension(score, &d));
  PetscCheck(d == ds->d, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the prior (/prior/means) has dimension %" PetscInt_FMT " but the data have %" PetscInt_FMT, ds->filename, d, ds->d);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetGetSizes(DpsDataset ds, PetscInt *N, PetscInt *d, PetscInt *m)
{
  PetscFunctionBegin;
  if (N) *N = ds->N;
  if (d) *d = ds->d;
  if (m) *m = ds->m;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetGetNoise(DpsDataset ds, PetscReal *sigma_y)
{
  PetscFunctionBegin;
  *sigma_y = ds->sigma_y;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetHasGroundTruth(DpsDataset ds, PetscBool *has)
{
  PetscFunctionBegin;
  *has = ds->has_x0;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetGetShape(DpsDataset ds, PetscInt *n, PetscInt shape[])
{
  PetscFunctionBegin;
  *n = ds->nshape;
  for (PetscInt k = 0; k < ds->nshape; k++) shape[k] = ds->shape[k];
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetGetFilename(DpsDataset ds, const char **name)
{
  PetscFunctionBegin;
  *name = ds->filename;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetGetFile(DpsDataset ds, hid_t *file)
{
  PetscFunctionBegin;
  *file = ds->file;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetGetShard(DpsDataset ds, PetscInt *lo, PetscInt *hi)
{
  PetscFunctionBegin;
  *lo = ds->lo;
  *hi = ds->hi;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetReadGroundTruth(DpsDataset ds, PetscReal **x0)
{
  PetscInt n = ds->hi - ds->lo;

  PetscFunctionBegin;
  PetscCheck(ds->has_x0, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /x0 not found", ds->filename);
  PetscCall(PetscMalloc1(PetscMax(n * ds->d, 1), x0));
  PetscCall(DpsH5ReadRows(ds->file, ds->filename, "/x0", ds->lo, n, ds->d, *x0));
  PetscCall(DpsH5CheckFinite(ds->filename, "/x0", ds->lo, n, ds->d, *x0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetReadMeasurements(DpsDataset ds, DpsOperator op, PetscInt64 seed, PetscReal **y)
{
  PetscInt n = ds->hi - ds->lo;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(n * ds->m, 1), y));
  if (ds->has_y) {
    PetscCall(DpsH5ReadRows(ds->file, ds->filename, "/y", ds->lo, n, ds->m, *y));
    PetscCall(DpsH5CheckFinite(ds->filename, "/y", ds->lo, n, ds->m, *y));
  } else {
    PetscReal *x0, *noise;
    PetscCall(DpsDatasetReadGroundTruth(ds, &x0));
    PetscCall(PetscMalloc1(ds->m, &noise));
    for (PetscInt i = 0; i < n; i++) {
      DpsRandomAddress a = {seed, ds->lo + i, 0, 0, DPS_STREAM_SIMULATE_Y};
      PetscCall(DpsOperatorApplyArray(op, x0 + i * ds->d, *y + i * ds->m));
      PetscCall(DpsRandomNormals(a, ds->m, noise));
      for (PetscInt l = 0; l < ds->m; l++) (*y)[i * ds->m + l] += ds->sigma_y * noise[l];
    }
    PetscCall(PetscFree(noise));
    PetscCall(PetscFree(x0));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsCheckOutputPath(MPI_Comm comm, const char path[], PetscBool force)
{
  PetscMPIInt rank;
  int         exists = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) exists = access(path, F_OK) == 0;
  PetscCallMPI(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  PetscCheck(!exists || force, comm, PETSC_ERR_FILE_OPEN, "output file %s already exists: remove it, choose another -output, or pass -force to replace it (it is kept until the new one is complete)", path);
  PetscCall(DpsCheckWritableDirectory(comm, path, "output file"));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsCheckWritableDirectory(MPI_Comm comm, const char path[], const char what[])
{
  PetscMPIInt rank;
  int         err = 0;
  char        dir[PETSC_MAX_PATH_LEN], probe[PETSC_MAX_PATH_LEN + 32], *slash;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  slash = strrchr(dir, '/');
  if (slash == dir) dir[1] = '\0';
  else if (slash) *slash = '\0';
  else PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
  /* create a file there and remove it: permissions alone do not tell (root ignores them, a read-only mount
     does not), and failing now costs nothing while failing after the sampling would lose it */
  if (rank == 0) {
    int fd;
    PetscCall(PetscSNPrintf(probe, sizeof(probe), "%s/.dpsolve-probe-XXXXXX", dir));
    fd = mkstemp(probe);
    if (fd < 0) err = errno;
    else {
      close(fd);
      unlink(probe);
    }
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_OPEN, "cannot write the %s %s: its directory %s: %s", what, path, dir, strerror(err));
  PetscFunctionReturn(0);
}

struct _n_DpsOutput {
  MPI_Comm  comm;
  char      path[PETSC_MAX_PATH_LEN], partial[PETSC_MAX_PATH_LEN + 16];
  hid_t     file;
  PetscInt  N, S, d, m;
  PetscBool has_x0;
};

PetscErrorCode DpsOutputCreate(MPI_Comm comm, const char path[], PetscInt N, PetscInt S, PetscInt d, PetscInt m, PetscBool has_x0, DpsOutput *output)
{
  DpsOutput out;
  hsize_t   dsamp[3] = {(hsize_t)N, (hsize_t)S, (hsize_t)d}, dx[2] = {(hsize_t)N, (hsize_t)d}, dy[2] = {(hsize_t)N, (hsize_t)m}, dn[1] = {(hsize_t)N};

  PetscFunctionBegin;
  PetscCall(PetscNew(&out));
  out->comm   = comm;
  out->N      = N;
  out->S      = S;
  out->d      = d;
  out->m      = m;
  out->has_x0 = has_x0;
  PetscCall(PetscStrncpy(out->path, path, sizeof(out->path)));
  /* written beside its final name, then renamed: a finished file is never replaced by a half-written one */
  PetscCall(PetscSNPrintf(out->partial, sizeof(out->partial), "%s.partial", path));
  PetscCall(DpsH5Create(comm, out->partial, &out->file));
  PetscCall(DpsH5CreateDataset(out->file, "/samples", 3, dsamp, H5T_NATIVE_DOUBLE));
  if (S > 1) {
    PetscCall(DpsH5CreateDataset(out->file, "/mean", 2, dx, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5CreateDataset(out->file, "/std", 2, dx, H5T_NATIVE_DOUBLE));
  }
  PetscCall(DpsH5CreateDataset(out->file, "/y", 2, dy, H5T_NATIVE_DOUBLE));
  if (has_x0) PetscCall(DpsH5CreateDataset(out->file, "/x0", 2, dx, H5T_NATIVE_DOUBLE));
  PetscCall(DpsH5CreateDataset(out->file, "/done", 1, dn, H5T_NATIVE_UCHAR));
  *output = out;
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
  PetscMPIInt rank;
  int         err = 0;

  PetscFunctionBegin;
  if (!*out) PetscFunctionReturn(0);
  PetscCall(DpsH5Close(&(*out)->file));
  PetscCallMPI(MPI_Comm_rank((*out)->comm, &rank));
  if (rank == 0 && rename((*out)->partial, (*out)->path)) err = errno;
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, (*out)->comm));
  PetscCheck(!err, (*out)->comm, PETSC_ERR_FILE_WRITE, "cannot move finished output %s to %s: %s", (*out)->partial, (*out)->path, strerror(err));
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
