/* The UNet (unet.h): its construction from the configuration (the order and the names of guided-diffusion's
   UNetModel.__init__, tools/unet.py), the forward pass and the vector-Jacobian product.

   The network is a flat list of operations; tensor j is the input of operation j (tensor 0 is x, the last one
   the output). ResBlocks and attention blocks are single operations; a concatenation with a skip tensor (the
   th.cat of UNetModel.forward) is an operation of its own. For the VJP every tensor and every block's saved
   internals stay in a tape, then the operations run backward; the gradient reaching a skip tensor from its
   concatenation is kept aside and added when the backward pass arrives at it. The forward pass alone keeps
   only the skip tensors and alternates between two buffers for the others. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "score/unet/unet.h"
#include "score/unet/layers.h"
#include "score/unet/model.h"

static char dps_unet_error[512];

static int DpsUnetSetError(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dps_unet_error, sizeof(dps_unet_error), fmt, ap);
  va_end(ap);
  return 1;
}

const char *DpsUnetError(void) { return dps_unet_error; }

/* a + b and a b, recording an overflow of size_t in net->overflow */
static size_t DpsUAdd(DpsUnet *net, size_t a, size_t b)
{
  size_t r;
  net->overflow |= __builtin_add_overflow(a, b, &r);
  return r;
}

