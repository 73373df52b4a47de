/* The C UNet (src/score/unet/) against PyTorch (tools/unet.py), on fixtures written by
   tools/make_unet_fixtures.py: test_unet fixture.h5 [fixture.h5 ...]. For every fixture:
     (a) forward and input VJP match PyTorch: max abs error / max abs value below 1e-5 (forward) and 1e-4 (VJP),
         against both the float32 evaluation and the float64 one (the exact values to float32 precision);
     (b) <u, J v> from the VJP agrees with central differences of the forward (Richardson-extrapolated), for
         random directions v; the VJP's forward output is the forward's, bit for bit; an image's result does
         not depend on the others of the batch;
     (c) the DpsScore (type unet, model time t - 1) gives the eps half of the output, the v half through
         DpsScoreUNetGetVariance, the VJP of a cotangent on the eps half, and refuses the JVP clearly;
         a file whose /prior has type "unet" selects the unet score by itself;
     (d) the loader rejects a missing, a misnamed and a mis-shaped parameter with a message that names it. */
#include <dpsolve/dpsolve.h>
#include <stdio.h>
#include "score/unetimpl.h"
#include "io/h5.h"
#include "../unit/unittest.h"

typedef struct {
  int     B, din, dout; /* images, floats per image in and out */
  float  *x, *t, *u;
  double *out32, *out64, *vjp32, *vjp64, *vjpeps; /* vjpeps NULL without learned sigma */
} Fixture;

static PetscErrorCode ReadDoubles(hid_t f, const char *fname, const char *name, int rank, double **buf, hsize_t *dims)
{
  size_t n = 1;

  PetscFunctionBegin;
  PetscCall(DpsH5GetDims(f, fname, name, rank, "", dims));
  for (int k = 0; k < rank; k++) n *= dims[k];
  PetscCall(PetscMalloc1(n, buf));
  PetscCall(DpsH5ReadAll(f, fname, name, *buf));
  PetscFunctionReturn(0);
}

static PetscErrorCode ToFloat(size_t n, double *d, float **f)
{
  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n, f));
  for (size_t i = 0; i < n; i++) (*f)[i] = (float)d[i];
  PetscCall(PetscFree(d));
  PetscFunctionReturn(0);
}

static PetscErrorCode FixtureRead(hid_t f, const char *fname, Fixture *fx)
{
  hsize_t   dx[4], dout[4], dt[1];
  double   *buf;
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(fx, sizeof(*fx)));
  PetscCall(ReadDoubles(f, fname, "/x", 4, &buf, dx));
  fx->B   = (int)dx[0];
  fx->din = (int)(dx[1] * dx[2] * dx[3]);
  PetscCall(ToFloat((size_t)fx->B * fx->din, buf, &fx->x));
  PetscCall(ReadDoubles(f, fname, "/t", 1, &buf, dt));
  PetscCall(ToFloat(dt[0], buf, &fx->t));
  PetscCall(ReadDoubles(f, fname, "/u", 4, &buf, dout));
  fx->dout = (int)(dout[1] * dout[2] * dout[3]);
  PetscCall(ToFloat((size_t)fx->B * fx->dout, buf, &fx->u));
  PetscCall(ReadDoubles(f, fname, "/out", 4, &fx->out32, dout));
  PetscCall(ReadDoubles(f, fname, "/out_f64", 4, &fx->out64, dout));
  PetscCall(ReadDoubles(f, fname, "/vjp", 4, &fx->vjp32, dx));
  PetscCall(ReadDoubles(f, fname, "/vjp_f64", 4, &fx->vjp64, dx));
  PetscCall(DpsH5Exists(f, "/vjp_eps", &has));
  if (has) PetscCall(ReadDoubles(f, fname, "/vjp_eps", 4, &fx->vjpeps, dx));
  PetscFunctionReturn(0);
}

static PetscErrorCode FixtureDestroy(Fixture *fx)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(fx->x));
  PetscCall(PetscFree(fx->t));
  PetscCall(PetscFree(fx->u));
  PetscCall(PetscFree(fx->out32));
  PetscCall(PetscFree(fx->out64));
  PetscCall(PetscFree(fx->vjp32));
  PetscCall(PetscFree(fx->vjp64));
  PetscCall(PetscFree(fx->vjpeps));
  PetscFunctionReturn(0);
}

