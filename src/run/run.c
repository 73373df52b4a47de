/* DpsRun: the driver of `dpsolve run` (design.md, "The flow of one run").

   Each rank owns a contiguous block of inputs (DpsShard) and works through it in chunks of at most -batch
   consecutive inputs that are at the same step. The ranks move in lockstep, one reverse step per tick: after
   every tick they agree (one Allreduce) on whether any rank failed, finished a chunk, still has work, or was
   signalled. Finished chunks are written collectively to <output>.partial; every -checkpoint_every ticks, and
   after SIGTERM or SIGUSR1, all ranks write the checkpoint together (DpsCheckpoint).

   A restart reads each input's progress from the checkpoint, for whatever shard this run gives it: inputs done
   are not recomputed (their rows of <output>.partial are final), inputs in flight continue from their stored
   x_i and sampler state at step i, the rest start afresh. Because every random number is a function of
   (seed, input, draw, step, stream), the output is bit-identical to an uninterrupted run's. */
#include <dpsolve/dpsolve.h>
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <sys/resource.h>
#include "io/h5.h"

struct _n_DpsRun {
  MPI_Comm      comm;
  char          input[PETSC_MAX_PATH_LEN], output[PETSC_MAX_PATH_LEN], checkpoint[PETSC_MAX_PATH_LEN];
  PetscBool     force, progress, restart;
  PetscInt      S, batch, every;
  PetscInt      part[2]; /* -input_part p,n */
  PetscReal     interval;
  PetscInt64    seed;
  PetscBool     finished; /* -restart found the output already complete */
  int           status;   /* exit status of the command: 0, or DPS_EXIT_CHECKPOINTED */
  DpsDataset    data;
  DpsSchedule   schedule;
  DpsScore      score;
  DpsOperator   op;
  DpsSampler    sampler;
  DpsCheckpoint ck;
};

/* ---------------------------------------------------------------- set up */

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

/* the value of an option as given, without marking it used (the object that reads it does that) */
typedef struct {
  const char *name;
  char        value[PETSC_MAX_PATH_LEN];
} DpsRunOptionValue;

static PetscErrorCode DpsRunFindOption(const char name[], const char value[], void *ctx)
{
  DpsRunOptionValue *o = (DpsRunOptionValue *)ctx;

  PetscFunctionBegin;
  if (!strcmp(name, o->name)) PetscCall(PetscStrncpy(o->value, value, sizeof(o->value)));
  PetscFunctionReturn(0);
}

/* Before anything is read or written, the files of the run: no two options may name one file (an output
   written over its input, a checkpoint removed at the end that is the output, ...); an existing output is
   replaced only with -force, a directory never; an existing checkpoint is continued (-restart) or, with -force,
   started afresh over. A -restart with no checkpoint yet (a run stopped during its set-up) starts afresh, and
   one whose output is complete has nothing to do (DpsRunCheckFinished). */
static PetscErrorCode DpsRunCheckFiles(DpsRun r, PetscBool hasck)
{
  char              partial[PETSC_MAX_PATH_LEN + 16];
  const char       *tmp = "", *prev = "";
  DpsRunOptionValue weights = {"-score_unet_weights", ""};
  PetscBool         complete = PETSC_FALSE;
  uint64_t          out_id   = 0;

  PetscFunctionBegin;
  PetscCall(DpsOptionsForEach(NULL, DpsRunFindOption, &weights));
  /* the side files by the names their objects give them (the checkpoint object only holds names: no I/O yet) */
  PetscCall(DpsOutputPartialPath(r->output, partial, sizeof(partial)));
  if (hasck) {
    PetscCall(DpsCheckpointCreate(r->comm, r->checkpoint, &r->ck));
    PetscCall(DpsCheckpointGetSideFiles(r->ck, &tmp, &prev));
  }
  {
    const DpsFileUse use[] = {
      {"-input",              r->input,      NULL            },
      {"-score_unet_weights", weights.value, NULL            },
      {"-output",             r->output,     NULL            },
      {"-output",             partial,       "partial file"  },
      {"-checkpoint",         r->checkpoint, NULL            },
      {"-checkpoint",         tmp,           "temporary file"},
      {"-checkpoint",         prev,          "previous copy" },
    };
    PetscCall(DpsFilesCheckDistinct(r->comm, sizeof(use) / sizeof(use[0]), use));
  }
  if (hasck) {
    PetscBool exists;
    PetscCall(DpsCheckOutputPath(r->comm, "checkpoint", r->checkpoint, PETSC_TRUE)); /* not a directory, and writable */
    PetscCall(DpsCheckpointExists(r->ck, &exists));
    PetscCheck(!exists || r->restart || r->force, r->comm, DPS_ERR_CANT_CREATE, "checkpoint %s exists: continue that run with -restart, or pass -force to start afresh (the checkpoint is then removed)", r->checkpoint);
    if (r->restart) {
      PetscCall(DpsOutputPeek(r->comm, r->output, &complete, &out_id));
      if (exists && complete) {
        /* stopped between the rename of the output and the removal of the checkpoint */
        PetscBool found;
        uint64_t  ck_id;
        PetscCall(DpsCheckpointPeekRunId(r->ck, &found, &ck_id));
        r->finished = (PetscBool)(found && out_id == ck_id);
      } else if (!exists && complete) r->finished = PETSC_TRUE; /* confirmed by DpsRunCheckFinished */
      else if (!exists) PetscCall(PetscPrintf(r->comm, "-restart: no checkpoint %s yet (the run stopped before its first one): starting afresh\n", r->checkpoint));
    }
  }
  /* refuse before reading anything: an existing output is never touched without -force */
  if (!r->finished) PetscCall(DpsCheckOutputPath(r->comm, "output file", r->output, r->force));
  PetscFunctionReturn(0);
}

/* A -restart with no checkpoint left whose output is complete: the run finished and removed its checkpoint
   (a scheduler may start the same command once more). Nothing to do, if the output is this run's: the same
   input, sampler, seed, draws and steps; otherwise the output is an existing file like any other. */
