#include <dpsolve/random.h>

/* Element e of a stream is a pure function of (address, e): filling n values never depends on how a caller
   splits the work. */
static PetscErrorCode DpsRandomFill(DpsRandomAddress a, PetscInt n, PetscReal out[], PetscBool normal)
{
  uint32_t key[2], ctr[4];

  PetscFunctionBegin;
  PetscCheck(a.input >= 0 && a.draw >= 0 && a.draw < (1 << 24) && a.step >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "random address out of range: input %" PetscInt_FMT ", draw %" PetscInt_FMT " (< 2^24), step %" PetscInt_FMT, a.input, a.draw, a.step);
  DpsPhiloxKey((uint64_t)a.seed, key);
  for (PetscInt e = 0; e < n; e += 2) {
    double pair[2];
    DpsPhiloxCounter((uint32_t)a.input, (uint32_t)a.draw, (uint32_t)a.step, (uint32_t)a.stream, (uint64_t)(e / 2), ctr);
    if (normal) DpsPhiloxNormalPair(ctr, key, pair);
    else DpsPhiloxUniformPair(ctr, key, pair);
    out[e] = pair[0];
    if (e + 1 < n) out[e + 1] = pair[1];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRandomNormals(DpsRandomAddress a, PetscInt n, PetscReal out[])
{
  PetscFunctionBegin;
  PetscCall(DpsRandomFill(a, n, out, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsRandomUniforms(DpsRandomAddress a, PetscInt n, PetscReal out[])
{
  PetscFunctionBegin;
  PetscCall(DpsRandomFill(a, n, out, PETSC_FALSE));
  PetscFunctionReturn(0);
}
