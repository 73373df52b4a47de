/* The Gaussian-mixture score (methods.md section 7): exact eps, JVP and VJP of a diffused mixture prior.
   The arithmetic lives in gmm_kernels.h (CPU: BLAS; CUDA: cuBLAS); this file is the PETSc object around it. */
#include <dpsolve/dpsolve.h>
#include "score/scoreimpl.h"
#include "score/gmm_kernels.h"
#include "io/h5.h"

typedef struct {
  PetscInt    K;
  PetscReal  *w, *logw, *mu, *var, *musq; /* weights normalised to sum 1 */
  DpsGmm      gmm;                        /* borrowed view for the kernels */
  PetscReal  *work;                       /* CPU workspace for one group */
  DpsGmmCuda *cuda;
} Score_GMM;

/* |mu_k|^2, which the kernels use as is (gmm_kernels.h: musq): inf for means of about 1e154 and beyond */
static PetscReal DpsGmmSquaredNorm(PetscInt d, const PetscReal mu[])
{
  PetscReal s = 0.0;
  for (PetscInt j = 0; j < d; j++) s += mu[j] * mu[j];
  return s;
}

static PetscReal DpsGmmMaxAbs(PetscInt d, const PetscReal mu[])
{
  PetscReal m = 0.0;
  for (PetscInt j = 0; j < d; j++) m = PetscMax(m, PetscAbsReal(mu[j]));
  return m;
}

PetscErrorCode DpsScoreGMMSetPrior(DpsScore s, PetscInt K, PetscInt d, const PetscReal w[], const PetscReal mu[], const PetscReal var[])
{
  Score_GMM *g = (Score_GMM *)s->data;
  PetscReal  total = 0.0;

  PetscFunctionBegin;
  PetscCheck(K >= 1 && d >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "a mixture needs K >= 1 components in d >= 1 dimensions (got K = %" PetscInt_FMT ", d = %" PetscInt_FMT ")", K, d);
  PetscCall(PetscIntMultError(K, d, NULL));
  for (PetscInt k = 0; k < K; k++) {
    PetscCheck(PetscIsNormalReal(w[k]) && w[k] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "mixture weight %" PetscInt_FMT " is %g: weights must be positive and finite", k, (double)w[k]);
    PetscCheck(PetscIsNormalReal(var[k]) && var[k] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "mixture variance %" PetscInt_FMT " is %g: variances must be positive and finite", k, (double)var[k]);
    PetscCheck(!PetscIsInfOrNanReal(DpsGmmSquaredNorm(d, mu + k * d)), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "the squared norm of mixture mean %" PetscInt_FMT " is %g (its largest entry is %g): it must be finite", k, (double)DpsGmmSquaredNorm(d, mu + k * d), (double)DpsGmmMaxAbs(d, mu + k * d));
    total += w[k];
  }
  PetscCall(PetscFree5(g->w, g->logw, g->mu, g->var, g->musq));
  PetscCall(PetscMalloc5(K, &g->w, K, &g->logw, K * d, &g->mu, K, &g->var, K, &g->musq));
  g->K   = K;
  s->dim = d;
  for (PetscInt k = 0; k < K; k++) {
    g->w[k]    = w[k] / total;
    g->logw[k] = PetscLogReal(g->w[k]);
    g->var[k]  = var[k];
    g->musq[k] = 0.0;
    for (PetscInt j = 0; j < d; j++) {
      g->mu[k * d + j] = mu[k * d + j];
      g->musq[k] += mu[k * d + j] * mu[k * d + j];
    }
  }
  g->gmm = (DpsGmm){(int)K, (int)d, g->logw, g->mu, g->var, g->musq};
  s->setupcalled = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreGMMGetPrior(DpsScore s, PetscInt *K, PetscInt *d, const PetscReal **w, const PetscReal **mu, const PetscReal **var)
{
  Score_GMM *g = (Score_GMM *)s->data;
  PetscBool  is;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)s, DPSSCOREGMM, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsScoreGMMGetPrior() needs a gmm score");
  if (K) *K = g->K;
  if (d) *d = s->dim;
  if (w) *w = g->w;
  if (mu) *mu = g->mu;
  if (var) *var = g->var;
  PetscFunctionReturn(0);
}

