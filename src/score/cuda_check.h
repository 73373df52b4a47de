/* Error reporting of the CUDA backends (gmm_cuda.cu, unet/cuda.cu): each translation unit keeps the last
   failure of the calling thread, with the failing call's name, and its functions return the nonzero status. */
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

#endif
