/* guided-diffusion's UNetModel (openai/guided-diffusion, unet.py; tools/unet.py is our PyTorch copy): forward
   pass and vector-Jacobian product with respect to the input, float32, in plain C + BLAS (im2col + SGEMM), and
   the same on a GPU (DpsUnetCuda*, below). No PETSc here: like the GMM kernels this builds and is tested with
   only a C compiler, a BLAS and, for the GPU, CUDA.

   Tensors are float32, row-major, one image after another: x [n][in_channels][H][W], H = W = image_size, and
   the output [n][out_channels][H][W] (a learned-sigma model has out_channels = 2 in_channels: eps, then v).
   Model times t[n] are guided-diffusion's step indices (0-based). On the CPU images are evaluated one at a
   time, so an image's result never depends on the other images of the call (methods.md section 9).

   Parameters are named and shaped exactly as in the PyTorch state dict (input_blocks.1.0.in_layers.0.weight
   [C], ...): DpsUnetCreate builds the parameter table from the configuration, the caller fills every
   parameter (DpsUnetGetParameter) before the first evaluation. Functions that can fail return 0 on success and
   nonzero otherwise; DpsUnetError() describes the last failure. */
#ifndef DPSOLVE_UNET_H
#define DPSOLVE_UNET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DPS_UNET_MAX_LEVELS     8
#define DPS_UNET_MAX_RES_BLOCKS 16

/* UNetModel's constructor arguments (guided-diffusion names). attention_ds are downsampling factors
   (image_size / pixels), as UNetModel takes them; num_head_channels = -1: num_heads heads, otherwise
   channels / num_head_channels; num_heads_upsample = -1: num_heads. No class conditioning, dims = 2, the
   legacy QKV ordering of the released checkpoints. */
typedef struct {
  int    image_size, in_channels, model_channels, out_channels, num_res_blocks;
  int    nlevels;
  double channel_mult[DPS_UNET_MAX_LEVELS];
  int    nattention;
  int    attention_ds[DPS_UNET_MAX_LEVELS];
  int    num_heads, num_head_channels, num_heads_upsample;
  int    use_scale_shift_norm, resblock_updown, conv_resample;
} DpsUnetConfig;

typedef struct DpsUnet DpsUnet;

/* Checks the configuration, builds the network and its parameter table, allocates the parameters (not set). */
int  DpsUnetCreate(const DpsUnetConfig *cfg, DpsUnet **net);
void DpsUnetDestroy(DpsUnet *net);

const DpsUnetConfig *DpsUnetGetConfig(const DpsUnet *net);

/* The parameter table, in the order of guided-diffusion's state dict. */
int    DpsUnetGetNumParameters(const DpsUnet *net);
size_t DpsUnetGetParameterSize(const DpsUnet *net); /* floats in all parameters together */
/* i-th parameter: state-dict name, number of dims (1..4), shape, storage (to be filled by the caller) */
const char *DpsUnetGetParameter(DpsUnet *net, int i, int *ndim, int shape[4], float **data);

/* Floats of workspace for one call of Forward (vjp = 0) or VJP (vjp = 1), whatever n: images are evaluated one
   at a time. */
size_t DpsUnetWorkspace(const DpsUnet *net, int vjp);

/* out = model(x, t) */
int DpsUnetForward(const DpsUnet *net, int n, const float *t, const float *x, float *out, float *work);
/* dx = u^T d model(x, t) / dx, u of the output's shape; out, when not NULL, receives model(x, t) */
int DpsUnetVJP(const DpsUnet *net, int n, const float *t, const float *x, const float *u, float *dx, float *out, float *work);

/* Multiply-adds of one forward pass of one image (convolutions, attention and linear layers). */
double DpsUnetForwardFlops(const DpsUnet *net);

const char *DpsUnetError(void);

/* ---- the CUDA backend (cuda.cu): the network walked over a whole batch on one GPU, with cuBLAS GEMMs (im2col
   convolutions, attention) and kernels; parameters and workspace stay on the device between calls, and the
   caller's arrays are host arrays, copied once each way per call. Same functions and results as the CPU
   backend, to float32 rounding (GEMM summation order differs; tests/kernels/test_unet_backends.c measures it).
   A build without CUDA has this backend with no device: DpsUnetCudaDeviceCount() = 0 and Create fails.
   Functions that can fail return 0 on success and nonzero otherwise; DpsUnetCudaError() says why. ---- */
typedef struct DpsUnetCuda DpsUnetCuda;

int DpsUnetCudaDeviceCount(void);
/* Copies the parameters (filled) to device `device`; net must outlive cu. tf32: let cuBLAS use TF32 tensor
   cores (10-bit mantissa products: faster, about 1e-3 relative error; float32 otherwise). */
int DpsUnetCudaCreate(const DpsUnet *net, int device, int tf32, DpsUnetCuda **cu);
void DpsUnetCudaDestroy(DpsUnetCuda *cu);
/* as DpsUnetForward and DpsUnetVJP, without a workspace argument (the device keeps its own) */
int DpsUnetCudaForward(DpsUnetCuda *cu, int n, const float *t, const float *x, float *out);
int DpsUnetCudaVJP(DpsUnetCuda *cu, int n, const float *t, const float *x, const float *u, float *dx, float *out);
/* Images the device evaluates at once: as many as the call has and the free memory holds (the workspace takes
   at most 85% of it), or at most max (> 0; 0: no limit), e.g. where ranks share a GPU. Larger calls are split
   into passes. GetChunk: the images per pass of the last call of that mode. */
void DpsUnetCudaSetMaxChunk(DpsUnetCuda *cu, int max);
int  DpsUnetCudaGetChunk(const DpsUnetCuda *cu, int vjp);
/* bytes of device memory held: parameters and workspace */
size_t DpsUnetCudaGetMemory(const DpsUnetCuda *cu);
const char *DpsUnetCudaError(void);

#ifdef __cplusplus
}
#endif
#endif
