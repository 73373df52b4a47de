/* dpsolve simulate: writes a Gaussian-mixture benchmark problem (methods.md section 7, the MCGdiff construction).
   The file holds the prior (/prior), the operator (/operator), ground truth /x0 [N, d], measurements /y [N, m],
   and the attributes sigma_y and data_shape. */
#include "app/app.h"
#include <errno.h>
#include "io/h5.h"

PetscErrorCode DpsAppSimulate(MPI_Comm comm)
{
  DpsGMMProblemSpec spec = {8, 1, "cs", 0.7, {0, 0, 0, 0}, PETSC_FALSE, -1.0, 0};
  char              output[PETSC_MAX_PATH_LEN] = "";
  PetscInt          N = 16, seed = 0, nbox = 4, d, m;
  PetscReal         sigma_y, *x0, *y;
  PetscBool         force = PETSC_FALSE, hasout, setsigma;
  PetscMPIInt       rank;
  DpsOperator       op;
  DpsScore          prior;
  hid_t             file;

  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "dpsolve simulate: a Gaussian-mixture benchmark problem", NULL);
  PetscCall(PetscOptionsString("-output", "Input file to write", NULL, output, output, sizeof(output), &hasout));
  PetscCall(PetscOptionsBool("-force", "Replace an existing file", NULL, force, &force, NULL));
  PetscCall(DpsOptionsInt("-dx", "Signal dimension d_x", NULL, spec.dx, &spec.dx, NULL));
  PetscCall(DpsOptionsInt("-dy", "Measurement dimension d_y (cs)", NULL, spec.dy, &spec.dy, NULL));
  PetscCall(DpsOptionsInt("-inputs", "Number of inputs N (ground truths and measurements)", NULL, N, &N, NULL));
  PetscCall(DpsOptionsInt("-seed", "Problem seed", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsString("-simulate_operator", "Operator: cs (MCGdiff) or inpaint", NULL, spec.operator_type, spec.operator_type, sizeof(spec.operator_type), NULL));
  PetscCall(PetscOptionsReal("-inpaint_missing", "inpaint: fraction of entries missing at random", NULL, spec.missing, &spec.missing, NULL));
  PetscCall(PetscOptionsIntArray("-inpaint_box", "inpaint: missing box row0,col0,height,width on the 1 x dx grid", NULL, spec.box, &nbox, &spec.hasbox));
  PetscCall(PetscOptionsReal("-simulate_sigma_y", "Noise level (default: u max(s), u ~ U(0,1))", NULL, spec.sigma_y, &spec.sigma_y, &setsigma));
  PetscOptionsEnd();
  PetscCall(DpsOptionsCheckAllUsed(comm, "simulate"));
  if (DpsAppHelpOnly()) PetscFunctionReturn(0);
  PetscCheck(hasout, comm, PETSC_ERR_USER_INPUT, "dpsolve simulate needs -output <file.h5>");
  PetscCheck(N >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-inputs %" PetscInt_FMT " must be positive", N);
  PetscCheck(!spec.hasbox || nbox == 4, comm, PETSC_ERR_ARG_WRONG, "-inpaint_box needs 4 integers row0,col0,height,width (got %" PetscInt_FMT ")", nbox);
  PetscCheck(!setsigma || spec.sigma_y > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-simulate_sigma_y %g must be positive", (double)spec.sigma_y);
  PetscCheck(seed >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-seed %" PetscInt_FMT " must be non-negative", seed);
  spec.seed = seed;
  PetscCall(DpsCheckOutputPath(comm, "output file", output, force));

  PetscCall(DpsGMMProblemCreate(&spec, &prior, &op, &sigma_y));
  if (!strcmp(spec.operator_type, DPSOPERATORINPAINT)) {
    /* a mask that observes nothing makes a problem that is only the prior: `run` refuses it, so it is not
       written (diag(A^T A) is the mask) */
    Vec       mask;
    PetscReal max;
    PetscCall(DpsOperatorGetSizes(op, &m, &d));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, d, &mask));
    PetscCall(DpsOperatorGetNormalDiagonal(op, mask));
    PetscCall(VecMax(mask, NULL, &max));
    PetscCall(VecDestroy(&mask));
    PetscCheck(max > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-inpaint_missing %g%s: the mask leaves nothing observed (none of the %" PetscInt_FMT " entries): a run would refuse it", (double)spec.missing, spec.hasbox ? " with -inpaint_box" : "", d);
  }
  PetscCall(DpsOperatorGetSizes(op, &m, &d));
  PetscCall(PetscMalloc2(N * d, &x0, N * m, &y));
  PetscCall(DpsGMMProblemDraw(&spec, prior, op, sigma_y, 0, N, x0, y));

  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    /* written beside its name and moved there once complete and on disk: an existing file (-force) is never
       lost to a half-written one */
    hsize_t  dxdims[2] = {(hsize_t)N, (hsize_t)d}, dydims[2] = {(hsize_t)N, (hsize_t)m};
    PetscInt shape[3]  = {1, 1, d};
    char     partial[PETSC_MAX_PATH_LEN + 16];
    PetscCall(DpsOutputPartialPath(output, partial, sizeof(partial)));
    PetscCall(DpsH5Create(PETSC_COMM_SELF, partial, &file));
    PetscCall(DpsScoreSave(prior, file));
    PetscCall(DpsOperatorSave(op, file));
    PetscCall(DpsH5WriteAll(file, "/x0", 2, dxdims, x0));
    PetscCall(DpsH5WriteAll(file, "/y", 2, dydims, y));
    PetscCall(DpsH5WriteRealAttribute(file, "/", "sigma_y", sigma_y));
    PetscCall(DpsH5WriteIntArrayAttribute(file, "/", "data_shape", 3, shape));
    PetscCall(DpsH5WriteIntAttribute(file, "/", "seed", seed));
    PetscCall(DpsH5WriteStringAttribute(file, "/", "problem", "Gaussian mixture, MCGdiff construction (methods.md section 7)"));
    PetscCall(DpsH5WriteStringAttribute(file, "/", "version", DPSOLVE_VERSION));
    PetscCall(DpsH5Close(&file));
    PetscCall(DpsSyncPath(partial, PETSC_FALSE));
    PetscCheck(!rename(partial, output), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot move %s to %s: %s", partial, output, strerror(errno));
    PetscCall(DpsSyncPath(output, PETSC_TRUE));
  }
  PetscCallMPI(MPI_Barrier(comm));
  PetscCall(PetscPrintf(comm, "wrote %s: %" PetscInt_FMT " inputs, d_x = %" PetscInt_FMT ", d_y = %" PetscInt_FMT ", operator %s, sigma_y = %.4g\n", output, N, d, m, spec.operator_type, (double)sigma_y));
  PetscCall(PetscFree2(x0, y));
  PetscCall(DpsScoreDestroy(&prior));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}
