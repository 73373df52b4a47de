#include <math.h>
#include "gmm_kernels.h"

static const double DPS_TWO_PI = 6.283185307179586476925286766559;

/* Fortran BLAS, as every BLAS provides it (reference, OpenBLAS, MKL) */
extern void dgemm_(const char *, const char *, const int *, const int *, const int *, const double *, const double *, const int *, const double *, const int *, const double *, double *, const int *);

size_t DpsGmmCpuWorkspace(const DpsGmm *gmm, int group)
{
  return (size_t)group * (4 * (size_t)gmm->K + (size_t)gmm->d);
}

/* out[g x K] = rows[g x d] mu^T. Row-major [g x d] is column-major [d x g], so this is mu_cm^T rows_cm. */
static void DpsGmmDots(const DpsGmm *gmm, int g, const double *rows, double *out)
{
  const double one = 1.0, zero = 0.0;
  dgemm_("T", "N", &gmm->K, &g, &gmm->d, &one, gmm->mu, &gmm->d, rows, &gmm->d, &zero, out, &gmm->K);
}

/* out[g x d] = coef[g x K] mu */
static void DpsGmmCombine(const DpsGmm *gmm, int g, const double *coef, double *out)
{
  const double one = 1.0, zero = 0.0;
  dgemm_("N", "N", &gmm->d, &g, &gmm->K, &one, gmm->mu, &gmm->d, coef, &gmm->K, &zero, out, &gmm->d);
}

static double DpsDot(int n, const double *a, const double *b)
{
  double s = 0.0;
  for (int j = 0; j < n; j++) s += a[j] * b[j];
  return s;
}

/* For g rows: responsibilities r [g x K] from the dots D = x mu^T, then ru = r / u and gbar [g x d]. */
static void DpsGmmResponsibilities(const DpsGmm *gmm, int g, double abar, const double *x, const double *D, double *r, double *ru, double *gbar)
{
  const int    K = gmm->K, d = gmm->d;
  const double s = sqrt(abar);

  for (int i = 0; i < g; i++) {
    const double *xi = x + (size_t)i * d;
    double        xx = DpsDot(d, xi, xi), lmax = -INFINITY, total = 0.0;
    for (int k = 0; k < K; k++) {
      double u    = abar * gmm->var[k] + 1.0 - abar;
      double dist = xx - 2.0 * s * D[i * K + k] + abar * gmm->musq[k];
      double l    = gmm->logw[k] - 0.5 * d * log(DPS_TWO_PI * u) - 0.5 * dist / u;
      r[i * K + k] = l;
      if (l > lmax) lmax = l;
    }
    for (int k = 0; k < K; k++) total += (r[i * K + k] = exp(r[i * K + k] - lmax));
    for (int k = 0; k < K; k++) {
      double u      = abar * gmm->var[k] + 1.0 - abar;
      r[i * K + k] /= total;
      ru[i * K + k] = r[i * K + k] / u;
    }
  }
  /* gbar = x sum_k ru_k - sqrt(abar) sum_k ru_k mu_k */
  DpsGmmCombine(gmm, g, ru, gbar);
  for (int i = 0; i < g; i++) {
    double sru = 0.0;
    for (int k = 0; k < K; k++) sru += ru[i * K + k];
    for (int j = 0; j < d; j++) gbar[(size_t)i * d + j] = x[(size_t)i * d + j] * sru - s * gbar[(size_t)i * d + j];
  }
}

void DpsGmmCpuEps(const DpsGmm *gmm, int nrows, int group, double abar, const double *x, double *eps, double *work)
{
  const int    K = gmm->K, d = gmm->d;
  const double c = sqrt(1.0 - abar);

  for (int row0 = 0; row0 < nrows; row0 += group) {
    int           g  = nrows - row0 < group ? nrows - row0 : group;
    const double *xg = x + (size_t)row0 * d;
    double       *D = work, *r = D + (size_t)g * K, *ru = r + (size_t)g * K, *out = eps + (size_t)row0 * d;
    DpsGmmDots(gmm, g, xg, D);
    DpsGmmResponsibilities(gmm, g, abar, xg, D, r, ru, out);
    for (size_t j = 0; j < (size_t)g * d; j++) out[j] *= c;
  }
}

void DpsGmmCpuJvp(const DpsGmm *gmm, int nrows, int group, double abar, const double *x, const double *v, double *out, double *work)
{
  const int    K = gmm->K, d = gmm->d;
  const double s = sqrt(abar), c = sqrt(1.0 - abar);

  for (int row0 = 0; row0 < nrows; row0 += group) {
    int           g  = nrows - row0 < group ? nrows - row0 : group;
    const double *xg = x + (size_t)row0 * d, *vg = v + (size_t)row0 * d;
    double       *D = work, *r = D + (size_t)g * K, *ru = r + (size_t)g * K, *C = ru + (size_t)g * K, *gbar = C + (size_t)g * K;
    double       *og = out + (size_t)row0 * d;
    DpsGmmDots(gmm, g, xg, D);
    DpsGmmResponsibilities(gmm, g, abar, xg, D, r, ru, gbar);
    DpsGmmDots(gmm, g, vg, D); /* D now holds v . mu_k */
    /* g_k . v = (x . v - s mu_k . v) / u_k;  c_k = r_k (g_k . v) / u_k */
    double *gv = work; /* overwrite D in place with g_k . v, then C */
    for (int i = 0; i < g; i++) {
      double xv = DpsDot(d, xg + (size_t)i * d, vg + (size_t)i * d);
      for (int k = 0; k < K; k++) {
        double u      = abar * gmm->var[k] + 1.0 - abar;
        gv[i * K + k] = (xv - s * D[i * K + k]) / u;
        C[i * K + k]  = r[i * K + k] * gv[i * K + k] / u;
      }
    }
    /* sum_k r_k g_k (g_k . v) = x sum_k c_k - s sum_k c_k mu_k */
    DpsGmmCombine(gmm, g, C, og);
    for (int i = 0; i < g; i++) {
      double sc = 0.0, sru = 0.0, gbarv = 0.0;
      for (int k = 0; k < K; k++) {
        sc += C[i * K + k];
        sru += ru[i * K + k];
        gbarv += r[i * K + k] * gv[i * K + k];
      }
      for (int j = 0; j < d; j++) {
        size_t e = (size_t)i * d + j;
        og[e]    = c * (vg[e] * sru - (xg[e] * sc - s * og[e]) + gbar[e] * gbarv);
      }
    }
  }
}