static size_t DpsUMul(DpsUnet *net, size_t a, size_t b)
{
  size_t r;
  net->overflow |= __builtin_mul_overflow(a, b, &r);
  return r;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* construction */

/* Registers a parameter; returns its storage (NULL in the counting pass, before the storage exists). */
static const float *DpsUnetParam(DpsUnet *net, int ndim, const int *shape, const char *fmt, ...)
{
  DpsUParam p;
  va_list   ap;
  size_t    size = 1;

  memset(&p, 0, sizeof(p));
  va_start(ap, fmt);
  vsnprintf(p.name, sizeof(p.name), fmt, ap);
  va_end(ap);
  p.ndim = ndim;
  for (int d = 0; d < ndim; d++) net->overflow |= __builtin_mul_overflow(size, (size_t)(p.shape[d] = shape[d]), &size);
  p.offset = net->nfloats;
  p.size   = size;
  net->overflow |= __builtin_add_overflow(net->nfloats, size, &net->nfloats);
  if (net->table) net->table[net->nparams] = p;
  net->nparams++;
  return net->params ? net->params + p.offset : NULL;
}

static void DpsUnetConv(DpsUnet *net, DpsUConv *c, int cin, int cout, int k, int stride, int conv1d, const char *prefix)
{
  int ws[4] = {cout, cin, k, k}, bs[1] = {cout};
  c->cin    = cin;
  c->cout   = cout;
  c->k      = k;
  c->stride = stride;
  c->w      = DpsUnetParam(net, conv1d ? 3 : 4, ws, "%s.weight", prefix);
  c->b      = DpsUnetParam(net, 1, bs, "%s.bias", prefix);
}

static void DpsUnetLinear(DpsUnet *net, DpsULinear *l, int in, int out, const char *prefix)
{
  int ws[2] = {out, in}, bs[1] = {out};
  l->in     = in;
  l->out    = out;
  l->w      = DpsUnetParam(net, 2, ws, "%s.weight", prefix);
  l->b      = DpsUnetParam(net, 1, bs, "%s.bias", prefix);
}

static void DpsUnetNorm(DpsUnet *net, int C, const float **g, const float **b, const char *prefix)
{
  int s[1] = {C};
  *g       = DpsUnetParam(net, 1, s, "%s.weight", prefix);
  *b       = DpsUnetParam(net, 1, s, "%s.bias", prefix);
}

/* a new operation on the current tensor (*C channels, *R x *R pixels) */
static DpsUOp *DpsUnetOp(DpsUnet *net, DpsUOpKind kind, int C, int R)
{
  DpsUOp *op = net->ops ? &net->ops[net->nops] : &net->dummy;
  memset(op, 0, sizeof(*op));
  op->kind = kind;
  op->cin  = C;
  op->H = op->W = R;
  net->nops++;
  return op;
}

static void DpsUnetAddConv(DpsUnet *net, int *C, int *R, int cout, const char *name)
{
  DpsUOp *op = DpsUnetOp(net, DPS_UOP_CONV, *C, *R);
  char    prefix[96];
  snprintf(prefix, sizeof(prefix), "%s", name);
  DpsUnetConv(net, &op->conv, *C, cout, 3, 1, 0, prefix);
  op->cout = *C = cout;
  op->Ho = op->Wo = *R;
}

static void DpsUnetAddRes(DpsUnet *net, int *C, int *R, int cout, DpsUResample updown, const char *prefix)
{
  DpsUOp       *op = DpsUnetOp(net, DPS_UOP_RES, *C, *R);
  DpsUResBlock *r  = &op->res;
  const int     ss = net->cfg.use_scale_shift_norm, ted = 4 * net->cfg.model_channels;
  char          name[96];
  int           Ro = updown == DPS_URESAMPLE_UP ? 2 * *R : updown == DPS_URESAMPLE_DOWN ? *R / 2 : *R;

  r->cin         = *C;
  r->cout        = cout;
  r->scale_shift = ss;
  r->updown      = updown;
  snprintf(name, sizeof(name), "%s.in_layers.0", prefix);
  DpsUnetNorm(net, *C, &r->n1g, &r->n1b, name);
  snprintf(name, sizeof(name), "%s.in_layers.2", prefix);
  DpsUnetConv(net, &r->c1, *C, cout, 3, 1, 0, name);
  snprintf(name, sizeof(name), "%s.emb_layers.1", prefix);
  DpsUnetLinear(net, &r->emb, ted, ss ? 2 * cout : cout, name);
  snprintf(name, sizeof(name), "%s.out_layers.0", prefix);
  DpsUnetNorm(net, cout, &r->n2g, &r->n2b, name);
  snprintf(name, sizeof(name), "%s.out_layers.3", prefix);
  DpsUnetConv(net, &r->c2, cout, cout, 3, 1, 0, name);
  if (cout != *C) {
    snprintf(name, sizeof(name), "%s.skip_connection", prefix);
    DpsUnetConv(net, &r->skip, *C, cout, 1, 1, 0, name);
  }
  op->cout = *C = cout;
  op->Ho = op->Wo = *R = Ro;
  op->naux[0]     = (size_t)cout * Ro * Ro;
}

static void DpsUnetAddAttention(DpsUnet *net, int C, int R, int num_heads, const char *prefix)
{
  DpsUOp        *op = DpsUnetOp(net, DPS_UOP_ATTN, C, R);
  DpsUAttention *a  = &op->attn;
  const int      L  = R * R;
  char           name[96];

  a->C     = C;
  a->heads = net->cfg.num_head_channels == -1 ? num_heads : C / net->cfg.num_head_channels;
  snprintf(name, sizeof(name), "%s.norm", prefix);
  DpsUnetNorm(net, C, &a->ng, &a->nb, name);
  snprintf(name, sizeof(name), "%s.qkv", prefix);
  DpsUnetConv(net, &a->qkv, C, 3 * C, 1, 1, 1, name);
  snprintf(name, sizeof(name), "%s.proj_out", prefix);
  DpsUnetConv(net, &a->proj, C, C, 1, 1, 1, name);
  op->cout = C;
  op->Ho = op->Wo = R;
  op->naux[0]     = (size_t)3 * C * L;
  op->naux[1]     = DpsUMul(net, DpsUMul(net, (size_t)a->heads, (size_t)L), (size_t)L);
}

/* Downsample (strided conv or average pool) and Upsample (nearest, then conv or nothing) modules */
static void DpsUnetAddResample(DpsUnet *net, DpsUOpKind kind, int C, int *R, const char *prefix)
{
  DpsUOp *op = DpsUnetOp(net, kind, C, *R);
  char    name[96];

  op->useconv = net->cfg.conv_resample;
  if (op->useconv) {
    snprintf(name, sizeof(name), "%s.%s", prefix, kind == DPS_UOP_DOWN ? "op" : "conv");
    DpsUnetConv(net, &op->conv, C, C, 3, kind == DPS_UOP_DOWN ? 2 : 1, 0, name);
  }
  op->cout = C;
  op->Ho = op->Wo = *R = kind == DPS_UOP_DOWN ? *R / 2 : 2 * *R;
}

static int DpsUnetAttentionAt(const DpsUnetConfig *cfg, int ds)
{
  for (int i = 0; i < cfg->nattention; i++)
    if (cfg->attention_ds[i] == ds) return 1;
  return 0;
}

/* One pass over UNetModel.__init__: counts (net->ops, table, params NULL) or fills. */
static void DpsUnetBuild(DpsUnet *net)
{
  const DpsUnetConfig *cfg = &net->cfg;
  const int            mc = cfg->model_channels, nrb = cfg->num_res_blocks;
  const int            heads_up = cfg->num_heads_upsample == -1 ? cfg->num_heads : cfg->num_heads_upsample;
  int                  C = cfg->in_channels, R = cfg->image_size, ds = 1, b = 1, input_ch;
  int                  stack[DPS_UNET_MAX_LEVELS * (DPS_UNET_MAX_RES_BLOCKS + 1)], chans[DPS_UNET_MAX_LEVELS * (DPS_UNET_MAX_RES_BLOCKS + 1)], nstack = 0; /* skip tensors */
  char                 prefix[96];

  net->nparams = 0;
  net->nfloats = 0;
  net->nops    = 0;
  DpsUnetLinear(net, &net->temb0, mc, 4 * mc, "time_embed.0");
  DpsUnetLinear(net, &net->temb2, 4 * mc, 4 * mc, "time_embed.2");
  input_ch = (int)(cfg->channel_mult[0] * mc);
  DpsUnetAddConv(net, &C, &R, input_ch, "input_blocks.0.0");
  chans[nstack]   = C;
  stack[nstack++] = net->nops;
  for (int level = 0; level < cfg->nlevels; level++) {
    for (int i = 0; i < nrb; i++, b++) {
      snprintf(prefix, sizeof(prefix), "input_blocks.%d.0", b);
      DpsUnetAddRes(net, &C, &R, (int)(cfg->channel_mult[level] * mc), DPS_URESAMPLE_NONE, prefix);
      if (DpsUnetAttentionAt(cfg, ds)) {
        snprintf(prefix, sizeof(prefix), "input_blocks.%d.1", b);
        DpsUnetAddAttention(net, C, R, cfg->num_heads, prefix);
      }
      chans[nstack]   = C;
      stack[nstack++] = net->nops;
    }
    if (level != cfg->nlevels - 1) {
      snprintf(prefix, sizeof(prefix), "input_blocks.%d.0", b++);
      if (cfg->resblock_updown) DpsUnetAddRes(net, &C, &R, C, DPS_URESAMPLE_DOWN, prefix);
      else DpsUnetAddResample(net, DPS_UOP_DOWN, C, &R, prefix);
      chans[nstack]   = C;
      stack[nstack++] = net->nops;
      ds *= 2;
    }
  }
  DpsUnetAddRes(net, &C, &R, C, DPS_URESAMPLE_NONE, "middle_block.0");
  DpsUnetAddAttention(net, C, R, cfg->num_heads, "middle_block.1");
  DpsUnetAddRes(net, &C, &R, C, DPS_URESAMPLE_NONE, "middle_block.2");
  b = 0;
  for (int level = cfg->nlevels - 1; level >= 0; level--) {
    for (int i = 0; i <= nrb; i++, b++) {
      int     sub = 1;
      DpsUOp *cat = DpsUnetOp(net, DPS_UOP_CAT, C, R);
      nstack--;
      cat->skip = stack[nstack];
      C += chans[nstack];
      cat->cout = C;
      cat->Ho = cat->Wo = R;
      snprintf(prefix, sizeof(prefix), "output_blocks.%d.0", b);
      DpsUnetAddRes(net, &C, &R, (int)(mc * cfg->channel_mult[level]), DPS_URESAMPLE_NONE, prefix);
      if (DpsUnetAttentionAt(cfg, ds)) {
        snprintf(prefix, sizeof(prefix), "output_blocks.%d.1", b);
        DpsUnetAddAttention(net, C, R, heads_up, prefix);
        sub = 2;
      }
      if (level && i == nrb) {
        snprintf(prefix, sizeof(prefix), "output_blocks.%d.%d", b, sub);
        if (cfg->resblock_updown) DpsUnetAddRes(net, &C, &R, C, DPS_URESAMPLE_UP, prefix);
        else DpsUnetAddResample(net, DPS_UOP_UP, C, &R, prefix);
        ds /= 2;
      }
    }
  }
  {
    DpsUOp *op = DpsUnetOp(net, DPS_UOP_OUT, C, R);
    DpsUnetNorm(net, C, &op->ng, &op->nb, "out.0");
    DpsUnetConv(net, &op->conv, input_ch, cfg->out_channels, 3, 1, 0, "out.2");
    op->cout = cfg->out_channels;
    op->Ho = op->Wo = R;
  }
}

/* The layers index pixels (H W, the attention length L), channels and a convolution's inputs per output
   (cin k k) with int, and the GEMMs take int dimensions; sizes in floats are size_t (DpsUnetPlan). */
static int DpsUnetCheckConfig(const DpsUnetConfig *c)
{
  const int heads_up = c->num_heads_upsample == -1 ? c->num_heads : c->num_heads_upsample;
  int       pixels, wide, ted;

  if (c->image_size < 1 || c->in_channels < 1 || c->out_channels < 1 || c->model_channels < 1 || c->num_res_blocks < 0 || c->num_res_blocks > DPS_UNET_MAX_RES_BLOCKS)
    return DpsUnetSetError("unet: image_size %d, in_channels %d, out_channels %d, model_channels %d must be positive and num_res_blocks %d in 0..%d", c->image_size, c->in_channels, c->out_channels, c->model_channels, c->num_res_blocks, DPS_UNET_MAX_RES_BLOCKS);
  if (c->nlevels < 1 || c->nlevels > DPS_UNET_MAX_LEVELS) return DpsUnetSetError("unet: channel_mult has %d levels, expected 1 to %d", c->nlevels, DPS_UNET_MAX_LEVELS);
  if (c->nattention < 0 || c->nattention > DPS_UNET_MAX_LEVELS) return DpsUnetSetError("unet: %d attention resolutions, at most %d", c->nattention, DPS_UNET_MAX_LEVELS);
  if (c->image_size % (1 << (c->nlevels - 1))) return DpsUnetSetError("unet: image_size %d is not divisible by 2^%d (channel_mult has %d levels)", c->image_size, c->nlevels - 1, c->nlevels);
  /* the full resolution is the largest: the first convolution's pixels, and an attention's length there */
  if (__builtin_mul_overflow(c->image_size, c->image_size, &pixels))
    return DpsUnetSetError("unet: image_size %d: %d^2 = %.0f pixels per image (a convolution's and an attention's length) is too large: at most %d", c->image_size, c->image_size, (double)c->image_size * c->image_size, INT_MAX);
  if (__builtin_mul_overflow(4, c->model_channels, &ted)) return DpsUnetSetError("unet: model_channels %d: the time embedding's 4 x %d channels are too many (at most %d)", c->model_channels, c->model_channels, INT_MAX);
  for (int l = 0; l < c->nlevels; l++) {
    const double chd = c->channel_mult[l] * c->model_channels;
    /* the widest int the network forms from a level's channels: a 3x3 convolution after the concatenation of
       two levels' tensors has 2 x 9 ch inputs per output */
    if (!(chd <= INT_MAX / 18)) return DpsUnetSetError("unet: level %d has %g channels (channel_mult %g x model_channels %d): at most %d", l, chd, c->channel_mult[l], c->model_channels, INT_MAX / 18);
    const int ch = chd > 0 ? (int)chd : 0;
    if (ch < 1 || ch % DPS_UNET_GROUPS) return DpsUnetSetError("unet: level %d has %d channels (channel_mult %g x model_channels %d): GroupNorm(32) needs a positive multiple of 32", l, ch, c->channel_mult[l], c->model_channels);
    if (c->num_head_channels == -1) {
      if (c->num_heads < 1 || heads_up < 1 || ch % c->num_heads || ch % heads_up) return DpsUnetSetError("unet: %d channels at level %d are not divisible into num_heads %d / num_heads_upsample %d heads", ch, l, c->num_heads, heads_up);
    } else if (c->num_head_channels < 1 || ch % c->num_head_channels) return DpsUnetSetError("unet: %d channels at level %d are not divisible by num_head_channels %d", ch, l, c->num_head_channels);
  }
  /* the first convolution has 9 in_channels inputs per output */
  if (__builtin_mul_overflow(9, c->in_channels, &wide) || c->out_channels > INT_MAX / 9) return DpsUnetSetError("unet: in_channels %d, out_channels %d: at most %d each", c->in_channels, c->out_channels, INT_MAX / 9);
  return 0;
}

static size_t DpsUMax(size_t a, size_t b) { return a > b ? a : b; }

/* floats of workspace for one mode; 1 if they overflow size_t (or their bytes do) */
static int DpsUnetWorkspaceSize(const DpsUnet *net, int vjp, size_t *size)
{
  const size_t part[] = {vjp ? net->vjp.size : net->fwd.size, net->s1, net->s2, net->s3, net->col, net->vec, 16 * (size_t)net->cfg.model_channels, vjp ? 2 * net->maxact : 0, vjp ? net->skipoffset[net->nskip] : 0};
  int          over   = 0;

  *size = 0;
  for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) over |= __builtin_add_overflow(*size, part[i], size);
  return over || *size > SIZE_MAX / sizeof(float);
}

