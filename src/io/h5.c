#include <dpsolve/dpsolve.h>
#include "io/h5.h"
#include <errno.h>
#include <math.h>
#include <sys/statvfs.h>

#define H5CALL(call, ...) PetscCheck((call) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, __VA_ARGS__)

/* What a failed write to a file tells, for the message: ": No space left on device", or "" when nothing does.
   HDF5's error stack holds no system error for MPI-IO (Open MPI's OMPIO turns a failed pwrite into a generic
   MPI error), so the errno that the failing write(2) left is used, when it is one a write can leave (the caller
   clears errno before the HDF5 call, so an older one is never taken for it); else a file system without a free
   block is taken for the reason. path: the file, or NULL when obj names it. */
void DpsH5WriteFailure(hid_t obj, const char *path, int err, char why[], size_t len)
{
  char           name[PETSC_MAX_PATH_LEN], dir[PETSC_MAX_PATH_LEN], *slash;
  struct statvfs fs;

  why[0] = '\0';
  if (err == ENOSPC || err == EDQUOT || err == EFBIG || err == EIO || err == EROFS) {
    (void)PetscSNPrintf(why, len, ": %s", strerror(err));
    return;
  }
  if (!path) {
    if (obj < 0 || H5Fget_name(obj, name, sizeof(name)) < 0) return;
    path = name;
  }
  (void)PetscStrncpy(dir, path, sizeof(dir));
  slash = strrchr(dir, '/');
  if (slash == dir) dir[1] = '\0';
  else if (slash) *slash = '\0';
  else (void)PetscStrncpy(dir, ".", sizeof(dir));
  if (!statvfs(dir, &fs) && fs.f_bavail == 0) (void)PetscSNPrintf(why, len, ": %s (its file system has no free block)", strerror(ENOSPC));
}

/* the name of the file that holds obj, for messages */
const char *DpsH5Name(hid_t obj, char name[], size_t len)
{
  if (obj < 0 || H5Fget_name(obj, name, len) < 0) (void)PetscStrncpy(name, "(unknown HDF5 file)", len);
  return name;
}

