/* unit_operator_images: the image operators of methods.md section 8 (blur, sr, chain, inpaint's shared per-pixel
   masks and boxes) on (C, H, W) data.
   For every operator and mode, at small sizes, against a dense matrix built column by column (A e_j):
   - adjoint identity <A x, y> = <x, A^T y> for 20 random pairs, to 1e-12 relative (|Ax| |y|), and the dense A^T
     (A^T e_i) equal to the transpose of the dense A;
   - where offered: diag(A^T A) against the column sums of squares; (a I + b A^T A)^{-1} applied to
     (a I + b D^T D) x gives x back; (c I + A diag(v) A^T)^{-1} likewise; the SVD: U diag(sv) V^T = D, U and V
     orthonormal;
   - what must NOT be offered is not (reflect blur, chain);
   - HDF5 save then load (with the data shape given first, as DpsDatasetLoadOperator does) gives the same dense A.
   Independent truth:
   - blur: scipy.ndimage.correlate (mode 'mirror' for reflect, 'wrap' for circular, itself cross-checked with
     numpy's FFT) of the committed fixture tests/unit/fixtures/blur_scipy.h5 (tests/unit/make_blur_fixture.py), and
     the reference default kernel (scipy.ndimage.gaussian_filter of a centred delta, 61 x 61, sigma 3);
   - sr bicubic: the 1-D weights for 8 -> 4 written out below from the formula of the reference resizer (DPS code,
     util/resizer.py, a port of MATLAB imresize: cubic kernel with a = -0.5, antialiasing scale 1 / f, weights
     normalised per output, symmetric edge mirroring); all are dyadic, so they must match exactly;
   - sr block: the block means, computed here directly;
   - chain: the product of its parts' dense matrices; a chain of one part is its part, optional operations included. */
#include "operatortest.h"

static PetscErrorCode MakeBlur(PetscInt C, PetscInt H, PetscInt W, DpsBlurMode mode, PetscInt kh, PetscInt kw, const PetscReal k[], DpsOperator *op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, op));
  PetscCall(DpsOperatorSetType(*op, DPSOPERATORBLUR));
  PetscCall(DpsOperatorSetDataShape(*op, C, H, W));
  PetscCall(DpsOperatorBlurSetMode(*op, mode));
  if (k) PetscCall(DpsOperatorBlurSetKernel(*op, kh, kw, k));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestBlurFixtures(const char fixture[], DpsTestRng *rng)
{
  const char *cases[] = {"reflect_small", "reflect_kernel_larger_than_image", "circular_small", "circular_odd"};
  hid_t       f;

  PetscFunctionBegin;
  PetscCall(DpsH5Open(PETSC_COMM_SELF, fixture, PETSC_FALSE, &f));
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char        path[128], mode[16];
    hsize_t     xd[3], kd[2];
    PetscReal  *x, *k, *y, *Ax, err = 0.0, ymax = 0.0;
    DpsOperator op;
    PetscBool   circ;
    PetscInt    n;
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/x", cases[c]));
    PetscCall(DpsH5GetDims(f, fixture, path, 3, "(C, H, W)", xd));
    n = (PetscInt)(xd[0] * xd[1] * xd[2]);
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/kernel", cases[c]));
    PetscCall(DpsH5GetDims(f, fixture, path, 2, "(kh, kw)", kd));
    PetscCall(PetscMalloc4(n, &x, kd[0] * kd[1], &k, n, &y, n, &Ax));
    PetscCall(DpsH5ReadAll(f, fixture, path, k));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/x", cases[c]));
    PetscCall(DpsH5ReadAll(f, fixture, path, x));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s/y", cases[c]));
    PetscCall(DpsH5ReadAll(f, fixture, path, y));
    PetscCall(PetscSNPrintf(path, sizeof(path), "/%s", cases[c]));
    PetscCall(DpsH5ReadStringAttribute(f, fixture, path, "mode", mode, sizeof(mode)));
    PetscCall(PetscStrcmp(mode, "circular", &circ));
    PetscCall(MakeBlur((PetscInt)xd[0], (PetscInt)xd[1], (PetscInt)xd[2], circ ? DPS_BLUR_CIRCULAR : DPS_BLUR_REFLECT, (PetscInt)kd[0], (PetscInt)kd[1], k, &op));
    PetscCall(DpsOperatorApplyArray(op, x, Ax));
    for (PetscInt e = 0; e < n; e++) {
      err  = PetscMax(err, PetscAbsReal(Ax[e] - y[e]));
      ymax = PetscMax(ymax, PetscAbsReal(y[e]));
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "blur %s (%s, %d x %d x %d, kernel %d x %d): max |A x - scipy| / max |y| = %.2e\n", cases[c], mode, (int)xd[0], (int)xd[1], (int)xd[2], (int)kd[0], (int)kd[1], err / ymax));
    DPS_CHECK(err <= 1e-12 * ymax, "blur %s: differs from scipy.ndimage.correlate by %.2e", cases[c], err);
    PetscCall(CheckOperator(op, cases[c], rng, circ, circ, NULL));
    PetscCall(CheckRoundTrip(op, cases[c]));
    PetscCall(DpsOperatorDestroy(&op));
    PetscCall(PetscFree4(x, k, y, Ax));
  }
  {
    PetscReal *ref, *k, err = 0.0;
    PetscCall(PetscMalloc2(61 * 61, &ref, 61 * 61, &k));
    PetscCall(DpsH5ReadAll(f, fixture, "/gaussian_61_sigma3", ref));
    PetscCall(DpsBlurGaussianKernel(61, 3.0, k));
    for (PetscInt e = 0; e < 61 * 61; e++) err = PetscMax(err, PetscAbsReal(k[e] - ref[e]));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "default kernel against scipy.ndimage.gaussian_filter(delta, 3): max difference %.2e (peak %.6f)\n", err, (double)ref[30 * 61 + 30]));
    DPS_CHECK(err <= 1e-16, "the default Gaussian kernel differs from the reference by %.2e", err);
    PetscCall(PetscFree2(ref, k));
  }
  PetscCall(DpsH5Close(&f));
  PetscFunctionReturn(0);
}

