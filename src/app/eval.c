/* dpsolve eval: for Gaussian-mixture inputs, draws exact posterior samples and reports the sliced Wasserstein-1
   distance of the run's samples to them, and the floor: SW between two independent exact sets of the same size
   (methods.md section 7). A table on stdout; /eval/sw and /eval/floor [N] in the output file. */
#include "app/app.h"
#include "io/h5.h"

PetscErrorCode DpsAppEval(MPI_Comm comm)
{
  char            input[PETSC_MAX_PATH_LEN] = "", output[PETSC_MAX_PATH_LEN] = "";
  PetscInt        L = 1000, seed = 0, N, d, m, lo, hi, S;
  PetscBool       hasin, hasout, force = PETSC_FALSE, exists;
  DpsDataset      data;
  DpsOperator     op;
  DpsScore        score;
  DpsGMMPosterior post;
  PetscReal       sigma_y, *samples, *exact, *exact2, *y, *sw, *floor, *priorsw;
  hid_t           out;
  hsize_t         dims[3];

  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "dpsolve eval: sliced Wasserstein distance to the exact posterior", NULL);
  PetscCall(PetscOptionsString("-input", "Input file of the run (prior, operator, sigma_y)", NULL, input, input, sizeof(input), &hasin));
  PetscCall(PetscOptionsString("-output", "Output file of the run: /samples is read, /eval is written", NULL, output, output, sizeof(output), &hasout));
  PetscCall(DpsOptionsInt("-eval_directions", "Directions L of the sliced Wasserstein distance", NULL, L, &L, NULL));
  PetscCall(DpsOptionsInt("-eval_seed", "Seed of the exact draws and the directions", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsBool("-force", "Replace an existing /eval group", NULL, force, &force, NULL));
  PetscOptionsEnd();
  PetscCall(DpsOptionsCheckAllUsed(comm, "eval"));
  if (DpsAppHelpOnly()) PetscFunctionReturn(0);
  PetscCheck(hasin && hasout, comm, PETSC_ERR_USER_INPUT, "dpsolve eval needs -input <in.h5> and -output <out.h5> (the run's files)");
  PetscCheck(L >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_directions %" PetscInt_FMT " must be at least 1", L);
  {
    /* the run's output is opened for writing while the input is open: one file for both would be damaged */
    const DpsFileUse use[] = {
      {"-input",  input,  NULL},
      {"-output", output, NULL},
    };
    PetscCall(DpsFilesCheckDistinct(comm, 2, use));
  }

  PetscCall(DpsDatasetOpen(comm, input, &data));
  PetscCall(DpsOperatorCreate(comm, &op));
  PetscCall(DpsDatasetLoadOperator(data, op));
  PetscCall(DpsScoreCreate(comm, &score));
  PetscCall(DpsDatasetLoadScore(data, score));
  PetscCall(DpsDatasetGetSizes(data, &N, &d, &m));
  PetscCall(DpsDatasetGetNoise(data, &sigma_y));
  PetscCall(DpsDatasetGetShard(data, &lo, &hi));

  PetscCall(DpsH5Open(comm, output, PETSC_TRUE, &out));
  {
    /* only a finished run is evaluated: a file whose `complete` attribute is not 1 holds rows not yet written */
    PetscReal complete;
    PetscCall(DpsH5ReadRealAttribute(out, output, "/", "complete", &complete));
    PetscCheck(complete == 1.0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute complete = %g: the run did not finish (restart it with -restart)", output, (double)complete);
  }
  PetscCall(DpsH5GetDims(out, output, "/samples", 3, "(N, S, d)", dims));
  PetscCheck((PetscInt)dims[0] == N && (PetscInt)dims[2] == d, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: /samples is [%llu, %llu, %llu] but %s has N = %" PetscInt_FMT " inputs of dimension %" PetscInt_FMT, output, (unsigned long long)dims[0], (unsigned long long)dims[1],
             (unsigned long long)dims[2], input, N, d);
  S = (PetscInt)dims[1];
  PetscCall(DpsH5Exists(out, "/eval", &exists));
  PetscCheck(!exists || force, comm, DPS_ERR_CANT_CREATE, "%s: group /eval already exists: pass -force to replace it", output);

  PetscCall(PetscLogEventBegin(DPS_EVENT_EVAL, 0, 0, 0, 0));
  PetscCall(DpsGMMPosteriorCreate(score, op, sigma_y, &post));
  PetscCall(PetscMalloc4(S * d, &samples, S * d, &exact, S * d, &exact2, PetscMax(m, 1), &y));
  PetscCall(PetscCalloc3(N, &sw, N, &floor, N, &priorsw));
  /* reads are collective: every rank takes part in as many as the rank with the most inputs, with empty
     selections past the end of its shard */
  {
    PetscInt mine = hi - lo, most;
    PetscCallMPI(MPI_Allreduce(&mine, &most, 1, MPIU_INT, MPI_MAX, comm));
    for (PetscInt k = 0; k < most; k++) {
      const PetscInt i = lo + k, n = k < mine ? 1 : 0;
      /* the measurement the run used: /y of the output (simulated there when the input had none) */
      PetscCall(DpsH5ReadRows(out, output, "/y", n ? i : 0, n, m, y));
      PetscCall(DpsH5ReadRows(out, output, "/samples", n ? i : 0, n, S * d, samples));
      if (!n) continue;
      PetscCall(DpsGMMPosteriorCondition(post, y, NULL, NULL));
      PetscCall(DpsGMMPosteriorSample(post, seed, i, DPS_STREAM_EXACT_A, S, exact));
      PetscCall(DpsGMMPosteriorSample(post, seed, i, DPS_STREAM_EXACT_B, S, exact2));
      PetscCall(DpsSlicedWasserstein(S, d, samples, exact, L, seed, i, &sw[i]));
      PetscCall(DpsSlicedWasserstein(S, d, exact2, exact, L, seed, i, &floor[i]));
      /* the reference a sampler must beat: samples that ignore y */
      PetscCall(DpsGMMPriorSample(score, seed, i, DPS_STREAM_PRIOR_DRAWS, S, exact2));
      PetscCall(DpsSlicedWasserstein(S, d, exact2, exact, L, seed, i, &priorsw[i]));
    }
  }
  PetscCall(PetscLogEventEnd(DPS_EVENT_EVAL, 0, 0, 0, 0));
  {
    hsize_t dn = (hsize_t)N;
    /* the old results go only now that the new ones exist */
    if (exists) PetscCheck(H5Ldelete(out, "/eval", H5P_DEFAULT) >= 0, comm, PETSC_ERR_FILE_WRITE, "%s: cannot remove the old /eval", output);
    PetscCall(DpsH5CreateGroup(out, "/eval"));
    PetscCall(DpsH5CreateDataset(out, "/eval/sw", 1, &dn, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5CreateDataset(out, "/eval/floor", 1, &dn, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5CreateDataset(out, "/eval/prior", 1, &dn, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5WriteRows(out, "/eval/sw", lo, hi - lo, 1, sw + lo, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5WriteRows(out, "/eval/floor", lo, hi - lo, 1, floor + lo, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5WriteRows(out, "/eval/prior", lo, hi - lo, 1, priorsw + lo, H5T_NATIVE_DOUBLE));
    PetscCall(DpsH5WriteIntAttribute(out, "/eval", "directions", L));
    PetscCall(DpsH5WriteIntAttribute(out, "/eval", "exact_samples", S));
    PetscCall(DpsH5WriteIntAttribute(out, "/eval", "seed", seed));
    PetscCall(DpsH5WriteStringAttribute(out, "/eval", "metric", "sliced Wasserstein-1 to exact posterior draws (sw); floor: between two exact sets of the same size; prior: prior draws against the exact posterior"));
  }
  PetscCall(DpsH5Close(&out));

  /* the table: every rank's values gathered by a sum over otherwise-zero arrays */
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sw, (PetscMPIInt)N, MPIU_REAL, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, floor, (PetscMPIInt)N, MPIU_REAL, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, priorsw, (PetscMPIInt)N, MPIU_REAL, MPI_SUM, comm));
  {
    PetscReal *cols[3] = {sw, floor, priorsw}, mean[3] = {0, 0, 0}, ci[3] = {0, 0, 0};
    PetscCall(PetscPrintf(comm, "sliced Wasserstein-1 to the exact posterior (%" PetscInt_FMT " directions, %" PetscInt_FMT " samples each); floor: two exact sets; prior: prior samples\n", L, S));
    PetscCall(PetscPrintf(comm, "| input | SW | floor | prior |\n|---:|---:|---:|---:|\n"));
    for (PetscInt i = 0; i < N; i++) PetscCall(PetscPrintf(comm, "| %" PetscInt_FMT " | %.4f | %.4f | %.4f |\n", i, (double)sw[i], (double)floor[i], (double)priorsw[i]));
    for (PetscInt c = 0; c < 3; c++) {
      PetscReal var = 0.0;
      for (PetscInt i = 0; i < N; i++) mean[c] += cols[c][i] / N;
      for (PetscInt i = 0; i < N; i++) var += PetscSqr(cols[c][i] - mean[c]) / PetscMax(N - 1, 1);
      ci[c] = 1.96 * PetscSqrtReal(var / N);
    }
    PetscCall(PetscPrintf(comm, "| mean (95%% CI) | %.4f +- %.4f | %.4f +- %.4f | %.4f +- %.4f |\n", (double)mean[0], (double)ci[0], (double)mean[1], (double)ci[1], (double)mean[2], (double)ci[2]));
  }
  PetscCall(PetscFree3(sw, floor, priorsw));
  PetscCall(PetscFree4(samples, exact, exact2, y));
  PetscCall(DpsGMMPosteriorDestroy(&post));
  PetscCall(DpsScoreDestroy(&score));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(DpsDatasetClose(&data));
  PetscFunctionReturn(0);
}
