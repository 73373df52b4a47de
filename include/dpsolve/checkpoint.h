/* DpsCheckpoint: the restart file of a run (docs/running-on-slurm.md, "Checkpoints and restarts").

   Until a run ends, its checkpoint is the source of truth (design.md, "Files"). It holds, for every input,
   its progress: -1 not started; 0 done (its rows of <output>.partial are final: they were flushed before the
   checkpoint was written); i in 1..steps: in flight, its draws hold x_i. For the inputs in flight it holds their
   draws x_i [S, d] and the sampler's own state [S, q]. That is enough for a restart with any number of ranks or
   batch size, because an input's result depends only on (options, seed, input index) and its own chain.

   It also holds the identity of the run: the name and value of everything the results depend on (options,
   sampler, operator, steps, seed, draws, the input data's checksum, the version). A restart whose identity
   differs is refused, naming the first difference and both values.

   Written collectively to <file>.tmp, flushed, fsync'd, then renamed over <file> by rank 0; the checkpoint it
   replaces is kept as <file>.prev (a hard link), used when <file> turns out damaged. */
#ifndef DPSOLVE_CHECKPOINT_H
#define DPSOLVE_CHECKPOINT_H

#include <petscsys.h>
#include <stdint.h>

typedef struct _n_DpsCheckpoint *DpsCheckpoint;

/* progress of an input */
#define DPS_PROGRESS_NOT_STARTED ((PetscInt64)-1)
#define DPS_PROGRESS_DONE        ((PetscInt64)0)

/* run-wide counters carried across restarts, so that the output reports the work of the whole run */
typedef enum { DPS_COUNT_SCORE_EPS, DPS_COUNT_SCORE_JVP, DPS_COUNT_SCORE_VJP, DPS_COUNT_SOLVES, DPS_COUNT_CG_ITERATIONS, DPS_COUNT_STEPS, DPS_COUNT_OUT_OF_RANGE, DPS_NUM_COUNTS } DpsCount;

PETSC_EXTERN PetscErrorCode DpsCheckpointCreate(MPI_Comm, const char[], DpsCheckpoint *);
PETSC_EXTERN PetscErrorCode DpsCheckpointDestroy(DpsCheckpoint *);
/* N inputs, S draws of d values, q doubles of sampler state per draw */
PETSC_EXTERN PetscErrorCode DpsCheckpointSetSizes(DpsCheckpoint, PetscInt, PetscInt, PetscInt, PetscInt);
/* one entry of the identity, e.g. ("-steps", "30"); compared in the order they were added */
PETSC_EXTERN PetscErrorCode DpsCheckpointAddIdentity(DpsCheckpoint, const char[], const char[]);
/* every option of the database that can change results (not -batch, -output, -checkpoint, monitors, ...)
   and is not already part of the identity */
PETSC_EXTERN PetscErrorCode DpsCheckpointAddOptions(DpsCheckpoint);
PETSC_EXTERN PetscErrorCode DpsCheckpointGetPath(DpsCheckpoint, const char **);
/* its temporary file (<file>.tmp) and previous copy (<file>.prev) */
PETSC_EXTERN PetscErrorCode DpsCheckpointGetSideFiles(DpsCheckpoint, const char **, const char **);
PETSC_EXTERN PetscErrorCode DpsCheckpointExists(DpsCheckpoint, PetscBool *);

/* Collective. Rows [lo, hi) of the progress of all N inputs (this rank's shard), then nflight inputs in flight
   (global indices, ascending, all within [lo, hi)) with their draws x [nflight, S, d] and state [nflight, S, q].
   run_id names the run (also written to its output); counts are run-wide totals. */
PETSC_EXTERN PetscErrorCode DpsCheckpointWrite(DpsCheckpoint, uint64_t, const PetscInt64[], PetscInt, PetscInt, const PetscInt64[], PetscInt, const PetscInt[], const PetscReal[], const PetscReal[]);

/* Collective. Finds a good checkpoint (<file>, else <file>.prev, with a warning naming what was wrong), checks its
   identity against this run's (an error names the difference), and reads what this rank's shard [lo, hi) needs:
   progress[hi - lo], and the inputs in flight among them (allocated with PetscMalloc, free with PetscFree). */
PETSC_EXTERN PetscErrorCode DpsCheckpointLoad(DpsCheckpoint, PetscInt, PetscInt, PetscInt64[], PetscInt *, PetscInt **, PetscReal **, PetscReal **);
PETSC_EXTERN PetscErrorCode DpsCheckpointGetRun(DpsCheckpoint, uint64_t *, PetscInt64[]);
/* Reads only the run id of a good checkpoint (no identity check): PETSC_FALSE when there is none */
PETSC_EXTERN PetscErrorCode DpsCheckpointPeekRunId(DpsCheckpoint, PetscBool *, uint64_t *);

/* Collective: the run is complete; the checkpoint, its previous copy and any temporary file are removed */
PETSC_EXTERN PetscErrorCode DpsCheckpointRemove(DpsCheckpoint);

#endif
