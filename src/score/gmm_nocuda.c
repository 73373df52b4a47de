/* The CUDA backend of gmm_kernels.h in a build without CUDA: no device, and every call fails with a message
   that says how to get one. */
#include "gmm_kernels.h"

static const char dps_no_cuda[] = "dpsolve was built without CUDA (configure with -DDPSOLVE_CUDA=ON on a machine with nvcc)";

int DpsGmmCudaDeviceCount(void) { return 0; }

int DpsGmmCudaCreate(const DpsGmm *gmm, int device, DpsGmmCuda **cu)
{
  if (cu) *cu = NULL;
  return 1;
}

int DpsGmmCudaEps(DpsGmmCuda *cu, int nrows, double abar, const double *x, double *eps) { return 1; }

int DpsGmmCudaJvp(DpsGmmCuda *cu, int nrows, double abar, const double *x, const double *v, double *out) { return 1; }

void DpsGmmCudaDestroy(DpsGmmCuda *cu) {}

const char *DpsGmmCudaError(void) { return dps_no_cuda; }
