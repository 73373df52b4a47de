/* dpsolve: posterior sampling for linear inverse problems with diffusion priors.
   dpsolve <verb> [options]: run, simulate, eval. Options are PETSc options (-options_file, -options_file_yaml). */
#include <stdlib.h> /* setenv */
#include <dpsolve/dpsolve.h>
#include "app/app.h"
#include "io/h5.h"

static const char usage[] = "usage: dpsolve <verb> [options]\n"
                            "  simulate  -output in.h5 [-dx 8 -dy 1 -inputs 16 -seed 0 -simulate_operator cs|inpaint]\n"
                            "            writes a Gaussian-mixture benchmark problem (methods.md section 7)\n"
                            "  run       -input in.h5 -output out.h5 [-sampler_type cdps -samples S -steps N -seed K -batch B]\n"
                            "            samples the posterior of every input, sharded over the MPI ranks\n"
                            "            [-checkpoint ck.h5 -checkpoint_every K] [-restart]: on SIGTERM or SIGUSR1 it checkpoints\n"
                            "            and exits with status 75; the same command with -restart continues it\n"
                            "  eval      -input in.h5 -output out.h5 [-eval_directions L -eval_seed K]\n"
                            "            sliced Wasserstein distance of the samples to the exact posterior\n"
                            "  check     -input in.h5 [-check_pairs 5 -check_tol 1e-10]\n"
                            "            validates an input without sampling: shapes, values, prior, operator identities\n"
                            "Add -help to a verb for its options; -log_view shows where the time went.\n";

static PetscErrorCode DpsAppRun(MPI_Comm comm, int *status)
{
  DpsRun    run;
  PetscBool view = PETSC_TRUE;

  PetscFunctionBegin;
  PetscCall(DpsRunCreate(comm, &run));
  PetscCall(DpsRunSetFromOptions(run));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-run_view", &view, NULL));
  PetscCall(DpsOptionsCheckAllUsed(comm, "run"));
  if (DpsAppHelpOnly()) {
    PetscCall(DpsRunDestroy(&run));
    PetscFunctionReturn(0);
  }
  if (view) PetscCall(DpsRunView(run, NULL));
  PetscCall(DpsRunExecute(run));
  PetscCall(DpsRunGetExitStatus(run, status));
  PetscCall(DpsRunDestroy(&run));
  PetscFunctionReturn(0);
}

/* One clear line per error instead of PETSc's full traceback with its configure options: the message already
   names the file, dataset, option and value. -dps_traceback restores PETSc's handler. */
static PetscErrorCode DpsErrorHandler(MPI_Comm comm, int line, const char *func, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  PetscMPIInt rank = 0;

  if (p == PETSC_ERROR_INITIAL) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (mess && mess[0]) fprintf(stderr, "dpsolve error (rank %d): %s\n", rank, mess);
    else fprintf(stderr, "dpsolve error (rank %d): PETSc error %d in %s() at %s:%d\n", rank, (int)n, func, file, line);
  }
  return n;
}

/* Every error is one of a few exit statuses (include/dpsolve/dpsolve.h, docs/running-on-slurm.md), never PETSc's
   error number itself: PETSC_ERR_ARG_INCOMP is 75, the status that asks a scheduler to requeue the job. */
static int DpsExitStatus(PetscErrorCode ierr)
{
  switch (ierr) {
  case PETSC_ERR_ARG_WRONG:
  case PETSC_ERR_ARG_OUTOFRANGE:
  case PETSC_ERR_ARG_UNKNOWN_TYPE:
  case PETSC_ERR_ARG_INCOMP:
  case PETSC_ERR_ARG_IDN:
  case PETSC_ERR_ARG_TYPENOTSET:
  case PETSC_ERR_ARG_NULL:
  case PETSC_ERR_USER_INPUT:
  case PETSC_ERR_SUP:
  case PETSC_ERR_OPT_OVERWRITE:
  case PETSC_ERR_WRONG_MPI_SIZE:
    return DPS_EXIT_USAGE;
  case PETSC_ERR_FILE_UNEXPECTED:
  case PETSC_ERR_ARG_SIZ:
  case PETSC_ERR_INT_OVERFLOW:
    return DPS_EXIT_DATA;
  case PETSC_ERR_FILE_OPEN:
    return DPS_EXIT_NO_INPUT;
  case DPS_ERR_CANT_CREATE:
    return DPS_EXIT_CANT_CREATE;
  case PETSC_ERR_FILE_READ:
  case PETSC_ERR_FILE_WRITE:
    return DPS_EXIT_IO;
  default:
    return DPS_EXIT_INTERNAL;
  }
}

