/* src/score/gmm_cuda.cu compiled for the host through cuda_emulation.h (see there), for
   test_gmm_kernels_emulated: the Gaussian-mixture CUDA backend's code tested on a machine without a GPU. */
#include "cuda_emulation.h"
#include "score/gmm_cuda.cu"

extern "C" size_t DpsCudaEmulationViolations(void) { return dps_emu_violations; }
extern "C" size_t DpsCudaEmulationLiveAllocations(void) { return dps_emu_allocs.size(); }
