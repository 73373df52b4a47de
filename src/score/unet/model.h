/* The network behind unet.h, shared by its two backends: model.c builds it (the operation list, the parameter
   table, the workspace layouts) and evaluates it on the CPU one image at a time; cuda.cu walks the same
   operations on the GPU over a whole batch, with the same layouts scaled by the number of images. */
#ifndef DPSOLVE_UNET_MODEL_H
#define DPSOLVE_UNET_MODEL_H

#include <stddef.h>
#include "score/unet/unet.h"
#include "score/unet/layers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { DPS_UOP_CONV, DPS_UOP_RES, DPS_UOP_ATTN, DPS_UOP_UP, DPS_UOP_DOWN, DPS_UOP_CAT, DPS_UOP_OUT } DpsUOpKind;

typedef struct {
  DpsUOpKind    kind;
  int           cin, H, W, cout, Ho, Wo;
  int           skip;     /* CAT: the tensor concatenated after the input */
  int           useconv;  /* UP, DOWN: with a convolution (conv_resample) */
  size_t        naux[2];  /* saved internals: RES h; ATTN qkv, P */
  DpsUConv      conv;     /* CONV, UP/DOWN with conv, OUT */
  DpsUResBlock  res;
  DpsUAttention attn;
  const float  *ng, *nb; /* OUT: the final GroupNorm */
} DpsUOp;

/* where tensors and saved internals live in the workspace, for one mode (forward only, or VJP) */
typedef struct {
  size_t *tensor; /* [nops + 1]; tensors 0 and nops are the caller's x and output */
  size_t *aux;    /* [2 nops] */
  size_t  size;
} DpsULayout;

typedef struct {
  char   name[96];
  int    ndim, shape[4];
  size_t offset, size;
} DpsUParam;

struct DpsUnet {
  DpsUnetConfig cfg;
  float        *params;
  size_t        nfloats;
  DpsUParam    *table;
  int           nparams;
  DpsULinear    temb0, temb2;
  DpsUOp       *ops, dummy; /* dummy: the counting pass's operations */
  int           nops;
  int          *isskip; /* [nops + 1]: index + 1 into gskip for skip tensors, 0 otherwise */
  int           nskip;
  size_t       *skipsize, *skipoffset; /* [nskip] sizes; [nskip + 1] offsets in gskip (the last: their total) */
  size_t        maxact, s1, s2, s3, col, vec; /* scratch sizes */
  DpsULayout    fwd, vjp;
  int           overflow; /* a size of the parameters or the layouts does not fit in size_t */
};

#ifdef __cplusplus
}
#endif
#endif