/* trace(Cov[x0]) / d of the mixture: (sum_k w_k (d v_k + |mu_k|^2) - |sum_k w_k mu_k|^2) / d (w sums to 1) */
static PetscErrorCode DpsScoreDataVariance_GMM(DpsScore s, PetscReal *s2)
{
  Score_GMM     *g = (Score_GMM *)s->data;
  const PetscInt d = s->dim;
  PetscReal      second = 0.0, meansq = 0.0;

  PetscFunctionBegin;
  PetscCheck(g->K > 0, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the gmm score has no prior yet (DpsScoreGMMSetPrior or a prior file)");
  for (PetscInt k = 0; k < g->K; k++) second += g->w[k] * (d * g->var[k] + g->musq[k]);
  for (PetscInt j = 0; j < d; j++) {
    PetscReal m = 0.0;
    for (PetscInt k = 0; k < g->K; k++) m += g->w[k] * g->mu[k * d + j];
    meansq += m * m;
  }
  *s2 = (second - meansq) / d;
  PetscFunctionReturn(0);
}

/* reads the prior into w, mu, var (allocated by the caller, who frees them whatever happens), checks it and sets it */
static PetscErrorCode DpsScoreGMMReadPrior(DpsScore s, hid_t file, const char fname[], const hsize_t dw[], const hsize_t dm[], PetscReal w[], PetscReal mu[], PetscReal var[])
{
  PetscFunctionBegin;
  PetscCall(DpsH5ReadAll(file, fname, "/prior/weights", w));
  PetscCall(DpsH5ReadAll(file, fname, "/prior/means", mu));
  PetscCall(DpsH5ReadAll(file, fname, "/prior/variances", var));
  PetscCall(DpsH5CheckFinite(fname, "/prior/means", 0, (PetscInt)dm[0], (PetscInt)dm[1], mu));
  for (hsize_t k = 0; k < dw[0]; k++) {
    PetscCheck(PetscIsNormalReal(w[k]) && w[k] > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /prior/weights holds %g at component %llu: weights must be positive and finite", fname, (double)w[k], (unsigned long long)k);
    PetscCheck(PetscIsNormalReal(var[k]) && var[k] > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /prior/variances holds %g at component %llu: variances must be positive and finite", fname, (double)var[k], (unsigned long long)k);
    PetscCheck(!PetscIsInfReal(DpsGmmSquaredNorm((PetscInt)dm[1], mu + k * dm[1])), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /prior/means: the squared norm of component %llu overflows to inf (its largest entry is %g), and the score with it", fname, (unsigned long long)k,
               (double)DpsGmmMaxAbs((PetscInt)dm[1], mu + k * dm[1]));
  }
  PetscCall(DpsScoreGMMSetPrior(s, (PetscInt)dw[0], (PetscInt)dm[1], w, mu, var));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreLoad_GMM(DpsScore s, hid_t file, const char fname[])
{
  hsize_t        dw[1], dm[2], dv[1];
  PetscReal     *w, *mu, *var;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(DpsH5GetDims(file, fname, "/prior/weights", 1, "(K)", dw));
  PetscCall(DpsH5GetDims(file, fname, "/prior/means", 2, "(K, d)", dm));
  PetscCall(DpsH5GetDims(file, fname, "/prior/variances", 1, "(K)", dv));
  PetscCheck(dm[0] == dw[0] && dv[0] == dw[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: /prior/weights has %llu components but /prior/means has %llu and /prior/variances %llu", fname, (unsigned long long)dw[0],
             (unsigned long long)dm[0], (unsigned long long)dv[0]);
  PetscCheck(dm[0] >= 1 && dm[1] >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /prior/means is %llu x %llu: the mixture needs K >= 1 components in d >= 1 dimensions", fname, (unsigned long long)dm[0], (unsigned long long)dm[1]);
  /* every rank holds the means whole and the kernels index them with int */
  PetscCheck((double)dm[0] * (double)dm[1] <= (double)PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset /prior/means is %llu x %llu, too large: its %.4g entries exceed the %d that one rank can index, and would need %.1f GiB of memory on every rank", fname,
             (unsigned long long)dm[0], (unsigned long long)dm[1], (double)dm[0] * (double)dm[1], (int)PETSC_MAX_INT, (double)dm[0] * (double)dm[1] * sizeof(PetscReal) / 1073741824.0);
  PetscCall(PetscMalloc3(dw[0], &w, dm[0] * dm[1], &mu, dv[0], &var));
  ierr = DpsScoreGMMReadPrior(s, file, fname, dw, dm, w, mu, var);
  PetscCall(PetscFree3(w, mu, var));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreSave_GMM(DpsScore s, hid_t file)
{
  Score_GMM *g = (Score_GMM *)s->data;
  hsize_t    dk = (hsize_t)g->K, dm[2] = {(hsize_t)g->K, (hsize_t)s->dim};

  PetscFunctionBegin;
  PetscCall(DpsH5CreateGroup(file, "/prior"));
  PetscCall(DpsH5WriteStringAttribute(file, "/prior", "type", DPSSCOREGMM));
  PetscCall(DpsH5WriteAll(file, "/prior/weights", 1, &dk, g->w));
  PetscCall(DpsH5WriteAll(file, "/prior/means", 2, dm, g->mu));
  PetscCall(DpsH5WriteAll(file, "/prior/variances", 1, &dk, g->var));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreSetUp_GMM(DpsScore s)
{
  Score_GMM *g       = (Score_GMM *)s->data;
  int        devices = DpsGmmCudaDeviceCount(), device;

  PetscFunctionBegin;
  PetscCall(PetscFree(g->work));
  if (g->cuda) DpsGmmCudaDestroy(g->cuda);
  g->cuda = NULL;
  PetscCall(DpsScoreChooseBackend(s, devices, DpsGmmCudaError(), &device));
  if (s->backend == DPS_BACKEND_CUDA) {
    PetscCheck(DpsGmmCudaCreate(&g->gmm, device, &g->cuda) == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "gmm score on CUDA device %d: %s", device, DpsGmmCudaError());
  } else {
    PetscCall(PetscMalloc1(DpsGmmCpuWorkspace(&g->gmm, (int)s->group), &g->work));
  }
  PetscCall(PetscInfo(s, "gmm score: %" PetscInt_FMT " components in %" PetscInt_FMT " dimensions on %s\n", g->K, s->dim, DpsScoreBackends[s->backend]));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreEps_GMM(DpsScore s, PetscInt n, PetscInt t, PetscReal abar, const PetscReal x[], PetscReal eps[])
{
  Score_GMM *g = (Score_GMM *)s->data;

  PetscFunctionBegin;
  if (g->cuda) PetscCheck(DpsGmmCudaEps(g->cuda, (int)n, abar, x, eps) == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "gmm eps on CUDA: %s", DpsGmmCudaError());
  else DpsGmmCpuEps(&g->gmm, (int)n, (int)s->group, abar, x, eps, g->work);
  PetscFunctionReturn(0);
}

/* d eps / dx is symmetric (methods.md section 7): the VJP is the JVP */
static PetscErrorCode DpsScoreJVP_GMM(DpsScore s, PetscInt n, PetscInt t, PetscReal abar, const PetscReal x[], const PetscReal v[], PetscReal out[])
{
  Score_GMM *g = (Score_GMM *)s->data;

  PetscFunctionBegin;
  if (g->cuda) PetscCheck(DpsGmmCudaJvp(g->cuda, (int)n, abar, x, v, out) == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "gmm JVP on CUDA: %s", DpsGmmCudaError());
  else DpsGmmCpuJvp(&g->gmm, (int)n, (int)s->group, abar, x, v, out, g->work);
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreView_GMM(DpsScore s, PetscViewer viewer)
{
  Score_GMM *g = (Score_GMM *)s->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "Gaussian mixture: %" PetscInt_FMT " components\n", g->K));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreDestroy_GMM(DpsScore s)
{
  Score_GMM *g = (Score_GMM *)s->data;

  PetscFunctionBegin;
  if (g->cuda) DpsGmmCudaDestroy(g->cuda);
  PetscCall(PetscFree(g->work));
  PetscCall(PetscFree5(g->w, g->logw, g->mu, g->var, g->musq));
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreCreate_GMM(DpsScore s)
{
  Score_GMM *g;

  PetscFunctionBegin;
  PetscCall(PetscNew(&g));
  s->data              = g;
  s->ops->setup        = DpsScoreSetUp_GMM;
  s->ops->eps          = DpsScoreEps_GMM;
  s->ops->jvp          = DpsScoreJVP_GMM;
  s->ops->vjp          = DpsScoreJVP_GMM;
  s->ops->datavariance = DpsScoreDataVariance_GMM;
  s->ops->load         = DpsScoreLoad_GMM;
  s->ops->save         = DpsScoreSave_GMM;
  s->ops->view         = DpsScoreView_GMM;
  s->ops->destroy      = DpsScoreDestroy_GMM;
  PetscFunctionReturn(0);
}