static PetscErrorCode DpsRunCheckFinished(DpsRun r)
{
  PetscMPIInt    rank;
  int            same = 1;
  DpsSamplerType type;
  PetscInt       steps;

  PetscFunctionBegin;
  if (!r->finished || !r->ck) PetscFunctionReturn(0);
  {
    PetscBool exists;
    PetscCall(DpsCheckpointExists(r->ck, &exists));
    if (exists) PetscFunctionReturn(0); /* matched by run id in DpsRunCheckFiles */
  }
  PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
  PetscCall(PetscObjectGetType((PetscObject)r->sampler, &type));
  PetscCall(DpsScheduleGetNumSteps(r->schedule, &steps));
  if (rank == 0) {
    hid_t    f;
    char     input[PETSC_MAX_PATH_LEN], sampler[64];
    PetscInt v[3], n, want[3] = {(PetscInt)r->seed, r->S, steps};
    const char *name[3] = {"seed", "samples", "steps"};
    /* rank 0 alone: whatever fails here makes the answer "another run", never an error the others wait for */
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    if (DpsH5Open(PETSC_COMM_SELF, r->output, PETSC_FALSE, &f)) same = 0;
    else {
      if (DpsH5ReadStringAttribute(f, r->output, "/", "input", input, sizeof(input)) || strcmp(input, r->input)) same = 0;
      if (DpsH5ReadStringAttribute(f, r->output, "/", "sampler", sampler, sizeof(sampler)) || strcmp(sampler, type)) same = 0;
      for (int k = 0; k < 3; k++)
        if (DpsH5ReadIntArrayAttribute(f, r->output, "/", name[k], 1, &n, &v[k]) || n != 1 || v[k] != want[k]) same = 0;
      (void)DpsH5Close(&f);
    }
    PetscCall(PetscPopErrorHandler());
  }
  PetscCallMPI(MPI_Bcast(&same, 1, MPI_INT, 0, r->comm));
  if (!same && r->force) {
    r->finished = PETSC_FALSE; /* -force: replace it (DpsRunCheckFiles did not check it: it is a file) */
    PetscFunctionReturn(0);
  }
  PetscCheck(same, r->comm, DPS_ERR_CANT_CREATE, "-restart: no checkpoint %s, and output file %s exists, complete, from another run (other input, sampler, seed, draws or steps): remove it, choose another -output, or pass -force", r->checkpoint, r->output);
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRunSetFromOptions(DpsRun r)
{
  PetscBool hasin, hasout, hasck, haspart;
  PetscInt  npart = 2;
  PetscReal sigma_y;
  PetscInt  seed = 0;
  char      include[8] = "", includepath[8] = "";

  PetscFunctionBegin;
  PetscCall(DpsOptionsInsertIncludes(r->comm));
  PetscOptionsBegin(r->comm, NULL, "dpsolve run", "DpsRun");
  PetscCall(PetscOptionsString("-input", "Input HDF5 file (dpsolve simulate writes one)", NULL, r->input, r->input, sizeof(r->input), &hasin));
  PetscCall(PetscOptionsString("-output", "Output HDF5 file", NULL, r->output, r->output, sizeof(r->output), &hasout));
  PetscCall(PetscOptionsBool("-force", "Replace an existing output file (once the new one is complete) and start afresh over an existing checkpoint", NULL, r->force, &r->force, NULL));
  PetscCall(DpsOptionsInt("-samples", "Posterior draws per input", NULL, r->S, &r->S, NULL));
  PetscCall(DpsOptionsInt("-batch", "Inputs per batch on each rank", NULL, r->batch, &r->batch, NULL));
  PetscCall(DpsOptionsInt("-seed", "Run seed: every random number is a function of it and the input index", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsBool("-progress", "Print inputs done, rate and ETA (at most once a second)", NULL, r->progress, &r->progress, NULL));
  PetscCall(PetscOptionsString("-checkpoint", "Checkpoint file: written every -checkpoint_every steps, and on SIGTERM or SIGUSR1, after which the run exits with status 75 (continue it with -restart)", NULL, r->checkpoint, r->checkpoint, sizeof(r->checkpoint), &hasck));
  PetscCall(DpsOptionsInt("-checkpoint_every", "Reverse steps between checkpoints (0: only on a signal and at the end)", NULL, r->every, &r->every, NULL));
  PetscCall(PetscOptionsReal("-checkpoint_interval", "Seconds between checkpoints (0: none by time)", NULL, r->interval, &r->interval, NULL));
  PetscCall(PetscOptionsIntArray("-input_part", "p,n: only part p (0..n-1) of the input's inputs, for job arrays; the parts' outputs join (slurm/merge.py) into the output of one run", NULL, r->part, &npart, &haspart));
  PetscCall(PetscOptionsBool("-restart", "Continue from -checkpoint: bit-identical to an uninterrupted run, with any number of ranks or batch size", NULL, r->restart, &r->restart, NULL));
  /* listed for -help; DpsOptionsInsertIncludes has already expanded them */
  PetscCall(PetscOptionsString("-include", "YAML files of options (configs/...) to add, unless already set; used by job files", NULL, include, include, sizeof(include), NULL));
  PetscCall(PetscOptionsString("-include_path", "Colon-separated directories in which -include looks for relative names", NULL, includepath, includepath, sizeof(includepath), NULL));
  PetscOptionsEnd();
  PetscCheck(hasin, r->comm, PETSC_ERR_USER_INPUT, "dpsolve run needs -input <file.h5>");
  PetscCheck(hasout, r->comm, PETSC_ERR_USER_INPUT, "dpsolve run needs -output <file.h5>");
  PetscCheck(r->batch >= 1, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "-batch %" PetscInt_FMT " must be at least 1", r->batch);
  PetscCheck(seed >= 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "-seed %" PetscInt_FMT " must be non-negative", seed);
  PetscCheck(r->every >= 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_every %" PetscInt_FMT " must be non-negative", r->every);
  PetscCheck(r->interval >= 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_interval %g must be non-negative", (double)r->interval);
  PetscCheck(hasck || (!r->restart && !r->every && !r->interval), r->comm, PETSC_ERR_USER_INPUT, "-restart, -checkpoint_every and -checkpoint_interval need -checkpoint <file.h5>");
  r->seed = seed;
  PetscCall(DpsRunCheckFiles(r, hasck));

  PetscCall(DpsDatasetOpen(r->comm, r->input, &r->data));
  if (haspart) {
    PetscCheck(npart == 2, r->comm, PETSC_ERR_ARG_WRONG, "-input_part needs two numbers, part,parts (e.g. -input_part 0,4)");
    PetscCall(DpsDatasetSetPart(r->data, r->part[0], r->part[1]));
  }
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
  {
    PetscBool has;
    PetscReal range[2];
    PetscCall(DpsDatasetGetDataRange(r->data, &has, range));
    if (has) PetscCall(DpsSamplerSetDataRange(r->sampler, range[0], range[1]));
  }
  PetscCall(DpsSamplerSetFromOptions(r->sampler));
  PetscCall(DpsSamplerSetUp(r->sampler));
  DpsKillPoint("setup");
  PetscCall(DpsRunCheckFinished(r));
  PetscFunctionReturn(0);
}

/* ---------------------------------------------------------------- output attributes and counters */

/* run-wide totals: this session's work on every rank, plus what the checkpoint it continues had counted */
static PetscErrorCode DpsRunGetCounts(DpsRun r, const PetscInt64 base[], PetscInt64 total[])
{
  DpsSamplerStats st;
  PetscInt64      local[DPS_NUM_COUNTS];

  PetscFunctionBegin;
  PetscCall(DpsSamplerGetStats(r->sampler, &st));
  PetscCall(DpsScoreGetCounts(r->score, &local[DPS_COUNT_SCORE_EPS], &local[DPS_COUNT_SCORE_JVP], &local[DPS_COUNT_SCORE_VJP]));
  local[DPS_COUNT_SOLVES]        = st.solves;
  local[DPS_COUNT_CG_ITERATIONS] = st.cg_iterations;
  local[DPS_COUNT_STEPS]         = st.steps;
  local[DPS_COUNT_OUT_OF_RANGE]  = st.out_of_range;
  PetscCallMPI(MPI_Allreduce(local, total, DPS_NUM_COUNTS, MPIU_INT64, MPI_SUM, r->comm));
  for (int k = 0; k < DPS_NUM_COUNTS; k++) total[k] += base[k];
  PetscFunctionReturn(0);
}

/* the cost of a run, per sampler (methods.md sections 3-6): totals over every input and draw; draw_steps counts
   (draw, step) pairs, so that count / draw_steps is the cost of one step of one draw. draws_out_of_range: draws
   that ended more than 100 widths outside the input's data_range (a sampler that diverged, docs/samplers.md) */
static const char *const DpsCountNames[] = {"score_evaluations", "score_jvps", "score_vjps", "cg_solves", "cg_iterations", "draw_steps", "draws_out_of_range"};

/* Everything known when the output is created is written then, with the counters at 0 and complete = 0:
   finishing the file later only rewrites values in place (DpsH5WriteInt64Attribute). */
static PetscErrorCode DpsRunWriteAttributes(DpsRun r, hid_t file, uint64_t run_id)
{
  char           *all;
  PetscInt        N;
  DpsScoreBackend backend;
  DpsSamplerType  type;
  PetscInt        nshape, shape[DPS_H5_MAX_RANK];
  PetscReal       sigma_y;
  int64_t         id = (int64_t)run_id, zero = 0;

  PetscFunctionBegin;
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
  {
    PetscBool has;
    PetscReal range[2];
    PetscCall(DpsDatasetGetDataRange(r->data, &has, range));
    if (has) PetscCall(DpsH5WriteRealArrayAttribute(file, "/", "data_range", 2, range));
  }
  PetscCall(DpsH5WriteStringAttribute(file, "/", "conventions", "sigma_y in data units (never doubled); samples [N, S, d]; draws depend only on (seed, input index)"));
  PetscCall(DpsH5WriteInt64Attribute(file, "/", "run_id", 1, &id));
  {
    /* which of the input file's inputs the rows are: all of them, or a part (-input_part, slurm/merge.py) */
    PetscInt first, n;
    int64_t  range[2];
    PetscCall(DpsDatasetGetFirstInput(r->data, &first));
    PetscCall(DpsDatasetGetSizes(r->data, &n, NULL, NULL));
    range[0] = first;
    range[1] = first + n;
    PetscCall(DpsH5WriteInt64Attribute(file, "/", "input_range", 2, range));
  }
  for (int k = 0; k < DPS_NUM_COUNTS; k++) PetscCall(DpsH5WriteInt64Attribute(file, "/", DpsCountNames[k], 1, &zero));
  {
    /* the sampler's per-input diagnostics (cdps -cdps_smc: /cdps_smc), written with each finished input */
    PetscInt    nd, n;
    const char *name;
    PetscCall(DpsSamplerGetDiagnosticsInfo(r->sampler, &nd, &name));
    PetscCall(DpsDatasetGetSizes(r->data, &n, NULL, NULL));
    if (nd) {
      hsize_t dims[2] = {(hsize_t)n, (hsize_t)nd};
      PetscCall(DpsH5CreateDataset(file, name, 2, dims, H5T_NATIVE_DOUBLE));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsRunWriteCounts(DpsRun r, hid_t file, const PetscInt64 total[])
{
  PetscFunctionBegin;
  const double per = total[DPS_COUNT_STEPS] ? 1.0 / (double)total[DPS_COUNT_STEPS] : 0.0;

  for (int k = 0; k < DPS_NUM_COUNTS; k++) {
    int64_t v = total[k];
    PetscCall(DpsH5WriteInt64Attribute(file, "/", DpsCountNames[k], 1, &v));
  }
  PetscCall(PetscPrintf(r->comm, "cost: %lld score evaluations, %lld JVPs, %lld VJPs, %lld CG solves, %lld CG iterations over %lld draw-steps\n", (long long)total[DPS_COUNT_SCORE_EPS], (long long)total[DPS_COUNT_SCORE_JVP], (long long)total[DPS_COUNT_SCORE_VJP],
                        (long long)total[DPS_COUNT_SOLVES], (long long)total[DPS_COUNT_CG_ITERATIONS], (long long)total[DPS_COUNT_STEPS]));
  PetscCall(PetscPrintf(r->comm, "cost per step and draw: %.2f score evaluations, %.2f JVPs, %.2f VJPs, %.2f CG solves, %.2f CG iterations\n", total[DPS_COUNT_SCORE_EPS] * per, total[DPS_COUNT_SCORE_JVP] * per, total[DPS_COUNT_SCORE_VJP] * per, total[DPS_COUNT_SOLVES] * per,
                        total[DPS_COUNT_CG_ITERATIONS] * per));
  if (total[DPS_COUNT_OUT_OF_RANGE]) PetscCall(PetscPrintf(r->comm, "dpsolve warning: %lld draws ended more than 100 range widths outside the data range (attribute draws_out_of_range): the sampler diverged on them\n", (long long)total[DPS_COUNT_OUT_OF_RANGE]));
  PetscFunctionReturn(0);
}

/* ---------------------------------------------------------------- signals */

/* A handler may only set a flag; the run looks at it where all ranks agree: at the end of the set-up and at
   every step boundary. It is installed before anything else (DpsRunInstallSignalHandlers, from main, before and
   again after PetscInitialize, which installs its own), so that a signal during the set-up is never fatal: the
   run then stops before it has written anything, with status 75, and its requeued start begins afresh. */
static volatile sig_atomic_t DpsRunSignal = 0;
static struct sigaction      DpsRunOldTerm, DpsRunOldUsr1;
static int                   DpsRunHandlersInstalled = 0;

static void DpsRunSignalHandler(int sig)
{
  DpsRunSignal = sig;
}

void DpsRunInstallSignalHandlers(void)
{
  struct sigaction act, oldterm, oldusr1;

  memset(&act, 0, sizeof(act));
  act.sa_handler = DpsRunSignalHandler;
  act.sa_flags   = SA_RESTART;
  sigemptyset(&act.sa_mask);
  sigaction(SIGTERM, &act, &oldterm);
  sigaction(SIGUSR1, &act, &oldusr1);
  /* the actions to give back: what was there before the first installation, or what PETSc put there since */
  if (!DpsRunHandlersInstalled || oldterm.sa_handler != DpsRunSignalHandler) DpsRunOldTerm = oldterm;
  if (!DpsRunHandlersInstalled || oldusr1.sa_handler != DpsRunSignalHandler) DpsRunOldUsr1 = oldusr1;
  DpsRunHandlersInstalled = 1;
}

/* Without -checkpoint a signal cannot be answered with a checkpoint: it gets its former action back (it ends
   the run, as documented), after a signal that came during the set-up has been answered. */
static void DpsRunRestoreSignalHandlers(void)
{
  if (!DpsRunHandlersInstalled) return;
  sigaction(SIGTERM, &DpsRunOldTerm, NULL);
  sigaction(SIGUSR1, &DpsRunOldUsr1, NULL);
  DpsRunHandlersInstalled = 0;
}

/* collective: the signal any rank received so far, or 0 */
static PetscErrorCode DpsRunAgreeSignal(MPI_Comm comm, int *sig)
{
  PetscFunctionBegin;
  *sig = (int)DpsRunSignal;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sig, 1, MPI_INT, MPI_MAX, comm));
  PetscFunctionReturn(0);
}

/* ---------------------------------------------------------------- the run */

/* The work of one rank: its shard, the progress of each input, the chunk in flight, and the inputs in flight
   that a restart handed over but that are not yet taken up again; and the run-wide tallies. */
typedef struct {
  PetscInt    N, d, m, q, steps, lo, nlocal;
  PetscInt   *index;     /* [nlocal] global input indices */
  PetscInt64 *progress;  /* [nlocal] see DPS_PROGRESS_* */
  PetscInt    next;      /* first local input not yet taken into a chunk */
  PetscInt    j0, nb;    /* the chunk in flight: local inputs [j0, j0 + nb), nb = 0 when none */
  PetscReal  *x, *st;    /* [batch S d], [batch S q]: its draws and sampler state */
  PetscInt   *row;       /* [nlocal] row of a resumed input in flight in rx, rst; -1 otherwise */
  PetscReal  *rx, *rst;  /* resumed inputs in flight, as read from the checkpoint */
  PetscReal  *y, *x0;    /* [nlocal m] the measurements, [nlocal d] the ground truth (NULL without /x0) */
  PetscBool   has_x0;
  PetscBool   unflushed; /* rows written to the output since the last checkpoint */
  DpsOutput   out;
  uint64_t    run_id;
  PetscInt64  base[DPS_NUM_COUNTS];      /* the counts of the runs this one continues */
  PetscInt    ndone, ndone0, nwritten;   /* inputs done (all ranks), done when this run began, written by it */
  PetscInt    tick;
  int         peak;                      /* KiB, on the largest rank */
  PetscLogDouble t0, tprint, tck;         /* start, last progress line, last checkpoint */
} DpsWork;

/* What the ranks agree on after every tick (one Allreduce, MAX over the ranks): plain ints in this order, so
   that the struct is reduced as an array */
typedef struct {
  int failed;       /* a rank's step failed */
  int finished;     /* a rank finished its chunk: the collective write follows */
  int has_work;     /* a rank has inputs left */
  int signal;       /* a rank received SIGTERM or SIGUSR1 (the signal number) */
  int checkpoint;   /* rank 0: -checkpoint_interval seconds have passed since the last checkpoint */
  int peak_kib;     /* the peak resident memory so far (getrusage: a cheap system call) */
} DpsTickAgreement;
#define DPS_TICK_AGREEMENT_INTS ((int)(sizeof(DpsTickAgreement) / sizeof(int)))

/* Takes the next chunk: consecutive inputs at the same progress, at most -batch. Fresh inputs begin their chains
   (x_N); resumed ones get back their draws and sampler state. */
static PetscErrorCode DpsRunTakeChunk(DpsRun r, DpsWork *w)
{
  const PetscInt S = r->S, d = w->d, q = w->q;
  PetscInt64     kind;

  PetscFunctionBegin;
  while (w->next < w->nlocal && w->progress[w->next] == DPS_PROGRESS_DONE) w->next++;
  if (w->next == w->nlocal) PetscFunctionReturn(0);
  w->j0 = w->next;
  kind  = w->progress[w->j0];
  for (w->nb = 1; w->nb < r->batch && w->j0 + w->nb < w->nlocal && w->progress[w->j0 + w->nb] == kind; w->nb++) { }
  w->next = w->j0 + w->nb;
  if (kind == DPS_PROGRESS_NOT_STARTED) {
    PetscCall(DpsSamplerBegin(r->sampler, w->nb, w->index + w->j0, w->y + w->j0 * w->m, w->x));
    for (PetscInt j = w->j0; j < w->j0 + w->nb; j++) w->progress[j] = w->steps;
  } else {
    for (PetscInt j = 0; j < w->nb; j++) {
      const PetscInt k = w->row[w->j0 + j];
      PetscCheck(k >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "input %" PetscInt_FMT " is in flight but the checkpoint holds no draws for it", w->index[w->j0 + j]);
      PetscCall(PetscArraycpy(w->x + j * S * d, w->rx + k * S * d, S * d));
      PetscCall(PetscArraycpy(w->st + j * S * q, w->rst + k * S * q, S * q));
    }
    PetscCall(DpsSamplerSetState(r->sampler, w->nb, w->st));
  }
  PetscFunctionReturn(0);
}

/* Whether this rank has anything left after the current tick (finished: its chunk has just finished) */
static PetscBool DpsRunHasWork(const DpsWork *w, PetscBool finished)
{
  if (w->nb && !finished) return PETSC_TRUE;
  for (PetscInt j = w->next; j < w->nlocal; j++)
    if (w->progress[j] != DPS_PROGRESS_DONE) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* A write into <output>.partial or the checkpoint failed (a full disk, an I/O error): the partial output is
   removed, unless a checkpoint that a restart would continue from calls some of its rows done */
static PetscErrorCode DpsRunAbandonOutput(DpsRun r, DpsWork *w)
{
  PetscFunctionBegin;
  if (r->ck) {
    const char *ck;
    char        prev[PETSC_MAX_PATH_LEN + 8];
    PetscCall(DpsCheckpointGetPath(r->ck, &ck));
    PetscCall(PetscSNPrintf(prev, sizeof(prev), "%s.prev", ck));
    if (!access(ck, F_OK) || !access(prev, F_OK)) PetscFunctionReturn(0);
  }
  PetscCall(DpsOutputAbort(&w->out));
  PetscFunctionReturn(0);
}

/* call, and on failure DpsRunAbandonOutput before the error goes up */
#define DpsRunCallOnOutput(r, w, call) \
  do { \
    PetscErrorCode ierr_ = (call); \
    if (ierr_) { \
      (void)DpsRunAbandonOutput(r, w); \
      PetscCall(ierr_); \
    } \
  } while (0)

static PetscErrorCode DpsRunWriteCheckpoint(DpsRun r, DpsWork *w)
{
  const PetscInt S = r->S, d = w->d, q = w->q;
  PetscInt       nflight = 0, *flight;
  PetscReal     *fx, *fst;
  PetscInt64     counts[DPS_NUM_COUNTS];

  PetscFunctionBegin;
  /* the checkpoint may only call an input done once its rows are on disk (a flush is an fsync: only if needed) */
  if (w->unflushed) PetscCall(DpsOutputFlush(w->out));
  w->unflushed = PETSC_FALSE;
  if (w->nb) PetscCall(DpsSamplerGetState(r->sampler, w->nb, w->st));
  for (PetscInt j = 0; j < w->nlocal; j++)
    if (w->progress[j] > 0) nflight++;
  PetscCall(PetscMalloc3(PetscMax(nflight, 1), &flight, PetscMax(nflight * S * d, 1), &fx, PetscMax(nflight * S * q, 1), &fst));
  nflight = 0;
  for (PetscInt j = 0; j < w->nlocal; j++) {
    const PetscReal *xs, *ss;
    if (w->progress[j] <= 0) continue;
    if (w->nb && j >= w->j0 && j < w->j0 + w->nb) {
      xs = w->x + (j - w->j0) * S * d;
      ss = w->st + (j - w->j0) * S * q;
    } else {
      xs = w->rx + w->row[j] * S * d;
      ss = w->rst + w->row[j] * S * q;
    }
    flight[nflight] = w->lo + j; /* positions within the run's inputs, like the progress */
    PetscCall(PetscArraycpy(fx + nflight * S * d, xs, S * d));
    PetscCall(PetscArraycpy(fst + nflight * S * q, ss, S * q));
    nflight++;
  }
  PetscCall(DpsRunGetCounts(r, w->base, counts));
  PetscCall(DpsCheckpointWrite(r->ck, w->run_id, counts, w->lo, w->lo + w->nlocal, w->progress, nflight, flight, fx, fst));
  PetscCall(PetscFree3(flight, fx, fst));
  PetscCall(PetscTime(&w->tck));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsRunNewId(MPI_Comm comm, uint64_t *id)
{
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    int fd = open("/dev/urandom", O_RDONLY);
    *id    = 0;
    if (fd >= 0) {
      if (read(fd, id, sizeof(*id)) != (ssize_t)sizeof(*id)) *id = 0;
      close(fd);
    }
    *id ^= ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
    if (!*id) *id = 1;
  }
  PetscCallMPI(MPI_Bcast(id, 1, MPI_UINT64_T, 0, comm));
  PetscFunctionReturn(0);
}

/* The identity of the run: what its results depend on (include/dpsolve/checkpoint.h) */
static PetscErrorCode DpsRunSetIdentity(DpsRun r)
{
  char            buf[64];
  uint64_t        sum;
  DpsSamplerType  type;
  const char     *optype;
  DpsScoreBackend backend;
  PetscInt        steps;

  PetscFunctionBegin;
  PetscCall(DpsDatasetChecksum(r->data, &sum));
  PetscCall(PetscObjectGetType((PetscObject)r->sampler, &type));
  PetscCall(PetscObjectGetType((PetscObject)r->op, &optype));
  PetscCall(DpsScoreGetBackend(r->score, &backend));
  PetscCall(DpsScheduleGetNumSteps(r->schedule, &steps));
  PetscCall(DpsCheckpointAddIdentity(r->ck, "version", DPSOLVE_VERSION));
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%016llx", (unsigned long long)sum));
  PetscCall(DpsCheckpointAddIdentity(r->ck, "input data (checksum)", buf));
  PetscCall(DpsCheckpointAddIdentity(r->ck, "-sampler_type", type));
  PetscCall(DpsCheckpointAddIdentity(r->ck, "operator (of the input)", optype));
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%" PetscInt_FMT, steps));
  PetscCall(DpsCheckpointAddIdentity(r->ck, "-steps", buf));
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%" PetscInt64_FMT, r->seed));
  PetscCall(DpsCheckpointAddIdentity(r->ck, "-seed", buf));
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "%" PetscInt_FMT, r->S));
  PetscCall(DpsCheckpointAddIdentity(r->ck, "-samples", buf));
  PetscCall(DpsCheckpointAddIdentity(r->ck, "-score_backend", DpsScoreBackends[backend]));
  /* and every other option that can change a result, by its value as given */
  PetscCall(DpsCheckpointAddOptions(r->ck));
  PetscFunctionReturn(0);
}

/* A restart: each input's progress from the checkpoint, for this run's shard; the inputs it calls done must be in
   <output>.partial, and are computed again (same bits) when that file is gone or not this run's */
static PetscErrorCode DpsRunResume(DpsRun r, DpsWork *w)
{
  PetscInt   nflight, *flight, lost = 0, resumed[2] = {0, 0};
  PetscBool *done;
  char       why[PETSC_MAX_PATH_LEN + 64];
  hid_t      file;

  PetscFunctionBegin;
  PetscCall(DpsCheckpointLoad(r->ck, w->lo, w->lo + w->nlocal, w->progress, &nflight, &flight, &w->rx, &w->rst));
  PetscCall(DpsCheckpointGetRun(r->ck, &w->run_id, w->base));
  for (PetscInt k = 0; k < nflight; k++) w->row[flight[k] - w->lo] = k;
  PetscCall(PetscFree(flight));
  PetscCall(DpsOutputReopen(r->comm, r->output, w->N, r->S, w->d, w->m, w->has_x0, w->run_id, &w->out, why, sizeof(why)));
  PetscCall(PetscMalloc1(PetscMax(w->nlocal, 1), &done));
  if (w->out) PetscCall(DpsOutputReadDone(w->out, w->lo, w->nlocal, done));
  for (PetscInt i = 0; i < w->nlocal; i++) {
    if (w->progress[i] == DPS_PROGRESS_DONE && !(w->out && done[i])) {
      w->progress[i] = DPS_PROGRESS_NOT_STARTED;
      lost++;
    }
    if (w->progress[i] == DPS_PROGRESS_DONE) resumed[0]++;
    if (w->progress[i] > 0) resumed[1]++;
  }
  PetscCall(PetscFree(done));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &lost, 1, MPIU_INT, MPI_SUM, r->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, resumed, 2, MPIU_INT, MPI_SUM, r->comm));
  if (!w->out) {
    PetscCall(PetscPrintf(r->comm, "dpsolve warning: %s; the %" PetscInt_FMT " inputs it should hold are computed again\n", why, lost));
    PetscCall(DpsOutputCreate(r->comm, r->output, w->N, r->S, w->d, w->m, w->has_x0, &w->out));
    PetscCall(DpsOutputGetFile(w->out, &file));
    DpsRunCallOnOutput(r, w, DpsRunWriteAttributes(r, file, w->run_id));
  } else if (lost) PetscCall(PetscPrintf(r->comm, "dpsolve warning: %" PetscInt_FMT " inputs the checkpoint calls done are not marked done in %s.partial; they are computed again\n", lost, r->output));
  w->ndone0 = w->ndone = resumed[0];
  PetscCall(PetscPrintf(r->comm, "restart from %s: %" PetscInt_FMT " of %" PetscInt_FMT " inputs done, %" PetscInt_FMT " in flight\n", r->checkpoint, resumed[0], w->N, resumed[1]));
  PetscFunctionReturn(0);
}

/* Step 1: the shard is read once; a fresh run creates <output>.partial (removing the checkpoint it starts afresh
   over, with -force), a restart reconciles the checkpoint with the partial output. *stopped: a signal came
   during the set-up, and nothing was written. */
static PetscErrorCode DpsRunSetUp(DpsRun r, DpsWork *w, PetscBool *stopped)
{
  PetscInt first, hi;
  hid_t    file;
  int      sig;

  PetscFunctionBegin;
  *stopped = PETSC_FALSE;
  PetscCall(DpsDatasetGetSizes(r->data, &w->N, &w->d, &w->m));
  PetscCall(DpsDatasetGetShard(r->data, &w->lo, &hi));
  w->nlocal = hi - w->lo;
  PetscCall(DpsDatasetHasGroundTruth(r->data, &w->has_x0));
  PetscCall(DpsScheduleGetNumSteps(r->schedule, &w->steps));
  PetscCall(DpsSamplerGetStateSize(r->sampler, &w->q));
  /* data moves one way: the shard is read once, then sampled and written chunk by chunk. Each rank reads its
     own inputs and may find a bad value where the others do not: they agree, so that none waits for a rank that
     has stopped (with a signal handler installed, the SIGTERM by which mpiexec would end the others is not
     fatal) */
  {
    PetscErrorCode ierr = DpsDatasetReadMeasurements(r->data, r->op, r->seed, &w->y), ierr0 = 0, any;
    /* the reads are collective: every rank makes both, whatever it found in the first */
    if (w->has_x0) ierr0 = DpsDatasetReadGroundTruth(r->data, &w->x0);
    if (!ierr) ierr = ierr0;
    any = ierr;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, r->comm));
    PetscCall(ierr);
    PetscCheck(!any, PETSC_COMM_SELF, any, "another rank failed to read its inputs of %s; nothing was written", r->input);
  }
  PetscCall(PetscMalloc3(PetscMax(w->nlocal, 1), &w->index, PetscMax(w->nlocal, 1), &w->progress, PetscMax(w->nlocal, 1), &w->row));
  PetscCall(DpsDatasetCheckDraws(r->data, r->S, r->batch, w->q)); /* the products below fit PetscInt */
  PetscCall(PetscMalloc2(PetscMax(r->batch * r->S * w->d, 1), &w->x, PetscMax(r->batch * r->S * w->q, 1), &w->st));
  PetscCall(DpsDatasetGetFirstInput(r->data, &first));
  for (PetscInt i = 0; i < w->nlocal; i++) {
    w->index[i]    = first + w->lo + i; /* the input's index in the file: what its random numbers depend on */
    w->progress[i] = DPS_PROGRESS_NOT_STARTED;
    w->row[i]      = -1;
  }
  if (r->ck) {
    PetscCall(DpsCheckpointSetSizes(r->ck, w->N, r->S, w->d, w->q));
    PetscCall(DpsRunSetIdentity(r));
  }
  /* the last moment at which a signal costs nothing: from here on files are written */
  PetscCall(DpsRunAgreeSignal(r->comm, &sig));
  if (sig) {
    *stopped = PETSC_TRUE;
    r->status = DPS_EXIT_CHECKPOINTED;
    PetscCall(PetscPrintf(r->comm, "stopped by signal %d during the set-up, before anything was written; run the same command again (exit status %d)\n", sig, DPS_EXIT_CHECKPOINTED));
    PetscFunctionReturn(0);
  }
  if (!r->ck) DpsRunRestoreSignalHandlers();
  if (r->restart && r->ck) {
    PetscBool exists;
    PetscCall(DpsCheckpointExists(r->ck, &exists));
    if (exists) PetscCall(DpsRunResume(r, w));
  }
  if (!w->out) {
    if (r->ck) {
      PetscBool exists;
      PetscCall(DpsCheckpointExists(r->ck, &exists));
      if (exists) PetscCall(DpsCheckpointRemove(r->ck)); /* -force: start afresh */
    }
    PetscCall(DpsRunNewId(r->comm, &w->run_id));
    PetscCall(DpsOutputCreate(r->comm, r->output, w->N, r->S, w->d, w->m, w->has_x0, &w->out));
    PetscCall(DpsOutputGetFile(w->out, &file));
    DpsRunCallOnOutput(r, w, DpsRunWriteAttributes(r, file, w->run_id));
  }
  /* the file's structure is on disk before any row: a crash leaves a .partial that a restart can open */
  DpsRunCallOnOutput(r, w, DpsOutputFlush(w->out));
  PetscCall(PetscTime(&w->t0));
  w->tck    = w->t0;
  w->tprint = -1.0;
  PetscFunctionReturn(0);
}

