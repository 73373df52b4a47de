/* Tests of the Gaussian-mixture score kernels (gmm_kernels.h) against truth computed here, independently:
     cpu:  (a) eps = -sqrt(1-abar) grad log p_t against finite differences of log p_t, evaluated directly;
           (b) the JVP against finite differences of eps, and its symmetry <u, J v> = <J u, v>;
           (c) an input's rows give bit-identical results whatever other inputs share the call.
     cuda: (d) the CUDA backend agrees with the CPU one; exits 77 (skipped) without a device. Built as
           test_gmm_kernels_emulated, the CUDA source runs on the host (tests/kernels/cuda_emulation.h), and no
           copy or GEMM operand may stray outside the device allocations, and every allocation must be freed.
   Plain C, no PETSc: this runs on a machine that has only CUDA and a BLAS. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "score/gmm_kernels.h"

#define TEST_SKIP 77

#ifdef DPS_TEST_EMULATED
size_t DpsCudaEmulationViolations(void);
size_t DpsCudaEmulationLiveAllocations(void);
#endif
static const double kTwoPi = 6.283185307179586476925286766559;

static int failures = 0;

static void Check(int ok, const char *fmt, double value, double tol, const char *what)
{
  printf("  %-58s %s %.3e (tol %.0e)%s\n", what, fmt, value, tol, ok ? "" : "   FAILED");
  if (!ok) failures++;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* splitmix64 + Box-Muller: deterministic, and enough for test data */

typedef struct {
  uint64_t state;
  int      have_spare;
  double   spare;
} Rng;

