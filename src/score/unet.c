/* The UNet score: guided-diffusion's UNetModel (src/score/unet/, docs/models.md) as a DpsScore.
   A row of length d = C H W is one image [C][H][W]. dpsolve's time t = 1..T is the model's step index t - 1
   (guided-diffusion counts its steps from 0: its abar[i] is our abar_{i+1}, methods.md section 1). The model's
   output is [eps; v] for learned-sigma models (2 C channels): eps is returned, v is kept for
   DpsScoreGetLearnedVariance (and DpsScoreUNetGetVariance). The network computes in float32; rows are converted on the way in and out. */
#include <dpsolve/dpsolve.h>
#include "score/scoreimpl.h"
#include "score/unetimpl.h"
#include "io/h5.h"
#include <errno.h>
#include <unistd.h>

typedef struct {
  char       weights[PETSC_MAX_PATH_LEN]; /* -score_unet_weights, empty: the input file's /prior */
  char       source[PETSC_MAX_PATH_LEN];  /* the file the network came from */
  DpsUnet   *net;
  PetscInt   din, dout;                   /* floats per image in and out */
  float     *work;
  size_t     worksize;
  float     *xf, *of, *uf, *tf; /* [cap din], [cap dout], [cap dout], [cap] */
  PetscInt   cap;
  PetscReal *v; /* the v half of the last DpsScoreEps: [nv][din] */
  PetscInt   nv, vcap;
  /* the CUDA backend */
  DpsUnetCuda *cuda;
  PetscBool    tf32;          /* -score_unet_tf32 */
  PetscInt     device_images; /* -score_unet_device_images: images per device pass at most, 0: as many as fit */
} Score_UNet;

/* ------------------------------------------------------------------------------------------------------------ */
/* loading */

