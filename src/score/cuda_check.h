/* What the CUDA backends (gmm_cuda.cu, unet/cuda.cu) share: error reporting (each translation unit keeps the
   last failure of the calling thread, with the failing call's name; its functions return the nonzero status) and
   the kernel style. Every kernel is a grid-stride loop over its outputs (DPS_FOR) with no shared memory and no
   synchronisation inside; launched as DPS_LAUNCH(kernel, n, stream)(args). That keeps kernels simple and lets
   tests/kernels/cuda_emulation.h run the backends on a machine without a GPU, where CI tests them. */
#ifndef DPSOLVE_CUDA_CHECK_H
#define DPSOLVE_CUDA_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static thread_local char dps_cuda_error[512] = "no CUDA error recorded";

static void DpsCudaSetError(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dps_cuda_error, sizeof dps_cuda_error, fmt, ap);
  va_end(ap);
}

/* "cudaMemcpyAsync(cu->x, ...)" -> "cudaMemcpyAsync": the arguments would only clutter the message */
static void DpsCudaSetCallError(const char *call, const char *what)
{
  int n = (int)strcspn(call, "(");
  DpsCudaSetError("%.*s failed: %s", n, call, what);
}

#define DPS_CUDA(call) \
  do { \
    cudaError_t dps_e_ = (call); \
    if (dps_e_ != cudaSuccess) { \
      DpsCudaSetCallError(#call, cudaGetErrorString(dps_e_)); \
      return (int)dps_e_; \
    } \
  } while (0)

#define DPS_CUBLAS(call) \
  do { \
    cublasStatus_t dps_s_ = (call); \
    if (dps_s_ != CUBLAS_STATUS_SUCCESS) { \
      DpsCudaSetCallError(#call, cublasGetStatusString(dps_s_)); \
      return (int)dps_s_; \
    } \
  } while (0)

/* A launch reports configuration errors only through cudaGetLastError(); execution errors surface at the
   stream synchronisation that ends every call. */
#define DPS_LAUNCHED(name) \
  do { \
    cudaError_t dps_e_ = cudaGetLastError(); \
    if (dps_e_ != cudaSuccess) { \
      DpsCudaSetError("launch of %s failed: %s", name, cudaGetErrorString(dps_e_)); \
      return (int)dps_e_; \
    } \
  } while (0)

/* 0 when there is no usable GPU or driver (the reason is then the last error) */
static int DpsCudaCountDevices(void)
{
  int         count = 0; /* without a driver, cudaGetDeviceCount fails and leaves count as it was */
  cudaError_t e     = cudaGetDeviceCount(&count);

  if (e != cudaSuccess) {
    DpsCudaSetError("no CUDA device: %s", cudaGetErrorString(e));
    (void)cudaGetLastError(); /* so that the next launch check does not report this */
    return 0;
  }
  if (count == 0) DpsCudaSetError("no CUDA device: cudaGetDeviceCount found none");
  return count;
}

#define DPS_THREADS 256
#ifdef DPS_CUDA_EMULATION
#define DPS_LAUNCH(kernel, n, stream) kernel
#else
/* enough blocks for one output per thread, up to 2^20 blocks (the loop strides over the rest) */
static unsigned DpsBlocks(size_t n)
{
  size_t b = (n + DPS_THREADS - 1) / DPS_THREADS;
  return (unsigned)(b < 1 ? 1 : b > ((size_t)1 << 20) ? (size_t)1 << 20 : b);
}
#define DPS_LAUNCH(kernel, n, stream) kernel<<<DpsBlocks(n), DPS_THREADS, 0, stream>>>
#endif
/* a kernel's loop over its n outputs */
#define DPS_FOR(i, n) for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n); i += (size_t)blockDim.x * gridDim.x)
/* launch kernel over n outputs on stream, and check the launch */
#define DPS_RUN_ON(stream, kernel, n, ...) \
  do { \
    DPS_LAUNCH(kernel, n, stream)(__VA_ARGS__); \
    DPS_LAUNCHED(#kernel); \
  } while (0)

#endif