/* max |a - ref| / max |ref| */
static double RelErr(size_t n, const float *a, const double *ref)
{
  double e = 0.0, m = 0.0;
  for (size_t i = 0; i < n; i++) {
    e = PetscMax(e, PetscAbsReal((double)a[i] - ref[i]));
    m = PetscMax(m, PetscAbsReal(ref[i]));
  }
  return e / m;
}

static double RelErrD(size_t n, const double *a, const double *ref)
{
  double e = 0.0, m = 0.0;
  for (size_t i = 0; i < n; i++) {
    e = PetscMax(e, PetscAbsReal(a[i] - ref[i]));
    m = PetscMax(m, PetscAbsReal(ref[i]));
  }
  return e / m;
}

static const double TOL_FORWARD = 1e-5, TOL_VJP = 1e-4, TOL_FD = 1e-4;

/* (a) and (b) on the kernels */
static PetscErrorCode CheckKernels(const char *fname, DpsUnet *net, const Fixture *fx)
{
  const size_t nin = (size_t)fx->B * fx->din, nout = (size_t)fx->B * fx->dout;
  float       *work, *out, *out2, *dx, *one, *xp, *op, *om;
  double       e;
  DpsTestRng   rng;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(DpsUnetWorkspace(net, 0), DpsUnetWorkspace(net, 1)), &work));
  PetscCall(PetscMalloc4(nout, &out, nout, &out2, nin, &dx, fx->dout, &one));
  PetscCall(PetscMalloc3(fx->din, &xp, fx->dout, &op, fx->dout, &om));
  DPS_CHECK(!DpsUnetForward(net, fx->B, fx->t, fx->x, out, work), "%s: forward failed: %s", fname, DpsUnetError());
  e = RelErr(nout, out, fx->out64);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  forward vs float64 reference  %.2e (PyTorch float32: %.2e)\n", e, RelErrD(nout, fx->out32, fx->out64)));
  DPS_CHECK(e < TOL_FORWARD, "%s: forward differs from the float64 reference by %.2e (tolerance %.0e)", fname, e, TOL_FORWARD);
  e = RelErr(nout, out, fx->out32);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  forward vs PyTorch float32     %.2e\n", e));
  DPS_CHECK(e < TOL_FORWARD, "%s: forward differs from PyTorch float32 by %.2e (tolerance %.0e)", fname, e, TOL_FORWARD);

  DPS_CHECK(!DpsUnetVJP(net, fx->B, fx->t, fx->x, fx->u, dx, out2, work), "%s: VJP failed: %s", fname, DpsUnetError());
  e = RelErr(nin, dx, fx->vjp64);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  VJP vs float64 reference      %.2e (PyTorch float32: %.2e)\n", e, RelErrD(nin, fx->vjp32, fx->vjp64)));
  DPS_CHECK(e < TOL_VJP, "%s: VJP differs from the float64 reference by %.2e (tolerance %.0e)", fname, e, TOL_VJP);
  e = RelErr(nin, dx, fx->vjp32);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  VJP vs PyTorch float32         %.2e\n", e));
  DPS_CHECK(e < TOL_VJP, "%s: VJP differs from PyTorch float32 by %.2e (tolerance %.0e)", fname, e, TOL_VJP);
  DPS_CHECK(!memcmp(out, out2, sizeof(float) * nout), "%s: the VJP's forward output differs from the forward's", fname);

  /* an image alone gives the bits it gives in the batch */
  for (int i = 0; i < fx->B; i++) {
    DpsUnetForward(net, 1, fx->t + i, fx->x + (size_t)i * fx->din, one, work);
    DPS_CHECK(!memcmp(one, out + (size_t)i * fx->dout, sizeof(float) * fx->dout), "%s: image %d alone differs from image %d in the batch", fname, i, i);
  }

  /* <u, J v> = <J^T u, v> against central differences of the forward, Richardson-extrapolated:
     J v ~ (4 D(h/2) - D(h)) / 3, D(h) = (f(x + h v) - f(x - h v)) / (2 h). The error is measured against
     |u| |J v|, the scale of the float32 rounding in the differences (<u, J v> itself may be much smaller). */
  DpsTestRngSeed(&rng, 7);
  for (int dir = 0; dir < 2; dir++) {
    const int    i = dir % fx->B;
    const float *xi = fx->x + (size_t)i * fx->din, *ui = fx->u + (size_t)i * fx->dout;
    double       vjv = 0.0, fd = 0.0, uu = 0.0, jj = 0.0, *v, *jv;
    PetscCall(PetscMalloc2(fx->din, &v, fx->dout, &jv));
    for (int k = 0; k < fx->din; k++) v[k] = DpsTestNormal(&rng);
    for (int k = 0; k < fx->din; k++) vjv += (double)dx[(size_t)i * fx->din + k] * v[k];
    for (int r = 0; r < 2; r++) {
      const double h = r ? 0.02 : 0.04, c = r ? 4.0 / 3.0 : -1.0 / 3.0;
      for (int k = 0; k < fx->din; k++) xp[k] = (float)(xi[k] + h * v[k]);
      DpsUnetForward(net, 1, fx->t + i, xp, op, work);
      for (int k = 0; k < fx->din; k++) xp[k] = (float)(xi[k] - h * v[k]);
      DpsUnetForward(net, 1, fx->t + i, xp, om, work);
      for (int k = 0; k < fx->dout; k++) jv[k] = (r ? jv[k] : 0.0) + c * ((double)op[k] - (double)om[k]) / (2.0 * h);
    }
    for (int k = 0; k < fx->dout; k++) {
      fd += ui[k] * jv[k];
      uu += (double)ui[k] * ui[k];
      jj += jv[k] * jv[k];
    }
    e = PetscAbsReal(fd - vjv) / PetscSqrtReal(uu * jj);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "  <u, J v> direction %d: VJP %.8e, differences %.8e; error / (|u| |J v|) %.2e\n", dir, vjv, fd, e));
    DPS_CHECK(e < TOL_FD, "%s: <u, J v> from the VJP %.8e and from differences %.8e differ by %.2e |u| |J v| (tolerance %.0e)", fname, vjv, fd, e, TOL_FD);
    PetscCall(PetscFree2(v, jv));
  }
  PetscCall(PetscFree3(xp, op, om));
  PetscCall(PetscFree4(out, out2, dx, one));
  PetscCall(PetscFree(work));
  PetscFunctionReturn(0);
}

