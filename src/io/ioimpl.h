/* Private helpers shared by the output (dataset.c) and the checkpoint (checkpoint.c). */
#ifndef DPSOLVE_IOIMPL_H
#define DPSOLVE_IOIMPL_H
#include <petscsys.h>
#include <hdf5.h>
#include <stdint.h>

/* 64-bit integer attributes (PetscInt is 32-bit here; counters and run ids are not). Writing an attribute that
   exists with the same shape overwrites its value in place, so that the object header keeps its layout: the
   last metadata change of an output file is then a rewrite of the same bytes, not a reallocation. */
PETSC_INTERN PetscErrorCode DpsH5WriteInt64Attribute(hid_t, const char[], const char[], PetscInt, const int64_t[]);
PETSC_INTERN PetscErrorCode DpsH5ReadInt64Attribute(hid_t, const char[], const char[], const char[], PetscInt, int64_t[]);

/* fsync of a file and of the directory that holds it, by path: what makes a rename durable */
PETSC_INTERN PetscErrorCode DpsSyncPath(const char[], PetscBool);
/* calls fn(name, value, ctx) for every option of a database ("-name", "value" or "" for a flag) */
PETSC_INTERN PetscErrorCode DpsOptionsForEach(PetscOptions, PetscErrorCode (*)(const char[], const char[], void *), void *);
#endif
