/* unet_sizes: DpsUnetCreate refuses configurations whose sizes do not fit the index types of src/score/unet (int
   pixels, channels and GEMM dimensions; size_t floats and bytes), naming the configuration value, instead of
   planning with wrapped products (issue 9: L = R R overflowed int for image_size 2^20), and plans large valid
   ones with workspaces that hold what the forward pass keeps. PETSc-free, like the kernels it tests: only the
   configuration is built (no parameters are set, nothing is evaluated). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "score/unet/unet.h"

static int failures;

/* the smallest UNet of that image size: one level of 32 channels, one ResBlock, the middle block's attention */
static DpsUnetConfig Config(int image_size, int heads)
{
  DpsUnetConfig c;
  memset(&c, 0, sizeof(c));
  c.image_size         = image_size;
  c.in_channels        = 1;
  c.out_channels       = 1;
  c.model_channels     = 32;
  c.num_res_blocks     = 1;
  c.nlevels            = 1;
  c.channel_mult[0]    = 1;
  c.num_heads          = heads;
  c.num_head_channels  = -1;
  c.num_heads_upsample = -1;
  c.conv_resample      = 1;
  return c;
}

/* Create must fail with a message holding each of the strings */
static void Refused(const char *what, const DpsUnetConfig *c, const char *s1, const char *s2)
{
  DpsUnet *net = NULL;
  if (!DpsUnetCreate(c, &net)) {
    printf("FAIL: %s: accepted (forward workspace %zu floats)\n", what, DpsUnetWorkspace(net, 0));
    DpsUnetDestroy(net);
    failures++;
    return;
  }
  if (net || !strstr(DpsUnetError(), s1) || (s2 && !strstr(DpsUnetError(), s2))) {
    printf("FAIL: %s: refused with \"%s\", expected '%s'%s%s%s\n", what, DpsUnetError(), s1, s2 ? " and '" : "", s2 ? s2 : "", s2 ? "'" : "");
    failures++;
    return;
  }
  printf("ok: %s: %s\n", what, DpsUnetError());
}

int main(void)
{
  DpsUnetConfig c;
  DpsUnet      *net;

  /* pixels per image (a convolution's H W, the attention length L) are int */
  c = Config(1 << 20, 1);
  Refused("image_size 2^20", &c, "image_size 1048576", "1099511627776 pixels");
  c = Config(46341, 1); /* 46341^2 = 2^31 + 4633 */
  Refused("image_size 46341", &c, "image_size 46341", "at most 2147483647");

  /* 46340^2 pixels fit in int, but 8 heads of attention weights [L][L] do not fit in size_t */
  c = Config(46340, 8);
  Refused("image_size 46340 with 8 heads", &c, "image_size 46340", "attention's weights");

  /* 4 heads fit in size_t (4 46340^4 < 2^64), but not with the rest of the workspace, nor its bytes */
  c = Config(46340, 4);
  Refused("image_size 46340 with 4 heads", &c, "image_size 46340", "workspace");

  /* channels: 4 model_channels (the time embedding), a level's channels and the first convolution's inputs */
  c                = Config(64, 1);
  c.model_channels = 1 << 30;
  Refused("model_channels 2^30", &c, "model_channels 1073741824", NULL);
  c                 = Config(64, 1);
  c.channel_mult[0] = 1e12;
  Refused("channel_mult 1e12", &c, "level 0 has 3.2e+13 channels", NULL);
  c             = Config(64, 1);
  c.in_channels = 1 << 29;
  Refused("in_channels 2^29", &c, "in_channels 536870912", NULL);

  /* a large valid one: 4096^2 pixels, 2 heads. The forward workspace holds the attention weights [heads][L][L]
     and the backward's dS [L][L] besides them (independent lower bounds, not the plan's own sums) */
  c = Config(4096, 2);
  if (DpsUnetCreate(&c, &net)) {
    printf("FAIL: image_size 4096: refused: %s\n", DpsUnetError());
    failures++;
  } else {
    const double L = 4096.0 * 4096.0, fwd = (double)DpsUnetWorkspace(net, 0), vjp = (double)DpsUnetWorkspace(net, 1);
    if (!(fwd >= 2 * L * L && vjp >= 3 * L * L)) {
      printf("FAIL: image_size 4096: workspaces %.0f (forward) and %.0f (VJP) floats, expected at least %.0f and %.0f\n", fwd, vjp, 2 * L * L, 3 * L * L);
      failures++;
    } else printf("ok: image_size 4096: workspaces %.3g and %.3g floats\n", fwd, vjp);
    DpsUnetDestroy(net);
  }
  if (failures) printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
