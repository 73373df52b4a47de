/* DpsDataset: the input file of a run, and this rank's shard of it (design.md, "Files").
   Input: /y [N, m] measurements (optional when /x0 and an operator are given: then y is simulated with the run
   seed), /x0 [N, d] ground truth (optional), /operator, /prior, root attributes sigma_y and data_shape, and
   optionally data_range = [lo, hi] (float64[2]; images: [-1, 1]), the range the data live in. */
#ifndef DPSOLVE_DATASET_H
#define DPSOLVE_DATASET_H

#include <petscsys.h>
#include <hdf5.h>
#include <stdint.h>
#include <dpsolve/operator.h>
#include <dpsolve/score.h>

typedef struct _n_DpsDataset *DpsDataset;

PETSC_EXTERN PetscErrorCode DpsDatasetOpen(MPI_Comm, const char[], DpsDataset *);
PETSC_EXTERN PetscErrorCode DpsDatasetClose(DpsDataset *);
PETSC_EXTERN PetscErrorCode DpsDatasetLoadOperator(DpsDataset, DpsOperator);
PETSC_EXTERN PetscErrorCode DpsDatasetLoadScore(DpsDataset, DpsScore);
PETSC_EXTERN PetscErrorCode DpsDatasetGetSizes(DpsDataset, PetscInt *, PetscInt *, PetscInt *); /* N, d, m */
PETSC_EXTERN PetscErrorCode DpsDatasetGetNoise(DpsDataset, PetscReal *);
PETSC_EXTERN PetscErrorCode DpsDatasetHasGroundTruth(DpsDataset, PetscBool *);
PETSC_EXTERN PetscErrorCode DpsDatasetGetShape(DpsDataset, PetscInt *, PetscInt[]);
/* the attribute data_range: *has = PETSC_FALSE when the input declares none (range untouched) */
PETSC_EXTERN PetscErrorCode DpsDatasetGetDataRange(DpsDataset, PetscBool *, PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsDatasetGetFilename(DpsDataset, const char **);
/* Restricts the run to part p of n of the file's inputs (the same contiguous blocks as DpsShard), for job arrays:
   inputs keep their index in the file, so the parts of a data set are bit-identical to the rows of one run */
PETSC_EXTERN PetscErrorCode DpsDatasetSetPart(DpsDataset, PetscInt, PetscInt);
/* index in the file of the first input of the run (0 unless DpsDatasetSetPart); N of GetSizes counts from it */
PETSC_EXTERN PetscErrorCode DpsDatasetGetFirstInput(DpsDataset, PetscInt *);
/* this rank's inputs [lo, hi), counted from the first input: contiguous blocks, the same for every verb */
PETSC_EXTERN PetscErrorCode DpsDatasetGetShard(DpsDataset, PetscInt *, PetscInt *);
/* rows [lo, hi) of /y (checked finite) or, without /y, A x0 + sigma_y n with n from the run seed */
PETSC_EXTERN PetscErrorCode DpsDatasetReadMeasurements(DpsDataset, DpsOperator, PetscInt64, PetscReal **);
PETSC_EXTERN PetscErrorCode DpsDatasetReadGroundTruth(DpsDataset, PetscReal **);
PETSC_EXTERN PetscErrorCode DpsDatasetGetFile(DpsDataset, hid_t *);
/* Collective: fails, naming the file, the sizes and the memory, when a batch of this rank's inputs with S draws
   of d values (or q of sampler state) would hold more values than PetscInt indexes: DpsDatasetCheckDraws(ds, S,
   batch, q), before allocating [batch S d] */
PETSC_EXTERN PetscErrorCode DpsDatasetCheckDraws(DpsDataset, PetscInt, PetscInt, PetscInt);
/* collective: checksum of every dataset of the input (values and names) and of its attributes sigma_y,
   data_shape and the operator type: what a restart compares to know it reads the same data */
PETSC_EXTERN PetscErrorCode DpsDatasetChecksum(DpsDataset, uint64_t *);

/* The contiguous shard of N inputs for `rank` of `size` */
PETSC_EXTERN PetscErrorCode DpsShard(PetscInt, PetscMPIInt, PetscMPIInt, PetscInt *, PetscInt *);

#endif
