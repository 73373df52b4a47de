#include <dpsolve/dpsolve.h>
#include "io/h5.h"

struct _n_DpsRun {
  MPI_Comm    comm;
  char        input[PETSC_MAX_PATH_LEN], output[PETSC_MAX_PATH_LEN];
  PetscBool   force, progress;
  PetscInt    S, batch;
  PetscInt64  seed;
  DpsDataset  data;
  DpsSchedule schedule;
  DpsScore    score;
  DpsOperator op;
  DpsSampler  sampler;
};

PetscErrorCode DpsRunCreate(MPI_Comm comm, DpsRun *run)
{
  DpsRun r;

  PetscFunctionBegin;
  PetscCall(DpsInitializePackage());
  PetscCall(PetscNew(&r));
  r->comm     = comm;
  r->S        = 1;
  r->batch    = 8;
  r->progress = PETSC_TRUE;
  *run        = r;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRunSetFromOptions(DpsRun r)
{
  PetscBool hasin, hasout;
  PetscReal sigma_y;
  PetscInt  seed = 0;

  PetscFunctionBegin;
  PetscOptionsBegin(r->comm, NULL, "dpsolve run", "DpsRun");
  PetscCall(PetscOptionsString("-input", "Input HDF5 file (dpsolve simulate writes one)", NULL, r->input, r->input, sizeof(r->input), &hasin));
  PetscCall(PetscOptionsString("-output", "Output HDF5 file", NULL, r->output, r->output, sizeof(r->output), &hasout));
  PetscCall(PetscOptionsBool("-force", "Replace an existing output file (once the new one is complete)", NULL, r->force, &r->force, NULL));
  PetscCall(PetscOptionsInt("-samples", "Posterior draws per input", NULL, r->S, &r->S, NULL));
  PetscCall(PetscOptionsInt("-batch", "Inputs per batch on each rank", NULL, r->batch, &r->batch, NULL));
  PetscCall(PetscOptionsInt("-seed", "Run seed: every random number is a function of it and the input index", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsBool("-progress", "Print inputs done, rate and ETA after every batch", NULL, r->progress, &r->progress, NULL));
  PetscOptionsEnd();
  PetscCheck(hasin, r->comm, PETSC_ERR_USER_INPUT, "dpsolve run needs -input <file.h5>");
  PetscCheck(hasout, r->comm, PETSC_ERR_USER_INPUT, "dpsolve run needs -output <file.h5>");
  PetscCheck(r->batch >= 1, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "-batch %" PetscInt_FMT " must be at least 1", r->batch);
  PetscCheck(seed >= 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "-seed %" PetscInt_FMT " must be non-negative", seed);
  r->seed = seed;
  /* refuse before reading anything: an existing output is never touched without -force */
  PetscCall(DpsCheckOutputPath(r->comm, r->output, r->force));

  PetscCall(DpsDatasetOpen(r->comm, r->input, &r->data));
  PetscCall(DpsOperatorCreate(r->comm, &r->op));
  PetscCall(DpsDatasetLoadOperator(r->data, r->op));
  PetscCall(DpsOperatorSetFromOptions(r->op));
  PetscCall(DpsScoreCreate(r->comm, &r->score));
  PetscCall(DpsDatasetLoadScore(r->data, r->score));
  PetscCall(DpsScoreSetFromOptions(r->score));
  PetscCall(DpsScheduleCreate(r->comm, &r->schedule));
  PetscCall(DpsScheduleSetFromOptions(r->schedule));
  PetscCall(DpsSamplerCreate(r->comm, &r->sampler));
  PetscCall(DpsDatasetGetNoise(r->data, &sigma_y));
  PetscCall(DpsSamplerSetSchedule(r->sampler, r->schedule));
  PetscCall(DpsSamplerSetScore(r->sampler, r->score));
  PetscCall(DpsSamplerSetOperator(r->sampler, r->op, sigma_y));
  PetscCall(DpsSamplerSetSeed(r->sampler, r->seed));
  PetscCall(DpsSamplerSetNumDraws(r->sampler, r->S));
  PetscCall(DpsSamplerSetFromOptions(r->sampler));
  PetscCall(DpsSamplerSetUp(r->sampler));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsRunWriteAttributes(DpsRun r, hid_t file)
{
  char           *all;
  DpsSamplerStats st;
  PetscInt64      local[6], total[6];
  PetscInt        N;
  DpsScoreBackend backend;
  DpsSamplerType  type;
  PetscInt        nshape, shape[DPS_H5_MAX_RANK];
  PetscReal       sigma_y;

  PetscFunctionBegin;
  PetscCall(DpsSamplerGetStats(r->sampler, &st));
  PetscCall(DpsScoreGetCounts(r->score, &local[0], &local[1], &local[2]));
  local[3] = st.solves;
  local[4] = st.cg_iterations;
  local[5] = st.steps;
  PetscCallMPI(MPI_Allreduce(local, total, 6, MPIU_INT64, MPI_SUM, r->comm));
  PetscCall(DpsScheduleGetNumSteps(r->schedule, &N));
  PetscCall(DpsScoreGetBackend(r->score, &backend));
  PetscCall(PetscObjectGetType((PetscObject)r->sampler, &type));
  PetscCall(DpsDatasetGetShape(r->data, &nshape, shape));
  PetscCall(DpsDatasetGetNoise(r->data, &sigma_y));
  /* attributes are collective: every rank writes the same values */
  PetscCall(PetscOptionsGetAll(NULL, &all));
  PetscCall(DpsH5WriteStringAttribute(file, "/", "options", all));
  PetscCall(PetscFree(all));
  PetscCall(DpsH5WriteStringAttribute(file, "/", "version", DPSOLVE_VERSION));
  PetscCall(DpsH5WriteStringAttribute(file, "/", "input", r->input));
  PetscCall(DpsH5WriteStringAttribute(file, "/", "sampler", type));
  PetscCall(DpsH5WriteStringAttribute(file, "/", "score_backend", DpsScoreBackends[backend]));
  PetscCall(DpsH5WriteIntAttribute(file, "/", "seed", r->seed));
  PetscCall(DpsH5WriteIntAttribute(file, "/", "samples", r->S));
  PetscCall(DpsH5WriteIntAttribute(file, "/", "steps", N));
  PetscCall(DpsH5WriteRealAttribute(file, "/", "sigma_y", sigma_y));
  PetscCall(DpsH5WriteIntArrayAttribute(file, "/", "data_shape", nshape, shape));
  PetscCall(DpsH5WriteStringAttribute(file, "/", "conventions", "sigma_y in data units (never doubled); samples [N, S, d]; draws depend only on (seed, input index)"));
  PetscCall(DpsH5WriteIntAttribute(file, "/", "score_evaluations", total[0]));
  PetscCall(DpsH5WriteIntAttribute(file, "/", "score_jvps", total[1]));
  PetscCall(DpsH5WriteIntAttribute(file, "/", "score_vjps", total[2]));
  PetscCall(DpsH5WriteIntAttribute(file, "/", "cg_solves", total[3]));
  PetscCall(DpsH5WriteIntAttribute(file, "/", "cg_iterations", total[4]));
  PetscCall(PetscPrintf(r->comm, "cost: %lld score evaluations, %lld CG solves, %lld CG iterations (%.2f per solve, %.2f per step and draw)\n", (long long)total[0], (long long)total[3], (long long)total[4], total[3] ? (double)total[4] / (double)total[3] : 0.0,
                        total[5] ? (double)total[4] / (double)total[5] : 0.0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRunExecute(DpsRun r)
{
  PetscInt       N, d, m, lo, hi, nlocal, rounds, done = 0;
  PetscReal     *y, *x0 = NULL, *samples;
  PetscInt      *index;
  PetscBool      has_x0;
  DpsOutput      out = NULL;
  hid_t          file;
  PetscLogDouble t0, t = 0.0;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(DpsDatasetGetSizes(r->data, &N, &d, &m));
  PetscCall(DpsDatasetGetShard(r->data, &lo, &hi));
  PetscCall(DpsDatasetHasGroundTruth(r->data, &has_x0));
  nlocal = hi - lo;
  /* data moves one way: the shard is read once, then sampled and written batch by batch */
  PetscCall(DpsDatasetReadMeasurements(r->data, r->op, r->seed, &y));
  if (has_x0) PetscCall(DpsDatasetReadGroundTruth(r->data, &x0));
  PetscCall(PetscMalloc2(PetscMax(r->batch * r->S * d, 1), &samples, PetscMax(nlocal, 1), &index));
  for (PetscInt i = 0; i < nlocal; i++) index[i] = lo + i;
  /* writes are collective: every rank takes part in every round, with no rows when its shard is done */
  rounds = (nlocal + r->batch - 1) / r->batch;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPIU_INT, MPI_MAX, r->comm));
  PetscCall(DpsOutputCreate(r->comm, r->output, N, r->S, d, m, has_x0, &out));
  PetscCall(PetscTime(&t0));
  for (PetscInt k = 0; k < rounds; k++) {
    PetscInt b0 = PetscMin(k * r->batch, nlocal), nb = PetscMin(r->batch, nlocal - b0), ndone;
    /* sampling is local to each rank; before the collective write every rank learns whether any failed, so
       that all of them discard the partial file together instead of waiting for each other */
    ierr = DpsSamplerSample(r->sampler, nb, index + b0, y + b0 * m, samples);
    {
      int failed = ierr ? 1 : 0, anyfailed;
      PetscCallMPI(MPI_Allreduce(&failed, &anyfailed, 1, MPI_INT, MPI_MAX, r->comm));
      if (anyfailed) {
        PetscCall(DpsOutputAbort(&out));
        PetscCall(ierr);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "another rank failed while sampling; %s was not written", r->output);
      }
    }
    ierr = DpsOutputWrite(out, lo + b0, nb, samples, y + b0 * m, has_x0 ? x0 + b0 * d : NULL);
    if (ierr) {
      (void)DpsOutputAbort(&out);
      PetscCall(ierr);
    }
    done += nb;
    PetscCallMPI(MPI_Allreduce(&done, &ndone, 1, MPIU_INT, MPI_SUM, r->comm));
    PetscCall(PetscTime(&t));
    if (r->progress) {
      double rate = ndone / PetscMax(t - t0, 1e-9);
      PetscCall(PetscPrintf(r->comm, "progress: %" PetscInt_FMT "/%" PetscInt_FMT " inputs, %.3g inputs/s (%.3g s per input), ETA %.1f s\n", ndone, N, rate, 1.0 / rate, (N - ndone) / rate));
    }
  }
  PetscCall(DpsOutputGetFile(out, &file));
  PetscCall(DpsRunWriteAttributes(r, file));
  PetscCall(DpsOutputFinish(&out));
  PetscCall(PetscPrintf(r->comm, "wrote %s: %" PetscInt_FMT " inputs x %" PetscInt_FMT " draws in %.2f s\n", r->output, N, r->S, t - t0));
  PetscCall(PetscFree2(samples, index));
  PetscCall(PetscFree(y));
  PetscCall(PetscFree(x0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRunView(DpsRun r, PetscViewer viewer)
{
  PetscInt N, d, m;

  PetscFunctionBegin;
  if (!viewer) PetscCall(PetscViewerASCIIGetStdout(r->comm, &viewer));
  PetscCall(DpsDatasetGetSizes(r->data, &N, &d, &m));
  PetscCall(PetscViewerASCIIPrintf(viewer, "dpsolve %s run: %s -> %s, %" PetscInt_FMT " inputs (d = %" PetscInt_FMT ", m = %" PetscInt_FMT "), %" PetscInt_FMT " draws each, batch %" PetscInt_FMT ", seed %" PetscInt64_FMT "\n", DPSOLVE_VERSION, r->input, r->output, N, d, m, r->S,
                                   r->batch, r->seed));
  PetscCall(DpsSamplerView(r->sampler, viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRunDestroy(DpsRun *r)
{
  PetscFunctionBegin;
  if (!*r) PetscFunctionReturn(0);
  PetscCall(DpsSamplerDestroy(&(*r)->sampler));
  PetscCall(DpsScheduleDestroy(&(*r)->schedule));
  PetscCall(DpsScoreDestroy(&(*r)->score));
  PetscCall(DpsOperatorDestroy(&(*r)->op));
  PetscCall(DpsDatasetClose(&(*r)->data));
  PetscCall(PetscFree(*r));
  PetscFunctionReturn(0);
}