/* the default operator (Gaussian 61 x 61, sigma 3) in both modes on small images: the kernel is wider than them */
static PetscErrorCode TestBlurDefault(DpsTestRng *rng)
{
  DpsOperator op;

  PetscFunctionBegin;
  PetscCall(MakeBlur(2, 6, 5, DPS_BLUR_REFLECT, 0, 0, NULL, &op));
  PetscCall(CheckOperator(op, "blur default reflect 2x6x5", rng, PETSC_FALSE, PETSC_FALSE, NULL));
  PetscCall(CheckRoundTrip(op, "blur default reflect"));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(MakeBlur(3, 8, 6, DPS_BLUR_CIRCULAR, 0, 0, NULL, &op));
  PetscCall(CheckOperator(op, "blur default circular 3x8x6", rng, PETSC_TRUE, PETSC_TRUE, NULL));
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

static PetscErrorCode MakeSR(PetscInt C, PetscInt H, PetscInt W, PetscInt f, DpsSRKind kind, DpsOperator *op)
{
  PetscFunctionBegin;
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, op));
  PetscCall(DpsOperatorSetType(*op, DPSOPERATORSR));
  PetscCall(DpsOperatorSetDataShape(*op, C, H, W));
  PetscCall(DpsOperatorSRSetFactor(*op, f, kind));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestSR(DpsTestRng *rng)
{
  /* util/resizer.py's weights for n = 8, f = 2 (scale 1/2, kernel width 8, 10 taps): output 1 sits at 1.5, its
     taps at distances 3.5 ... -3.5 get cubic(d / 2) / 2 = -3/256, -9/256, 29/256, 111/256, 111/256, 29/256, -9/256,
     -3/256 (the sum of cubic(d / 2) is 2); positions 0, -1, -2 mirror onto 1, 2, 3 (edge repeated). */
  const PetscReal R8[4][8] = {
    {140.0 / 256, 102.0 / 256, 26.0 / 256,  -9.0 / 256,  -3.0 / 256,  0,           0,           0          },
    {-12.0 / 256, 29.0 / 256,  111.0 / 256, 111.0 / 256, 29.0 / 256,  -9.0 / 256,  -3.0 / 256,  0          },
    {0,           -3.0 / 256,  -9.0 / 256,  29.0 / 256,  111.0 / 256, 111.0 / 256, 29.0 / 256,  -12.0 / 256},
    {0,           0,           0,           -3.0 / 256,  -9.0 / 256,  26.0 / 256,  102.0 / 256, 140.0 / 256}
  };
  PetscReal   R[32], *D;
  PetscInt    mism = 0;
  DpsOperator op;

  PetscFunctionBegin;
  PetscCall(DpsSRBicubicMatrix(8, 2, R));
  for (PetscInt i = 0; i < 4; i++)
    for (PetscInt j = 0; j < 8; j++) mism += R[i * 8 + j] != R8[i][j];
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "bicubic 8 -> 4 weights against the resizer's formula: %" PetscInt_FMT " mismatches of 32 (exact comparison)\n", mism));
  DPS_CHECK(mism == 0, "bicubic 1-D weights differ from the reference resizer's in %" PetscInt_FMT " entries", mism);
  for (PetscInt i = 0; i < 4; i++) {
    PetscReal s = 0.0;
    for (PetscInt j = 0; j < 8; j++) s += R8[i][j];
    DPS_CHECK(s == 1.0, "reference row %" PetscInt_FMT " sums to %.17g", i, (double)s);
  }

  /* bicubic 2 x 8 x 8, f = 2: A = I_C (x) R8 (x) R8 exactly */
  PetscCall(MakeSR(2, 8, 8, 2, DPS_SR_BICUBIC, &op));
  PetscCall(CheckOperator(op, "sr bicubic f=2 2x8x8", rng, PETSC_TRUE, PETSC_TRUE, &D));
  mism = 0;
  for (PetscInt c = 0; c < 2; c++)
    for (PetscInt i = 0; i < 4; i++)
      for (PetscInt j = 0; j < 4; j++)
        for (PetscInt cc = 0; cc < 2; cc++)
          for (PetscInt r = 0; r < 8; r++)
            for (PetscInt s = 0; s < 8; s++) {
              PetscReal expect = c == cc ? R8[i][r] * R8[j][s] : 0.0;
              mism += PetscAbsReal(D[((c * 4 + i) * 4 + j) * 128 + (cc * 8 + r) * 8 + s] - expect) > 1e-15;
            }
  DPS_CHECK(mism == 0, "sr bicubic: the dense A is not I (x) R (x) R in %" PetscInt_FMT " entries", mism);
  PetscCall(PetscFree(D));
  PetscCall(CheckRoundTrip(op, "sr bicubic f=2"));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(MakeSR(1, 12, 8, 4, DPS_SR_BICUBIC, &op));
  PetscCall(CheckOperator(op, "sr bicubic f=4 1x12x8", rng, PETSC_TRUE, PETSC_TRUE, NULL));
  PetscCall(DpsOperatorDestroy(&op));

  /* block means */
  {
    const PetscInt cfg[3][4] = {
      {2, 4, 6, 2},
      {1, 6, 3, 3},
      {3, 4, 4, 4}
    };
    for (int t = 0; t < 3; t++) {
      const PetscInt C = cfg[t][0], H = cfg[t][1], W = cfg[t][2], f = cfg[t][3], h = H / f, w = W / f;
      char           what[64];
      PetscCall(PetscSNPrintf(what, sizeof(what), "sr block f=%" PetscInt_FMT " %" PetscInt_FMT "x%" PetscInt_FMT "x%" PetscInt_FMT, f, C, H, W));
      PetscCall(MakeSR(C, H, W, f, DPS_SR_BLOCK, &op));
      PetscCall(CheckOperator(op, what, rng, PETSC_TRUE, PETSC_TRUE, &D));
      mism = 0;
      for (PetscInt c = 0; c < C; c++)
        for (PetscInt i = 0; i < h; i++)
          for (PetscInt j = 0; j < w; j++)
            for (PetscInt e = 0; e < C * H * W; e++) {
              PetscInt  cc = e / (H * W), r = (e / W) % H, s = e % W;
              PetscReal expect = (cc == c && r / f == i && s / f == j) ? 1.0 / (f * f) : 0.0;
              mism += D[((c * h + i) * w + j) * C * H * W + e] != expect;
            }
      DPS_CHECK(mism == 0, "%s: the dense A is not the block mean in %" PetscInt_FMT " entries", what, mism);
      PetscCall(PetscFree(D));
      if (t == 0) PetscCall(CheckRoundTrip(op, what));
      PetscCall(DpsOperatorDestroy(&op));
    }
  }
  PetscFunctionReturn(0);
}

