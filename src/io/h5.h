/* Thin, checked helpers over the HDF5 C API. Every error names the file, the dataset and what was expected. */
#ifndef DPSOLVE_H5_H
#define DPSOLVE_H5_H
#include <petscsys.h>
#include <hdf5.h>
#include <stdint.h>

#define DPS_H5_MAX_RANK 8

/* before any other HDF5 call (the helpers below call it): HDF5's own error printing off, and no closing of open
   files at exit (a failed run leaves without MPI_Finalize) */
PETSC_EXTERN void           DpsH5Init(void);
/* After a failed HDF5 write to the file of obj (or named path): why[] = ": No space left on device" when errno
   (cleared before the call, passed as err) or the file system's free space says so, else "" */
PETSC_EXTERN void        DpsH5WriteFailure(hid_t, const char *, int, char[], size_t);
/* the name of the file that holds an HDF5 object, in name[len], for messages */
PETSC_EXTERN const char *DpsH5Name(hid_t, char[], size_t);
PETSC_EXTERN PetscErrorCode DpsH5Open(MPI_Comm, const char[], PetscBool, hid_t *);   /* existing file; PETSC_TRUE: read-write */
PETSC_EXTERN PetscErrorCode DpsH5Create(MPI_Comm, const char[], hid_t *);            /* new file, truncating */
/* closes and sets -1, also when the close fails (the error names the file and, e.g., "No space left on device") */
PETSC_EXTERN PetscErrorCode DpsH5Close(hid_t *);
/* collective: every write so far is on disk (MPI_File_sync); the error names the file and the reason */
PETSC_EXTERN PetscErrorCode DpsH5Flush(hid_t);
PETSC_EXTERN PetscErrorCode DpsH5Exists(hid_t, const char[], PetscBool *);
PETSC_EXTERN PetscErrorCode DpsH5CreateGroup(hid_t, const char[]);

/* Shape of a floating-point dataset, checked against the expected rank; shape names the dims, e.g. "(N, m)". */
PETSC_EXTERN PetscErrorCode DpsH5GetDims(hid_t, const char[], const char[], int, const char[], hsize_t[]);
PETSC_EXTERN PetscErrorCode DpsH5ReadAll(hid_t, const char[], const char[], PetscReal[]);
/* Rows [row0, row0 + nrows) along the first dimension, each of rowlen values; collective. */
PETSC_EXTERN PetscErrorCode DpsH5ReadRows(hid_t, const char[], const char[], PetscInt, PetscInt, PetscInt, PetscReal[]);
/* the same into a buffer of another memory type (H5T_NATIVE_INT64, ...) */
PETSC_EXTERN PetscErrorCode DpsH5ReadRowsTyped(hid_t, const char[], const char[], PetscInt, PetscInt, PetscInt, void *, hid_t);
PETSC_EXTERN PetscErrorCode DpsH5CheckFinite(const char[], const char[], PetscInt, PetscInt, PetscInt, const PetscReal[]);

/* A double dataset with one chunk per first-dimension row. */
PETSC_EXTERN PetscErrorCode DpsH5CreateDataset(hid_t, const char[], int, const hsize_t[], hid_t);
/* Collective write of rows [row0, row0 + nrows); every rank calls it, nrows may be 0. */
PETSC_EXTERN PetscErrorCode DpsH5WriteRows(hid_t, const char[], PetscInt, PetscInt, PetscInt, const void *, hid_t);
PETSC_EXTERN PetscErrorCode DpsH5WriteAll(hid_t, const char[], int, const hsize_t[], const PetscReal[]);

PETSC_EXTERN PetscErrorCode DpsH5ReadStringAttribute(hid_t, const char[], const char[], const char[], char[], size_t);
PETSC_EXTERN PetscErrorCode DpsH5WriteStringAttribute(hid_t, const char[], const char[], const char[]);
PETSC_EXTERN PetscErrorCode DpsH5ReadRealAttribute(hid_t, const char[], const char[], const char[], PetscReal *);
PETSC_EXTERN PetscErrorCode DpsH5WriteRealAttribute(hid_t, const char[], const char[], PetscReal);
PETSC_EXTERN PetscErrorCode DpsH5WriteRealArrayAttribute(hid_t, const char[], const char[], PetscInt, const PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsH5WriteIntAttribute(hid_t, const char[], const char[], PetscInt);
PETSC_EXTERN PetscErrorCode DpsH5WriteIntArrayAttribute(hid_t, const char[], const char[], PetscInt, const PetscInt[]);
PETSC_EXTERN PetscErrorCode DpsH5ReadIntArrayAttribute(hid_t, const char[], const char[], const char[], PetscInt, PetscInt *, PetscInt[]);

/* 64-bit integer attributes (PetscInt is 32-bit here; counters and run ids are not). Writing an attribute that
   exists with the same shape overwrites its value in place, so that the object header keeps its layout: the
   last metadata change of an output file is then a rewrite of the same bytes, not a reallocation. */
PETSC_EXTERN PetscErrorCode DpsH5WriteInt64Attribute(hid_t, const char[], const char[], PetscInt, const int64_t[]);
PETSC_EXTERN PetscErrorCode DpsH5ReadInt64Attribute(hid_t, const char[], const char[], const char[], PetscInt, int64_t[]);
#endif
