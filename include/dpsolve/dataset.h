/* DpsDataset: the input file of a run, and this rank's shard of it (design.md, "Files").
   Input: /y [N, m] measurements (optional when /x0 and an operator are given: then y is simulated with the run
   seed), /x0 [N, d] ground truth (optional), /operator, /prior, root attributes sigma_y and data_shape.
   DpsOutput: the output file, written collectively; it appears under its name only once complete. */
#ifndef DPSOLVE_DATASET_H
#define DPSOLVE_DATASET_H

#include <petscsys.h>
#include <hdf5.h>
#include <stdint.h>
#include <dpsolve/operator.h>
#include <dpsolve/score.h>

typedef struct _n_DpsDataset *DpsDataset;
typedef struct _n_DpsOutput  *DpsOutput;

PETSC_EXTERN PetscErrorCode DpsDatasetOpen(MPI_Comm, const char[], DpsDataset *);
PETSC_EXTERN PetscErrorCode DpsDatasetClose(DpsDataset *);
PETSC_EXTERN PetscErrorCode DpsDatasetLoadOperator(DpsDataset, DpsOperator);
PETSC_EXTERN PetscErrorCode DpsDatasetLoadScore(DpsDataset, DpsScore);
PETSC_EXTERN PetscErrorCode DpsDatasetGetSizes(DpsDataset, PetscInt *, PetscInt *, PetscInt *); /* N, d, m */
PETSC_EXTERN PetscErrorCode DpsDatasetGetNoise(DpsDataset, PetscReal *);
PETSC_EXTERN PetscErrorCode DpsDatasetHasGroundTruth(DpsDataset, PetscBool *);
PETSC_EXTERN PetscErrorCode DpsDatasetGetShape(DpsDataset, PetscInt *, PetscInt[]);
PETSC_EXTERN PetscErrorCode DpsDatasetGetFilename(DpsDataset, const char **);
/* this rank's inputs [lo, hi): contiguous blocks, the same for every verb */
PETSC_EXTERN PetscErrorCode DpsDatasetGetShard(DpsDataset, PetscInt *, PetscInt *);
/* rows [lo, hi) of /y (checked finite) or, without /y, A x0 + sigma_y n with n from the run seed */
PETSC_EXTERN PetscErrorCode DpsDatasetReadMeasurements(DpsDataset, DpsOperator, PetscInt64, PetscReal **);
PETSC_EXTERN PetscErrorCode DpsDatasetReadGroundTruth(DpsDataset, PetscReal **);
PETSC_EXTERN PetscErrorCode DpsDatasetGetFile(DpsDataset, hid_t *);

/* The contiguous shard of N inputs for `rank` of `size` */
PETSC_EXTERN PetscErrorCode DpsShard(PetscInt, PetscMPIInt, PetscMPIInt, PetscInt *, PetscInt *);

/* Fails, naming the file, when path exists and force is false; nothing is touched. */
PETSC_EXTERN PetscErrorCode DpsCheckOutputPath(MPI_Comm, const char[], PetscBool);

PETSC_EXTERN PetscErrorCode DpsOutputCreate(MPI_Comm, const char[], PetscInt, PetscInt, PetscInt, PetscInt, PetscBool, DpsOutput *);
/* collective: rows [row0, row0 + n) of /samples [N,S,d], /mean, /std [N,d] (S > 1), /y [N,m], /x0 [N,d], /done */
PETSC_EXTERN PetscErrorCode DpsOutputWrite(DpsOutput, PetscInt, PetscInt, const PetscReal[], const PetscReal[], const PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsOutputGetFile(DpsOutput, hid_t *);
/* closes and moves the finished file to its name; on error the partial file is removed and any earlier file kept */
PETSC_EXTERN PetscErrorCode DpsOutputFinish(DpsOutput *);
PETSC_EXTERN PetscErrorCode DpsOutputAbort(DpsOutput *);

/* Checksum of n 8-byte words at positions position0, position0 + 1, ... of an array named by salt: the sum over
   the words of a 64-bit mix of (salt, position, word), mod 2^64. Parts computed on different ranks add up to the
   checksum of the whole, whatever the split, and any change of a word or of its position changes the sum. */
PETSC_EXTERN uint64_t DpsChecksum(uint64_t, uint64_t, size_t, const void *);
PETSC_EXTERN uint64_t DpsChecksumSalt(const char[]);

#endif
