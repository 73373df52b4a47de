/* CUDA + cuBLAS backend of the Gaussian-mixture score kernels (gmm_kernels.h, methods.md section 7).
   Same math as gmm_cpu.c, in double precision. On the GPU the whole batch is one GEMM: the CPU groups rows so
   that an input's result cannot depend on its neighbours; here results only have to agree with the CPU to a
   tolerance (methods.md section 9), so nothing is gained by grouping. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef DPS_CUDA_EMULATION
#include <cuda_runtime.h>
#include <cublas_v2.h>
#endif
#include "gmm_kernels.h"
#include "cuda_check.h"

#define DPS_TWO_PI 6.283185307179586476925286766559

struct DpsGmmCuda {
  int            K, d, device;
  cudaStream_t   stream;
  cublasHandle_t blas;
  /* the prior, copied once */
  double *logw, *mu, *var, *musq;
  /* batch buffers for up to `cap` rows, carved from one allocation (`block`) that only grows */
  int     cap;
  double *block;
  double *xv;   /* [2 cap x d]: x, then v right after the current batch's x rows */
  double *gbar; /* [cap x d] */
  double *out;  /* [cap x d] */
  double *dots; /* [2 cap x K]: x mu^T, then v mu^T */
  double *r, *ru, *coef;        /* [cap x K] responsibilities, r / u, JVP coefficients */
  double *sru, *scoef, *gbarv; /* [cap] per-row sums */
};

/* ------------------------------------------------------------------------------------------------------------ */
/* Kernels (cuda_check.h's style): per-row ones with one thread per row (K is about 25 and d at most a few
   thousand: the GEMMs carry the work), elementwise ones with one thread per value. */

__device__ inline double DpsNoise(double abar, double var) { return abar * var + 1.0 - abar; }

/* Responsibilities from the dots x.mu_k: the softmax subtracts the row's largest logit so that exp never
   overflows and the largest term is exactly 1. Also the row sum of r / u, which multiplies x in gbar. */
__global__ void DpsResponsibilitiesKernel(size_t nrows, int K, int d, double abar, const double *logw, const double *var, const double *musq, const double *x, const double *dots, double *r, double *ru, double *sru)
{
  DPS_FOR(i, nrows)
  {
    const double *xi = x + i * d, *Di = dots + i * K;
    double       *ri = r + i * K, *rui = ru + i * K;
    const double  s  = sqrt(abar);
    double        xx = 0.0, lmax = -INFINITY, total = 0.0, sum_ru = 0.0;

    for (int j = 0; j < d; j++) xx += xi[j] * xi[j];
    for (int k = 0; k < K; k++) {
      double u    = DpsNoise(abar, var[k]);
      double dist = xx - 2.0 * s * Di[k] + abar * musq[k];
      double l    = logw[k] - 0.5 * d * log(DPS_TWO_PI * u) - 0.5 * dist / u;
      ri[k]       = l;
      lmax        = fmax(lmax, l);
    }
    for (int k = 0; k < K; k++) total += (ri[k] = exp(ri[k] - lmax));
    for (int k = 0; k < K; k++) {
      ri[k] /= total;
      rui[k] = ri[k] / DpsNoise(abar, var[k]);
      sum_ru += rui[k];
    }
    sru[i] = sum_ru;
  }
}

/* In place on gbar = ru mu: gbar = x sum_k ru_k - sqrt(abar) (ru mu), times scale (sqrt(1 - abar) gives eps) */
__global__ void DpsGbarKernel(size_t total, int d, double abar, double scale, const double *x, const double *sru, double *gbar)
{
  DPS_FOR(e, total) gbar[e] = scale * (x[e] * sru[e / d] - sqrt(abar) * gbar[e]);
}

/* With gv_k = g_k . v = (x.v - s mu_k.v) / u_k, the coefficients C_k = r_k gv_k / u_k of
   sum_k r_k g_k (g_k . v) = x sum_k C_k - s C mu, their row sum, and gbar . v = sum_k r_k gv_k. */
