/* The CUDA backend of unet.h in a build without CUDA: no device, and every call fails with a message that says
   how to get one. */
#include "score/unet/unet.h"

static const char dps_no_cuda[] = "dpsolve was built without CUDA (configure with -DDPSOLVE_CUDA=ON on a machine with nvcc)";

int DpsUnetCudaDeviceCount(void) { return 0; }

int DpsUnetCudaCreate(const DpsUnet *net, int device, int tf32, DpsUnetCuda **cu)
{
  (void)net;
  (void)device;
  (void)tf32;
  if (cu) *cu = NULL;
  return 1;
}

void DpsUnetCudaDestroy(DpsUnetCuda *cu) { (void)cu; }

int DpsUnetCudaForward(DpsUnetCuda *cu, int n, const float *t, const float *x, float *out) { return 1; }

int DpsUnetCudaVJP(DpsUnetCuda *cu, int n, const float *t, const float *x, const float *u, float *dx, float *out) { return 1; }

void DpsUnetCudaSetMaxChunk(DpsUnetCuda *cu, int max) { (void)cu; }

int DpsUnetCudaGetChunk(const DpsUnetCuda *cu, int vjp) { return 0; }

size_t DpsUnetCudaGetMemory(const DpsUnetCuda *cu) { return 0; }

const char *DpsUnetCudaError(void) { return dps_no_cuda; }