void DpsH5Init(void)
{
  /* No closing of open files by HDF5 at exit: a run that fails leaves without MPI_Finalize, and closing an MPI-IO
     file then is a collective call that the other ranks may never make, or (a file whose write failed, a full
     disk) crashes in HDF5 1.10's H5F__close_cb. What a failed run wrote is removed by the run itself. Only has an
     effect before the library's first call, hence here, in the first call of every path into HDF5. */
  (void)H5dont_atexit();
  /* our messages replace HDF5's own error-stack dumps */
  (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static PetscErrorCode DpsH5Fapl(MPI_Comm comm, hid_t *fapl)
{
  PetscFunctionBegin;
  DpsH5Init();
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
  errno = 0;
  *file = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (*file < 0) {
    char why[256];
    DpsH5WriteFailure(-1, name, errno, why, sizeof(why));
    H5Pclose(fapl);
    SETERRQ(comm, PETSC_ERR_FILE_OPEN, "%s: cannot create HDF5 file%s", name, why);
  }
  H5Pclose(fapl);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5Close(hid_t *file)
{
  char   name[PETSC_MAX_PATH_LEN], why[256];
  herr_t err;

  PetscFunctionBegin;
  if (*file < 0) PetscFunctionReturn(0);
  (void)DpsH5Name(*file, name, sizeof(name));
  errno = 0;
  err   = H5Fclose(*file);
  /* the identifier is gone either way: HDF5 keeps a file whose close failed only until it exits */
  *file = -1;
  if (err < 0) {
    DpsH5WriteFailure(-1, name, errno, why, sizeof(why));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot close the file (writing what is left of it)%s", name, why);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5Flush(hid_t file)
{
  char name[PETSC_MAX_PATH_LEN], why[256];

  PetscFunctionBegin;
  errno = 0;
  if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
    DpsH5WriteFailure(file, NULL, errno, why, sizeof(why));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write it to disk (flush)%s", DpsH5Name(file, name, sizeof(name)), why);
  }
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
  errno = 0;
  g     = H5Gcreate2(file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) {
    char name[PETSC_MAX_PATH_LEN], why[256];
    DpsH5WriteFailure(file, NULL, errno, why, sizeof(why));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot create group %s%s", DpsH5Name(file, name, sizeof(name)), path, why);
  }
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
      PetscCheck(!PetscIsInfOrNanReal(buf[r * rowlen + j]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s holds %g at input %" PetscInt_FMT ", entry %" PetscInt_FMT ": every value must be finite", fname, dset,
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
  errno = 0;
  d     = H5Dcreate2(file, dset, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  if (d < 0) {
    char name[PETSC_MAX_PATH_LEN], why[256];
    DpsH5WriteFailure(file, NULL, errno, why, sizeof(why));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot create dataset %s%s", DpsH5Name(file, name, sizeof(name)), dset, why);
  }
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
  errno = 0;
  err   = H5Dwrite(d, memtype, ms, fs, xfer, buf);
  H5Pclose(xfer);
  H5Sclose(fs);
  H5Sclose(ms);
  H5Dclose(d);
  if (err < 0) {
    char name[PETSC_MAX_PATH_LEN], why[256];
    DpsH5WriteFailure(file, NULL, errno, why, sizeof(why));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write rows %" PetscInt_FMT "..%" PetscInt_FMT " of dataset %s%s", DpsH5Name(file, name, sizeof(name)), row0, row0 + nrows - 1, dset, why);
  }
  PetscCall(PetscLogEventEnd(DPS_EVENT_IO_WRITE, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteAll(hid_t file, const char dset[], int rank, const hsize_t dims[], const PetscReal buf[])
{
  hid_t  space, d;
  herr_t err;

  PetscFunctionBegin;
  space = H5Screate_simple(rank, dims, NULL);
  errno = 0;
  d     = H5Dcreate2(file, dset, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  err   = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  if (d >= 0) H5Dclose(d);
  H5Sclose(space);
  if (err < 0) {
    char name[PETSC_MAX_PATH_LEN], why[256];
    DpsH5WriteFailure(file, NULL, errno, why, sizeof(why));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot %s dataset %s%s", DpsH5Name(file, name, sizeof(name)), d < 0 ? "create" : "write", dset, why);
  }
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
  errno = 0;
  attr  = H5Acreate_by_name(file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  err   = attr < 0 ? -1 : H5Awrite(attr, type, value);
  if (attr >= 0) H5Aclose(attr);
  if (err < 0) {
    char fname[PETSC_MAX_PATH_LEN], why[256];
    DpsH5WriteFailure(file, NULL, errno, why, sizeof(why));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot %s attribute '%s' of %s%s", DpsH5Name(file, fname, sizeof(fname)), attr < 0 ? "create" : "write", name, obj, why);
  }
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

PetscErrorCode DpsH5WriteRealArrayAttribute(hid_t file, const char obj[], const char name[], PetscInt n, const PetscReal v[])
{
  hsize_t dim   = (hsize_t)n;
  hid_t   space = H5Screate_simple(1, &dim, NULL);

  PetscFunctionBegin;
  PetscCall(DpsH5WriteAttribute(file, obj, name, H5T_NATIVE_DOUBLE, space, v));
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

/* the shortest text that reads back as v: a value as the file stores it (2.5, 1e+20), not rounded by %g */
static void DpsH5FormatReal(double v, char buf[], size_t len)
{
  for (int p = 1; p <= 17; p++) {
    (void)snprintf(buf, len, "%.*g", p, v);
    if (strtod(buf, NULL) == v) return;
  }
}

PetscErrorCode DpsH5ReadIntArrayAttribute(hid_t file, const char fname[], const char obj[], const char name[], PetscInt nmax, PetscInt *n, PetscInt values[])
{
  hid_t       attr, space, type;
  hssize_t    np;
  H5T_class_t cls;
  long long   v[DPS_H5_MAX_RANK];
  double      r[DPS_H5_MAX_RANK];
  herr_t      err;
  char        text[64];

  PetscFunctionBegin;
  PetscCall(DpsH5OpenAttribute(file, fname, obj, name, &attr));
  space = H5Aget_space(attr);
  np    = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  type = H5Aget_type(attr);
  cls  = H5Tget_class(type);
  H5Tclose(type);
  if (np < 1 || np > nmax || np > DPS_H5_MAX_RANK || (cls != H5T_INTEGER && cls != H5T_FLOAT)) {
    H5Aclose(attr);
    PetscCheck(cls == H5T_INTEGER || cls == H5T_FLOAT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s is not numeric: expected integers", fname, name, obj);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s has %lld values, expected 1 to %" PetscInt_FMT, fname, name, obj, (long long)np, nmax);
  }
  /* read in the stored kind: a float is checked to be a whole number, not truncated by HDF5's conversion */
  err = H5Aread(attr, cls == H5T_FLOAT ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LLONG, cls == H5T_FLOAT ? (void *)r : (void *)v);
  H5Aclose(attr);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute '%s' of %s as integers", fname, name, obj);
  for (hssize_t i = 0; i < np; i++) {
    if (cls == H5T_FLOAT) {
      DpsH5FormatReal(r[i], text, sizeof(text));
      PetscCheck(r[i] == floor(r[i]) && PetscAbsReal(r[i]) <= (double)PETSC_MAX_INT, PETSC_COMM_SELF, r[i] == floor(r[i]) ? PETSC_ERR_INT_OVERFLOW : PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s holds %s (entry %lld): %s", fname, name, obj, text, (long long)i,
                 r[i] == floor(r[i]) ? "too large for this build's PetscInt" : "not a whole number");
      v[i] = (long long)r[i];
    } else PetscCheck(v[i] >= PETSC_MIN_INT && v[i] <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_INT_OVERFLOW, "%s: attribute '%s' of %s holds %lld (entry %lld): more than the %" PetscInt_FMT " that this build's %d-bit PetscInt can hold", fname, name, obj, v[i], (long long)i, PETSC_MAX_INT, (int)(8 * sizeof(PetscInt)));
  }
  *n = (PetscInt)np;
  for (PetscInt i = 0; i < *n; i++) values[i] = (PetscInt)v[i];
  PetscFunctionReturn(0);
}

PetscErrorCode DpsH5WriteInt64Attribute(hid_t file, const char obj[], const char name[], PetscInt n, const int64_t v[])
{
  hsize_t dim = (hsize_t)n;
  hid_t   attr, space;
  herr_t  err;
  char    fname[PETSC_MAX_PATH_LEN], why[256];

  PetscFunctionBegin;
  if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0) {
    attr  = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    space = H5Aget_space(attr);
    if (H5Sget_simple_extent_npoints(space) == n) {
      /* same shape: overwrite the value in place */
      errno = 0;
      err   = H5Awrite(attr, H5T_NATIVE_INT64, v);
      H5Sclose(space);
      H5Aclose(attr);
      if (err < 0) {
        DpsH5WriteFailure(file, NULL, errno, why, sizeof(why));
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write attribute '%s' of %s%s", DpsH5Name(file, fname, sizeof(fname)), name, obj, why);
      }
      PetscFunctionReturn(0);
    }
    H5Sclose(space);
    H5Aclose(attr);
    H5Adelete_by_name(file, obj, name, H5P_DEFAULT);
  }
  space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
  errno = 0;
  attr  = H5Acreate_by_name(file, obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  err = attr < 0 ? -1 : H5Awrite(attr, H5T_NATIVE_INT64, v);
  if (attr >= 0) H5Aclose(attr);
  if (err < 0) {
    DpsH5WriteFailure(file, NULL, errno, why, sizeof(why));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot %s attribute '%s' of %s%s", DpsH5Name(file, fname, sizeof(fname)), attr < 0 ? "create" : "write", name, obj, why);
  }
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