/* (c) through the DpsScore */
static PetscErrorCode CheckScore(const char *fname, const Fixture *fx)
{
  DpsScore         s;
  PetscInt         d, nv;
  const PetscReal *v;
  PetscReal       *x, *eps, *cot, *dx;
  PetscErrorCode   ierr;
  const int        learned = fx->dout == 2 * fx->din;
  double           emax = 0.0, vmax = 0.0, gmax = 0.0, tolf = TOL_FORWARD;
  DpsScoreBackend  backend;

  PetscFunctionBegin;
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &s));
  PetscCall(DpsScoreSetType(s, DPSSCOREUNET));
  PetscCall(DpsScoreUNetSetWeights(s, fname));
  PetscCall(DpsScoreSetFromOptions(s)); /* -score_backend: the unet_pytorch_cuda test runs this on the GPU */
  PetscCall(DpsScoreSetUp(s));
  PetscCall(DpsScoreGetBackend(s, &backend));
  /* the GPU sums in another order than the CPU (tests/kernels/test_unet_backends.c): a looser forward bound */
  if (backend == DPS_BACKEND_CUDA) tolf = TOL_VJP;
  PetscCall(DpsScoreGetDimension(s, &d));
  DPS_CHECK(d == fx->din, "%s: the unet score has dimension %" PetscInt_FMT ", expected %d", fname, d, fx->din);
  PetscCall(PetscMalloc4(d, &x, d, &eps, d, &cot, d, &dx));
  for (int i = 0; i < fx->B; i++) {
    const double *ref = fx->out64 + (size_t)i * fx->dout;
    const double *g   = learned ? fx->vjpeps + (size_t)i * fx->din : fx->vjp32 + (size_t)i * fx->din;
    for (PetscInt k = 0; k < d; k++) {
      x[k]   = fx->x[(size_t)i * fx->din + k];
      cot[k] = fx->u[(size_t)i * fx->dout + k];
    }
    /* dpsolve's time t is the model's step t - 1 */
    PetscCall(DpsScoreEps(s, 1, (PetscInt)fx->t[i] + 1, 0.5, x, eps));
    emax = PetscMax(emax, RelErrD((size_t)d, eps, ref));
    PetscCall(DpsScoreUNetGetVariance(s, &nv, &v));
    DPS_CHECK(nv == (learned ? 1 : 0), "%s: GetVariance gives %" PetscInt_FMT " rows, expected %d", fname, nv, learned);
    if (learned) vmax = PetscMax(vmax, RelErrD((size_t)d, v, ref + d));
    PetscCall(DpsScoreVJP(s, 1, (PetscInt)fx->t[i] + 1, 0.5, x, cot, dx));
    gmax = PetscMax(gmax, RelErrD((size_t)d, dx, g));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  DpsScore on %s: eps %.2e, v %.2e, VJP of the eps half %.2e\n", DpsScoreBackends[backend], emax, vmax, gmax));
  DPS_CHECK(emax < tolf && vmax < tolf, "%s: DpsScoreEps: eps %.2e, v %.2e from the reference (tolerance %.0e)", fname, emax, vmax, tolf);
  DPS_CHECK(gmax < TOL_VJP, "%s: DpsScoreVJP %.2e from PyTorch (tolerance %.0e)", fname, gmax, TOL_VJP);
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = DpsScoreJVP(s, 1, 10, 0.5, x, cot, dx);
  PetscCall(PetscPopErrorHandler());
  DPS_CHECK(ierr == PETSC_ERR_SUP, "%s: DpsScoreJVP returned %d, expected PETSC_ERR_SUP", fname, (int)ierr);
  PetscCall(PetscFree4(x, eps, cot, dx));
  PetscCall(DpsScoreDestroy(&s));

  /* an input file whose /prior is a unet: DpsScoreLoad picks the type from it */
  {
    hid_t     f;
    PetscBool is;
    PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &s));
    PetscCall(DpsH5Open(PETSC_COMM_SELF, fname, PETSC_FALSE, &f));
    PetscCall(DpsScoreLoad(s, f, fname));
    PetscCall(DpsH5Close(&f));
    PetscCall(PetscObjectTypeCompare((PetscObject)s, DPSSCOREUNET, &is));
    PetscCall(DpsScoreGetDimension(s, &d));
    DPS_CHECK(is && d == fx->din, "%s: DpsScoreLoad of a file with a unet /prior gave another type or dimension %" PetscInt_FMT, fname, d);
    PetscCall(DpsScoreDestroy(&s));
  }
  PetscFunctionReturn(0);
}

