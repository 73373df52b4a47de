/* The UNet's CUDA backend against its CPU backend (src/score/unet/): forward and VJP of random-weight networks
   that exercise every block (attention with num_heads and with num_head_channels, ResBlock up/down, strided-conv
   and average-pool downsampling, nearest upsampling with and without a convolution, scale-shift norm and the
   added embedding, learned sigma), the shipped prior's architecture, several images of different t per call,
   and a batch split into several device passes.
   The CPU backend is itself checked against PyTorch (tests/unet), so this closes the chain to PyTorch.

   test_unet_backends cuda [tf32] [ffhq]: on a GPU (exits 77, skipped, where there is none). Built as
   test_unet_backends_emulated, the same CUDA source runs on the host (tests/kernels/cuda_emulation.h), and the
   test also requires that no copy, GEMM operand or kernel write strayed outside the device allocations and
   that every device allocation was freed. Tolerances: relative 2-norm error per image 1e-4 in float32 (the backends differ only
   in summation order: GEMMs, GroupNorm statistics, the embedding MLP), 3e-2 with TF32 (10-bit products).
   With ffhq, only DPS's ffhq_10m.pt architecture at full size (256 px, 93.6M parameters), 2 images: slow on
   the CPU side (about a minute), so a test of its own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "score/unet/unet.h"

#ifdef DPS_TEST_EMULATED
size_t DpsCudaEmulationViolations(void);
size_t DpsCudaEmulationLiveAllocations(void);
#endif

static int failures;

/* xorshift64*: reproducible uniform numbers in [-1, 1) */
static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;
static double Uniform(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* weights of fan-in scale (activations keep their size through the depth), norm gains near 1, small biases */
static void RandomParameters(DpsUnet *net)
{
  for (int i = 0; i < DpsUnetGetNumParameters(net); i++) {
    int         ndim, shape[4];
    float      *p;
    const char *name = DpsUnetGetParameter(net, i, &ndim, shape, &p);
    size_t      n = (size_t)shape[0] * shape[1] * shape[2] * shape[3], fanin = n / (size_t)shape[0];
    const int   bias = strstr(name, ".bias") != NULL;
    for (size_t k = 0; k < n; k++) {
      if (ndim > 1) p[k] = (float)(Uniform() * sqrt(3.0 / (double)fanin));
      else p[k] = bias ? (float)(0.1 * Uniform()) : (float)(1.0 + 0.2 * Uniform());
    }
  }
}

static double RelErr(size_t n, const float *a, const float *ref)
{
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++) {
    num += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
    den += (double)ref[i] * ref[i];
  }
  return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static void Check(const char *what, const char *cfgname, int n, size_t per, const float *a, const float *ref, double tol)
{
  double worst = 0.0;
  for (int i = 0; i < n; i++) {
    double e = RelErr(per, a + i * per, ref + i * per);
    if (!(e <= tol)) {
      printf("FAIL %s %s image %d: relative error %.3e > %.1e\n", cfgname, what, i, e, tol);
      failures++;
    }
    worst = e > worst || e != e ? e : worst;
  }
  printf("  %-10s %-8s %d images: worst relative error %.3e (tolerance %.0e)\n", cfgname, what, n, worst, tol);
}

typedef struct {
  const char   *name;
  DpsUnetConfig cfg;
} TestConfig;

static void RunConfig(const TestConfig *tc, int tf32, int n)
{
  const DpsUnetConfig *c = &tc->cfg;
  const size_t         din = (size_t)c->in_channels * c->image_size * c->image_size, dout = (size_t)c->out_channels * c->image_size * c->image_size;
  DpsUnet             *net;
  DpsUnetCuda         *cu;
  const double         tol = tf32 ? 3e-2 : 1e-4;
  float               *x, *u, *t, *work, *ocpu, *ogpu, *dcpu, *dgpu, *vout;

  if (DpsUnetCreate(c, &net)) {
    printf("FAIL %s: %s\n", tc->name, DpsUnetError());
    failures++;
    return;
  }
  RandomParameters(net);
  x    = malloc(sizeof(float) * n * din);
  u    = malloc(sizeof(float) * n * dout);
  t    = malloc(sizeof(float) * n);
  ocpu = malloc(sizeof(float) * n * dout);
  ogpu = malloc(sizeof(float) * n * dout);
  vout = malloc(sizeof(float) * n * dout);
  dcpu = malloc(sizeof(float) * n * din);
  dgpu = malloc(sizeof(float) * n * din);
  work = malloc(sizeof(float) * DpsUnetWorkspace(net, 1));
  for (size_t i = 0; i < n * din; i++) x[i] = (float)Uniform();
  for (size_t i = 0; i < n * dout; i++) u[i] = (float)Uniform();
  for (int i = 0; i < n; i++) t[i] = (float)(i * 997 % 1000) + (i % 2 ? 0.5f : 0.0f); /* 0, 997.5, 994, ...: spread over the schedule */

  if (DpsUnetCudaCreate(net, 0, tf32, &cu)) {
    printf("FAIL %s: DpsUnetCudaCreate: %s\n", tc->name, DpsUnetCudaError());
    failures++;
  } else {
    DpsUnetForward(net, n, t, x, ocpu, work);
    DpsUnetVJP(net, n, t, x, u, dcpu, NULL, work);
    if (DpsUnetCudaForward(cu, n, t, x, ogpu)) {
      printf("FAIL %s: DpsUnetCudaForward: %s\n", tc->name, DpsUnetCudaError());
      failures++;
    } else Check("forward", tc->name, n, dout, ogpu, ocpu, tol);
    if (DpsUnetCudaVJP(cu, n, t, x, u, dgpu, vout)) {
      printf("FAIL %s: DpsUnetCudaVJP: %s\n", tc->name, DpsUnetCudaError());
      failures++;
    } else {
      Check("VJP", tc->name, n, din, dgpu, dcpu, tol);
      Check("VJP out", tc->name, n, dout, vout, ocpu, tol);
    }
    printf("  %-10s images per device pass: forward %d, VJP %d; device memory %.1f MB\n", tc->name, DpsUnetCudaGetChunk(cu, 0), DpsUnetCudaGetChunk(cu, 1), DpsUnetCudaGetMemory(cu) / 1048576.0);
    /* the batch in passes of at most 2 images */
    DpsUnetCudaSetMaxChunk(cu, 2);
    if (DpsUnetCudaForward(cu, n, t, x, ogpu) || DpsUnetCudaVJP(cu, n, t, x, u, dgpu, NULL)) {
      printf("FAIL %s: in passes of 2 images: %s\n", tc->name, DpsUnetCudaError());
      failures++;
    } else {
      if (DpsUnetCudaGetChunk(cu, 0) != 2 || DpsUnetCudaGetChunk(cu, 1) != 2) {
        printf("FAIL %s: %d and %d images per pass, expected 2\n", tc->name, DpsUnetCudaGetChunk(cu, 0), DpsUnetCudaGetChunk(cu, 1));
        failures++;
      }
      Check("fwd by 2", tc->name, n, dout, ogpu, ocpu, tol);
      Check("VJP by 2", tc->name, n, din, dgpu, dcpu, tol);
    }
    DpsUnetCudaSetMaxChunk(cu, 0);
    /* one image alone gives its result in the batch, to the tolerance */
    if (DpsUnetCudaVJP(cu, 1, t + 1, x + din, u + dout, dgpu, ogpu)) {
      printf("FAIL %s: DpsUnetCudaVJP of one image: %s\n", tc->name, DpsUnetCudaError());
      failures++;
    } else {
      Check("VJP 1", tc->name, 1, din, dgpu, dcpu + din, tol);
      Check("out 1", tc->name, 1, dout, ogpu, ocpu + dout, tol);
    }
    DpsUnetCudaDestroy(cu);
  }
  free(x);
  free(u);
  free(t);
  free(ocpu);
  free(ogpu);
  free(vout);
  free(dcpu);
  free(dgpu);
  free(work);
  DpsUnetDestroy(net);
}

int main(int argc, char **argv)
{
  int        tf32 = 0;
  TestConfig configs[] = {
    /* ffhq_10m's blocks at toy size: learned sigma, scale-shift, resblock up/down, head channels, attention at two levels */
    {"ffhq-like", {.image_size = 16, .in_channels = 3, .model_channels = 32, .out_channels = 6, .num_res_blocks = 1, .nlevels = 3, .channel_mult = {1, 1, 2}, .nattention = 2, .attention_ds = {2, 4}, .num_heads = 4, .num_head_channels = 16, .num_heads_upsample = -1, .use_scale_shift_norm = 1, .resblock_updown = 1, .conv_resample = 1}},
    /* the added embedding, num_heads heads, a skip convolution, strided-conv down and conv up */
    {"plain", {.image_size = 16, .in_channels = 1, .model_channels = 32, .out_channels = 1, .num_res_blocks = 2, .nlevels = 2, .channel_mult = {1, 2}, .nattention = 1, .attention_ds = {2}, .num_heads = 2, .num_head_channels = -1, .num_heads_upsample = 4, .use_scale_shift_norm = 0, .resblock_updown = 0, .conv_resample = 1}},
    /* average pooling and plain nearest upsampling */
    {"noconv", {.image_size = 8, .in_channels = 2, .model_channels = 32, .out_channels = 4, .num_res_blocks = 1, .nlevels = 2, .channel_mult = {1, 2}, .nattention = 1, .attention_ds = {1}, .num_heads = 1, .num_head_channels = -1, .num_heads_upsample = -1, .use_scale_shift_norm = 1, .resblock_updown = 0, .conv_resample = 0}},
    /* the shipped Fashion-MNIST prior's architecture (configs/models/fmnist32.yaml) */
    {"fmnist32", {.image_size = 32, .in_channels = 1, .model_channels = 32, .out_channels = 1, .num_res_blocks = 1, .nlevels = 3, .channel_mult = {1, 2, 2}, .nattention = 1, .attention_ds = {4}, .num_heads = 1, .num_head_channels = 32, .num_heads_upsample = -1, .use_scale_shift_norm = 1, .resblock_updown = 1, .conv_resample = 1}},
    /* ffhq_10m.pt (docs/models.md) */
    {"ffhq", {.image_size = 256, .in_channels = 3, .model_channels = 128, .out_channels = 6, .num_res_blocks = 1, .nlevels = 6, .channel_mult = {1, 1, 2, 2, 4, 4}, .nattention = 1, .attention_ds = {16}, .num_heads = 4, .num_head_channels = 64, .num_heads_upsample = -1, .use_scale_shift_norm = 1, .resblock_updown = 1, .conv_resample = 1}},
  };
  const size_t nconfigs = sizeof(configs) / sizeof(configs[0]);
  int          ffhq     = 0;

  for (int a = 2; a < argc; a++) {
    if (!strcmp(argv[a], "tf32")) tf32 = 1;
    else if (!strcmp(argv[a], "ffhq")) ffhq = 1;
    else argc = 0;
  }
  if (argc < 2 || strcmp(argv[1], "cuda")) {
    fprintf(stderr, "usage: %s cuda [tf32] [ffhq]\n", argv[0]);
    return 2;
  }
  if (DpsUnetCudaDeviceCount() < 1) {
    printf("skipped: %s\n", DpsUnetCudaError());
    return 77;
  }
  printf("UNet CUDA backend against the CPU backend%s\n", tf32 ? " (TF32)" : "");
  if (ffhq) RunConfig(&configs[nconfigs - 1], tf32, 2);
  else
    for (size_t k = 0; k + 1 < nconfigs; k++) RunConfig(&configs[k], tf32, 5);
#ifdef DPS_TEST_EMULATED
  {
    /* a device without room for one image: a clear error, not a crash (the emulation's free memory is set) */
    DpsUnet     *net;
    DpsUnetCuda *cu;
    float        t0 = 10.0f, x0[2 * 8 * 8] = {0}, o0[4 * 8 * 8];
    setenv("DPS_CUDA_EMULATION_FREE", "100000", 1);
    if (DpsUnetCreate(&configs[2].cfg, &net) || (RandomParameters(net), DpsUnetCudaCreate(net, 0, 0, &cu))) {
      printf("FAIL: set-up of the out-of-memory check\n");
      failures++;
    } else {
      if (!DpsUnetCudaForward(cu, 1, &t0, x0, o0) || !strstr(DpsUnetCudaError(), "one image needs")) {
        printf("FAIL: a device without room for one image: '%s'\n", DpsUnetCudaError());
        failures++;
      } else printf("  no room for one image: %s\n", DpsUnetCudaError());
      DpsUnetCudaDestroy(cu);
      DpsUnetDestroy(net);
    }
    unsetenv("DPS_CUDA_EMULATION_FREE");
  }
  if (DpsCudaEmulationViolations()) {
    printf("FAIL: %zu device memory violations (copies or GEMM operands outside the allocations, writes past an end)\n", DpsCudaEmulationViolations());
    failures++;
  }
  if (DpsCudaEmulationLiveAllocations()) {
    printf("FAIL: %zu device allocations were not freed\n", DpsCudaEmulationLiveAllocations());
    failures++;
  }
#endif
  printf("%s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
