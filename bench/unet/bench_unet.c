/* Throughput of the C UNet (src/score/unet/) on the CPU or the GPU, random weights:
     bench_unet mini|fmnist32|ffhq|imagenet256 [batch ...] [-vjp] [-seconds S] [-cuda [-tf32]]
   prints images per second of the forward pass (and of the VJP with -vjp) for each batch size, with the
   floating-point operations per image and the GFLOP/s reached, after one untimed call of each. With -cuda the
   CUDA backend runs (host arrays in and out, as dpsolve calls it: the copies are part of the time), and the
   first batch's results are compared with the CPU backend's (largest relative 2-norm error of an image).
   PETSc-free: links only the kernels, a BLAS and, with CUDA, the CUDA runtime and cuBLAS.
   mini is tests/unet/fixtures/ffhq_mini.h5's architecture (16 px, 32 channels), fmnist32 the shipped
   Fashion-MNIST prior's (data/models/fmnist32.h5), ffhq DPS's ffhq_10m.pt
   (256 px, 128 channels, 93.6M parameters), imagenet256 guided-diffusion's 256x256_diffusion_uncond.pt. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "score/unet/unet.h"

static double Now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static unsigned long long state = 12345;
static double             Uniform(void)
{
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return ((state >> 11) + 0.5) / 9007199254740992.0;
}

static double RelErr(size_t n, const float *a, const float *ref)
{
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++) {
    num += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
    den += (double)ref[i] * ref[i];
  }
  return sqrt(num / (den > 0.0 ? den : 1.0));
}

/* the GPU's forward and VJP of n images against the CPU backend's: the largest relative error of an image */
static int Compare(DpsUnet *net, DpsUnetCuda *cu, int n, const float *t, const float *x, const float *u, float *work)
{
  const DpsUnetConfig *c = DpsUnetGetConfig(net);
  const size_t din = (size_t)c->in_channels * c->image_size * c->image_size, dout = (size_t)c->out_channels * c->image_size * c->image_size;
  float       *o[2], *d[2];
  double       eo = 0.0, ed = 0.0;

  for (int k = 0; k < 2; k++) {
    o[k] = (float *)malloc(sizeof(float) * dout * n);
    d[k] = (float *)malloc(sizeof(float) * din * n);
  }
  DpsUnetVJP(net, n, t, x, u, d[0], o[0], work);
  if (DpsUnetCudaVJP(cu, n, t, x, u, d[1], o[1])) {
    fprintf(stderr, "VJP on the GPU: %s\n", DpsUnetCudaError());
    return 1;
  }
  for (int i = 0; i < n; i++) {
    eo = fmax(eo, RelErr(dout, o[1] + i * dout, o[0] + i * dout));
    ed = fmax(ed, RelErr(din, d[1] + i * din, d[0] + i * din));
  }
  printf("  GPU against CPU, %d image(s) in one call: forward %.2e, VJP %.2e (largest relative 2-norm error of an image)\n", n, eo, ed);
  for (int k = 0; k < 2; k++) free(o[k]), free(d[k]);
  return 0;
}