/* (d): a copy of the fixture, changed by `edit`, must fail to load with a message containing each of `expect` */
static PetscErrorCode CopyFile(const char *from, const char *to)
{
  FILE  *a = fopen(from, "rb"), *b = fopen(to, "wb");
  char   buf[65536];
  size_t n;

  PetscFunctionBegin;
  PetscCheck(a && b, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot copy %s to %s", from, to);
  while ((n = fread(buf, 1, sizeof(buf), a)) > 0) PetscCheck(fwrite(buf, 1, n, b) == n, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", to);
  fclose(a);
  fclose(b);
  PetscFunctionReturn(0);
}

typedef enum { EDIT_DELETE, EDIT_RENAME, EDIT_RESHAPE } Edit;

/* Every message must name the parameter and its expected shape ("name [a, b]"); a misnamed parameter also by its
   wrong name, a mis-shaped one by the shape found. */
static PetscErrorCode CheckRejected(const char *fname, DpsUnet *ref, Edit edit, int index)
{
  char           copy[PETSC_MAX_PATH_LEN], path[PETSC_MAX_PATH_LEN], expect1[256], expect2[256], *msg = NULL;
  int            ndim, shape[4];
  const char    *param = DpsUnetGetParameter(ref, index, &ndim, shape, NULL);
  hid_t          f;
  DpsUnet       *net = NULL;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  {
    size_t k = 0;
    k += (size_t)snprintf(expect1 + k, sizeof(expect1) - k, "%s [", param);
    for (int d = 0; d < ndim; d++) k += (size_t)snprintf(expect1 + k, sizeof(expect1) - k, "%s%d", d ? ", " : "", shape[d]);
    snprintf(expect1 + k, sizeof(expect1) - k, "]");
    if (edit == EDIT_RESHAPE) /* "parameter /prior/name has shape [3, 2], expected [...]" */
      PetscCall(PetscSNPrintf(expect1, sizeof(expect1), "/prior/%s has shape [3, 2], expected [%d", param, shape[0]));
    PetscCall(PetscSNPrintf(expect2, sizeof(expect2), "%s", edit == EDIT_DELETE ? "missing" : edit == EDIT_RENAME ? "unexpected" : "expected"));
    if (edit == EDIT_RENAME) PetscCall(PetscSNPrintf(expect2, sizeof(expect2), "%ss)", param));
  }
  PetscCall(PetscSNPrintf(copy, sizeof(copy), "unet_rejected_%d.h5", (int)edit));
  PetscCall(CopyFile(fname, copy));
  PetscCall(PetscSNPrintf(path, sizeof(path), "/prior/%s", param));
  f = H5Fopen(copy, H5F_ACC_RDWR, H5P_DEFAULT);
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s", copy);
  if (edit == EDIT_RENAME) {
    char to[PETSC_MAX_PATH_LEN];
    PetscCall(PetscSNPrintf(to, sizeof(to), "%ss", path));
    PetscCheck(H5Lmove(f, path, f, to, H5P_DEFAULT, H5P_DEFAULT) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot rename %s", path);
  } else {
    PetscCheck(H5Ldelete(f, path, H5P_DEFAULT) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "cannot delete %s", path);
    if (edit == EDIT_RESHAPE) {
      hsize_t dims[2] = {3, 2};
      float   zero[6] = {0};
      hid_t   sp = H5Screate_simple(2, dims, NULL), d = H5Dcreate2(f, path, H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zero);
      H5Dclose(d);
      H5Sclose(sp);
    }
  }
  H5Fclose(f);
  PetscCall(DpsH5Open(PETSC_COMM_SELF, copy, PETSC_FALSE, &f));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = DpsUnetLoadH5(f, copy, "/prior", &net);
  PetscCall(PetscPopErrorHandler());
  PetscCall(DpsH5Close(&f));
  if (ierr) PetscCall(PetscErrorMessage(ierr, NULL, &msg));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  rejected: %s\n", msg ? msg : "(loaded!)"));
  DPS_CHECK(ierr && !net, "%s: a %s parameter %s was accepted", fname, edit == EDIT_DELETE ? "missing" : edit == EDIT_RENAME ? "misnamed" : "mis-shaped", param);
  DPS_CHECK(msg && strstr(msg, expect1) && strstr(msg, expect2), "%s: the message does not name '%s' and '%s'", fname, expect1, expect2);
  DpsUnetDestroy(net);
  remove(copy);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, "test_unet fixture.h5 ...: the C UNet against PyTorch fixtures"));
  PetscCheck(argc > 1, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "usage: test_unet fixture.h5 [fixture.h5 ...] [-score_backend cuda]");
  {
    char      backend[16] = "";
    PetscBool set;
    PetscCall(PetscOptionsGetString(NULL, NULL, "-score_backend", backend, sizeof(backend), &set));
    if (set && !strcmp(backend, "cuda") && DpsUnetCudaDeviceCount() < 1) {
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "skipped: -score_backend cuda: %s\n", DpsUnetCudaError()));
      PetscCall(PetscFinalize());
      return 77;
    }
  }
  for (int a = 1; a < argc; a++) {
    const char *fname = argv[a];
    hid_t       f;
    DpsUnet    *net;
    Fixture     fx;

    if (fname[0] == '-') break; /* PETSc options follow */
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s\n", fname));
    PetscCall(DpsH5Open(PETSC_COMM_SELF, fname, PETSC_FALSE, &f));
    PetscCall(DpsUnetLoadH5(f, fname, "/prior", &net));
    PetscCall(FixtureRead(f, fname, &fx));
    PetscCall(DpsH5Close(&f));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %zu parameters in %d tensors, %d images\n", DpsUnetGetParameterSize(net), DpsUnetGetNumParameters(net), fx.B));
    PetscCall(CheckKernels(fname, net, &fx));
    PetscCall(CheckScore(fname, &fx));
    if (a == 1) { /* a conv weight in the first ResBlock, the middle attention's qkv weight, the last bias */
      const int n = DpsUnetGetNumParameters(net);
      int       qkv = 0;
      while (qkv < n && strcmp(DpsUnetGetParameter(net, qkv, NULL, NULL, NULL), "middle_block.1.qkv.weight")) qkv++;
      PetscCheck(qkv < n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "no middle_block.1.qkv.weight");
      PetscCall(CheckRejected(fname, net, EDIT_DELETE, 8));
      PetscCall(CheckRejected(fname, net, EDIT_RENAME, qkv));
      PetscCall(CheckRejected(fname, net, EDIT_RESHAPE, n - 1));
    }
    DpsUnetDestroy(net);
    PetscCall(FixtureDestroy(&fx));
  }
  DPS_TEST_END();
}
