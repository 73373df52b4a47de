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
/* collective: checksum of every dataset of the input (values and names) and of its attributes sigma_y,
   data_shape and the operator type: what a restart compares to know it reads the same data */
PETSC_EXTERN PetscErrorCode DpsDatasetChecksum(DpsDataset, uint64_t *);

/* The contiguous shard of N inputs for `rank` of `size` */
PETSC_EXTERN PetscErrorCode DpsShard(PetscInt, PetscMPIInt, PetscMPIInt, PetscInt *, PetscInt *);

/* Fails, naming the file, when path exists and force is false, or when its directory is missing or not
   writable (DpsCheckWritableDirectory); nothing is touched. */
PETSC_EXTERN PetscErrorCode DpsCheckOutputPath(MPI_Comm, const char[], PetscBool);
/* Fails, naming the file (what: "output file", "checkpoint", ...), its directory and the reason, unless a file
   can be created in the directory of path */
PETSC_EXTERN PetscErrorCode DpsCheckWritableDirectory(MPI_Comm, const char[], const char[]);

/* <path>.partial, with the root attribute complete = 0 */
PETSC_EXTERN PetscErrorCode DpsOutputCreate(MPI_Comm, const char[], PetscInt, PetscInt, PetscInt, PetscInt, PetscBool, DpsOutput *);
/* <path>.partial as an interrupted run left it, if it is that run's (attribute run_id) and of these sizes; else
   NULL, with the reason in why[len] */
PETSC_EXTERN PetscErrorCode DpsOutputReopen(MPI_Comm, const char[], PetscInt, PetscInt, PetscInt, PetscInt, PetscBool, uint64_t, DpsOutput *, char[], size_t);
/* collective: the /done flags of rows [row0, row0 + n) */
PETSC_EXTERN PetscErrorCode DpsOutputReadDone(DpsOutput, PetscInt, PetscInt, PetscBool[]);
/* collective: every row written so far is on disk (before a checkpoint says so) */
PETSC_EXTERN PetscErrorCode DpsOutputFlush(DpsOutput);
/* collective: complete = 1, the last change before DpsOutputFinish */
PETSC_EXTERN PetscErrorCode DpsOutputSetComplete(DpsOutput);
/* whether path is a complete output (attribute complete = 1), and its run_id (0 when none) */
PETSC_EXTERN PetscErrorCode DpsOutputPeek(MPI_Comm, const char[], PetscBool *, uint64_t *);
/* collective: rows [row0, row0 + n) of /samples [N,S,d], /mean, /std [N,d] (S > 1), /y [N,m], /x0 [N,d], /done */
PETSC_EXTERN PetscErrorCode DpsOutputWrite(DpsOutput, PetscInt, PetscInt, const PetscReal[], const PetscReal[], const PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsOutputGetFile(DpsOutput, hid_t *);
/* flushes, closes, fsyncs and moves the finished file to its name; on error the partial file is removed and any
   earlier file kept */
PETSC_EXTERN PetscErrorCode DpsOutputFinish(DpsOutput *);
PETSC_EXTERN PetscErrorCode DpsOutputAbort(DpsOutput *);
/* closes and keeps <path>.partial, for a restart to continue (the run stopped at a checkpoint) */
PETSC_EXTERN PetscErrorCode DpsOutputClose(DpsOutput *);

/* Checksum of n 8-byte words at positions position0, position0 + 1, ... of an array named by salt: the sum over
   the words of a 64-bit mix of (salt, position, word), mod 2^64. Parts computed on different ranks add up to the
   checksum of the whole, whatever the split, and any change of a word or of its position changes the sum. */
PETSC_EXTERN uint64_t DpsChecksum(uint64_t, uint64_t, size_t, const void *);
PETSC_EXTERN uint64_t DpsChecksumSalt(const char[]);

#endif