/* collective: the sampler's per-input diagnostics of the nw inputs of the chunk just finished (none on a rank
   that finished nothing) into their rows of its dataset, before /done marks them (DpsRunWriteAttributes made it) */
static PetscErrorCode DpsRunWriteDiagnostics(DpsRun r, DpsWork *w, PetscInt j0, PetscInt nw)
{
  PetscInt    nd;
  const char *name;
  PetscReal  *v;
  hid_t       file;

  PetscFunctionBegin;
  PetscCall(DpsSamplerGetDiagnosticsInfo(r->sampler, &nd, &name));
  if (!nd) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(PetscMax(nw * nd, 1), &v));
  PetscCall(DpsSamplerGetDiagnostics(r->sampler, nw, v));
  PetscCall(DpsOutputGetFile(w->out, &file));
  PetscCall(DpsH5WriteRows(file, name, w->lo + j0, nw, nd, v, H5T_NATIVE_DOUBLE));
  PetscCall(PetscFree(v));
  PetscFunctionReturn(0);
}

/* Step 2, one tick: every rank takes one reverse step of its chunk (or none), then all agree on what happened;
   finished chunks are written collectively, and a checkpoint is written when due. *more: go on ticking. */
static PetscErrorCode DpsRunTick(DpsRun r, DpsWork *w, PetscBool *more)
{
  DpsTickAgreement agree = {0, 0, 0, 0, 0, 0};
  struct rusage    ru;
  PetscBool        stepped = PETSC_FALSE, finished;
  PetscErrorCode   ierr    = 0;
  PetscMPIInt      rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(r->comm, &rank));
  if (!w->nb) ierr = DpsRunTakeChunk(r, w);
  if (!ierr && w->nb) {
    const PetscInt i = (PetscInt)w->progress[w->j0];
    ierr             = DpsSamplerStep(r->sampler, i, w->nb, w->index + w->j0, w->y + w->j0 * w->m, w->x);
    if (!ierr)
      for (PetscInt j = w->j0; j < w->j0 + w->nb; j++) w->progress[j] = i - 1;
    stepped = PETSC_TRUE;
  }
  if (stepped) DpsKillPoint("step");
  finished        = (PetscBool)(!ierr && w->nb && w->progress[w->j0] == DPS_PROGRESS_DONE);
  agree.failed    = ierr ? 1 : 0;
  agree.finished  = finished;
  agree.has_work  = DpsRunHasWork(w, finished);
  agree.signal    = r->ck ? (int)DpsRunSignal : 0;
  if (rank == 0 && r->interval > 0) {
    PetscLogDouble now;
    PetscCall(PetscTime(&now));
    agree.checkpoint = now - w->tck >= r->interval;
  }
  if (!getrusage(RUSAGE_SELF, &ru)) agree.peak_kib = (int)PetscMin(ru.ru_maxrss, (long)INT32_MAX);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &agree, DPS_TICK_AGREEMENT_INTS, MPI_INT, MPI_MAX, r->comm));
  w->peak = agree.peak_kib;
  /* sampling is local to each rank; before the collective write every rank learns whether any failed, so
     that all of them stop together instead of waiting for each other */
  if (agree.failed) {
    PetscCall(DpsOutputAbort(&w->out));
    PetscCall(ierr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "another rank failed while sampling; %s was not written", r->output);
  }
  if (agree.finished) {
    /* collective: every rank joins, with no rows when it finished nothing */
    PetscInt       nw = finished ? w->nb : 0, j0 = finished ? w->j0 : 0, n;
    PetscLogDouble t;
    ierr = DpsRunWriteDiagnostics(r, w, j0, nw);
    if (!ierr) ierr = DpsOutputWrite(w->out, w->lo + j0, nw, w->x, w->y + j0 * w->m, w->has_x0 ? w->x0 + j0 * w->d : NULL);
    if (ierr) {
      (void)DpsOutputAbort(&w->out);
      PetscCall(ierr);
    }
    if (nw) w->nb = 0;
    w->nwritten += nw;
    w->unflushed = PETSC_TRUE; /* (on every rank: the flush is collective) */
    n            = nw;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPIU_INT, MPI_SUM, r->comm));
    w->ndone += n;
    PetscCall(PetscTime(&t));
    if (r->progress && (t - w->tprint >= 1.0 || w->ndone == w->N)) {
      double rate = (w->ndone - w->ndone0) / PetscMax(t - w->t0, 1e-9);
      w->tprint   = t;
      PetscCall(PetscPrintf(r->comm, "progress: %" PetscInt_FMT "/%" PetscInt_FMT " inputs, %.3g inputs/s (%.3g s per input), ETA %.1f s, peak memory %.1f MiB\n", w->ndone, w->N, rate, rate > 0 ? 1.0 / rate : 0.0, rate > 0 ? (w->N - w->ndone) / rate : 0.0, w->peak / 1024.0));
    }
  }
  w->tick++;
  *more = (PetscBool)agree.has_work;
  if (!agree.has_work) PetscFunctionReturn(0);
  if (r->ck && (agree.signal || agree.checkpoint || (r->every && w->tick % r->every == 0))) DpsRunCallOnOutput(r, w, DpsRunWriteCheckpoint(r, w));
  if (agree.signal) {
    r->status = DPS_EXIT_CHECKPOINTED;
    *more     = PETSC_FALSE;
  }
  PetscFunctionReturn(0);
}