static PetscErrorCode DpsMain(const char verb[], int *status)
{
  PetscFunctionBegin;
  if (!verb) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s", usage));
    *status = DPS_EXIT_USAGE;
    PetscFunctionReturn(0);
  }
  if (!strcmp(verb, "run")) PetscCall(DpsAppRun(PETSC_COMM_WORLD, status));
  else if (!strcmp(verb, "simulate")) PetscCall(DpsAppSimulate(PETSC_COMM_WORLD));
  else if (!strcmp(verb, "eval")) PetscCall(DpsAppEval(PETSC_COMM_WORLD));
  else if (!strcmp(verb, "check")) PetscCall(DpsAppCheck(PETSC_COMM_WORLD));
  else SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "unknown verb '%s': use run, simulate, eval or check", verb);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const char    *verb   = NULL;
  int            status = 0; /* DPS_EXIT_CHECKPOINTED: a run stopped by a signal after a checkpoint */
  PetscErrorCode ierr;

  /* the verb is ours, not an option: take it out before PETSc parses argv */
  if (argc > 1 && argv[1][0] != '-') {
    verb = argv[1];
    for (int i = 1; i < argc - 1; i++) argv[i] = argv[i + 1];
    argc--;
  }
  /* a run answers SIGTERM and SIGUSR1 from its first instant: a scheduler may send them while MPI starts */
  if (verb && !strcmp(verb, "run")) DpsRunInstallSignalHandlers();
  DpsKillPoint("main");
  /* Open MPI's own MPI-IO (ompio) sets up a shared file pointer with every file it opens. Its "sm" component keys
     a POSIX semaphore in /dev/shm on the file's base name alone: a rank killed while it holds it (kill -9, a job
     preempted mid-checkpoint) leaves it taken, and every later open of a file of that name on the node hangs;
     two jobs on one node that write ck.h5 share it. Its other components leave .lock or .metadata files beside
     the user's files when a run aborts. dpsolve never uses shared file pointers: it asks for ROMIO, which has
     none of this (the user's own OMPI_MCA_io wins; tests/restart/stale_semaphore.sh). */
  setenv("OMPI_MCA_io", "^ompio", 0);
  /* PetscInitialize reads the job file: check it first, for an error that names the file and the line */
  for (int i = 1; i < argc - 1; i++) {
    char msg[4096];
    if (strcmp(argv[i], "-options_file_yaml") || !DpsYAMLCheckFile(argv[i + 1], msg, sizeof(msg))) continue;
    fprintf(stderr, "dpsolve error: -options_file_yaml %s\n", msg);
    return DPS_EXIT_USAGE;
  }
  ierr = PetscInitialize(&argc, &argv, NULL, usage);
  if (ierr) return DPS_EXIT_INTERNAL;
  if (verb && !strcmp(verb, "run")) DpsRunInstallSignalHandlers(); /* again: PetscInitialize installs its own */
  DpsH5Init(); /* before any file is opened: an error exit must not run HDF5's own clean-up (src/io/h5.c) */
  ierr = DpsInitializePackage();
  if (!ierr) {
    PetscBool traceback = PETSC_FALSE;
    ierr = PetscOptionsGetBool(NULL, NULL, "-dps_traceback", &traceback, NULL);
    if (!ierr && !traceback) ierr = PetscPushErrorHandler(DpsErrorHandler, NULL);
  }
  if (!ierr) ierr = DpsMain(verb, &status);
  /* after an error the ranks may not all be here: leave without MPI_Finalize, which could wait for them */
  if (ierr) return DpsExitStatus(ierr);
  ierr = PetscFinalize();
  return ierr ? DPS_EXIT_INTERNAL : status;
}
