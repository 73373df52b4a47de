#ifndef DPSOLVE_SAMPLERIMPL_H
#define DPSOLVE_SAMPLERIMPL_H
#include <petsc/private/petscimpl.h>
#include <dpsolve/sampler.h>
#include <dpsolve/random.h>

struct _DpsSamplerOps {
  PetscErrorCode (*setfromoptions)(DpsSampler, PetscOptionItems *);
  PetscErrorCode (*setup)(DpsSampler);
  /* per batch: set up the sampler's own chain state, given x_N (which it may condition: cdps -cdps_smc) */
  PetscErrorCode (*begin)(DpsSampler, PetscInt, const PetscInt[], const PetscReal[], PetscReal[]);
  /* one reverse step i -> i-1 for the batch, x updated in place */
  PetscErrorCode (*step)(DpsSampler, const DpsStep *, PetscInt, const PetscInt[], const PetscReal[], PetscReal[]);
  /* restart state beyond x: doubles per row, and copies out of and into the batch in flight */
  PetscErrorCode (*statesize)(DpsSampler, PetscInt *);
  PetscErrorCode (*getstate)(DpsSampler, PetscInt, PetscReal[]);
  PetscErrorCode (*setstate)(DpsSampler, PetscInt, const PetscReal[]);
  /* per-input diagnostics of the batch in flight (cdps -cdps_smc): values per input and the output dataset's
     name (info), then [nin x n] values (values) */
  PetscErrorCode (*diagnosticsinfo)(DpsSampler, PetscInt *, const char **);
  PetscErrorCode (*diagnostics)(DpsSampler, PetscInt, PetscReal[]);
  PetscErrorCode (*view)(DpsSampler, PetscViewer);
  PetscErrorCode (*destroy)(DpsSampler);
};

struct _p_DpsSampler {
  PETSCHEADER(struct _DpsSamplerOps);
  DpsSchedule     schedule;
  DpsScore        score;
  DpsOperator     op;
  PetscReal       sigma_y;
  PetscInt64      seed;
  PetscInt        S;        /* draws per input */
  PetscInt        d, m;     /* signal and measurement sizes */
  PetscInt        capacity; /* rows the work arrays hold */
  PetscReal      *eps;      /* [capacity x d] model output of the current step */
  PetscReal      *x0hat, *v, *g; /* [capacity x d] work arrays of the guided samplers */
  PetscReal      *z;              /* [d] the noise of one row */
  PetscReal      *lvar;           /* [lvarcap x d] learned s_t^2 of the step in flight (DpsSamplerLearnedVariance) */
  PetscInt        lvarcap, lvarstep; /* rows lvar holds; the step i it holds (0: none) */
  PetscInt        nin;            /* the inputs of the step in flight (DpsSamplerStep) */
  DpsSamplerStats stats;
  PetscBool       hasrange;  /* the input declared its data range */
  PetscReal       range[2];  /* [lo, hi] */
  PetscBool       clip;      /* -clip_x0hat: clip x0hat to the range (only where there is one) */
  const PetscInt *index;     /* the inputs of the step in flight (DpsSamplerStep), for error messages */
  PetscBool       setupcalled;
  void           *data;
};

/* call, a solve for row (j, k) of the batch in flight; on failure an error that names the sampler, the input, the
   draw and the step, after the solver's own (a failed solve is never a silent wrong sample) */
#define DpsSamplerCallSolve(s, st, j, k, what, call) \
  do { \
    PetscErrorCode ierr_ = (call); \
    if (ierr_) \
      SETERRQ(PETSC_COMM_SELF, ierr_, "sampler %s: input %" PetscInt_FMT ", draw %" PetscInt_FMT ", step %" PetscInt_FMT " (t = %" PetscInt_FMT "): the %s failed", ((PetscObject)(s))->type_name, (s)->index ? (s)->index[j] : (PetscInt)(j), (PetscInt)(k), (st)->i, (st)->t, what); \
  } while (0)

/* Work arrays for `rows` rows of the batch; types call it to size their own buffers too. */
PETSC_INTERN PetscErrorCode DpsSamplerEnsureCapacity(DpsSampler, PetscInt);

