#include <dpsolve/dpsolve.h>
#include "io/h5.h"

#define H5CALL(call, ...) PetscCheck((call) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, __VA_ARGS__)

static PetscErrorCode DpsH5Fapl(MPI_Comm comm, hid_t *fapl)
{
  PetscFunctionBegin;
  /* our messages replace HDF5's own error-stack dumps */
  H5CALL(H5Eset_auto2(H5E_DEFAULT, NULL, NULL), "H5Eset_auto2 failed");
  *fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5CALL(*fapl, "H5Pcreate failed");
  H5CALL(H5Pset_fapl_mpio(*fapl, comm, MPI_INFO_NULL), "H5Pset_fapl_mpio failed");
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5Open(MPI_Comm comm, const char name[], PetscBool write, hid_t *file)
{
  hid_t fapl;

  PetscFunctionBegin;
  PetscCall(DpsH5Fapl(comm, &fapl));
  *file = H5Fopen(name, write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  PetscCheck(*file >= 0, comm, PETSC_ERR_FILE_OPEN, "%s: cannot open as an HDF5 file (missing, unreadable or not HDF5)", name);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5Create(MPI_Comm comm, const char name[], hid_t *file)
{
  hid_t fapl;

  PetscFunctionBegin;
  PetscCall(DpsH5Fapl(comm, &fapl));
  *file = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  PetscCheck(*file >= 0, comm, PETSC_ERR_FILE_OPEN, "%s: cannot create HDF5 file", name);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5Close(hid_t *file)
{
  PetscFunctionBegin;
  if (*file >= 0) H5CALL(H5Fclose(*file), "H5Fclose failed");
  *file = -1;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5Exists(hid_t file, const char path[], PetscBool *exists)
{
  htri_t e = 1;
  char   prefix[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  /* H5Lexists needs every intermediate group to exist: walk the path */
  for (const char *p = path + 1; e > 0; p++) {
    if (*p == '/' || *p == '\0') {
      size_t len = (size_t)(p - path);
      PetscCheck(len < sizeof(prefix), PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "HDF5 path too long: %s", path);
      memcpy(prefix, path, len);
      prefix[len] = '\0';
      e           = H5Lexists(file, prefix, H5P_DEFAULT);
      if (*p == '\0') break;
    }
  }
  *exists = e > 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5CreateGroup(hid_t file, const char path[])
{
  hid_t g;

  PetscFunctionBegin;
  g = H5Gcreate2(file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5CALL(g, "cannot create HDF5 group %s", path);
  H5Gclose(g);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5GetDims(hid_t file, const char fname[], const char dset[], int rank, const char shape[], hsize_t dims[])
{
  PetscBool exists;
  hid_t     d, space, type;
  int       r;

  PetscFunctionBegin;
  PetscCall(DpsH5Exists(file, dset, &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s not found (expected %d dims %s)", fname, dset, rank, shape);
  d = H5Dopen2(file, dset, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is not a dataset (expected %d dims %s)", fname, dset, rank, shape);
  type = H5Dget_type(d);
  if (H5Tget_class(type) != H5T_FLOAT && H5Tget_class(type) != H5T_INTEGER) {
    H5Tclose(type);
    H5Dclose(d);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is not numeric (expected %d dims %s of floating point)", fname, dset, rank, shape);
  }
  H5Tclose(type);
  space = H5Dget_space(d);
  r     = H5Sget_simple_extent_ndims(space);
  if (r != rank) {
    H5Sclose(space);
    H5Dclose(d);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %d dims, expected %d %s", fname, dset, r, rank, shape);
  }
  H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  H5Dclose(d);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5ReadAll(hid_t file, const char fname[], const char dset[], PetscReal buf[])
{
  hid_t d;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(DPS_EVENT_IO_READ, 0, 0, 0, 0));
  d = H5Dopen2(file, dset, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s not found", fname, dset);
  if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    H5Dclose(d);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read dataset %s", fname, dset);
  }
  H5Dclose(d);
  PetscCall(PetscLogEventEnd(DPS_EVENT_IO_READ, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Select rows [row0, row0 + nrows) of a dataset whose first dimension is the row; nrows = 0 selects nothing. */
static PetscErrorCode DpsH5SelectRows(hid_t d, PetscInt row0, PetscInt nrows, PetscInt rowlen, hid_t *filespace, hid_t *memspace)
{
  hsize_t dims[DPS_H5_MAX_RANK], start[DPS_H5_MAX_RANK] = {0}, count[DPS_H5_MAX_RANK];
  hsize_t mdims = (hsize_t)(nrows * rowlen);
  int     rank;
  hsize_t len = 1;

  PetscFunctionBegin;
  *filespace = H5Dget_space(d);
  rank       = H5Sget_simple_extent_ndims(*filespace);
  H5Sget_simple_extent_dims(*filespace, dims, NULL);
  for (int k = 1; k < rank; k++) len *= dims[k];
  PetscCheck((PetscInt)len == rowlen, PETSC_COMM_SELF, PETSC_ERR_PLIB, "row length %" PetscInt_FMT " does not match the dataset's %llu", rowlen, (unsigned long long)len);
  *memspace = H5Screate_simple(1, mdims ? &mdims : (hsize_t[]){1}, NULL);
  if (nrows == 0) {
    H5Sselect_none(*filespace);
    H5Sselect_none(*memspace);
  } else {
    start[0] = (hsize_t)row0;
    count[0] = (hsize_t)nrows;
    for (int k = 1; k < rank; k++) count[k] = dims[k];
    H5CALL(H5Sselect_hyperslab(*filespace, H5S_SELECT_SET, start, NULL, count, NULL), "H5Sselect_hyperslab failed");
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5ReadRows(hid_t file, const char fname[], const char dset[], PetscInt row0, PetscInt nrows, PetscInt rowlen, PetscReal buf[])
{
  PetscFunctionBegin;
  PetscCall(DpsH5ReadRowsTyped(file, fname, dset, row0, nrows, rowlen, buf, H5T_NATIVE_DOUBLE));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5ReadRowsTyped(hid_t file, const char fname[], const char dset[], PetscInt row0, PetscInt nrows, PetscInt rowlen, void *buf, hid_t memtype)
{
  hid_t  d, fs, ms, xfer;
  herr_t err;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(DPS_EVENT_IO_READ, 0, 0, 0, 0));
  d = H5Dopen2(file, dset, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s not found", fname, dset);
  PetscCall(DpsH5SelectRows(d, row0, nrows, rowlen, &fs, &ms));
  xfer = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(xfer, H5FD_MPIO_COLLECTIVE);
  err = H5Dread(d, memtype, ms, fs, xfer, buf);
  H5Pclose(xfer);
  H5Sclose(fs);
  H5Sclose(ms);
  H5Dclose(d);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read rows %" PetscInt_FMT "..%" PetscInt_FMT " of dataset %s", fname, row0, row0 + nrows - 1, dset);
  PetscCall(PetscLogEventEnd(DPS_EVENT_IO_READ, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5CheckFinite(const char fname[], const char dset[], PetscInt row0, PetscInt nrows, PetscInt rowlen, const PetscReal buf[])
{
  PetscFunctionBegin;
  for (PetscInt r = 0; r < nrows; r++)
    for (PetscInt j = 0; j < rowlen; j++)
      PetscCheck(!PetscIsInfOrNanReal(buf[r * rowlen + j]), PETSC_COMM_SELF, PETSC_ERR_FP, "%s: dataset %s holds %g at input %" PetscInt_FMT ", entry %" PetscInt_FMT ": every value must be finite", fname, dset,
                 (double)buf[r * rowlen + j], row0 + r, j);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5CreateDataset(hid_t file, const char dset[], int rank, const hsize_t dims[], hid_t type)
{
  hid_t   space, dcpl, d;
  hsize_t chunk[DPS_H5_MAX_RANK];

  PetscFunctionBegin;
  space = H5Screate_simple(rank, dims, NULL);
  dcpl  = H5Pcreate(H5P_DATASET_CREATE);
  /* one chunk per input (the first dimension), so a reader of one input touches one chunk */
  chunk[0] = 1;
  for (int k = 1; k < rank; k++) chunk[k] = dims[k];
  if (dims[0] > 0) H5Pset_chunk(dcpl, rank, chunk);
  /* parallel HDF5 writes need early allocation; fill never, every element is written */
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  d = H5Dcreate2(file, dset, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create dataset %s", dset);
  H5Dclose(d);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteRows(hid_t file, const char dset[], PetscInt row0, PetscInt nrows, PetscInt rowlen, const void *buf, hid_t memtype)
{
  hid_t  d, fs, ms, xfer;
  herr_t err;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(DPS_EVENT_IO_WRITE, 0, 0, 0, 0));
  d = H5Dopen2(file, dset, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "dataset %s not found in the output file", dset);
  PetscCall(DpsH5SelectRows(d, row0, nrows, rowlen, &fs, &ms));
  xfer = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(xfer, H5FD_MPIO_COLLECTIVE);
  err = H5Dwrite(d, memtype, ms, fs, xfer, buf);
  H5Pclose(xfer);
  H5Sclose(fs);
  H5Sclose(ms);
  H5Dclose(d);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write rows %" PetscInt_FMT "..%" PetscInt_FMT " of dataset %s", row0, row0 + nrows - 1, dset);
  PetscCall(PetscLogEventEnd(DPS_EVENT_IO_WRITE, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteAll(hid_t file, const char dset[], int rank, const hsize_t dims[], const PetscReal buf[])
{
  hid_t  space, d;
  herr_t err;

  PetscFunctionBegin;
  space = H5Screate_simple(rank, dims, NULL);
  d     = H5Dcreate2(file, dset, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create dataset %s", dset);
  err = H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Dclose(d);
  H5Sclose(space);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write dataset %s", dset);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsH5OpenAttribute(hid_t file, const char fname[], const char obj[], const char name[], hid_t *attr)
{
  PetscBool exists = PETSC_TRUE;

  PetscFunctionBegin;
  if (strcmp(obj, "/")) PetscCall(DpsH5Exists(file, obj, &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s not found (looking for its attribute '%s')", fname, obj, name);
  PetscCheck(H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s not found", fname, name, obj);
  *attr = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  H5CALL(*attr, "%s: cannot open attribute '%s' of %s", fname, name, obj);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5ReadStringAttribute(hid_t file, const char fname[], const char obj[], const char name[], char buf[], size_t len)
{
  hid_t  attr, type, mem;
  herr_t err;

  PetscFunctionBegin;
  PetscCall(DpsH5OpenAttribute(file, fname, obj, name, &attr));
  type = H5Aget_type(attr);
  PetscCheck(H5Tget_class(type) == H5T_STRING, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s is not a string", fname, name, obj);
  if (H5Tis_variable_str(type) > 0) {
    char *s = NULL;
    mem     = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type)); /* h5py writes UTF-8 variable-length strings */
    err = H5Aread(attr, mem, &s);
    if (err >= 0 && s) {
      PetscCall(PetscStrncpy(buf, s, len));
      H5free_memory(s);
    }
  } else {
    size_t sz = H5Tget_size(type);
    char  *tmp;
    PetscCall(PetscCalloc1(sz + 1, &tmp));
    /* one more byte than stored: null-padded strings (h5py's fixed-length bytes) fill their whole size */
    mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, sz + 1);
    H5Tset_cset(mem, H5Tget_cset(type));
    err = H5Aread(attr, mem, tmp);
    PetscCall(PetscStrncpy(buf, tmp, len));
    PetscCall(PetscFree(tmp));
  }
  H5Tclose(mem);
  H5Tclose(type);
  H5Aclose(attr);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute '%s' of %s", fname, name, obj);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsH5WriteAttribute(hid_t file, const char obj[], const char name[], hid_t type, hid_t space, const void *value)
{
  hid_t  attr;
  herr_t err;

  PetscFunctionBegin;
  if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0) H5Adelete_by_name(file, obj, name, H5P_DEFAULT);
  attr = H5Acreate_by_name(file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5CALL(attr, "cannot create attribute '%s' of %s", name, obj);
  err = H5Awrite(attr, type, value);
  H5Aclose(attr);
  H5CALL(err, "cannot write attribute '%s' of %s", name, obj);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteStringAttribute(hid_t file, const char obj[], const char name[], const char value[])
{
  hid_t type, space;

  PetscFunctionBegin;
  type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, strlen(value) + 1);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  space = H5Screate(H5S_SCALAR);
  PetscCall(DpsH5WriteAttribute(file, obj, name, type, space, value));
  H5Sclose(space);
  H5Tclose(type);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5ReadRealAttribute(hid_t file, const char fname[], const char obj[], const char name[], PetscReal *value)
{
  hid_t  attr, space;
  herr_t err;

  PetscFunctionBegin;
  PetscCall(DpsH5OpenAttribute(file, fname, obj, name, &attr));
  space = H5Aget_space(attr);
  if (H5Sget_simple_extent_npoints(space) != 1) {
    H5Sclose(space);
    H5Aclose(attr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s must be a single number", fname, name, obj);
  }
  H5Sclose(space);
  err = H5Aread(attr, H5T_NATIVE_DOUBLE, value);
  H5Aclose(attr);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute '%s' of %s as a number", fname, name, obj);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteRealAttribute(hid_t file, const char obj[], const char name[], PetscReal value)
{
  hid_t space = H5Screate(H5S_SCALAR);

  PetscFunctionBegin;
  PetscCall(DpsH5WriteAttribute(file, obj, name, H5T_NATIVE_DOUBLE, space, &value));
  H5Sclose(space);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteIntAttribute(hid_t file, const char obj[], const char name[], PetscInt value)
{
  hid_t     space = H5Screate(H5S_SCALAR);
  long long v     = value;

  PetscFunctionBegin;
  PetscCall(DpsH5WriteAttribute(file, obj, name, H5T_NATIVE_LLONG, space, &v));
  H5Sclose(space);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteIntArrayAttribute(hid_t file, const char obj[], const char name[], PetscInt n, const PetscInt values[])
{
  hsize_t   dim = (hsize_t)n;
  hid_t     space;
  long long v[DPS_H5_MAX_RANK];

  PetscFunctionBegin;
  PetscCheck(n <= DPS_H5_MAX_RANK, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "too many values for attribute %s", name);
  for (PetscInt i = 0; i < n; i++) v[i] = values[i];
  space = H5Screate_simple(1, &dim, NULL);
  PetscCall(DpsH5WriteAttribute(file, obj, name, H5T_NATIVE_LLONG, space, v));
  H5Sclose(space);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5ReadIntArrayAttribute(hid_t file, const char fname[], const char obj[], const char name[], PetscInt nmax, PetscInt *n, PetscInt values[])
{
  hid_t     attr, space;
  hssize_t  np;
  long long v[DPS_H5_MAX_RANK];
  herr_t    err;

  PetscFunctionBegin;
  PetscCall(DpsH5OpenAttribute(file, fname, obj, name, &attr));
  space = H5Aget_space(attr);
  np    = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  if (np < 1 || np > nmax || np > DPS_H5_MAX_RANK) {
    H5Aclose(attr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s has %lld values, expected 1 to %" PetscInt_FMT, fname, name, obj, (long long)np, nmax);
  }
  err = H5Aread(attr, H5T_NATIVE_LLONG, v);
  H5Aclose(attr);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute '%s' of %s as integers", fname, name, obj);
  *n = (PetscInt)np;
  for (PetscInt i = 0; i < *n; i++) values[i] = (PetscInt)v[i];
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteInt64Attribute(hid_t file, const char obj[], const char name[], PetscInt n, const int64_t v[])
{
  hsize_t dim = (hsize_t)n;
  hid_t   attr, space;
  herr_t  err;

  PetscFunctionBegin;
  if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0) {
    attr  = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    space = H5Aget_space(attr);
    if (H5Sget_simple_extent_npoints(space) == n) {
      /* same shape: overwrite the value in place */
      err = H5Awrite(attr, H5T_NATIVE_INT64, v);
      H5Sclose(space);
      H5Aclose(attr);
      PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write attribute '%s' of %s", name, obj);
      PetscFunctionReturn(0);
    }
    H5Sclose(space);
    H5Aclose(attr);
    H5Adelete_by_name(file, obj, name, H5P_DEFAULT);
  }
  space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
  attr  = H5Acreate_by_name(file, obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  PetscCheck(attr >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create attribute '%s' of %s", name, obj);
  err = H5Awrite(attr, H5T_NATIVE_INT64, v);
  H5Aclose(attr);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write attribute '%s' of %s", name, obj);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5ReadInt64Attribute(hid_t file, const char fname[], const char obj[], const char name[], PetscInt n, int64_t v[])
{
  hid_t  attr, space;
  herr_t err;

  PetscFunctionBegin;
  PetscCheck(H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s not found", fname, name, obj);
  attr  = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  space = H5Aget_space(attr);
  if (H5Sget_simple_extent_npoints(space) != n) {
    H5Sclose(space);
    H5Aclose(attr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s must hold %" PetscInt_FMT " integers", fname, name, obj, n);
  }
  H5Sclose(space);
  err = H5Aread(attr, H5T_NATIVE_INT64, v);
  H5Aclose(attr);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute '%s' of %s as integers", fname, name, obj);
  PetscFunctionReturn(0);
}
