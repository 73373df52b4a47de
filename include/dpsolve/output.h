/* DpsOutput: the output file of a run, written collectively; it appears under its name only once complete
   (design.md, "Files"). Layout: /samples [N, S, d], /mean and /std [N, d] (S > 1), /y [N, m], /x0 [N, d] (when
   the input has it), /done [N]; root attributes complete (0 until the last change), run_id and what the run
   was (DpsRun writes them). */
#ifndef DPSOLVE_OUTPUT_H
#define DPSOLVE_OUTPUT_H

#include <petscsys.h>
#include <hdf5.h>
#include <stdint.h>

typedef struct _n_DpsOutput *DpsOutput;

/* the name under which the output of path is written until it is complete: <path>.partial */
PETSC_EXTERN PetscErrorCode DpsOutputPartialPath(const char[], char[], size_t);
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

#endif
