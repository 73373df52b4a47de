/* A host emulation of the part of the CUDA runtime and cuBLAS that the CUDA backends (src/score/unet/cuda.cu,
   src/score/gmm_cuda.cu) use, so that their own code (kernels, launches, layouts, GEMM arguments and copies)
   runs and is tested on a machine without a GPU (CI). Included before the .cu file by unet_cuda_emulated.cpp and
   gmm_cuda_emulated.cpp, compiled as C++.

   How it runs the kernels: the backends write every kernel as a grid-stride loop over its outputs, with no shared
   memory and no synchronisation inside a kernel. With blockIdx = threadIdx = 0 and blockDim = gridDim = 1, one
   call of the kernel function is one "thread" that strides over every index, which is what the whole grid does.
   A launch `kernel<<<...>>>(args)` is written DPS_LAUNCH(kernel, n, stream)(args) (src/score/cuda_check.h) and
   becomes kernel(args).

   What it checks beyond the results: device allocations are tracked, filled with NaN bytes (a read of memory
   that was never written shows up as NaN in the result) and fenced by guard bytes that must be intact when the
   allocation is freed (a kernel writing past either end of a buffer is caught); every copy and every GEMM
   operand must lie inside one device allocation (the host side of a copy outside any). cuBLAS GEMMs run on the
   system BLAS (sgemm_, dgemm_). Configured with -DDPSOLVE_TEST_ASAN=ON the tests also run under
   AddressSanitizer, which catches reads outside a buffer too.

   What it cannot check: real concurrency (a kernel whose threads race would pass here), launch limits, and
   the device's own arithmetic (fused multiply-adds, cuBLAS's summation order): the GPU test does that. */
#ifndef DPSOLVE_CUDA_EMULATION_H
#define DPSOLVE_CUDA_EMULATION_H

#define DPS_CUDA_EMULATION 1

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

#define __global__ static
#define __device__
#define __host__
#define __forceinline__ inline

struct DpsEmuDim3 {
  unsigned x, y, z;
};
static const DpsEmuDim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0}, blockDim = {1, 1, 1}, gridDim = {1, 1, 1};

/* ---- runtime ---- */
typedef int cudaError_t;
enum { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2, cudaErrorNoDevice = 100 };
typedef enum { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 } cudaMemcpyKind;
typedef struct DpsEmuStream *cudaStream_t;
#define cudaStreamNonBlocking 1

struct DpsEmuAlloc {
  const char *p;
  size_t      n;
};
#define DPS_EMU_GUARD 256 /* bytes before and after every allocation */
#define DPS_EMU_FENCE 0xa5
static std::vector<DpsEmuAlloc> dps_emu_allocs;
static size_t                   dps_emu_violations; /* copies or GEMM operands outside the device allocations */

/* the allocation holding [p, p + n) bytes, or -1 */
static inline long DpsEmuFind(const void *p, size_t n)
{
  const char *c = (const char *)p;
  for (size_t i = 0; i < dps_emu_allocs.size(); i++)
    if (c >= dps_emu_allocs[i].p && c + n <= dps_emu_allocs[i].p + dps_emu_allocs[i].n) return (long)i;
  return -1;
}

static inline void DpsEmuCheckDevice(const void *p, size_t n)
{
  if (n && DpsEmuFind(p, n) < 0) dps_emu_violations++;
}

static inline void DpsEmuCheckHost(const void *p, size_t n)
{
  for (size_t i = 0; i < dps_emu_allocs.size(); i++)
    if ((const char *)p < dps_emu_allocs[i].p + dps_emu_allocs[i].n && (const char *)p + n > dps_emu_allocs[i].p) dps_emu_violations++;
}