/* Scratch sizes, skip tensors and the two layouts. */
static int DpsUnetPlan(DpsUnet *net)
{
  const int n = net->nops;
  size_t    act, size;

  net->isskip   = (int *)calloc((size_t)n + 1, sizeof(int));
  net->skipsize = (size_t *)calloc((size_t)n + 1, sizeof(size_t));
  net->skipoffset = (size_t *)calloc((size_t)n + 2, sizeof(size_t));
  net->fwd.tensor = (size_t *)calloc((size_t)n + 1, sizeof(size_t));
  net->vjp.tensor = (size_t *)calloc((size_t)n + 1, sizeof(size_t));
  net->fwd.aux    = (size_t *)calloc(2 * (size_t)n, sizeof(size_t));
  net->vjp.aux    = (size_t *)calloc(2 * (size_t)n, sizeof(size_t));
  if (!net->isskip || !net->skipsize || !net->skipoffset || !net->fwd.tensor || !net->vjp.tensor || !net->fwd.aux || !net->vjp.aux) return DpsUnetSetError("unet: out of memory");
  for (int j = 0; j < n; j++) {
    const DpsUOp *op   = &net->ops[j];
    const size_t  in   = (size_t)op->cin * op->H * op->W, out = (size_t)op->cout * op->Ho * op->Wo;
    const size_t  inHo = (size_t)op->cin * op->Ho * op->Wo;
    net->maxact        = DpsUMax(net->maxact, DpsUMax(in, out));
    if (op->kind == DPS_UOP_CAT) net->isskip[op->skip] = 1;
    switch (op->kind) {
    case DPS_UOP_RES:
      act     = DpsUMax(DpsUMax(in, inHo), out);
      net->s1 = DpsUMax(net->s1, act);
      net->s2 = DpsUMax(net->s2, act);
      net->s3 = DpsUMax(net->s3, act);
      net->col = DpsUMax(net->col, DpsUConvColSize(&op->res.c1, op->Ho, op->Wo));
      net->col = DpsUMax(net->col, DpsUConvColSize(&op->res.c2, op->Ho, op->Wo));
      if (op->res.skip.k) net->col = DpsUMax(net->col, DpsUConvColSize(&op->res.skip, op->Ho, op->Wo));
      net->vec = DpsUMax(net->vec, 4 * (size_t)op->cout);
      break;
    case DPS_UOP_ATTN:
      net->s1 = DpsUMax(net->s1, in);
      net->s2 = DpsUMax(net->s2, 3 * in);
      net->s3 = DpsUMax(net->s3, (size_t)op->H * op->W * op->H * op->W);
      break;
    case DPS_UOP_CONV:
    case DPS_UOP_OUT:
      net->s1  = DpsUMax(net->s1, in);
      net->col = DpsUMax(net->col, DpsUConvColSize(&op->conv, op->H, op->W));
      break;
    case DPS_UOP_UP:
      net->s1 = DpsUMax(net->s1, out);
      if (op->useconv) net->col = DpsUMax(net->col, DpsUConvColSize(&op->conv, op->Ho, op->Wo));
      break;
    case DPS_UOP_DOWN:
      if (op->useconv) net->col = DpsUMax(net->col, DpsUConvColSize(&op->conv, op->H, op->W));
      break;
    case DPS_UOP_CAT:
      break;
    }
  }
  /* numbering of the skip tensors, and the layouts: the VJP keeps every tensor and internal; the forward pass
     keeps the skip tensors and alternates between two buffers for the others, with one set of internals */
  {
    size_t fsize = 2 * net->maxact, vsize = 0, auxmax = 0;
    for (int j = 1; j < n; j++) {
      const DpsUOp *op   = &net->ops[j - 1];
      const size_t  size = (size_t)op->cout * op->Ho * op->Wo;
      net->vjp.tensor[j] = vsize;
      vsize              = DpsUAdd(net, vsize, size);
      if (net->isskip[j]) {
        net->isskip[j]          = ++net->nskip;
        net->skipsize[net->nskip - 1] = size;
        net->skipoffset[net->nskip]   = DpsUAdd(net, net->skipoffset[net->nskip - 1], size);
        net->fwd.tensor[j]      = fsize;
        fsize                   = DpsUAdd(net, fsize, size);
      } else net->fwd.tensor[j] = (j % 2) * net->maxact;
    }
    for (int j = 0; j < n; j++) {
      const DpsUOp *op = &net->ops[j];
      const size_t  aux = DpsUAdd(net, op->naux[0], op->naux[1]);
      net->vjp.aux[2 * j]     = vsize;
      net->vjp.aux[2 * j + 1] = vsize + op->naux[0];
      vsize                   = DpsUAdd(net, vsize, aux);
      net->fwd.aux[2 * j]     = fsize;
      net->fwd.aux[2 * j + 1] = fsize + op->naux[0];
      auxmax                  = DpsUMax(auxmax, aux);
    }
    net->fwd.size = DpsUAdd(net, fsize, auxmax);
    net->vjp.size = vsize;
  }
  if (net->overflow || DpsUnetWorkspaceSize(net, 0, &size) || DpsUnetWorkspaceSize(net, 1, &size))
    return DpsUnetSetError("unet: image_size %d, model_channels %d: the workspace of one image is more than %zu bytes", net->cfg.image_size, net->cfg.model_channels, SIZE_MAX);
  return 0;
}

