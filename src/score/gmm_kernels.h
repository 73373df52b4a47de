/* Gaussian-mixture score kernels (methods.md section 7) in plain C + BLAS, and in CUDA + cuBLAS.
   No PETSc here: this part builds and is tested on a machine that has only CUDA, a BLAS and the C library.

   Prior sum_k w_k N(mu_k, v_k I); at noise level abar: u_k = abar v_k + 1 - abar,
   g_k = (x - sqrt(abar) mu_k) / u_k, r_k = softmax_k(log w_k + log N(x; sqrt(abar) mu_k, u_k I)),
   gbar = sum_k r_k g_k, eps = sqrt(1 - abar) gbar,
   d eps / dx = sqrt(1 - abar) [ sum_k r_k (I / u_k - g_k g_k^T) + gbar gbar^T ]  (symmetric: JVP = VJP).
   Distances and the weighted sums of means are GEMMs over a group of rows. */
#ifndef DPSOLVE_GMM_KERNELS_H
#define DPSOLVE_GMM_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int           K, d;
  const double *logw; /* [K] log of the normalised weights */
  const double *mu;   /* [K x d] row-major means */
  const double *var;  /* [K] variances v_k */
  const double *musq; /* [K] squared norms of the means */
} DpsGmm;

/* Doubles of workspace the CPU kernels need for groups of `group` rows. */
size_t DpsGmmCpuWorkspace(const DpsGmm *gmm, int group);

/* Rows are processed in groups of `group` rows, one GEMM per group: the caller keeps each input's rows in one
   group so that an input's result never depends on which other inputs share the batch (methods.md section 9). */
void DpsGmmCpuEps(const DpsGmm *gmm, int nrows, int group, double abar, const double *x, double *eps, double *work);
void DpsGmmCpuJvp(const DpsGmm *gmm, int nrows, int group, double abar, const double *x, const double *v, double *out, double *work);

/* CUDA backend: device copies of the prior and of batch buffers stay resident across calls. Functions return
   0 on success and a nonzero CUDA/cuBLAS status otherwise; DpsGmmCudaError() describes the last failure. */
typedef struct DpsGmmCuda DpsGmmCuda;
int         DpsGmmCudaDeviceCount(void); /* 0 when there is no usable GPU or driver */
int         DpsGmmCudaCreate(const DpsGmm *gmm, int device, DpsGmmCuda **cu);
int         DpsGmmCudaEps(DpsGmmCuda *cu, int nrows, double abar, const double *x, double *eps);
int         DpsGmmCudaJvp(DpsGmmCuda *cu, int nrows, double abar, const double *x, const double *v, double *out);
void        DpsGmmCudaDestroy(DpsGmmCuda *cu);
const char *DpsGmmCudaError(void);

#ifdef __cplusplus
}
#endif
#endif