static uint64_t RngNext(Rng *rng)
{
  uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* in (0, 1), so that log() below is finite */
static double RngUniform(Rng *rng) { return ((double)(RngNext(rng) >> 11) + 0.5) * 0x1.0p-53; }

static double RngNormal(Rng *rng)
{
  double r, t;
  if (rng->have_spare) {
    rng->have_spare = 0;
    return rng->spare;
  }
  r               = sqrt(-2.0 * log(RngUniform(rng)));
  t               = kTwoPi * RngUniform(rng);
  rng->spare      = r * sin(t);
  rng->have_spare = 1;
  return r * cos(t);
}

static void *Alloc(size_t n)
{
  void *p = calloc(n ? n : 1, 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

static double *AllocDoubles(size_t n) { return (double *)Alloc(n * sizeof(double)); }

/* ------------------------------------------------------------------------------------------------------------ */
/* A random mixture: unequal weights and variances (0.05 to 2), means with entries of standard deviation `spread` */

typedef struct {
  DpsGmm  gmm;
  double *logw, *mu, *var, *musq;
} Prior;

static void PriorCreate(Prior *p, int K, int d, double spread, Rng *rng)
{
  double total = 0.0;

  p->logw = AllocDoubles(K);
  p->mu   = AllocDoubles((size_t)K * d);
  p->var  = AllocDoubles(K);
  p->musq = AllocDoubles(K);
  for (int k = 0; k < K; k++) total += (p->logw[k] = 0.1 + RngUniform(rng));
  for (int k = 0; k < K; k++) {
    p->logw[k] = log(p->logw[k] / total);
    p->var[k]  = 0.05 + 1.95 * RngUniform(rng);
    p->musq[k] = 0.0;
    for (int j = 0; j < d; j++) {
      double m                 = spread * RngNormal(rng);
      p->mu[(size_t)k * d + j] = m;
      p->musq[k] += m * m;
    }
  }
  p->gmm = (DpsGmm){.K = K, .d = d, .logw = p->logw, .mu = p->mu, .var = p->var, .musq = p->musq};
}

static void PriorDestroy(Prior *p)
{
  free(p->logw);
  free(p->mu);
  free(p->var);
  free(p->musq);
}

static double Noise(const Prior *p, int k, double abar) { return abar * p->var[k] + 1.0 - abar; }

/* log p_t(x) = logsumexp_k (log w_k + log N(x; sqrt(abar) mu_k, u_k I)), straight from the definition */
static double LogDensity(const Prior *p, double abar, const double *x)
{
  const int K = p->gmm.K, d = p->gmm.d;
  double    l[64], lmax = -INFINITY, total = 0.0;

  for (int k = 0; k < K; k++) {
    double u = Noise(p, k, abar), q = 0.0;
    for (int j = 0; j < d; j++) {
      double e = x[j] - sqrt(abar) * p->mu[(size_t)k * d + j];
      q += e * e;
    }
    l[k] = p->logw[k] - 0.5 * d * log(kTwoPi * u) - 0.5 * q / u;
    if (l[k] > lmax) lmax = l[k];
  }
  for (int k = 0; k < K; k++) total += exp(l[k] - lmax);
  return lmax + log(total);
}

/* Points where p_t lives: around one diffused component, or between two, where responsibilities are mixed. */
static void SamplePoints(const Prior *p, double abar, int n, Rng *rng, double *x)
{
  const int K = p->gmm.K, d = p->gmm.d;
  for (int i = 0; i < n; i++) {
    int    a = (int)(RngUniform(rng) * K), b = (int)(RngUniform(rng) * K);
    double t = i % 2 ? 0.5 : 1.0, su = sqrt(Noise(p, a, abar));
    for (int j = 0; j < d; j++) {
      double m                = t * p->mu[(size_t)a * d + j] + (1.0 - t) * p->mu[(size_t)b * d + j];
      x[(size_t)i * d + j] = sqrt(abar) * m + su * RngNormal(rng);
    }
  }
}

static void RandomNormal(size_t n, Rng *rng, double *v)
{
  for (size_t j = 0; j < n; j++) v[j] = RngNormal(rng);
}

static double MaxAbs(size_t n, const double *a)
{
  double m = 0.0;
  for (size_t j = 0; j < n; j++) m = fmax(m, fabs(a[j]));
  return m;
}

/* max_j |a_j - b_j| / max_j |b_j| */
static double RelDiff(size_t n, const double *a, const double *b)
{
  double m = 0.0;
  for (size_t j = 0; j < n; j++) m = fmax(m, fabs(a[j] - b[j]));
  return m / MaxAbs(n, b);
}

static double Dot(size_t n, const double *a, const double *b)
{
  double s = 0.0;
  for (size_t j = 0; j < n; j++) s += a[j] * b[j];
  return s;
}

static double Norm(size_t n, const double *a) { return sqrt(Dot(n, a, a)); }

/* The smallest noise u_k sets the length scale of p_t, hence the finite-difference step. */
static double MinNoise(const Prior *p, double abar)
{
  double m = INFINITY;
  for (int k = 0; k < p->gmm.K; k++) m = fmin(m, Noise(p, k, abar));
  return m;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* (a) and (b) */

#define FD_ROWS 8
#define FD_GROUP 3 /* does not divide FD_ROWS: a short last group is exercised too */

/* Fourth-order central differences: f'(0) = [f(-2h) - 8 f(-h) + 8 f(h) - f(2h)] / (12 h) */
static const double kStencil[4][2] = {
  {-2.0, 1.0 / 12.0},
  {-1.0, -8.0 / 12.0},
  {1.0, 8.0 / 12.0},
  {2.0, -1.0 / 12.0}
};

static void TestDerivatives(int d, double abar, Rng *rng)
{
  const int    K = 5, n = FD_ROWS;
  const double c = sqrt(1.0 - abar);
  const size_t nd = (size_t)n * d;
  Prior        p;
  double      *x, *eps, *fd, *v, *u, *Jv, *Ju, *xs, *es, *work;
  double       err_eps = 0.0, err_jvp = 0.0, err_sym = 0.0, h;
  char         what[128];

  PriorCreate(&p, K, d, 1.5, rng);
  h    = 1e-3 * sqrt(MinNoise(&p, abar));
  x    = AllocDoubles(nd);
  eps  = AllocDoubles(nd);
  fd   = AllocDoubles(nd);
  v    = AllocDoubles(nd);
  u    = AllocDoubles(nd);
  Jv   = AllocDoubles(nd);
  Ju   = AllocDoubles(nd);
  xs   = AllocDoubles(nd);
  es   = AllocDoubles(nd);
  work = AllocDoubles(DpsGmmCpuWorkspace(&p.gmm, FD_GROUP));
  SamplePoints(&p, abar, n, rng, x);
  RandomNormal(nd, rng, v);
  RandomNormal(nd, rng, u);

  /* (a) eps = -sqrt(1 - abar) grad log p_t */
  DpsGmmCpuEps(&p.gmm, n, FD_GROUP, abar, x, eps, work);
  for (int i = 0; i < n; i++) {
    double *xi = xs + (size_t)i * d, *fi = fd + (size_t)i * d;
    memcpy(xi, x + (size_t)i * d, sizeof(double) * d);
    for (int j = 0; j < d; j++) {
      double xj = xi[j], g = 0.0;
      for (int s = 0; s < 4; s++) {
        xi[j] = xj + kStencil[s][0] * h;
        g += kStencil[s][1] * LogDensity(&p, abar, xi);
      }
      xi[j] = xj;
      fi[j] = -c * g / h;
    }
    err_eps = fmax(err_eps, RelDiff(d, eps + (size_t)i * d, fi));
  }

  /* (b) J v against differences of eps along v, one step per row so that h |v_i| is the same for all rows */
  DpsGmmCpuJvp(&p.gmm, n, FD_GROUP, abar, x, v, Jv, work);
  memset(fd, 0, sizeof(double) * nd);
  for (int s = 0; s < 4; s++) {
    for (int i = 0; i < n; i++) {
      double hi = h / Norm(d, v + (size_t)i * d) * sqrt((double)d);
      for (int j = 0; j < d; j++) {
        size_t e = (size_t)i * d + j;
        xs[e]    = x[e] + kStencil[s][0] * hi * v[e];
      }
    }
    DpsGmmCpuEps(&p.gmm, n, FD_GROUP, abar, xs, es, work);
    for (int i = 0; i < n; i++) {
      double hi = h / Norm(d, v + (size_t)i * d) * sqrt((double)d);
      for (int j = 0; j < d; j++) fd[(size_t)i * d + j] += kStencil[s][1] * es[(size_t)i * d + j] / hi;
    }
  }
  for (int i = 0; i < n; i++) err_jvp = fmax(err_jvp, RelDiff(d, Jv + (size_t)i * d, fd + (size_t)i * d));

  /* symmetry, relative to the Cauchy-Schwarz bound of the two products */
  DpsGmmCpuJvp(&p.gmm, n, FD_GROUP, abar, x, u, Ju, work);
  for (int i = 0; i < n; i++) {
    const double *ui = u + (size_t)i * d, *vi = v + (size_t)i * d, *Jui = Ju + (size_t)i * d, *Jvi = Jv + (size_t)i * d;
    double        a = Dot(d, ui, Jvi), b = Dot(d, Jui, vi);
    double        scale = fmax(Norm(d, ui) * Norm(d, Jvi), Norm(d, Jui) * Norm(d, vi));
    err_sym             = fmax(err_sym, fabs(a - b) / scale);
  }

  snprintf(what, sizeof what, "d = %2d abar = %-5g eps vs FD of log p_t", d, abar);
  Check(err_eps < 1e-6, "rel err", err_eps, 1e-6, what);
  snprintf(what, sizeof what, "d = %2d abar = %-5g JVP vs FD of eps", d, abar);
  Check(err_jvp < 1e-6, "rel err", err_jvp, 1e-6, what);
  snprintf(what, sizeof what, "d = %2d abar = %-5g <u, J v> = <J u, v>", d, abar);
  Check(err_sym < 1e-12, "rel err", err_sym, 1e-12, what);

  free(x);
  free(eps);
  free(fd);
  free(v);
  free(u);
  free(Jv);
  free(Ju);
  free(xs);
  free(es);
  free(work);
  PriorDestroy(&p);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* (c) an input of S rows, alone or as one of 7 inputs in groups of S: the same bits */

static void TestBatchIndependence(int d, int S, Rng *rng)
{
  const int    K = 5, ninputs = 7, n = ninputs * S;
  const double abar = 0.3;
  const size_t nd = (size_t)n * d, Sd = (size_t)S * d;
  Prior        p;
  double      *x, *v, *eps_all, *jvp_all, *one, *work;
  int          same_eps = 1, same_jvp = 1;
  char         what[128];

  PriorCreate(&p, K, d, 1.5, rng);
  x       = AllocDoubles(nd);
  v       = AllocDoubles(nd);
  eps_all = AllocDoubles(nd);
  jvp_all = AllocDoubles(nd);
  one     = AllocDoubles(Sd);
  work    = AllocDoubles(DpsGmmCpuWorkspace(&p.gmm, S));
  SamplePoints(&p, abar, n, rng, x);
  RandomNormal(nd, rng, v);

  DpsGmmCpuEps(&p.gmm, n, S, abar, x, eps_all, work);
  DpsGmmCpuJvp(&p.gmm, n, S, abar, x, v, jvp_all, work);
  for (int b = 0; b < ninputs; b++) {
    DpsGmmCpuEps(&p.gmm, S, S, abar, x + b * Sd, one, work);
    same_eps &= !memcmp(one, eps_all + b * Sd, sizeof(double) * Sd);
    DpsGmmCpuJvp(&p.gmm, S, S, abar, x + b * Sd, v + b * Sd, one, work);
    same_jvp &= !memcmp(one, jvp_all + b * Sd, sizeof(double) * Sd);
  }
  snprintf(what, sizeof what, "d = %2d group = %d: eps of 1 input == in 7 inputs", d, S);
  printf("  %-58s %s\n", what, same_eps ? "bit-identical" : "DIFFERENT   FAILED");
  snprintf(what, sizeof what, "d = %2d group = %d: JVP of 1 input == in 7 inputs", d, S);
  printf("  %-58s %s\n", what, same_jvp ? "bit-identical" : "DIFFERENT   FAILED");
  failures += !same_eps + !same_jvp;

  free(x);
  free(v);
  free(eps_all);
  free(jvp_all);
  free(one);
  free(work);
  PriorDestroy(&p);
}

static int TestCpu(void)
{
  const double abars[] = {0.999, 0.5, 0.01};
  const int    dims[] = {3, 17}, groups[] = {1, 3, 4};
  Rng          rng = {.state = 20240501};

  printf("CPU kernels: eps and JVP against finite differences (K = 5, %d points each)\n", FD_ROWS);
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 3; b++) TestDerivatives(dims[a], abars[b], &rng);
  printf("CPU kernels: batch independence\n");
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 3; b++) TestBatchIndependence(dims[a], groups[b], &rng);
  return failures ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* (d) CUDA against CPU */

static int TestCuda(void)
{
  const int    K = 25, d = 800, maxrows = 300;
  const int    sizes[] = {1, 7, 300, 7, 1, 300}; /* growing, then shrinking, then growing into the kept buffers */
  const double abars[] = {0.999, 0.5, 0.01};
  const size_t nd = (size_t)maxrows * d;
  Rng          rng = {.state = 77};
  Prior        p;
  DpsGmmCuda  *cu;
  double      *x, *v, *ref, *got, *work;
  int          err;

  if (DpsGmmCudaDeviceCount() <= 0) {
    printf("no CUDA device: skipped\n  (%s)\n", DpsGmmCudaError());
    return TEST_SKIP;
  }
  PriorCreate(&p, K, d, 1.0, &rng);
  if ((err = DpsGmmCudaCreate(&p.gmm, 0, &cu))) {
    printf("DpsGmmCudaCreate failed (%d): %s\n", err, DpsGmmCudaError());
    return 1;
  }
  x    = AllocDoubles(nd);
  v    = AllocDoubles(nd);
  ref  = AllocDoubles(nd);
  got  = AllocDoubles(nd);
  work = AllocDoubles(DpsGmmCpuWorkspace(&p.gmm, maxrows));

  printf("CUDA kernels against CPU (K = %d, d = %d)\n", K, d);
  for (int a = 0; a < 3; a++) {
    const double abar = abars[a];
    SamplePoints(&p, abar, maxrows, &rng, x);
    RandomNormal(nd, &rng, v);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      const int n = sizes[s];
      char      what[128];
      double    e;

      DpsGmmCpuEps(&p.gmm, n, n, abar, x, ref, work);
      memset(got, 0, sizeof(double) * nd);
      if ((err = DpsGmmCudaEps(cu, n, abar, x, got))) {
        printf("DpsGmmCudaEps failed (%d): %s\n", err, DpsGmmCudaError());
        failures++;
        break;
      }
      e = RelDiff((size_t)n * d, got, ref);
      snprintf(what, sizeof what, "abar = %-5g rows = %3d eps", abar, n);
      Check(e < 1e-10, "rel err", e, 1e-10, what);

      DpsGmmCpuJvp(&p.gmm, n, n, abar, x, v, ref, work);
      memset(got, 0, sizeof(double) * nd);
      if ((err = DpsGmmCudaJvp(cu, n, abar, x, v, got))) {
        printf("DpsGmmCudaJvp failed (%d): %s\n", err, DpsGmmCudaError());
        failures++;
        break;
      }
      e = RelDiff((size_t)n * d, got, ref);
      snprintf(what, sizeof what, "abar = %-5g rows = %3d JVP", abar, n);
      Check(e < 1e-10, "rel err", e, 1e-10, what);
    }
  }
  if ((err = DpsGmmCudaEps(cu, 0, 0.5, x, got))) {
    printf("DpsGmmCudaEps with no rows failed (%d): %s\n", err, DpsGmmCudaError());
    failures++;
  }

  DpsGmmCudaDestroy(cu);
#ifdef DPS_TEST_EMULATED
  Check(DpsCudaEmulationViolations() == 0, "count", (double)DpsCudaEmulationViolations(), 0, "device memory violations (outside the allocations)");
  Check(DpsCudaEmulationLiveAllocations() == 0, "count", (double)DpsCudaEmulationLiveAllocations(), 0, "device allocations not freed");
#endif
  free(x);
  free(v);
  free(ref);
  free(got);
  free(work);
  PriorDestroy(&p);
  return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
  int rc;

  if (argc != 2 || (strcmp(argv[1], "cpu") && strcmp(argv[1], "cuda"))) {
    fprintf(stderr, "usage: %s cpu|cuda\n", argv[0]);
    return 2;
  }
  rc = strcmp(argv[1], "cpu") ? TestCuda() : TestCpu();
  if (rc == 1) printf("%d check(s) FAILED\n", failures);
  return rc;
}