__global__ void DpsJvpCoefKernel(size_t nrows, int K, int d, double abar, const double *var, const double *x, const double *v, const double *vdots, const double *r, double *coef, double *scoef, double *gbarv)
{
  DPS_FOR(i, nrows)
  {
    const double *xi = x + i * d, *vi = v + i * d, *Dvi = vdots + i * K, *ri = r + i * K;
    double       *Ci = coef + i * K;
    const double  s  = sqrt(abar);
    double        xv = 0.0, sum_c = 0.0, sum_rgv = 0.0;

    for (int j = 0; j < d; j++) xv += xi[j] * vi[j];
    for (int k = 0; k < K; k++) {
      double u  = DpsNoise(abar, var[k]);
      double gv = (xv - s * Dvi[k]) / u;
      Ci[k]     = ri[k] * gv / u;
      sum_c += Ci[k];
      sum_rgv += ri[k] * gv;
    }
    scoef[i] = sum_c;
    gbarv[i] = sum_rgv;
  }
}

/* In place on out = C mu: J v = sqrt(1-abar) [ v sum_k r_k/u_k - (x sum_k C_k - s C mu) + gbar (gbar . v) ]. */
__global__ void DpsJvpKernel(size_t total, int d, double abar, const double *x, const double *v, const double *gbar, const double *sru, const double *scoef, const double *gbarv, double *out)
{
  DPS_FOR(e, total)
  {
    const size_t i = e / d;
    out[e]         = sqrt(1.0 - abar) * (v[e] * sru[i] - (x[e] * scoef[i] - sqrt(abar) * out[e]) + gbar[e] * gbarv[i]);
  }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* GEMMs. Host and device arrays are row-major; a row-major [n x m] array is a column-major [m x n] one, so these
   are the dgemm_ calls of gmm_cpu.c. */

/* out[n x K] = rows[n x d] mu^T */
static int DpsCudaDots(DpsGmmCuda *cu, int n, const double *rows, double *out)
{
  const double one = 1.0, zero = 0.0;
  DPS_CUBLAS(cublasDgemm(cu->blas, CUBLAS_OP_T, CUBLAS_OP_N, cu->K, n, cu->d, &one, cu->mu, cu->d, rows, cu->d, &zero, out, cu->K));
  return 0;
}

/* out[n x d] = coef[n x K] mu */
static int DpsCudaCombine(DpsGmmCuda *cu, int n, const double *coef, double *out)
{
  const double one = 1.0, zero = 0.0;
  DPS_CUBLAS(cublasDgemm(cu->blas, CUBLAS_OP_N, CUBLAS_OP_N, cu->d, n, cu->K, &one, cu->mu, cu->d, coef, cu->K, &zero, out, cu->d));
  return 0;
}

/* ------------------------------------------------------------------------------------------------------------ */

static int DpsCudaReserve(DpsGmmCuda *cu, int nrows)
{
  const size_t n = (size_t)nrows, K = (size_t)cu->K, d = (size_t)cu->d;
  void        *block;

  if (nrows <= cu->cap) return 0;
  /* the old buffers are idle: every call ends with a stream synchronisation */
  DPS_CUDA(cudaFree(cu->block));
  cu->block = NULL;
  cu->cap   = 0;
  DPS_CUDA(cudaMalloc(&block, sizeof(double) * n * (4 * d + 5 * K + 3)));
  cu->block = (double *)block;
  cu->xv    = cu->block;
  cu->gbar  = cu->xv + 2 * n * d;
  cu->out   = cu->gbar + n * d;
  cu->dots  = cu->out + n * d;
  cu->r     = cu->dots + 2 * n * K;
  cu->ru    = cu->r + n * K;
  cu->coef  = cu->ru + n * K;
  cu->sru   = cu->coef + n * K;
  cu->scoef = cu->sru + n;
  cu->gbarv = cu->scoef + n;
  cu->cap   = nrows;
  return 0;
}

/* Shared start of Eps and Jvp: select the device, make room, upload x (and v) and compute r, r / u and the
   unfinished gbar = ru mu. With v, x and v sit next to each other so that one GEMM gives both sets of dots. */
static int DpsCudaBegin(DpsGmmCuda *cu, int nrows, double abar, const double *x, const double *v)
{
  const size_t bytes = sizeof(double) * (size_t)nrows * cu->d;
  const int    nin   = v ? 2 : 1;
  int          err;

  if (!cu || nrows < 0 || !(abar >= 0.0 && abar <= 1.0)) {
    DpsCudaSetError("DpsGmmCuda: invalid arguments (%s, nrows = %d, abar = %g)", cu ? "context" : "no context", nrows, abar);
    return (int)cudaErrorInvalidValue;
  }
  /* a stale error of some unrelated runtime call would otherwise be blamed on our launches */
  (void)cudaGetLastError();
  DPS_CUDA(cudaSetDevice(cu->device));
  if ((err = DpsCudaReserve(cu, nrows))) return err;
  DPS_CUDA(cudaMemcpyAsync(cu->xv, x, bytes, cudaMemcpyHostToDevice, cu->stream));
  if (v) DPS_CUDA(cudaMemcpyAsync(cu->xv + (size_t)nrows * cu->d, v, bytes, cudaMemcpyHostToDevice, cu->stream));
  if ((err = DpsCudaDots(cu, nin * nrows, cu->xv, cu->dots))) return err;
  DPS_RUN_ON(cu->stream, DpsResponsibilitiesKernel, nrows, (size_t)nrows, cu->K, cu->d, abar, cu->logw, cu->var, cu->musq, cu->xv, cu->dots, cu->r, cu->ru, cu->sru);
  return DpsCudaCombine(cu, nrows, cu->ru, cu->gbar);
}

static int DpsCudaEnd(DpsGmmCuda *cu, int nrows, const double *result, double *host)
{
  DPS_CUDA(cudaMemcpyAsync(host, result, sizeof(double) * (size_t)nrows * cu->d, cudaMemcpyDeviceToHost, cu->stream));
  DPS_CUDA(cudaStreamSynchronize(cu->stream));
  return 0;
}

extern "C" int DpsGmmCudaEps(DpsGmmCuda *cu, int nrows, double abar, const double *x, double *eps)
{
  int err;

  if (nrows == 0) return 0;
  if ((err = DpsCudaBegin(cu, nrows, abar, x, NULL))) return err;
  DPS_RUN_ON(cu->stream, DpsGbarKernel, (size_t)nrows * cu->d, (size_t)nrows * cu->d, cu->d, abar, sqrt(1.0 - abar), cu->xv, cu->sru, cu->gbar);
  return DpsCudaEnd(cu, nrows, cu->gbar, eps);
}

extern "C" int DpsGmmCudaJvp(DpsGmmCuda *cu, int nrows, double abar, const double *x, const double *v, double *out)
{
  const double *dx, *dv;
  int           err;

  if (nrows == 0) return 0;
  if ((err = DpsCudaBegin(cu, nrows, abar, x, v))) return err;
  dx = cu->xv;
  dv = cu->xv + (size_t)nrows * cu->d;
  DPS_RUN_ON(cu->stream, DpsGbarKernel, (size_t)nrows * cu->d, (size_t)nrows * cu->d, cu->d, abar, 1.0, dx, cu->sru, cu->gbar);
  DPS_RUN_ON(cu->stream, DpsJvpCoefKernel, nrows, (size_t)nrows, cu->K, cu->d, abar, cu->var, dx, dv, cu->dots + (size_t)nrows * cu->K, cu->r, cu->coef, cu->scoef, cu->gbarv);
  if ((err = DpsCudaCombine(cu, nrows, cu->coef, cu->out))) return err;
  DPS_RUN_ON(cu->stream, DpsJvpKernel, (size_t)nrows * cu->d, (size_t)nrows * cu->d, cu->d, abar, dx, dv, cu->gbar, cu->sru, cu->scoef, cu->gbarv, cu->out);
  return DpsCudaEnd(cu, nrows, cu->out, out);
}

/* ------------------------------------------------------------------------------------------------------------ */

extern "C" int DpsGmmCudaDeviceCount(void) { return DpsCudaCountDevices(); }

static int DpsCudaUpload(double **dev, const double *host, size_t n, cudaStream_t stream)
{
  void *p;
  DPS_CUDA(cudaMalloc(&p, sizeof(double) * n));
  *dev = (double *)p;
  DPS_CUDA(cudaMemcpyAsync(*dev, host, sizeof(double) * n, cudaMemcpyHostToDevice, stream));
  return 0;
}

static int DpsCudaSetUp(DpsGmmCuda *cu, const DpsGmm *gmm)
{
  const size_t K = (size_t)gmm->K, d = (size_t)gmm->d;
  int          err;

  DPS_CUDA(cudaSetDevice(cu->device));
  /* non-blocking: work that other libraries queue on the legacy default stream need not wait for ours */
  DPS_CUDA(cudaStreamCreateWithFlags(&cu->stream, cudaStreamNonBlocking));
  DPS_CUBLAS(cublasCreate(&cu->blas));
  DPS_CUBLAS(cublasSetStream(cu->blas, cu->stream));
  /* alpha and beta of the GEMMs are host scalars */
  DPS_CUBLAS(cublasSetPointerMode(cu->blas, CUBLAS_POINTER_MODE_HOST));
  if ((err = DpsCudaUpload(&cu->logw, gmm->logw, K, cu->stream))) return err;
  if ((err = DpsCudaUpload(&cu->mu, gmm->mu, K * d, cu->stream))) return err;
  if ((err = DpsCudaUpload(&cu->var, gmm->var, K, cu->stream))) return err;
  if ((err = DpsCudaUpload(&cu->musq, gmm->musq, K, cu->stream))) return err;
  /* the host prior may be freed once Create returns */
  DPS_CUDA(cudaStreamSynchronize(cu->stream));
  return 0;
}

extern "C" int DpsGmmCudaCreate(const DpsGmm *gmm, int device, DpsGmmCuda **cu)
{
  DpsGmmCuda *c;
  int         err;

  *cu = NULL;
  if (!gmm || gmm->K < 1 || gmm->d < 1) {
    DpsCudaSetError("DpsGmmCudaCreate: invalid mixture");
    return (int)cudaErrorInvalidValue;
  }
  if (!(c = (DpsGmmCuda *)calloc(1, sizeof *c))) {
    DpsCudaSetError("DpsGmmCudaCreate: out of host memory");
    return (int)cudaErrorMemoryAllocation;
  }
  c->K      = gmm->K;
  c->d      = gmm->d;
  c->device = device;
  if ((err = DpsCudaSetUp(c, gmm))) {
    DpsGmmCudaDestroy(c); /* keeps the message of the failure */
    return err;
  }
  *cu = c;
  return 0;
}

/* Best effort, and silent: it also cleans up after a failed Create, whose message must survive. */
extern "C" void DpsGmmCudaDestroy(DpsGmmCuda *cu)
{
  if (!cu) return;
  if (cudaSetDevice(cu->device) == cudaSuccess) {
    if (cu->stream) (void)cudaStreamSynchronize(cu->stream);
    if (cu->blas) (void)cublasDestroy(cu->blas);
    (void)cudaFree(cu->block);
    (void)cudaFree(cu->logw);
    (void)cudaFree(cu->mu);
    (void)cudaFree(cu->var);
    (void)cudaFree(cu->musq);
    if (cu->stream) (void)cudaStreamDestroy(cu->stream);
  }
  (void)cudaGetLastError();
  free(cu);
}

extern "C" const char *DpsGmmCudaError(void) { return dps_cuda_error; }
