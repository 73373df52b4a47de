/* DpsDataset: the input file of a run and this rank's shard of it (include/dpsolve/dataset.h). */
#include <dpsolve/dpsolve.h>
#include <stdlib.h>
#include "io/h5.h"
#include "io/checksum.h"

struct _n_DpsDataset {
  MPI_Comm  comm;
  char      filename[PETSC_MAX_PATH_LEN];
  hid_t     file;
  PetscInt  N, d, m;
  PetscInt  nshape, shape[DPS_H5_MAX_RANK];
  PetscReal sigma_y;
  PetscBool has_y, has_x0;
  PetscBool has_range; /* attribute data_range [lo, hi] */
  PetscReal range[2];
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

/* A size read from the file, before it becomes a PetscInt: at least 1 and at most what PetscInt indexes */
static PetscErrorCode DpsDatasetCheckDim(MPI_Comm comm, const char filename[], const char dset[], hsize_t n, const char what[], const char symbol[])
{
  PetscFunctionBegin;
  PetscCheck(n >= 1, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has 0 %s (%s = 0): nothing to compute", filename, dset, what, symbol);
  PetscCheck(n <= (hsize_t)PETSC_MAX_INT, comm, PETSC_ERR_INT_OVERFLOW, "%s: %s: %llu %s: more than the %" PetscInt_FMT " (2^31-1) that this build's %d-bit PetscInt can index", filename, dset, (unsigned long long)n, what, PETSC_MAX_INT, (int)(8 * sizeof(PetscInt)));
  PetscFunctionReturn(0);
}

/* What this rank reads, n inputs of len values, as one PetscInt-indexed array: the product must fit */
static PetscErrorCode DpsDatasetCheckRows(DpsDataset ds, const char dset[], PetscInt n, PetscInt len, const char symbol[])
{
  PetscFunctionBegin;
  PetscCheck((PetscInt64)n * len <= PETSC_MAX_INT, ds->comm, PETSC_ERR_INT_OVERFLOW, "%s: %s: this rank's %" PetscInt_FMT " inputs x %s = %" PetscInt_FMT " are %lld values (%.3g GiB), more than the %" PetscInt_FMT " that this build's %d-bit PetscInt can index: run on more ranks", ds->filename, dset, n, symbol, len, (long long)n * len, 8.0 * n * len / 1073741824.0, PETSC_MAX_INT, (int)(8 * sizeof(PetscInt)));
  PetscFunctionReturn(0);
}

/* The optional attribute data_range: two finite numbers lo < hi */
static PetscErrorCode DpsDatasetReadRange(DpsDataset ds)
{
  hid_t       attr, space, type;
  hssize_t    np;
  H5T_class_t cls;
  herr_t      err;

  PetscFunctionBegin;
  if (H5Aexists_by_name(ds->file, "/", "data_range", H5P_DEFAULT) <= 0) PetscFunctionReturn(0);
  attr = H5Aopen_by_name(ds->file, "/", "data_range", H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(attr >= 0, ds->comm, PETSC_ERR_FILE_READ, "%s: cannot open attribute data_range", ds->filename);
  space = H5Aget_space(attr);
  np    = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  type = H5Aget_type(attr);
  cls  = H5Tget_class(type);
  H5Tclose(type);
  if (np != 2 || (cls != H5T_FLOAT && cls != H5T_INTEGER)) {
    H5Aclose(attr);
    SETERRQ(ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute data_range must be two numbers [lo, hi] (e.g. [-1, 1] for images), found %lld %s", ds->filename, (long long)np, cls == H5T_FLOAT || cls == H5T_INTEGER ? "numbers" : "values that are not numbers");
  }
  err = H5Aread(attr, H5T_NATIVE_DOUBLE, ds->range);
  H5Aclose(attr);
  PetscCheck(err >= 0, ds->comm, PETSC_ERR_FILE_READ, "%s: cannot read attribute data_range as numbers", ds->filename);
  PetscCheck(!PetscIsInfOrNanReal(ds->range[0]) && !PetscIsInfOrNanReal(ds->range[1]) && ds->range[0] < ds->range[1], ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute data_range = [%g, %g] must be finite with lo < hi", ds->filename, (double)ds->range[0], (double)ds->range[1]);
  ds->has_range = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetOpen(MPI_Comm comm, const char filename[], DpsDataset *dataset)
{
  DpsDataset  ds;
  hsize_t     dims[2];
  PetscMPIInt rank, size;
  PetscInt64  shapeprod = 1;
  char        shapetext[256] = "";

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
    PetscCall(DpsDatasetCheckDim(comm, filename, "/y", dims[0], "inputs", "N"));
    PetscCall(DpsDatasetCheckDim(comm, filename, "/y", dims[1], "entries per input", "m"));
    ds->N = (PetscInt)dims[0];
    ds->m = (PetscInt)dims[1];
  }
  if (ds->has_x0) {
    PetscCall(DpsH5GetDims(ds->file, filename, "/x0", 2, "(N, d)", dims));
    PetscCall(DpsDatasetCheckDim(comm, filename, "/x0", dims[0], "inputs", "N"));
    PetscCall(DpsDatasetCheckDim(comm, filename, "/x0", dims[1], "entries per input", "d"));
    PetscCheck(!ds->has_y || (PetscInt)dims[0] == ds->N, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /x0 has %llu inputs but /y has %" PetscInt_FMT, filename, (unsigned long long)dims[0], ds->N);
    ds->N = (PetscInt)dims[0];
    ds->d = (PetscInt)dims[1];
  }
  PetscCheck(ds->N > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the data set holds no inputs (first dimension of /y or /x0 is 0)", filename);
  PetscCall(DpsH5ReadRealAttribute(ds->file, filename, "/", "sigma_y", &ds->sigma_y));
  PetscCheck(PetscIsNormalReal(ds->sigma_y) && ds->sigma_y > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute sigma_y = %g must be positive and finite", filename, (double)ds->sigma_y);
  PetscCall(DpsDatasetReadRange(ds));
  PetscCall(DpsH5ReadIntArrayAttribute(ds->file, filename, "/", "data_shape", DPS_H5_MAX_RANK, &ds->nshape, ds->shape));
  for (PetscInt k = 0; k < ds->nshape; k++) {
    size_t len;
    PetscCall(PetscStrlen(shapetext, &len));
    PetscCall(PetscSNPrintf(shapetext + len, sizeof(shapetext) - len, "%s%" PetscInt_FMT "%s", k ? ", " : "(", ds->shape[k], k == ds->nshape - 1 ? (ds->nshape == 1 ? ",)" : ")") : ""));
  }
  for (PetscInt k = 0; k < ds->nshape; k++) PetscCheck(ds->shape[k] >= 1, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute data_shape = %s: every dimension must be at least 1 (d = 0 or negative is no data)", filename, shapetext);
  /* each factor is below 2^31: the running product is checked before it can leave 64 bits */
  for (PetscInt k = 0; k < ds->nshape; k++) {
    shapeprod *= ds->shape[k];
    PetscCheck(shapeprod <= PETSC_MAX_INT, comm, PETSC_ERR_INT_OVERFLOW, "%s: attribute data_shape = %s: d = %s%lld entries per input (%.3g GiB per draw), more than the %" PetscInt_FMT " that this build's %d-bit PetscInt can index", filename, shapetext, k < ds->nshape - 1 ? "more than " : "", (long long)shapeprod, 8.0 * (double)shapeprod / 1073741824.0, PETSC_MAX_INT, (int)(8 * sizeof(PetscInt)));
  }
  PetscCheck(!ds->has_x0 || shapeprod == ds->d, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute data_shape = %s has %lld entries in all but /x0 rows have %" PetscInt_FMT, filename, shapetext, (long long)shapeprod, ds->d);
  ds->d = (PetscInt)shapeprod;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(DpsShard(ds->N, rank, size, &ds->lo, &ds->hi));
  if (ds->has_x0) PetscCall(DpsDatasetCheckRows(ds, "/x0", ds->hi - ds->lo, ds->d, "d"));
  if (ds->has_y) PetscCall(DpsDatasetCheckRows(ds, "/y", ds->hi - ds->lo, ds->m, "m"));
  *dataset = ds;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsDatasetCheckDraws(DpsDataset ds, PetscInt S, PetscInt batch, PetscInt q)
{
  const PetscInt   chunk = PetscMin(batch, ds->hi - ds->lo);
  const PetscInt64 per   = (PetscInt64)S * PetscMax(ds->d, q); /* < 2^62 */

  PetscFunctionBegin;
  PetscCheck(per <= PETSC_MAX_INT && (PetscInt64)PetscMax(chunk, 1) * per <= PETSC_MAX_INT, ds->comm, PETSC_ERR_INT_OVERFLOW,
             "%s: a batch of %" PetscInt_FMT " inputs x %" PetscInt_FMT " draws x %" PetscInt_FMT " values (d = %" PetscInt_FMT ", sampler state %" PetscInt_FMT ") is %.4g values (%.3g GiB), more than the %" PetscInt_FMT " that this build's %d-bit PetscInt can index: lower -batch or -samples",
             ds->filename, PetscMax(chunk, 1), S, PetscMax(ds->d, q), ds->d, q, (double)PetscMax(chunk, 1) * (double)per, 8.0 * PetscMax(chunk, 1) * (double)per / 1073741824.0, PETSC_MAX_INT, (int)(8 * sizeof(PetscInt)));
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
  PetscCall(DpsOperatorSetDataShapeND(op, ds->nshape, ds->shape)); /* image operators size themselves from it */
  PetscCall(DpsOperatorLoad(op, ds->file, ds->filename));
  PetscCall(DpsOperatorGetSizes(op, &m, &n));
  PetscCheck(m >= 1, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the operator has %" PetscInt_FMT " rows (m = %" PetscInt_FMT "): it observes nothing", ds->filename, m, m);
  PetscCheck(n == ds->d, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the operator acts on %" PetscInt_FMT " entries but the data have %" PetscInt_FMT " (data_shape)", ds->filename, n, ds->d);
  PetscCheck(!ds->has_y || m == ds->m, ds->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /y has %" PetscInt_FMT " entries per input, expected m = %" PetscInt_FMT " (the operator's rows)", ds->filename, ds->m, m);
  ds->m = m;
  if (!ds->has_y) PetscCall(DpsDatasetCheckRows(ds, "/y (simulated)", ds->hi - ds->lo, ds->m, "m"));
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
  PetscCall(DpsScoreUNetCheckDataShape(score, ds->filename, ds->nshape, ds->shape));
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

PetscErrorCode DpsDatasetGetDataRange(DpsDataset ds, PetscBool *has, PetscReal range[])
{
  PetscFunctionBegin;
  *has = ds->has_range;
  if (ds->has_range) {
    range[0] = ds->range[0];
    range[1] = ds->range[1];
  }
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
    /* only when declared: the checksum of an input without one is what it always was */
    if (ds->has_range) sum += DpsChecksum(DpsChecksumSalt("data_range"), 0, 2, ds->range);
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