/* chain: sr block after a circular blur, and a mask after a reflect blur: the dense A is the product of the parts' */
static PetscErrorCode TestChain(DpsTestRng *rng)
{
  const PetscInt C = 2, H = 6, W = 4;
  PetscReal      k[9], *Db, *Ds, *Dc, err = 0.0;
  DpsOperator    parts[2], op;

  PetscFunctionBegin;
  for (int i = 0; i < 9; i++) k[i] = DpsTestUniform(rng);
  PetscCall(MakeBlur(C, H, W, DPS_BLUR_CIRCULAR, 3, 3, k, &parts[0]));
  PetscCall(MakeSR(C, H, W, 2, DPS_SR_BLOCK, &parts[1]));
  PetscCall(CheckOperator(parts[0], "chain part 0 (blur circular)", rng, PETSC_TRUE, PETSC_TRUE, &Db));
  PetscCall(CheckOperator(parts[1], "chain part 1 (sr block)", rng, PETSC_TRUE, PETSC_TRUE, &Ds));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORCHAIN));
  PetscCall(DpsOperatorSetDataShape(op, C, H, W));
  PetscCall(DpsOperatorChainSetParts(op, 2, parts));
  PetscCall(CheckOperator(op, "chain sr block . blur circular", rng, PETSC_FALSE, PETSC_FALSE, &Dc));
  {
    const PetscInt n = C * H * W, m = n / 4;
    for (PetscInt i = 0; i < m; i++)
      for (PetscInt j = 0; j < n; j++) {
        PetscReal s = 0.0;
        for (PetscInt l = 0; l < n; l++) s += Ds[i * n + l] * Db[l * n + j];
        err = PetscMax(err, PetscAbsReal(s - Dc[i * n + j]));
      }
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "chain: max |D_chain - D_sr D_blur| %.2e\n", err));
  DPS_CHECK(err <= 1e-14, "chain: the dense chain differs from the product of its parts by %.2e", err);
  PetscCall(CheckRoundTrip(op, "chain"));
  /* a chain of one part is that part: it offers the part's optional operations */
  {
    DpsOperator one;
    PetscReal  *D1, e1 = 0.0;
    PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &one));
    PetscCall(DpsOperatorSetType(one, DPSOPERATORCHAIN));
    PetscCall(DpsOperatorSetDataShape(one, C, H, W));
    PetscCall(DpsOperatorChainSetParts(one, 1, parts));
    PetscCall(CheckOperator(one, "chain of one part (blur circular)", rng, PETSC_TRUE, PETSC_TRUE, &D1));
    for (PetscInt e = 0; e < C * H * W * C * H * W; e++) e1 = PetscMax(e1, PetscAbsReal(D1[e] - Db[e]));
    DPS_CHECK(e1 == 0.0, "chain of one part differs from the part by %.2e", e1);
    PetscCall(PetscFree(D1));
    PetscCall(DpsOperatorDestroy(&one));
  }
  /* three separate allocations (CheckOperator): PetscFree3 would free only the first */
  PetscCall(PetscFree(Db));
  PetscCall(PetscFree(Ds));
  PetscCall(PetscFree(Dc));
  PetscCall(DpsOperatorDestroy(&op));
  PetscCall(DpsOperatorDestroy(&parts[0]));
  PetscCall(DpsOperatorDestroy(&parts[1]));
  PetscFunctionReturn(0);
}