/* cadps: the finite-difference estimate of diag(d eps/dx) [rows x d]; s->eps must hold eps(x_t, t). For tests. */
PETSC_INTERN PetscErrorCode DpsSamplerCADPSJacobianDiagonal(DpsSampler, const DpsStep *, PetscInt, const PetscInt[], const PetscReal[], PetscReal[]);

/* The finite-difference diag(d eps / dx) of methods.md section 4 [rows x d] from K probes with relative step h
   (sampler.c); s->eps must hold eps(x_t, t); work arrays xp, ep [rows x d], r [d] */
PETSC_INTERN PetscErrorCode DpsSamplerJacobianDiagonalFD(DpsSampler, const DpsStep *, PetscInt, const PetscInt[], const PetscReal[], PetscInt, PetscReal, PetscReal[], PetscReal[], PetscReal[], PetscReal[]);

/* Rademacher probe p (d signs) of a row at a step, from the probe stream */
PETSC_INTERN PetscErrorCode DpsSamplerProbes(DpsSampler, PetscInt, PetscInt, PetscInt, PetscInt, PetscReal[]);

/* The normals of methods.md section 9 for (input, draw, step, stream) */
PETSC_INTERN PetscErrorCode DpsSamplerNormals(DpsSampler, PetscInt, PetscInt, PetscInt, DpsStream, PetscInt, PetscReal[]);

/* out = J^T v for every row, J = d x0hat / d x_t = (I - sqrt(1 - abar) d eps / dx) / sqrt(abar): one batched VJP.
   Where x0hat is clipped (DpsSamplerClipRange), J is that of the clipped x0hat: v is zeroed on the entries whose
   unclipped x0hat lies outside the range (their gradient is zero, as in the reference DPS code); s->eps must then
   hold eps(x_t, t), as it does in every step after DpsScoreEps */
PETSC_INTERN PetscErrorCode DpsSamplerTweedieVJP(DpsSampler, const DpsStep *, PetscInt, const PetscReal[], const PetscReal[], PetscReal[]);

/* The shared guided step (methods.md section 6): a DDIM step with the posterior score eps - sqrt(1-abar) lambda g */
PETSC_INTERN void DpsStepGuided(const DpsStep *, PetscReal, PetscInt, const PetscReal[], const PetscReal[], const PetscReal[], PetscReal, const PetscReal[], PetscReal[]);

/* The DDPM ancestral step for draw `draw` of input `input` (methods.md section 1): x <- c1 x0hat + c2 x + s_t z,
   with z the row's prior noise at this step; no noise at the last step, which returns the kernel's mean. With
   -schedule_variance learned, s_t^2 is that row's per-entry learned variance: call DpsSamplerLearnedVariance
   after the step's model evaluation (an error otherwise) */
PETSC_INTERN PetscErrorCode DpsSamplerAncestral(DpsSampler, const DpsStep *, PetscInt input, PetscInt draw, const PetscReal[], PetscReal[]);

/* Right after the step's DpsScoreEps(rows, st->t): s->lvar = the learned s_t^2 per entry from the model's v output,
   log s_t^2 = f logvar_max + (1 - f) logvar_min, f = (v + 1)/2 (methods.md section 1); no model evaluation.
   A no-op unless -schedule_variance learned. */
PETSC_INTERN PetscErrorCode DpsSamplerLearnedVariance(DpsSampler, const DpsStep *, PetscInt rows);

/* The range x0hat is clipped to, [lo, hi], or NULL: none declared, or -clip_x0hat false */
PETSC_INTERN const PetscReal *DpsSamplerClipRange(DpsSampler);

/* The shared DDPM pieces (methods.md section 1), written once for every sampler. DpsStepTweedie clips x0hat to
   range [lo, hi] unless range is NULL: pass DpsSamplerClipRange(s). */
PETSC_INTERN void DpsStepTweedie(const DpsStep *, const PetscReal[], PetscInt, const PetscReal[], const PetscReal[], PetscReal[]);
PETSC_INTERN void DpsStepReverseMean(const DpsStep *, PetscInt, const PetscReal[], const PetscReal[], PetscReal[]);
#endif
