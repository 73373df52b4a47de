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
  PetscInt  first;  /* the inputs of this run are [first, first + N) of the file's (DpsDatasetSetPart) */
  PetscInt  lo, hi; /* this rank's, counted from first */
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
  PetscInt    d;
  const char *type;

  PetscFunctionBegin;
  PetscCall(DpsScoreLoad(score, ds->file, ds->filename));
  PetscCall(DpsScoreGetDimension(score, &d));
  /* the prior may come from another file (-score_unet_weights): name its type, not a dataset of this file */
  PetscCall(PetscObjectGetType((PetscObject)score, &type));
  PetscCheck(d == ds->d, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the prior (score type %s) has dimension %" PetscInt_FMT " but the data have %" PetscInt_FMT " entries per input (data_shape)", ds->filename, type, d, ds->d);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetSetPart(DpsDataset ds, PetscInt part, PetscInt nparts)
{
  PetscMPIInt rank, size;
  PetscInt    total = ds->first + ds->N, lo, hi;

  PetscFunctionBegin;
  PetscCheck(nparts >= 1 && part >= 0 && part < nparts, ds->comm, PETSC_ERR_ARG_OUTOFRANGE, "-input_part %" PetscInt_FMT ",%" PetscInt_FMT ": needs 0 <= part < parts", part, nparts);
  PetscCheck(nparts <= total, ds->comm, PETSC_ERR_ARG_OUTOFRANGE, "-input_part %" PetscInt_FMT ",%" PetscInt_FMT ": %s has only %" PetscInt_FMT " inputs, fewer than the parts", part, nparts, ds->filename, total);
  /* the same contiguous blocks as the ranks' shards: part p of n of all inputs */
  PetscCall(DpsShard(total, (PetscMPIInt)part, (PetscMPIInt)nparts, &lo, &hi));
  ds->first = lo;
  ds->N     = hi - lo;
  PetscCallMPI(MPI_Comm_rank(ds->comm, &rank));
  PetscCallMPI(MPI_Comm_size(ds->comm, &size));
  PetscCall(DpsShard(ds->N, rank, size, &ds->lo, &ds->hi));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetGetFirstInput(DpsDataset ds, PetscInt *first)
{
  PetscFunctionBegin;
  *first = ds->first;
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

typedef struct {
  char   **names;
  PetscInt n, max;
} DpsNameList;

static herr_t DpsCollectDatasets(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
  DpsNameList *list = (DpsNameList *)ctx;
  H5O_info_t   oinfo;

  if (info->type != H5L_TYPE_HARD) return 0;
  if (H5Oget_info_by_name2(group, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0 || oinfo.type != H5O_TYPE_DATASET) return 0;
  if (list->n == list->max) {
    char **more = (char **)realloc(list->names, sizeof(char *) * (size_t)(2 * list->max + 8));
    if (!more) return -1;
    list->names = more;
    list->max   = 2 * list->max + 8;
  }
  list->names[list->n++] = strdup(name);
  return 0;
}

PetscErrorCode DpsDatasetChecksum(DpsDataset ds, uint64_t *checksum)
{
  DpsNameList list = {NULL, 0, 0};
  PetscMPIInt rank, size;
  uint64_t    sum = 0;
  char        optype[64] = "";
  PetscBool   hasop;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(ds->comm, &rank));
  PetscCallMPI(MPI_Comm_size(ds->comm, &size));
  /* every dataset, in name order, whatever it is for: a data set is the same only if all of it is */
  PetscCheck(H5Lvisit(ds->file, H5_INDEX_NAME, H5_ITER_INC, DpsCollectDatasets, &list) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot list its datasets", ds->filename);
  for (PetscInt k = 0; k < list.n; k++) {
    hid_t       d = H5Dopen2(ds->file, list.names[k], H5P_DEFAULT), space, type, ms;
    hsize_t     dims[DPS_H5_MAX_RANK], rows = 1, rowlen = 1;
    int         nd;
    H5T_class_t cls;
    PetscInt    lo, hi;
    uint64_t    salt = DpsChecksumSalt(list.names[k]);

    PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot open dataset %s", ds->filename, list.names[k]);
    type = H5Dget_type(d);
    cls  = H5Tget_class(type);
    H5Tclose(type);
    space = H5Dget_space(d);
    nd    = H5Sget_simple_extent_ndims(space);
    if (rank == 0) sum += salt; /* the name counts even when the values cannot be read as numbers */
    if ((cls == H5T_FLOAT || cls == H5T_INTEGER) && nd >= 0 && nd <= DPS_H5_MAX_RANK) {
      H5Sget_simple_extent_dims(space, dims, NULL);
      if (nd > 0) rows = dims[0];
      for (int j = 1; j < nd; j++) rowlen *= dims[j];
      /* each rank reads a block of rows, in pieces of about a million values */
      PetscCall(DpsShard((PetscInt)rows, rank, size, &lo, &hi));
      if (nd == 0) {
        lo = 0;
        hi = rank == 0 ? 1 : 0;
      }
      {
        hsize_t    step = PetscMax(1, (hsize_t)1048576 / PetscMax(rowlen, 1)), r0;
        PetscReal *buf;
        PetscCall(PetscMalloc1(PetscMax((size_t)(PetscMin(step, (hsize_t)(hi - lo)) * rowlen), 1), &buf));
        for (r0 = (hsize_t)lo; r0 < (hsize_t)hi; r0 += step) {
          hsize_t nr = PetscMin(step, (hsize_t)hi - r0), start[DPS_H5_MAX_RANK] = {0}, count[DPS_H5_MAX_RANK], mdim = nr * rowlen;
          herr_t  e;
          start[0] = r0;
          count[0] = nr;
          for (int j = 1; j < nd; j++) count[j] = dims[j];
          if (nd > 0) H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
          ms = H5Screate_simple(1, &mdim, NULL);
          e  = H5Dread(d, H5T_NATIVE_DOUBLE, ms, space, H5P_DEFAULT, buf);
          H5Sclose(ms);
          PetscCheck(e >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read dataset %s", ds->filename, list.names[k]);
          sum += DpsChecksum(salt, (uint64_t)(r0 * rowlen), (size_t)(nr * rowlen), buf);
        }
        PetscCall(PetscFree(buf));
      }
      if (rank == 0) sum += DpsChecksum(salt, UINT64_MAX / 2, (size_t)nd, dims); /* the shape */
    }
    H5Sclose(space);
    H5Dclose(d);
    free(list.names[k]);
  }
  free(list.names);
  if (rank == 0) {
    int64_t shape[DPS_H5_MAX_RANK];
    for (PetscInt k = 0; k < ds->nshape; k++) shape[k] = ds->shape[k];
    sum += DpsChecksum(DpsChecksumSalt("sigma_y"), 0, 1, &ds->sigma_y);
    sum += DpsChecksum(DpsChecksumSalt("data_shape"), 0, (size_t)ds->nshape, shape);
    PetscCall(DpsH5Exists(ds->file, "/operator", &hasop));
    if (hasop && H5Aexists_by_name(ds->file, "/operator", "type", H5P_DEFAULT) > 0) PetscCall(DpsH5ReadStringAttribute(ds->file, ds->filename, "/operator", "type", optype, sizeof(optype)));
    sum += DpsChecksumSalt(optype);
  }
  PetscCallMPI(MPI_Allreduce(&sum, checksum, 1, MPI_UINT64_T, MPI_SUM, ds->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetReadGroundTruth(DpsDataset ds, PetscReal **x0)
{
  PetscInt n = ds->hi - ds->lo;

  PetscFunctionBegin;
  PetscCheck(ds->has_x0, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /x0 not found", ds->filename);
  PetscCall(PetscMalloc1(PetscMax(n * ds->d, 1), x0));
  PetscCall(DpsH5ReadRows(ds->file, ds->filename, "/x0", ds->first + ds->lo, n, ds->d, *x0));
  PetscCall(DpsH5CheckFinite(ds->filename, "/x0", ds->first + ds->lo, n, ds->d, *x0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetReadMeasurements(DpsDataset ds, DpsOperator op, PetscInt64 seed, PetscReal **y)
{
  PetscInt n = ds->hi - ds->lo;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(n * ds->m, 1), y));
  if (ds->has_y) {
    PetscCall(DpsH5ReadRows(ds->file, ds->filename, "/y", ds->first + ds->lo, n, ds->m, *y));
    PetscCall(DpsH5CheckFinite(ds->filename, "/y", ds->first + ds->lo, n, ds->m, *y));
  } else {
    PetscReal *x0, *noise;
    PetscCall(DpsDatasetReadGroundTruth(ds, &x0));
    PetscCall(PetscMalloc1(ds->m, &noise));
    for (PetscInt i = 0; i < n; i++) {
      DpsRandomAddress a = {seed, ds->first + ds->lo + i, 0, 0, DPS_STREAM_SIMULATE_Y};
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
  PetscCall(PetscSNPrintf(out->partial, sizeof(out->partial), "%s.partial", path));
  *output = out;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsOutputCreate(MPI_Comm comm, const char path[], PetscInt N, PetscInt S, PetscInt d, PetscInt m, PetscBool has_x0, DpsOutput *output)
{
  DpsOutput out;
  hsize_t   dsamp[3] = {(hsize_t)N, (hsize_t)S, (hsize_t)d}, dx[2] = {(hsize_t)N, (hsize_t)d}, dy[2] = {(hsize_t)N, (hsize_t)m}, dn[1] = {(hsize_t)N};
  int64_t   zero     = 0;

  PetscFunctionBegin;
  PetscCall(DpsOutputNew(comm, path, N, S, d, m, has_x0, &out));
  PetscCall(DpsH5Create(comm, out->partial, &out->file));
  PetscCall(DpsOutputLimitCache(out));
  PetscCall(DpsH5CreateDataset(out->file, "/samples", 3, dsamp, H5T_NATIVE_DOUBLE));
  if (S > 1) {
    PetscCall(DpsH5CreateDataset(out->file, "/mean", 2, dx, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5CreateDataset(out->file, "/std", 2, dx, H5T_NATIVE_DOUBLE));
  }
  PetscCall(DpsH5CreateDataset(out->file, "/y", 2, dy, H5T_NATIVE_DOUBLE));
  if (has_x0) PetscCall(DpsH5CreateDataset(out->file, "/x0", 2, dx, H5T_NATIVE_DOUBLE));
  PetscCall(DpsH5CreateDataset(out->file, "/done", 1, dn, H5T_NATIVE_UCHAR));
  /* not complete until DpsOutputSetComplete, the last change before the rename */
  PetscCall(DpsH5WriteInt64Attribute(out->file, "/", "complete", 1, &zero));
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
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
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
  /* with MPI-IO this is MPI_File_sync on every rank: the rows written so far are on disk */
  PetscCheck(H5Fflush(out->file, H5F_SCOPE_GLOBAL) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot flush %s", out->partial);
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
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
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
  PetscMPIInt rank;
  int         err = 0;

  PetscFunctionBegin;
  if (!*out) PetscFunctionReturn(0);
  PetscCall(DpsOutputFlush(*out));
  PetscCall(DpsH5Close(&(*out)->file));
  PetscCallMPI(MPI_Comm_rank((*out)->comm, &rank));
  /* durable before it takes its name, and the name durable before the caller drops its checkpoint */
  if (rank == 0) {
    if (DpsSyncPath((*out)->partial, PETSC_FALSE)) err = EIO;
    DpsKillPoint("output-rename");
    if (!err && rename((*out)->partial, (*out)->path)) err = errno;
    if (!err && DpsSyncPath((*out)->path, PETSC_TRUE)) err = EIO;
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, (*out)->comm));
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