static PetscErrorCode DpsUnetReadNumbers(hid_t file, const char fname[], const char group[], const char name[], PetscInt nmin, PetscInt nmax, PetscInt *n, double values[])
{
  hid_t    attr, space;
  hssize_t np;
  herr_t   err;

  PetscFunctionBegin;
  PetscCheck(H5Aexists_by_name(file, group, name, H5P_DEFAULT) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s not found (a unet weights group needs it, docs/models.md)", fname, name, group);
  attr = H5Aopen_by_name(file, group, name, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(attr >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot open attribute '%s' of %s", fname, name, group);
  space = H5Aget_space(attr);
  np    = H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  if (np < nmin || np > nmax) {
    H5Aclose(attr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s has %lld values, expected %" PetscInt_FMT " to %" PetscInt_FMT, fname, name, group, (long long)np, nmin, nmax);
  }
  err = np ? H5Aread(attr, H5T_NATIVE_DOUBLE, values) : 0;
  H5Aclose(attr);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute '%s' of %s as numbers", fname, name, group);
  *n = (PetscInt)np;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsUnetReadInt(hid_t file, const char fname[], const char group[], const char name[], int *value)
{
  double   v;
  PetscInt n;

  PetscFunctionBegin;
  PetscCall(DpsUnetReadNumbers(file, fname, group, name, 1, 1, &n, &v));
  PetscCheck(v == (double)(int)v, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute '%s' of %s is %g, expected an integer", fname, name, group, v);
  *value = (int)v;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsUnetReadConfig(hid_t file, const char fname[], const char group[], DpsUnetConfig *cfg)
{
  char     type[64];
  int      version, legacy;
  PetscInt n;
  double   ds[DPS_UNET_MAX_LEVELS];
  struct {
    const char *name;
    int        *value;
  } ints[] = {
    {"image_size",           &cfg->image_size          },
    {"in_channels",          &cfg->in_channels         },
    {"model_channels",       &cfg->model_channels      },
    {"out_channels",         &cfg->out_channels        },
    {"num_res_blocks",       &cfg->num_res_blocks      },
    {"num_heads",            &cfg->num_heads           },
    {"num_head_channels",    &cfg->num_head_channels   },
    {"num_heads_upsample",   &cfg->num_heads_upsample  },
    {"use_scale_shift_norm", &cfg->use_scale_shift_norm},
    {"resblock_updown",      &cfg->resblock_updown     },
    {"conv_resample",        &cfg->conv_resample       },
  };

  PetscFunctionBegin;
  PetscCall(PetscMemzero(cfg, sizeof(*cfg)));
  PetscCall(DpsH5ReadStringAttribute(file, fname, group, "type", type, sizeof(type)));
  PetscCheck(!strcmp(type, DPSSCOREUNET), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has type '%s', expected '%s' (weights written by tools/convert_checkpoint.py)", fname, group, type, DPSSCOREUNET);
  PetscCall(DpsUnetReadInt(file, fname, group, "format_version", &version));
  PetscCheck(version == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has format_version %d; this dpsolve reads version 1", fname, group, version);
  for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) PetscCall(DpsUnetReadInt(file, fname, group, ints[i].name, ints[i].value));
  PetscCall(DpsUnetReadInt(file, fname, group, "use_new_attention_order", &legacy));
  PetscCheck(!legacy, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: %s has use_new_attention_order = 1: only the legacy QKV ordering of the released checkpoints is implemented", fname, group);
  PetscCall(DpsUnetReadNumbers(file, fname, group, "channel_mult", 1, DPS_UNET_MAX_LEVELS, &n, cfg->channel_mult));
  cfg->nlevels = (int)n;
  PetscCall(DpsUnetReadNumbers(file, fname, group, "attention_ds", 0, DPS_UNET_MAX_LEVELS, &n, ds));
  cfg->nattention = (int)n;
  for (PetscInt i = 0; i < n; i++) cfg->attention_ds[i] = (int)ds[i];
  PetscFunctionReturn(0);
}

typedef struct {
  DpsUnet *net;
  char     list[1024]; /* names of unexpected objects */
  int      n;
} DpsUnetUnexpected;

static herr_t DpsUnetVisitLink(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
  DpsUnetUnexpected *u = (DpsUnetUnexpected *)ctx;
  const int          n = DpsUnetGetNumParameters(u->net);

  for (int i = 0; i < n; i++)
    if (!strcmp(DpsUnetGetParameter(u->net, i, NULL, NULL, NULL), name)) return 0;
  if (u->n++ < 8) {
    size_t len = strlen(u->list);
    snprintf(u->list + len, sizeof(u->list) - len, "%s%s", len ? ", " : "", name);
  }
  return 0;
}

static void DpsUnetFormatShape(int ndim, const int shape[], char buf[], size_t len)
{
  size_t k = 0;
  k += (size_t)snprintf(buf + k, len - k, "[");
  for (int d = 0; d < ndim && k < len; d++) k += (size_t)snprintf(buf + k, len - k, "%s%d", d ? ", " : "", shape[d]);
  if (k < len) snprintf(buf + k, len - k, "]");
}

/* every parameter of net from the group; net stays the caller's to destroy, also on error, so that every message
   is formatted while the names and values it quotes are alive */
static PetscErrorCode DpsUnetReadParameters(hid_t file, const char fname[], const char group[], DpsUnet *net)
{
  DpsUnetUnexpected unexpected;
  char              missing[1024] = "", path[PETSC_MAX_PATH_LEN], expect[64], have[64];
  int               nmissing = 0;
  hid_t             g;

  PetscFunctionBegin;
  for (int i = 0; i < DpsUnetGetNumParameters(net); i++) {
    int         ndim, shape[4], rank;
    hsize_t     dims[DPS_H5_MAX_RANK];
    float      *data;
    const char *name = DpsUnetGetParameter(net, i, &ndim, shape, &data);
    PetscBool   exists, same;
    hid_t       d, space;
    herr_t      err;

    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", group, name));
    PetscCall(DpsH5Exists(file, path, &exists));
    DpsUnetFormatShape(ndim, shape, expect, sizeof(expect));
    if (!exists) {
      if (nmissing++ < 8) {
        size_t len = strlen(missing);
        PetscCall(PetscSNPrintf(missing + len, sizeof(missing) - len, "%s%s %s", len ? ", " : "", name, expect));
      }
      continue;
    }
    d = H5Dopen2(file, path, H5P_DEFAULT);
    PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is not a dataset (expected parameter %s of shape %s)", fname, path, name, expect);
    space = H5Dget_space(d);
    rank  = H5Sget_simple_extent_ndims(space);
    same  = (PetscBool)(rank == ndim);
    if (rank > 0 && rank <= DPS_H5_MAX_RANK) {
      int hs[DPS_H5_MAX_RANK];
      H5Sget_simple_extent_dims(space, dims, NULL);
      for (int k = 0; k < rank; k++) {
        hs[k] = (int)dims[k];
        if (k < ndim && hs[k] != shape[k]) same = PETSC_FALSE;
      }
      DpsUnetFormatShape(rank, hs, have, sizeof(have));
    } else PetscCall(PetscStrncpy(have, "(not an array)", sizeof(have)));
    H5Sclose(space);
    if (!same) H5Dclose(d);
    PetscCheck(same, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: parameter %s has shape %s, expected %s for the architecture in the attributes of %s", fname, path, have, expect, group);
    err = H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(d);
    PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read parameter %s as float32", fname, path);
    for (size_t k = 0, len = (size_t)shape[0] * shape[1] * shape[2] * shape[3]; k < len; k++)
      if (!isfinite(data[k])) {
        char value[32]; /* C's "nan", "-inf": PETSc's %g would append a '.' */
        snprintf(value, sizeof(value), "%g", (double)data[k]);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: parameter %s holds %s at entry %zu: every weight must be finite", fname, path, value, k);
      }
  }
  PetscCall(PetscMemzero(&unexpected, sizeof(unexpected)));
  unexpected.net = net;
  g              = H5Gopen2(file, group, H5P_DEFAULT);
  if (g >= 0) {
    H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, DpsUnetVisitLink, &unexpected);
    H5Gclose(g);
  }
  PetscCheck(!nmissing && !unexpected.n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s does not match the architecture in its attributes: %d missing parameter(s)%s%s%s; %d unexpected dataset(s)%s%s%s", fname, group, nmissing, nmissing ? " (" : "", missing,
             nmissing > 8 ? ", ...)" : (nmissing ? ")" : ""), unexpected.n, unexpected.n ? " (" : "", unexpected.list, unexpected.n > 8 ? ", ...)" : (unexpected.n ? ")" : ""));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsUnetLoadH5(hid_t file, const char fname[], const char group[], DpsUnet **out)
{
  DpsUnetConfig  cfg;
  DpsUnet       *net;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *out = NULL;
  PetscCall(DpsUnetReadConfig(file, fname, group, &cfg));
  PetscCheck(!DpsUnetCreate(&cfg, &net), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s: %s", fname, group, DpsUnetError());
  ierr = DpsUnetReadParameters(file, fname, group, net); /* its message is out: the network can go */
  if (ierr) DpsUnetDestroy(net);
  PetscCall(ierr);
  *out = net;
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* the DpsScore type */

/* the network in /prior of an open file */
static PetscErrorCode DpsScoreUNetLoadGroup(DpsScore s, hid_t file, const char fname[])
{
  Score_UNet          *u = (Score_UNet *)s->data;
  const DpsUnetConfig *c;
  DpsUnet             *net;
  PetscBool            exists;

  PetscFunctionBegin;
  PetscCall(DpsH5Exists(file, "/prior", &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: no /prior group holding a unet (and no -score_unet_weights file.h5 given)", fname);
  PetscCall(DpsUnetLoadH5(file, fname, "/prior", &net));
  c = DpsUnetGetConfig(net);
  if (c->out_channels != c->in_channels && c->out_channels != 2 * c->in_channels) {
    const int cin = c->in_channels, cout = c->out_channels; /* c goes with the network */
    DpsUnetDestroy(net);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: the unet has %d input and %d output channels: expected eps (as many) or eps and v (twice as many, learned sigma)", fname, cin, cout);
  }
  {
    /* a row of the score holds out_channels >= in_channels images' values: they must fit in PetscInt */
    const PetscInt64 dout = (PetscInt64)c->out_channels * c->image_size * c->image_size;
    if (dout > PETSC_MAX_INT) {
      const int cout = c->out_channels, size = c->image_size;
      DpsUnetDestroy(net);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: the unet's %d x %d x %d = %" PetscInt64_FMT " output values per image are more than PetscInt holds (%" PetscInt_FMT ")", fname, cout, size, size, dout, PETSC_MAX_INT);
    }
  }
  DpsUnetCudaDestroy(u->cuda); /* it refers to the old network */
  u->cuda = NULL;
  DpsUnetDestroy(u->net);
  u->net  = net;
  u->din  = (PetscInt)c->in_channels * c->image_size * c->image_size;
  u->dout = (PetscInt)c->out_channels * c->image_size * c->image_size;
  s->dim  = u->din;
  PetscCall(PetscStrncpy(u->source, fname, sizeof(u->source)));
  PetscCall(PetscFree(u->work));
  PetscCall(PetscFree4(u->xf, u->of, u->uf, u->tf));
  PetscCall(PetscFree(u->v));
  u->worksize = 0;
  u->cap = u->vcap = u->nv = 0;
  s->setupcalled           = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreUNetSetWeights(DpsScore s, const char fname[])
{
  PetscBool is;
  hid_t     file;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)s, DPSSCOREUNET, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsScoreUNetSetWeights() needs a unet score");
  /* the system's reason (a missing file, a soft-link loop, no permission), which the HDF5 library does not give */
  PetscCheck(!access(fname, R_OK), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot read the unet weights file (-score_unet_weights): %s", fname, strerror(errno));
  PetscCall(DpsH5Open(PETSC_COMM_SELF, fname, PETSC_FALSE, &file));
  PetscCall(DpsScoreUNetLoadGroup(s, file, fname));
  PetscCall(DpsH5Close(&file));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreUNetCheckDataShape(DpsScore s, const char fname[], PetscInt nshape, const PetscInt shape[])
{
  Score_UNet          *u = (Score_UNet *)s->data;
  const DpsUnetConfig *c;
  PetscBool            is, same;
  char                 have[128] = "(";

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)s, DPSSCOREUNET, &is));
  if (!is) PetscFunctionReturn(0);
  PetscCheck(u->net, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the unet score has no network: load it first");
  c    = DpsUnetGetConfig(u->net);
  same = (PetscBool)(nshape == 3 && shape[0] == c->in_channels && shape[1] == c->image_size && shape[2] == c->image_size);
  if (same) PetscFunctionReturn(0);
  for (PetscInt k = 0; k < nshape; k++) {
    size_t len = strlen(have);
    PetscCall(PetscSNPrintf(have + len, sizeof(have) - len, "%s%" PetscInt_FMT, k ? ", " : "", shape[k]));
  }
  PetscCall(PetscStrlcat(have, ")", sizeof(have)));
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: data_shape %s is not the unet's (C, H, W) = (%d, %d, %d) (weights %s): a row is an image [C][H][W]", fname, have, c->in_channels, c->image_size, c->image_size, u->source);
}

PetscErrorCode DpsScoreUNetGetVariance(DpsScore s, PetscInt *n, const PetscReal **v)
{
  Score_UNet *u = (Score_UNet *)s->data;
  PetscBool   is;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompare((PetscObject)s, DPSSCOREUNET, &is));
  PetscCheck(is, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "DpsScoreUNetGetVariance() needs a unet score");
  if (n) *n = u->nv;
  if (v) *v = u->v;
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreHasLearnedVariance_UNet(DpsScore s, PetscBool *has)
{
  Score_UNet *u = (Score_UNet *)s->data;

  PetscFunctionBegin;
  *has = (PetscBool)(u->net && u->dout == 2 * u->din);
  PetscFunctionReturn(0);
}

/* the v half kept by the last DpsScoreEps_UNet (on either backend: both return all out_channels) */
static PetscErrorCode DpsScoreLearnedVariance_UNet(DpsScore s, PetscInt n, PetscReal v[])
{
  Score_UNet *u = (Score_UNet *)s->data;

  PetscFunctionBegin;
  PetscCheck(n == u->nv, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the unet holds the v of %" PetscInt_FMT " rows, not %" PetscInt_FMT, u->nv, n);
  PetscCall(PetscArraycpy(v, u->v, n * u->din));
  PetscFunctionReturn(0);
}

/* the weights file of -score_unet_weights when given, else the input file's /prior */
static PetscErrorCode DpsScoreLoad_UNet(DpsScore s, hid_t file, const char fname[])
{
  Score_UNet *u                           = (Score_UNet *)s->data;
  char        weights[PETSC_MAX_PATH_LEN] = "";
  PetscBool   set;

  PetscFunctionBegin;
  /* read here, not only in SetFromOptions: the driver loads the model before it sets the options */
  PetscCall(PetscOptionsGetString(((PetscObject)s)->options, ((PetscObject)s)->prefix, "-score_unet_weights", weights, sizeof(weights), &set));
  if (set && weights[0]) {
    if (strcmp(weights, u->source)) PetscCall(DpsScoreUNetSetWeights(s, weights));
  } else PetscCall(DpsScoreUNetLoadGroup(s, file, fname));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreSetFromOptions_UNet(DpsScore s, PetscOptionItems *PetscOptionsObject)
{
  Score_UNet *u = (Score_UNet *)s->data;
  char        weights[PETSC_MAX_PATH_LEN];
  PetscBool   set;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(weights, u->source, sizeof(weights)));
  PetscOptionsHeadBegin(PetscOptionsObject, "UNet score (guided-diffusion)");
  PetscCall(PetscOptionsString("-score_unet_weights", "HDF5 weights file (tools/convert_checkpoint.py); default: the input file's /prior", "DpsScoreUNetSetWeights", weights, weights, sizeof(weights), &set));
  PetscCall(PetscOptionsBool("-score_unet_tf32", "CUDA backend: let cuBLAS use TF32 tensor cores (faster, about 1e-3 relative error)", "", u->tf32, &u->tf32, NULL));
  PetscCall(DpsOptionsBoundedInt("-score_unet_device_images", "CUDA backend: images per device pass at most (0: as many as fit in 85% of the free memory)", "", u->device_images, &u->device_images, NULL, 0));
  PetscOptionsHeadEnd();
  if (set && strcmp(weights, u->source)) PetscCall(DpsScoreUNetSetWeights(s, weights));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreSetUp_UNet(DpsScore s)
{
  Score_UNet *u       = (Score_UNet *)s->data;
  int         devices = DpsUnetCudaDeviceCount(), device;

  PetscFunctionBegin;
  DpsUnetCudaDestroy(u->cuda);
  u->cuda = NULL;
  PetscCall(DpsScoreChooseBackend(s, devices, DpsUnetCudaError(), &device));
  if (s->backend == DPS_BACKEND_CUDA) {
    PetscCheck(DpsUnetCudaCreate(u->net, device, (int)u->tf32, &u->cuda) == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "unet score on CUDA device %d: %s", device, DpsUnetCudaError());
    DpsUnetCudaSetMaxChunk(u->cuda, (int)u->device_images);
  }
  PetscCall(PetscInfo(s, "unet score from %s on %s%s\n", u->source, DpsScoreBackends[s->backend], s->backend == DPS_BACKEND_CUDA && u->tf32 ? " (TF32)" : ""));
  PetscFunctionReturn(0);
}

/* float buffers for n images and a workspace for Forward (vjp 0) or VJP (vjp 1) */
static PetscErrorCode DpsScoreUNetReserve(DpsScore s, PetscInt n, int vjp)
{
  Score_UNet *u    = (Score_UNet *)s->data;
  size_t      need = DpsUnetWorkspace(u->net, vjp);

  PetscFunctionBegin;
  PetscCheck(u->net, PETSC_COMM_SELF, PETSC_ERR_ORDER, "the unet score has no network: load it first");
  if (!u->cuda && need > u->worksize) {
    PetscCall(PetscFree(u->work));
    PetscCall(PetscMalloc1(need, &u->work));
    u->worksize = need;
  }
  if (n > u->cap) {
    PetscCall(PetscFree4(u->xf, u->of, u->uf, u->tf));
    PetscCall(PetscMalloc4(n * u->din, &u->xf, n * u->dout, &u->of, n * u->dout, &u->uf, n, &u->tf));
    u->cap = n;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreUNetInputs(DpsScore s, PetscInt n, PetscInt t, const PetscReal x[])
{
  Score_UNet *u = (Score_UNet *)s->data;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < n * u->din; i++) u->xf[i] = (float)x[i];
  for (PetscInt i = 0; i < n; i++) u->tf[i] = (float)(t - 1); /* guided-diffusion's 0-based step index */
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreEps_UNet(DpsScore s, PetscInt n, PetscInt t, PetscReal abar, const PetscReal x[], PetscReal eps[])
{
  Score_UNet *u = (Score_UNet *)s->data;
  PetscInt    dv = u->dout - u->din;

  PetscFunctionBegin;
  PetscCall(DpsScoreUNetReserve(s, n, 0));
  PetscCall(DpsScoreUNetInputs(s, n, t, x));
  if (u->cuda) PetscCheck(!DpsUnetCudaForward(u->cuda, (int)n, u->tf, u->xf, u->of), PETSC_COMM_SELF, PETSC_ERR_LIB, "unet forward on CUDA: %s", DpsUnetCudaError());
  else PetscCheck(!DpsUnetForward(u->net, (int)n, u->tf, u->xf, u->of, u->work), PETSC_COMM_SELF, PETSC_ERR_LIB, "unet forward: %s", DpsUnetError());
  if (dv && n > u->vcap) {
    PetscCall(PetscFree(u->v));
    PetscCall(PetscMalloc1(n * dv, &u->v));
    u->vcap = n;
  }
  for (PetscInt i = 0; i < n; i++) {
    const float *o = u->of + i * u->dout;
    for (PetscInt e = 0; e < u->din; e++) eps[i * u->din + e] = o[e];
    for (PetscInt e = 0; e < dv; e++) u->v[i * dv + e] = o[u->din + e];
  }
  u->nv = dv ? n : 0;
  PetscCall(PetscLogFlops(2.0 * n * DpsUnetForwardFlops(u->net)));
  PetscFunctionReturn(0);
}

/* out = (d eps / dx)^T v: the cotangent is v on the eps channels and 0 on the variance channels */
static PetscErrorCode DpsScoreVJP_UNet(DpsScore s, PetscInt n, PetscInt t, PetscReal abar, const PetscReal x[], const PetscReal v[], PetscReal out[])
{
  Score_UNet *u = (Score_UNet *)s->data;

  PetscFunctionBegin;
  PetscCall(DpsScoreUNetReserve(s, n, 1));
  PetscCall(DpsScoreUNetInputs(s, n, t, x));
  for (PetscInt i = 0; i < n; i++) {
    float *ui = u->uf + i * u->dout;
    for (PetscInt e = 0; e < u->din; e++) ui[e] = (float)v[i * u->din + e];
    for (PetscInt e = u->din; e < u->dout; e++) ui[e] = 0.0f;
  }
  /* dx lands in of, free here (dout >= din) */
  if (u->cuda) PetscCheck(!DpsUnetCudaVJP(u->cuda, (int)n, u->tf, u->xf, u->uf, u->of, NULL), PETSC_COMM_SELF, PETSC_ERR_LIB, "unet VJP on CUDA: %s", DpsUnetCudaError());
  else PetscCheck(!DpsUnetVJP(u->net, (int)n, u->tf, u->xf, u->uf, u->of, NULL, u->work), PETSC_COMM_SELF, PETSC_ERR_LIB, "unet VJP: %s", DpsUnetError());
  for (PetscInt i = 0; i < n * u->din; i++) out[i] = u->of[i];
  PetscCall(PetscLogFlops(4.0 * n * DpsUnetForwardFlops(u->net))); /* forward, then the adjoint of every linear map */
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreJVP_UNet(DpsScore s, PetscInt n, PetscInt t, PetscReal abar, const PetscReal x[], const PetscReal v[], PetscReal out[])
{
  PetscFunctionBegin;
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "the unet score has no JVP (forward mode) yet, only the VJP; use a sampler that needs eps and VJPs only");
}

static PetscErrorCode DpsScoreView_UNet(DpsScore s, PetscViewer viewer)
{
  Score_UNet *u = (Score_UNet *)s->data;

  PetscFunctionBegin;
  if (!u->net) PetscFunctionReturn(0);
  PetscCall(PetscViewerASCIIPrintf(viewer, "guided-diffusion UNet from %s: %zu parameters, %.3g GFLOP per image forward, %s output\n", u->source, DpsUnetGetParameterSize(u->net), 2e-9 * DpsUnetForwardFlops(u->net),
                                   u->dout == 2 * u->din ? "eps and v (learned sigma)" : "eps"));
  if (u->cuda && u->device_images) PetscCall(PetscViewerASCIIPrintf(viewer, "on the GPU: %s GEMMs, at most %" PetscInt_FMT " images per device pass\n", u->tf32 ? "TF32" : "float32", u->device_images));
  else if (u->cuda) PetscCall(PetscViewerASCIIPrintf(viewer, "on the GPU: %s GEMMs, as many images per device pass as fit\n", u->tf32 ? "TF32" : "float32"));
  PetscFunctionReturn(0);
}

static PetscErrorCode DpsScoreDestroy_UNet(DpsScore s)
{
  Score_UNet *u = (Score_UNet *)s->data;

  PetscFunctionBegin;
  DpsUnetCudaDestroy(u->cuda);
  DpsUnetDestroy(u->net);
  PetscCall(PetscFree(u->work));
  PetscCall(PetscFree4(u->xf, u->of, u->uf, u->tf));
  PetscCall(PetscFree(u->v));
  PetscCall(PetscFree(s->data));
  PetscFunctionReturn(0);
}

PetscErrorCode DpsScoreCreate_UNet(DpsScore s)
{
  Score_UNet *u;

  PetscFunctionBegin;
  PetscCall(PetscNew(&u));
  s->data                    = u;
  s->ops->setfromoptions     = DpsScoreSetFromOptions_UNet;
  s->ops->setup              = DpsScoreSetUp_UNet;
  s->ops->eps                = DpsScoreEps_UNet;
  s->ops->jvp                = DpsScoreJVP_UNet;
  s->ops->vjp                = DpsScoreVJP_UNet;
  s->ops->load               = DpsScoreLoad_UNet;
  s->ops->haslearnedvariance = DpsScoreHasLearnedVariance_UNet;
  s->ops->learnedvariance    = DpsScoreLearnedVariance_UNet;
  s->ops->view               = DpsScoreView_UNet;
  s->ops->destroy            = DpsScoreDestroy_UNet;
  PetscFunctionReturn(0);
}