static inline const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : e == cudaErrorMemoryAllocation ? "out of memory" : e == cudaErrorNoDevice ? "no CUDA-capable device" : "invalid argument"; }
static inline cudaError_t cudaGetLastError(void) { return cudaSuccess; }
static inline cudaError_t cudaGetDeviceCount(int *n)
{
  *n = 1;
  return cudaSuccess;
}
static inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
static inline cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
  /* DPS_CUDA_EMULATION_FREE: what the device has free, so that a test can make a batch split into passes */
  const char *env = getenv("DPS_CUDA_EMULATION_FREE");
  *free_bytes     = env ? (size_t)strtoull(env, NULL, 10) : (size_t)1 << 30;
  *total          = (size_t)1 << 31;
  return cudaSuccess;
}
static inline cudaError_t cudaMalloc(void **p, size_t n)
{
  char *raw = (char *)malloc(n + 2 * DPS_EMU_GUARD);
  if (!raw) return cudaErrorMemoryAllocation;
  memset(raw, DPS_EMU_FENCE, DPS_EMU_GUARD);
  memset(raw + DPS_EMU_GUARD, 0xff, n); /* NaN floats */
  memset(raw + DPS_EMU_GUARD + n, DPS_EMU_FENCE, DPS_EMU_GUARD);
  *p = raw + DPS_EMU_GUARD;
  dps_emu_allocs.push_back(DpsEmuAlloc{(const char *)*p, n});
  return cudaSuccess;
}
static inline cudaError_t cudaFree(void *p)
{
  if (!p) return cudaSuccess;
  for (size_t i = 0; i < dps_emu_allocs.size(); i++)
    if (dps_emu_allocs[i].p == p) {
      const unsigned char *lo = (const unsigned char *)p - DPS_EMU_GUARD, *hi = (const unsigned char *)p + dps_emu_allocs[i].n;
      for (int k = 0; k < DPS_EMU_GUARD; k++)
        if (lo[k] != DPS_EMU_FENCE || hi[k] != DPS_EMU_FENCE) {
          dps_emu_violations++; /* something wrote past an end of this buffer */
          break;
        }
      dps_emu_allocs.erase(dps_emu_allocs.begin() + (long)i);
      free((char *)p - DPS_EMU_GUARD);
      return cudaSuccess;
    }
  dps_emu_violations++;
  return cudaErrorInvalidValue;
}
static inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind, cudaStream_t s)
{
  (void)s;
  if (kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice) DpsEmuCheckDevice(dst, n);
  else DpsEmuCheckHost(dst, n);
  if (kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice) DpsEmuCheckDevice(src, n);
  else DpsEmuCheckHost(src, n);
  memmove(dst, src, n);
  return cudaSuccess;
}
static inline cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s)
{
  (void)s;
  DpsEmuCheckDevice(p, n);
  memset(p, v, n);
  return cudaSuccess;
}
static inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
  (void)flags;
  *s = (cudaStream_t)malloc(1);
  return cudaSuccess;
}
static inline cudaError_t cudaStreamSynchronize(cudaStream_t s) { return s ? cudaSuccess : cudaErrorInvalidValue; }
static inline cudaError_t cudaStreamDestroy(cudaStream_t s)
{
  free(s);
  return cudaSuccess;
}

/* ---- cuBLAS ---- */
typedef int cublasStatus_t;
enum { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7 };
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum { CUBLAS_POINTER_MODE_HOST = 0 } cublasPointerMode_t;
typedef enum { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 } cublasMath_t;
typedef struct DpsEmuBlas *cublasHandle_t;

extern "C" void sgemm_(const char *, const char *, const int *, const int *, const int *, const float *, const float *, const int *, const float *, const int *, const float *, float *, const int *);
extern "C" void dgemm_(const char *, const char *, const int *, const int *, const int *, const double *, const double *, const int *, const double *, const int *, const double *, double *, const int *);

static inline const char *cublasGetStatusString(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_INVALID_VALUE"; }
static inline cublasStatus_t cublasCreate(cublasHandle_t *h)
{
  *h = (cublasHandle_t)malloc(1);
  return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t cublasDestroy(cublasHandle_t h)
{
  free(h);
  return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
static inline cublasStatus_t cublasSetPointerMode(cublasHandle_t, cublasPointerMode_t) { return CUBLAS_STATUS_SUCCESS; }
static inline cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }

/* a column-major rows x cols operand with leading dimension ld, in batch matrices `stride` apart */
template <class T>
static inline void DpsEmuCheckOperand(const T *p, int rows, int cols, int ld, long long stride, int batch)
{
  if (rows < 1 || cols < 1) return;
  if (ld < rows) dps_emu_violations++;
  DpsEmuCheckDevice(p, sizeof(T));
  DpsEmuCheckDevice(p + stride * (batch - 1) + (size_t)ld * (cols - 1), sizeof(T) * (size_t)rows);
}

static inline cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float *alpha, const float *A, int lda, long long sa, const float *B, int ldb, long long sb, const float *beta, float *C, int ldc, long long sc, int batch)
{
  const char ca = ta == CUBLAS_OP_N ? 'N' : 'T', cb = tb == CUBLAS_OP_N ? 'N' : 'T';
  (void)h;
  if (m < 0 || n < 0 || k < 0 || batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (!m || !n || !batch) return CUBLAS_STATUS_SUCCESS;
  DpsEmuCheckOperand(A, ca == 'N' ? m : k, ca == 'N' ? k : m, lda, sa, batch);
  DpsEmuCheckOperand(B, cb == 'N' ? k : n, cb == 'N' ? n : k, ldb, sb, batch);
  DpsEmuCheckOperand(C, m, n, ldc, sc, batch);
  for (int i = 0; i < batch; i++) sgemm_(&ca, &cb, &m, &n, &k, alpha, A + sa * i, &lda, B + sb * i, &ldb, beta, C + sc * i, &ldc);
  return CUBLAS_STATUS_SUCCESS;
}

static inline cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const double *alpha, const double *A, int lda, const double *B, int ldb, const double *beta, double *C, int ldc)
{
  const char ca = ta == CUBLAS_OP_N ? 'N' : 'T', cb = tb == CUBLAS_OP_N ? 'N' : 'T';
  (void)h;
  if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (!m || !n) return CUBLAS_STATUS_SUCCESS;
  DpsEmuCheckOperand(A, ca == 'N' ? m : k, ca == 'N' ? k : m, lda, 0, 1);
  DpsEmuCheckOperand(B, cb == 'N' ? k : n, cb == 'N' ? n : k, ldb, 0, 1);
  DpsEmuCheckOperand(C, m, n, ldc, 0, 1);
  dgemm_(&ca, &cb, &m, &n, &k, alpha, A, &lda, B, &ldb, beta, C, &ldc);
  return CUBLAS_STATUS_SUCCESS;
}

#endif
