/* Reproducible random streams (methods.md section 9) on top of Philox4x32-10. */
#ifndef DPSOLVE_RANDOM_H
#define DPSOLVE_RANDOM_H

#include <petscsys.h>
#include <dpsolve/philox.h>

/* Stream identifiers: one per independent use of randomness, so that no two uses ever share a counter. */
typedef enum {
  DPS_STREAM_INIT        = 1,  /* x_N ~ N(0, I) */
  DPS_STREAM_PRIOR_NOISE = 2,  /* DDPM noise, and e1 of the PW-CG draw */
  DPS_STREAM_MEAS_NOISE  = 3,  /* e2 of the PW-CG draw */
  DPS_STREAM_BRIDGE      = 4,  /* the measurement chain: y_N and the bridge q(y_{t-1} | y_t, y) */
  DPS_STREAM_SIMULATE_Y  = 5,  /* measurement noise when y is simulated from x0 */
  DPS_STREAM_PROBES      = 6,  /* CA-DPS: Rademacher probes of the finite-difference covariance */
  DPS_STREAM_RENOISE     = 7,  /* C-DPS x0 form: x_{t-1} ~ N(sqrt(abar_{t-1}) x0, (1 - abar_{t-1}) I) */
  DPS_STREAM_RESAMPLE    = 8,  /* C-DPS particles: the one uniform of a systematic resampling per (input, step) */
  DPS_STREAM_EXACT_A     = 16, /* eval: exact posterior draws compared with the method */
  DPS_STREAM_EXACT_B     = 17, /* eval: the second exact set, for the floor */
  DPS_STREAM_DIRECTIONS  = 18, /* eval: sliced-Wasserstein directions */
  DPS_STREAM_PRIOR_DRAWS = 19, /* eval: prior samples, the reference a sampler must beat */
  DPS_STREAM_PROBLEM     = 32  /* simulate: prior, operator, ground truth */
} DpsStream;

typedef struct {
  PetscInt64 seed;
  PetscInt   input, draw, step;
  DpsStream  stream;
} DpsRandomAddress;

PETSC_EXTERN PetscErrorCode DpsRandomNormals(DpsRandomAddress, PetscInt, PetscReal[]);
PETSC_EXTERN PetscErrorCode DpsRandomUniforms(DpsRandomAddress, PetscInt, PetscReal[]);
/* elements [offset, offset + n) of a uniform stream */
PETSC_EXTERN PetscErrorCode DpsRandomUniformsAt(DpsRandomAddress, PetscInt64, PetscInt, PetscReal[]);

#endif