int DpsUnetCreate(const DpsUnetConfig *cfg, DpsUnet **out)
{
  DpsUnet *net;

  *out = NULL;
  if (DpsUnetCheckConfig(cfg)) return 1;
  net = (DpsUnet *)calloc(1, sizeof(DpsUnet));
  if (!net) return DpsUnetSetError("unet: out of memory");
  net->cfg = *cfg;
  DpsUnetBuild(net); /* counting pass */
  if (net->overflow) {
    DpsUnetDestroy(net);
    return DpsUnetSetError("unet: image_size %d, model_channels %d: the parameters or an attention's weights [heads][L][L] (L = pixels) number more than %zu floats", cfg->image_size, cfg->model_channels, SIZE_MAX);
  }
  net->table  = (DpsUParam *)calloc((size_t)net->nparams, sizeof(DpsUParam));
  net->ops    = (DpsUOp *)calloc((size_t)net->nops, sizeof(DpsUOp));
  net->params = (float *)calloc(net->nfloats, sizeof(float));
  if (!net->table || !net->ops || !net->params) {
    DpsUnetDestroy(net);
    return DpsUnetSetError("unet: out of memory for %zu parameters", net->nfloats);
  }
  DpsUnetBuild(net);
  if (DpsUnetPlan(net)) {
    DpsUnetDestroy(net);
    return 1;
  }
  *out = net;
  return 0;
}