int main(int argc, char **argv)
{
  DpsUnetConfig c = {0};
  DpsUnet      *net;
  int           batches[16], nb = 0, vjp = 0, cuda = 0, tf32 = 0;
  DpsUnetCuda  *cu = NULL;
  double        seconds = 3.0;

  if (argc < 2) {
    fprintf(stderr, "usage: bench_unet mini|fmnist32|ffhq|imagenet256 [batch ...] [-vjp] [-seconds S] [-cuda [-tf32]]\n");
    return 2;
  }
  c.in_channels = 3, c.out_channels = 6, c.num_heads = 4, c.num_heads_upsample = -1;
  c.use_scale_shift_norm = 1, c.resblock_updown = 1, c.conv_resample = 1, c.num_res_blocks = 1;
  if (!strcmp(argv[1], "mini")) {
    c.image_size = 16, c.model_channels = 32, c.nlevels = 2, c.channel_mult[0] = 1, c.channel_mult[1] = 1;
    c.nattention = 1, c.attention_ds[0] = 2, c.num_head_channels = 8;
  } else if (!strcmp(argv[1], "fmnist32")) { /* the shipped prior's architecture (tools/train_fmnist.py) */
    c.in_channels = 1, c.out_channels = 1, c.num_heads = 1;
    c.image_size = 32, c.model_channels = 32, c.nlevels = 3, c.channel_mult[0] = 1, c.channel_mult[1] = 2, c.channel_mult[2] = 2;
    c.nattention = 1, c.attention_ds[0] = 4, c.num_head_channels = 32;
  } else if (!strcmp(argv[1], "ffhq") || !strcmp(argv[1], "imagenet256")) {
    const double mult[6] = {1, 1, 2, 2, 4, 4};
    c.image_size = 256, c.model_channels = 128, c.nlevels = 6, c.num_head_channels = 64;
    for (int l = 0; l < 6; l++) c.channel_mult[l] = mult[l];
    c.nattention = 1, c.attention_ds[0] = 16;
    if (!strcmp(argv[1], "imagenet256")) {
      c.model_channels = 256, c.num_res_blocks = 2, c.nattention = 3;
      c.attention_ds[0] = 8, c.attention_ds[1] = 16, c.attention_ds[2] = 32;
    }
  } else {
    fprintf(stderr, "unknown configuration %s\n", argv[1]);
    return 2;
  }
  for (int a = 2; a < argc; a++) {
    if (!strcmp(argv[a], "-vjp")) vjp = 1;
    else if (!strcmp(argv[a], "-seconds") && a + 1 < argc) seconds = atof(argv[++a]);
    else if (!strcmp(argv[a], "-cuda")) cuda = 1;
    else if (!strcmp(argv[a], "-tf32")) tf32 = 1;
    else if (nb < 16) batches[nb++] = atoi(argv[a]);
  }
  if (!nb) batches[nb++] = 1;
  if (DpsUnetCreate(&c, &net)) {
    fprintf(stderr, "%s\n", DpsUnetError());
    return 1;
  }
  /* weights of scale 1/sqrt(fan in), GroupNorm scales near 1: activations stay of order one */
  for (int i = 0; i < DpsUnetGetNumParameters(net); i++) {
    int         ndim, shape[4];
    float      *w;
    const char *name = DpsUnetGetParameter(net, i, &ndim, shape, &w);
    size_t      n = (size_t)shape[0] * shape[1] * shape[2] * shape[3], fan = n / shape[0];
    int         norm = ndim == 1 && (strstr(name, "norm") || strstr(name, "layers.0") || !strncmp(name, "out.0", 5));
    for (size_t k = 0; k < n; k++) {
      double u = 2.0 * Uniform() - 1.0;
      w[k]     = (float)(norm && strstr(name, "weight") ? 1.0 + 0.1 * u : ndim == 1 ? 0.1 * u : u * sqrt(3.0 / (double)fan));
    }
  }
  const size_t din = (size_t)c.in_channels * c.image_size * c.image_size, dout = (size_t)c.out_channels * c.image_size * c.image_size;
  const double macs = DpsUnetForwardFlops(net);
  size_t       wsize = DpsUnetWorkspace(net, vjp || cuda); /* with -cuda: for the CPU's VJP in Compare */
  printf("%s: %zu parameters, %.1f GFLOP per image forward, CPU workspace %.0f MB (%s)\n", argv[1], DpsUnetGetParameterSize(net), 2e-9 * macs, 4e-6 * (double)wsize, vjp ? "VJP" : "forward");
  if (cuda) {
    if (DpsUnetCudaDeviceCount() < 1 || DpsUnetCudaCreate(net, 0, tf32, &cu)) {
      fprintf(stderr, "-cuda: %s\n", DpsUnetCudaError());
      return 1;
    }
    printf("on the GPU (CUDA backend, %s GEMMs)\n", tf32 ? "TF32" : "float32");
  }
  float *work = (float *)malloc(sizeof(float) * wsize);
  if (!work) {
    fprintf(stderr, "out of memory for the workspace\n");
    return 1;
  }
  if (!cu) { /* one untimed call per mode: the workspace's pages are touched for the first time here */
    float *x = (float *)calloc(din, sizeof(float)), *o = (float *)calloc(dout, sizeof(float)), *dx = (float *)calloc(din, sizeof(float)), t = 500.0f;
    DpsUnetForward(net, 1, &t, x, o, work);
    if (vjp) DpsUnetVJP(net, 1, &t, x, o, dx, NULL, work);
    free(x), free(o), free(dx);
  }
  for (int b = 0; b < nb; b++) {
    const int n = batches[b];
    float    *x = (float *)malloc(sizeof(float) * din * n), *out = (float *)malloc(sizeof(float) * dout * n);
    float    *u = (float *)malloc(sizeof(float) * dout * n), *dx = (float *)malloc(sizeof(float) * din * n), *t = (float *)malloc(sizeof(float) * n);
    for (size_t k = 0; k < din * n; k++) x[k] = (float)(2.0 * Uniform() - 1.0);
    for (size_t k = 0; k < dout * n; k++) u[k] = (float)(2.0 * Uniform() - 1.0);
    for (int i = 0; i < n; i++) t[i] = (float)(100 * i % 1000);
    if (cu && b == 0 && Compare(net, cu, n < 2 ? n : 2, t, x, u, work)) return 1; /* the CPU is slow at FFHQ size */
    for (int mode = 0; mode <= vjp; mode++) {
      int    calls = 0, err = 0;
      double t0 = Now(), el;
      if (cu) err = mode ? DpsUnetCudaVJP(cu, n, t, x, u, dx, NULL) : DpsUnetCudaForward(cu, n, t, x, out); /* untimed: sizes the workspace */
      t0 = Now();
      do {
        if (cu) err = err ? err : mode ? DpsUnetCudaVJP(cu, n, t, x, u, dx, NULL) : DpsUnetCudaForward(cu, n, t, x, out);
        else if (mode) DpsUnetVJP(net, n, t, x, u, dx, NULL, work);
        else DpsUnetForward(net, n, t, x, out, work);
        calls++;
      } while ((el = Now() - t0) < seconds);
      if (err) {
        fprintf(stderr, "%s batch %d on the GPU: %s\n", mode ? "VJP" : "forward", n, DpsUnetCudaError());
        return 1;
      }
      printf("  %-7s batch %3d: %9.3f images/s  (%d calls, %.4f s per call, %.1f GFLOP/s forward-equivalent", mode ? "VJP" : "forward", n, calls * n / el, calls, el / calls, 2e-9 * macs * calls * n / el);
      if (cu) printf(", %d images per device pass, %.0f MB on the device", DpsUnetCudaGetChunk(cu, mode), DpsUnetCudaGetMemory(cu) / 1048576.0);
      printf(")\n");
      fflush(stdout);
    }
    free(x), free(out), free(u), free(dx), free(t);
  }
  free(work);
  DpsUnetCudaDestroy(cu);
  DpsUnetDestroy(net);
  return 0;
}
