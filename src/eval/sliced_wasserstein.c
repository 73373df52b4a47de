/* Sliced Wasserstein-1 (methods.md section 7): SW = mean over L directions theta, uniform on the sphere, of
   W1(theta^T X, theta^T Y). With equal sample counts the 1-D W1 is the mean gap between sorted projections. */
#include <dpsolve/dpsolve.h>
#include <petscblaslapack.h>

/* P [S x L] column-major: column l holds theta_l^T x_s for every s */
static PetscErrorCode DpsProject(PetscInt S, PetscInt d, PetscInt L, const PetscReal X[], const PetscReal theta[], PetscReal P[])
{
  PetscBLASInt bS, bd, bL;
  PetscScalar  one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(S, &bS));
  PetscCall(PetscBLASIntCast(d, &bd));
  PetscCall(PetscBLASIntCast(L, &bL));
  PetscCallBLAS("BLASgemm", BLASgemm_("T", "N", &bS, &bL, &bd, &one, X, &bd, theta, &bd, &zero, P, &bS));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsSlicedWasserstein(PetscInt S, PetscInt d, const PetscReal X[], const PetscReal Y[], PetscInt L, PetscInt64 seed, PetscInt input, PetscReal *sw)
{
  PetscReal *theta, *PX, *PY, total = 0.0;

  PetscFunctionBegin;
  PetscCheck(S >= 1 && L >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "sliced Wasserstein needs S >= 1 points and L >= 1 directions (got %" PetscInt_FMT ", %" PetscInt_FMT ")", S, L);
  PetscCall(PetscMalloc3(L * d, &theta, S * L, &PX, S * L, &PY));
  for (PetscInt l = 0; l < L; l++) {
    DpsRandomAddress a = {seed, input, l, 0, DPS_STREAM_DIRECTIONS};
    PetscReal        nrm = 0.0;
    PetscCall(DpsRandomNormals(a, d, theta + l * d));
    for (PetscInt j = 0; j < d; j++) nrm += theta[l * d + j] * theta[l * d + j];
    nrm = PetscSqrtReal(nrm);
    for (PetscInt j = 0; j < d; j++) theta[l * d + j] /= nrm;
  }
  PetscCall(DpsProject(S, d, L, X, theta, PX));
  PetscCall(DpsProject(S, d, L, Y, theta, PY));
  for (PetscInt l = 0; l < L; l++) {
    PetscReal w1 = 0.0;
    PetscCall(PetscSortReal(S, PX + l * S));
    PetscCall(PetscSortReal(S, PY + l * S));
    for (PetscInt s = 0; s < S; s++) w1 += PetscAbsReal(PX[l * S + s] - PY[l * S + s]);
    total += w1 / S;
  }
  *sw = total / L;
  PetscCall(PetscFree3(theta, PX, PY));
  PetscFunctionReturn(0);
}