/* Step 3: after a signal, keep <output>.partial for the restart; otherwise complete the output: last checkpoint,
   counts, complete = 1, the rename, and only then the checkpoint's removal */
static PetscErrorCode DpsRunFinish(DpsRun r, DpsWork *w)
{
  PetscLogDouble t;
  PetscInt64     total[DPS_NUM_COUNTS];
  hid_t          file;

  PetscFunctionBegin;
  PetscCall(PetscTime(&t));
  PetscCall(DpsOutputGetFile(w->out, &file));
  PetscCall(DpsRunGetCounts(r, w->base, total));
  if (r->status == DPS_EXIT_CHECKPOINTED) {
    PetscCall(DpsOutputClose(&w->out));
    PetscCall(PetscPrintf(r->comm, "stopped by signal %d after a checkpoint: %" PetscInt_FMT " of %" PetscInt_FMT " inputs done; continue with -restart (exit status %d)\n", (int)DpsRunSignal, w->ndone, w->N, DPS_EXIT_CHECKPOINTED));
    PetscFunctionReturn(0);
  }
  /* a last checkpoint with every input done: a crash while the output is finished costs no recomputation */
  if (r->ck) DpsRunCallOnOutput(r, w, DpsRunWriteCheckpoint(r, w));
  DpsRunCallOnOutput(r, w, DpsRunWriteCounts(r, file, total));
  DpsRunCallOnOutput(r, w, DpsOutputSetComplete(w->out));
  DpsKillPoint("output-complete");
  PetscCall(DpsOutputFinish(&w->out));
  DpsKillPoint("output-done");
  if (r->ck) PetscCall(DpsCheckpointRemove(r->ck));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &w->nwritten, 1, MPIU_INT, MPI_SUM, r->comm));
  PetscCall(PetscPrintf(r->comm, "wrote %s: %" PetscInt_FMT " inputs x %" PetscInt_FMT " draws in %.3f s (%" PetscInt_FMT " written by this run; peak memory %.1f MiB on the largest rank)\n", r->output, w->N, r->S, t - w->t0, w->nwritten, w->peak / 1024.0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRunExecute(DpsRun r)
{
  DpsWork   w;
  PetscBool stopped, more = PETSC_TRUE;

  PetscFunctionBegin;
  r->status = 0;
  if (r->finished) {
    if (r->ck) PetscCall(DpsCheckpointRemove(r->ck));
    PetscCall(PetscPrintf(r->comm, "%s is already complete: nothing to do (removed the checkpoint %s, if any)\n", r->output, r->checkpoint));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMemzero(&w, sizeof(w)));
  PetscCall(DpsRunSetUp(r, &w, &stopped));
  if (!stopped) {
    while (more) PetscCall(DpsRunTick(r, &w, &more));
    PetscCall(DpsRunFinish(r, &w));
  }
  PetscCall(PetscFree3(w.index, w.progress, w.row));
  PetscCall(PetscFree2(w.x, w.st));
  PetscCall(PetscFree(w.rx));
  PetscCall(PetscFree(w.rst));
  PetscCall(PetscFree(w.y));
  PetscCall(PetscFree(w.x0));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRunGetExitStatus(DpsRun r, int *status)
{
  PetscFunctionBegin;
  *status = r->status;
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
  if (r->ck) PetscCall(PetscViewerASCIIPrintf(viewer, "checkpoint %s, every %" PetscInt_FMT " steps%s\n", r->checkpoint, r->every, r->restart ? ", restarting from it" : ""));
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
  PetscCall(DpsCheckpointDestroy(&(*r)->ck));
  PetscCall(PetscFree(*r));
  PetscFunctionReturn(0);
}