/* inpaint on (C, H, W): an [H W] mask shared by the channels is I_C (x) diag(mask); a box is the shared mask
   that is 0 inside it */
static PetscErrorCode TestInpaintShared(DpsTestRng *rng)
{
  const PetscInt C = 3, H = 4, W = 5, n = C * H * W;
  PetscReal      mask[20], *D;
  PetscInt       mism = 0;
  DpsOperator    op;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < H * W; j++) mask[j] = DpsTestUniform(rng) < 0.5 ? 0.0 : 1.0;
  mask[0] = 1.0;
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORINPAINT));
  PetscCall(DpsOperatorSetDataShape(op, C, H, W));
  PetscCall(DpsOperatorInpaintSetMask(op, H * W, mask));
  PetscCall(CheckOperator(op, "inpaint shared mask 3x4x5", rng, PETSC_TRUE, PETSC_TRUE, &D));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) mism += D[i * n + j] != (i == j ? mask[i % (H * W)] : 0.0);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "inpaint shared mask: dense A against I_3 (x) diag(mask): %" PetscInt_FMT " mismatches\n", mism));
  DPS_CHECK(mism == 0, "inpaint shared mask: dense A differs from I_C (x) diag(mask) in %" PetscInt_FMT " entries", mism);
  PetscCall(PetscFree(D));
  PetscCall(CheckRoundTrip(op, "inpaint shared mask"));
  PetscCall(DpsOperatorDestroy(&op));

  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op));
  PetscCall(DpsOperatorSetType(op, DPSOPERATORINPAINT));
  PetscCall(DpsOperatorSetDataShape(op, 2, H, W));
  PetscCall(DpsOperatorInpaintSetBox(op, 1, 2, 2, 3));
  PetscCall(CheckOperator(op, "inpaint box (1, 2, 2, 3) on 2x4x5", rng, PETSC_TRUE, PETSC_TRUE, &D));
  mism = 0;
  for (PetscInt i = 0; i < 2 * H * W; i++) {
    PetscInt  r = (i / W) % H, c = i % W;
    PetscReal expect = (r >= 1 && r < 3 && c >= 2 && c < 5) ? 0.0 : 1.0;
    mism += D[i * 2 * H * W + i] != expect;
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "inpaint box: diagonal against the box: %" PetscInt_FMT " mismatches\n", mism));
  DPS_CHECK(mism == 0, "inpaint box: %" PetscInt_FMT " diagonal entries wrong", mism);
  PetscCall(PetscFree(D));
  PetscCall(CheckRoundTrip(op, "inpaint box"));
  /* the attribute box of a file gives the same operator */
  {
    char           fname[PETSC_MAX_PATH_LEN];
    hid_t          f;
    DpsOperator    op2;
    const PetscInt box[4] = {1, 2, 2, 3};
    PetscReal     *D2, *DT, *DT2, *D1;
    PetscInt       diff = 0;
    PetscCall(PetscSNPrintf(fname, sizeof(fname), "unit_operator_images_box_%d.h5", (int)getpid()));
    PetscCall(DpsH5Create(PETSC_COMM_SELF, fname, &f));
    PetscCall(DpsH5CreateGroup(f, "/operator"));
    PetscCall(DpsH5WriteStringAttribute(f, "/operator", "type", DPSOPERATORINPAINT));
    PetscCall(DpsH5WriteIntArrayAttribute(f, "/operator", "box", 4, box));
    PetscCall(DpsH5Close(&f));
    PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &op2));
    PetscCall(DpsOperatorSetDataShape(op2, 2, H, W));
    PetscCall(DpsH5Open(PETSC_COMM_SELF, fname, PETSC_FALSE, &f));
    PetscCall(DpsOperatorLoad(op2, f, fname));
    PetscCall(DpsH5Close(&f));
    PetscCall(PetscMalloc4(1600, &D1, 1600, &DT, 1600, &D2, 1600, &DT2));
    PetscCall(Dense(op, 40, 40, D1, DT));
    PetscCall(Dense(op2, 40, 40, D2, DT2));
    for (PetscInt e = 0; e < 1600; e++) diff += D1[e] != D2[e];
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "inpaint box from the attribute box of a file: %" PetscInt_FMT " mismatches\n", diff));
    DPS_CHECK(diff == 0, "inpaint: the attribute box gives another operator (%" PetscInt_FMT " entries)", diff);
    PetscCall(PetscFree4(D1, DT, D2, DT2));
    PetscCall(DpsOperatorDestroy(&op2));
    PetscCheck(unlink(fname) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot remove %s", fname);
  }
  PetscCall(DpsOperatorDestroy(&op));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsTestRng rng;
  char       fixture[PETSC_MAX_PATH_LEN] = "";
  PetscBool  flg;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-fixture", fixture, sizeof(fixture), &flg));
  PetscCheck(flg, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "give -fixture tests/unit/fixtures/blur_scipy.h5");
  DpsTestRngSeed(&rng, 20250612);
  PetscCall(TestBlurFixtures(fixture, &rng));
  PetscCall(TestBlurDefault(&rng));
  PetscCall(TestSR(&rng));
  PetscCall(TestChain(&rng));
  PetscCall(TestInpaintShared(&rng));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "largest adjoint error over every operator: %.2e\n", worst_adjoint));
  DPS_TEST_END();
}