void DpsUnetDestroy(DpsUnet *net)
{
  if (!net) return;
  free(net->params);
  free(net->table);
  free(net->ops);
  free(net->isskip);
  free(net->skipsize);
  free(net->skipoffset);
  free(net->fwd.tensor);
  free(net->fwd.aux);
  free(net->vjp.tensor);
  free(net->vjp.aux);
  free(net);
}

const DpsUnetConfig *DpsUnetGetConfig(const DpsUnet *net) { return &net->cfg; }

int DpsUnetGetNumParameters(const DpsUnet *net) { return net->nparams; }

size_t DpsUnetGetParameterSize(const DpsUnet *net) { return net->nfloats; }

const char *DpsUnetGetParameter(DpsUnet *net, int i, int *ndim, int shape[4], float **data)
{
  const DpsUParam *p = &net->table[i];
  if (ndim) *ndim = p->ndim;
  if (shape)
    for (int d = 0; d < 4; d++) shape[d] = d < p->ndim ? p->shape[d] : 1;
  if (data) *data = net->params + p->offset;
  return p->name;
}

double DpsUnetForwardFlops(const DpsUnet *net)
{
  double f = (double)net->temb0.in * net->temb0.out + (double)net->temb2.in * net->temb2.out;
  for (int j = 0; j < net->nops; j++) {
    const DpsUOp *op  = &net->ops[j];
    const double  HWo = (double)op->Ho * op->Wo, L = (double)op->H * op->W;
    switch (op->kind) {
    case DPS_UOP_RES:
      f += (double)op->res.emb.in * op->res.emb.out + 9.0 * op->cin * op->cout * HWo + 9.0 * op->cout * op->cout * HWo;
      if (op->res.skip.k) f += (double)op->cin * op->cout * HWo;
      break;
    case DPS_UOP_ATTN:
      f += 4.0 * op->cin * op->cin * L + 2.0 * op->cin * L * L;
      break;
    case DPS_UOP_CONV:
    case DPS_UOP_OUT:
      f += 9.0 * op->cin * op->cout * HWo;
      break;
    case DPS_UOP_UP:
    case DPS_UOP_DOWN:
      if (op->useconv) f += 9.0 * op->cin * op->cout * HWo;
      break;
    case DPS_UOP_CAT:
      break;
    }
  }
  return f;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* evaluation */

typedef struct {
  DpsUScratch s;
  float      *emb, *semb, *tmp; /* [4 mc] each, tmp [8 mc] */
  float      *g[2], *gskip;     /* VJP only */
  float      *base;             /* tensors and saved internals */
} DpsUWork;

size_t DpsUnetWorkspace(const DpsUnet *net, int vjp)
{
  size_t n;
  (void)DpsUnetWorkspaceSize(net, vjp, &n); /* checked by DpsUnetPlan */
  return n;
}

static void DpsUnetWorkSplit(const DpsUnet *net, int vjp, float *work, DpsUWork *w)
{
  const size_t mc = (size_t)net->cfg.model_channels;
  float       *p  = work;
  w->base         = p;
  p += vjp ? net->vjp.size : net->fwd.size;
  w->s.s1 = p;
  p += net->s1;
  w->s.s2 = p;
  p += net->s2;
  w->s.s3 = p;
  p += net->s3;
  w->s.col     = p;
  w->s.colsize = net->col;
  p += net->col;
  w->s.vec = p;
  p += net->vec;
  w->emb  = p;
  w->semb = p + 4 * mc;
  w->tmp  = p + 8 * mc;
  p += 16 * mc;
  w->g[0] = w->g[1] = w->gskip = NULL;
  if (vjp) {
    w->g[0] = p;
    w->g[1] = p + net->maxact;
    w->gskip = p + 2 * net->maxact;
  }
}

/* emb = time_embed(timestep_embedding(t)), semb = SiLU(emb) (the first layer of every emb_layers) */
static void DpsUnetEmbedding(const DpsUnet *net, double t, DpsUWork *w)
{
  const int mc = net->cfg.model_channels;
  float    *e0 = w->tmp, *e1 = w->tmp + mc;
  DpsUTimestepEmbedding(t, mc, e0);
  DpsULinearForward(&net->temb0, e0, e1);
  DpsUSilu(4 * mc, e1, e1);
  DpsULinearForward(&net->temb2, e1, w->emb);
  DpsUSilu(4 * mc, w->emb, w->semb);
}

static float *DpsUnetTensor(const DpsULayout *lay, const DpsUWork *w, int j) { return w->base + lay->tensor[j]; }

static void DpsUnetOpForward(const DpsUnet *net, const DpsULayout *lay, DpsUWork *w, int j, const float *in, float *out)
{
  const DpsUOp *op = &net->ops[j];
  float        *a0 = w->base + lay->aux[2 * j], *a1 = w->base + lay->aux[2 * j + 1];

  switch (op->kind) {
  case DPS_UOP_CONV:
    DpsUConvForward(&op->conv, op->H, op->W, in, out, 0, w->s.col, w->s.colsize);
    break;
  case DPS_UOP_RES:
    DpsUResBlockForward(&op->res, op->H, op->W, w->semb, in, a0, out, &w->s);
    break;
  case DPS_UOP_ATTN:
    DpsUAttentionForward(&op->attn, op->H * op->W, in, a0, a1, out, w->s.s1);
    break;
  case DPS_UOP_DOWN:
    if (op->useconv) DpsUConvForward(&op->conv, op->H, op->W, in, out, 0, w->s.col, w->s.colsize);
    else DpsUDownsampleForward(op->cin, op->H, op->W, in, out);
    break;
  case DPS_UOP_UP:
    if (op->useconv) {
      DpsUUpsampleForward(op->cin, op->H, op->W, in, w->s.s1);
      DpsUConvForward(&op->conv, op->Ho, op->Wo, w->s.s1, out, 0, w->s.col, w->s.colsize);
    } else DpsUUpsampleForward(op->cin, op->H, op->W, in, out);
    break;
  case DPS_UOP_CAT: {
    const size_t n = (size_t)op->cin * op->H * op->W;
    memcpy(out, in, sizeof(float) * n);
    memcpy(out + n, DpsUnetTensor(lay, w, op->skip), sizeof(float) * (op->cout * (size_t)op->H * op->W - n));
  } break;
  case DPS_UOP_OUT:
    DpsUNormForward(op->cin, op->H * op->W, in, op->ng, op->nb, 1, w->s.s1);
    DpsUConvForward(&op->conv, op->H, op->W, w->s.s1, out, 0, w->s.col, w->s.colsize);
    break;
  }
}

/* din = op^T dout; returns the gradient (din, or dout itself for a concatenation, whose first part it is) */
static float *DpsUnetOpBackward(const DpsUnet *net, const DpsULayout *lay, DpsUWork *w, int j, const float *in, float *dout, float *din)
{
  const DpsUOp *op = &net->ops[j];
  float        *a0 = w->base + lay->aux[2 * j], *a1 = w->base + lay->aux[2 * j + 1];

  switch (op->kind) {
  case DPS_UOP_CONV:
    DpsUConvBackward(&op->conv, op->H, op->W, dout, din, 0, w->s.col, w->s.colsize);
    break;
  case DPS_UOP_RES:
    DpsUResBlockBackward(&op->res, op->H, op->W, w->semb, in, a0, dout, din, &w->s);
    break;
  case DPS_UOP_ATTN:
    DpsUAttentionBackward(&op->attn, op->H * op->W, in, a0, a1, dout, din, w->s.s1, w->s.s2, w->s.s3);
    break;
  case DPS_UOP_DOWN:
    if (op->useconv) DpsUConvBackward(&op->conv, op->H, op->W, dout, din, 0, w->s.col, w->s.colsize);
    else DpsUDownsampleBackward(op->cin, op->H, op->W, dout, din, 0);
    break;
  case DPS_UOP_UP:
    if (op->useconv) {
      DpsUConvBackward(&op->conv, op->Ho, op->Wo, dout, w->s.s1, 0, w->s.col, w->s.colsize);
      DpsUUpsampleBackward(op->cin, op->H, op->W, w->s.s1, din, 0);
    } else DpsUUpsampleBackward(op->cin, op->H, op->W, dout, din, 0);
    break;
  case DPS_UOP_CAT: {
    const size_t n = (size_t)op->cin * op->H * op->W, m = (size_t)op->cout * op->H * op->W - n;
    float       *g = w->gskip + net->skipoffset[net->isskip[op->skip] - 1];
    for (size_t i = 0; i < m; i++) g[i] += dout[n + i];
    return dout;
  }
  case DPS_UOP_OUT:
    DpsUConvBackward(&op->conv, op->H, op->W, dout, w->s.s1, 0, w->s.col, w->s.colsize);
    DpsUNormBackward(op->cin, op->H * op->W, in, op->ng, op->nb, 1, w->s.s1, din, 0);
    break;
  }
  return din;
}

static void DpsUnetForwardImage(const DpsUnet *net, const DpsULayout *lay, DpsUWork *w, double t, const float *x, float *out)
{
  DpsUnetEmbedding(net, t, w);
  for (int j = 0; j < net->nops; j++) {
    const float *in = j ? DpsUnetTensor(lay, w, j) : x;
    float       *o  = j == net->nops - 1 ? out : DpsUnetTensor(lay, w, j + 1);
    DpsUnetOpForward(net, lay, w, j, in, o);
  }
}

int DpsUnetForward(const DpsUnet *net, int n, const float *t, const float *x, float *out, float *work)
{
  const size_t din = (size_t)net->cfg.in_channels * net->cfg.image_size * net->cfg.image_size;
  const size_t dout = (size_t)net->cfg.out_channels * net->cfg.image_size * net->cfg.image_size;
  DpsUWork     w;

  DpsUnetWorkSplit(net, 0, work, &w);
  for (int i = 0; i < n; i++) DpsUnetForwardImage(net, &net->fwd, &w, t[i], x + i * din, out + i * dout);
  return 0;
}

int DpsUnetVJP(const DpsUnet *net, int n, const float *t, const float *x, const float *u, float *dx, float *out, float *work)
{
  const size_t din = (size_t)net->cfg.in_channels * net->cfg.image_size * net->cfg.image_size;
  const size_t dout = (size_t)net->cfg.out_channels * net->cfg.image_size * net->cfg.image_size;
  DpsUWork     w;

  DpsUnetWorkSplit(net, 1, work, &w);
  for (int i = 0; i < n; i++) {
    const float *xi = x + i * din;
    float       *g;
    /* the output is not needed backward: without `out` it lands in a gradient buffer, free until then */
    DpsUnetForwardImage(net, &net->vjp, &w, t[i], xi, out ? out + i * dout : w.g[1]);
    memcpy(w.g[0], u + i * dout, sizeof(float) * dout);
    memset(w.gskip, 0, sizeof(float) * net->skipoffset[net->nskip]);
    g = w.g[0];
    for (int j = net->nops - 1; j >= 0; j--) {
      const float *in = j ? DpsUnetTensor(&net->vjp, &w, j) : xi;
      float       *d  = j ? (g == w.g[0] ? w.g[1] : w.g[0]) : dx + i * din;
      g               = DpsUnetOpBackward(net, &net->vjp, &w, j, in, g, d);
      if (j && net->isskip[j]) {
        const float *gs   = w.gskip + net->skipoffset[net->isskip[j] - 1];
        const size_t size = net->skipsize[net->isskip[j] - 1];
        for (size_t e = 0; e < size; e++) g[e] += gs[e];
      }
    }
  }
  return 0;
}
