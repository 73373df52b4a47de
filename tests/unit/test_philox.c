/* unit_philox: the counter-based generator of methods.md section 9.
   - DpsPhilox4x32_10 (Random123's philox4x32_R(10, ...) since dpsolve stopped hand-writing it) against known-answer
     vectors: the three "philox4x32 10" lines of Random123's published kat_vectors (D. E. Shaw Research,
     Random123 1.14, tests/kat_vectors, github.com/DEShawResearch/random123; the Debian package ships only the
     headers), and three more produced by an independent implementation (randomgen 2.5.1,
     Philox(number=4, width=32), whose counter is incremented before each block, so it was started one below the
     counter shown here).
   - The streams' bits pinned: a hash of the bit patterns of 2^18 uniforms over 64 addresses (every field of the
     counter and key, their extreme values included) equals the hash that dpsolve's former hand-written Philox
     gave, so every existing output (simulated problems, samples, checkpoints) keeps its bits. Uniforms, not
     normals: their bits are integer arithmetic and one exact scaling, independent of libm.
   - DpsRandomNormals / DpsRandomUniforms: one known answer (the Philox words of the documented counter layout,
     turned into doubles and Box-Muller normals in Python from randomgen's words), the prefix property (element e
     does not depend on n), distinct addresses give distinct numbers, and the statistics of 10^6 draws
     (moments within 5 standard errors, Kolmogorov-Smirnov at the 0.1% level). */
#include <dpsolve/dpsolve.h>
#include "unittest.h"
#include <inttypes.h>
#include <string.h>

typedef struct {
  uint32_t ctr[4], key[2], out[4];
  const char *source;
} Kat;

static const Kat kats[] = {
  {{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}, {0x00000000u, 0x00000000u}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}, "Random123 tests/kat_vectors"},
  {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}, {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}, "Random123 tests/kat_vectors"},
  {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}, {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}, "Random123 tests/kat_vectors"},
  {{0x00000001u, 0x00000002u, 0x00000003u, 0x00000004u}, {0x00000005u, 0x00000006u}, {0xc0c839bcu, 0x889c87c5u, 0x61986739u, 0x2d4623d0u}, "randomgen"},
  {{0xdeadbeefu, 0x00000000u, 0x00000007u, 0x80000000u}, {0x12345678u, 0x9abcdef0u}, {0xae27ae6au, 0x4370db4cu, 0xeefab00au, 0x6c189aebu}, "randomgen"},
  {{0x00000011u, 0x00000000u, 0x00000304u, 0x0000002au}, {0x075bcd15u, 0x00000000u}, {0x49f83840u, 0x47a5de66u, 0x6f144d25u, 0x1a3313f9u}, "randomgen"},
};

/* sqrt(n) times the Kolmogorov-Smirnov statistic of the sorted sample x against the CDF F */
static double KSStatistic(PetscInt n, const PetscReal x[], double (*F)(double))
{
  double D = 0.0;
  for (PetscInt i = 0; i < n; i++) {
    double f = F(x[i]);
    D        = PetscMax(D, PetscMax(f - (double)i / n, (double)(i + 1) / n - f));
  }
  return sqrt((double)n) * D;
}

static double UniformCDF(double x) { return x; }
static double NormalCDF(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* mean, variance, skewness and kurtosis of n draws of N(0, 1), each against 5 standard errors */
static PetscErrorCode CheckNormalMoments(const char *what, PetscInt n, const PetscReal x[])
{
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0, var, skew, kurt;
  double se_mean = 1.0 / sqrt((double)n), se_var = sqrt(2.0 / n), se_skew = sqrt(6.0 / n), se_kurt = sqrt(24.0 / n);

  PetscFunctionBegin;
  for (PetscInt i = 0; i < n; i++) m1 += x[i];
  m1 /= n;
  for (PetscInt i = 0; i < n; i++) {
    double c = x[i] - m1, c2 = c * c;
    m2 += c2;
    m3 += c2 * c;
    m4 += c2 * c2;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  var  = m2;
  skew = m3 / pow(m2, 1.5);
  kurt = m4 / (m2 * m2);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s, n = %" PetscInt_FMT ": mean %+.2e (%.2f SE), variance %.5f (%.2f SE), skewness %+.2e (%.2f SE), kurtosis %.4f (%.2f SE)\n", what, n, m1, m1 / se_mean, var, (var - 1) / se_var, skew, skew / se_skew, kurt,
                        (kurt - 3) / se_kurt));
  DPS_CHECK(fabs(m1) < 5 * se_mean, "%s: mean %g is more than 5 standard errors (%g) from 0", what, m1, se_mean);
  DPS_CHECK(fabs(var - 1) < 5 * se_var, "%s: variance %g is more than 5 standard errors (%g) from 1", what, var, se_var);
  DPS_CHECK(fabs(skew) < 5 * se_skew, "%s: skewness %g is more than 5 standard errors (%g) from 0", what, skew, se_skew);
  DPS_CHECK(fabs(kurt - 3) < 5 * se_kurt, "%s: kurtosis %g is more than 5 standard errors (%g) from 3", what, kurt, se_kurt);
  PetscFunctionReturn(0);
}

/* correlation of x[i] and x[i + lag] over i, against 5 standard errors of 0 */
static PetscErrorCode CheckLagCorrelation(const char *what, PetscInt n, const PetscReal x[], PetscInt lag, PetscInt stride)
{
  double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0, corr, se;
  PetscInt cnt = 0;

  PetscFunctionBegin;
  for (PetscInt i = 0; i + lag < n; i += stride, cnt++) {
    sx += x[i];
    sy += x[i + lag];
    sxx += x[i] * x[i];
    syy += x[i + lag] * x[i + lag];
    sxy += x[i] * x[i + lag];
  }
  sx /= cnt;
  sy /= cnt;
  corr = (sxy / cnt - sx * sy) / sqrt((sxx / cnt - sx * sx) * (syy / cnt - sy * sy));
  se   = 1.0 / sqrt((double)cnt);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: correlation of x[i], x[i+%" PetscInt_FMT "] over %" PetscInt_FMT " pairs %+.2e (%.2f SE)\n", what, lag, cnt, corr, corr / se));
  DPS_CHECK(fabs(corr) < 5 * se, "%s: lag-%" PetscInt_FMT " correlation %g is more than 5 standard errors (%g) from 0", what, lag, corr, se);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt   N = 1000000;
  PetscReal       *x, *u, a5[5], a1[1], a999[999], *big, *bigu;
  DpsRandomAddress base = {0x0123456789abcdefLL, 42, 3, 7, DPS_STREAM_BRIDGE};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));

  /* 1. Philox4x32-10 known answers */
  for (size_t c = 0; c < sizeof(kats) / sizeof(kats[0]); c++) {
    uint32_t out[4];
    DpsPhilox4x32_10(kats[c].ctr, kats[c].key, out);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "philox4x32-10 ctr %08x %08x %08x %08x key %08x %08x -> %08x %08x %08x %08x (expected %08x %08x %08x %08x, %s)\n", kats[c].ctr[0], kats[c].ctr[1], kats[c].ctr[2], kats[c].ctr[3], kats[c].key[0], kats[c].key[1], out[0], out[1], out[2],
                          out[3], kats[c].out[0], kats[c].out[1], kats[c].out[2], kats[c].out[3], kats[c].source));
    for (int j = 0; j < 4; j++) DPS_CHECK(out[j] == kats[c].out[j], "known-answer vector %d word %d: got 0x%08x, expected 0x%08x", (int)c, j, out[j], kats[c].out[j]);
  }

  /* 1b. The streams' bits, pinned to the former implementation: FNV-1a (64-bit) over the 8 bytes of each of 4096
     uniforms of 64 addresses. The expected hash was computed with the hand-written Philox4x32-10 that
     include/dpsolve/philox.h had before it used Random123 (commit 09f349f). */
  {
    const uint64_t expected = 0x51fc432656808b1bull;
    uint64_t       hash     = 0xcbf29ce484222325ull;
    PetscReal      v[4096];
    for (int a = 0; a < 64; a++) {
      DpsRandomAddress addr;
      addr.seed   = (PetscInt64)((a & 1 ? 0xfedcba9876543210ull : 0x0000000100000001ull) * (uint64_t)(a + 1) & 0x7fffffffffffffffull);
      addr.input  = a & 2 ? 2147483647 - a : a;
      addr.draw   = a & 4 ? (1 << 24) - 1 - a : a / 8;
      addr.step   = a & 8 ? 2147483647 - a : 1000 - a;
      addr.stream = a & 16 ? DPS_STREAM_PROBLEM : (a & 32 ? DPS_STREAM_BRIDGE : DPS_STREAM_INIT);
      PetscCall(DpsRandomUniformsAt(addr, (PetscInt64)a * 1000003, 4096, v));
      for (int i = 0; i < 4096; i++) {
        uint64_t bits;
        memcpy(&bits, &v[i], sizeof(bits));
        for (int byte = 0; byte < 8; byte++) hash = (hash ^ ((bits >> (8 * byte)) & 0xffu)) * 0x100000001b3ull;
      }
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "streams' bits: FNV-1a of 64 x 4096 uniforms %016" PRIx64 " (former hand-written Philox: %016" PRIx64 ")\n", hash, expected));
    DPS_CHECK(hash == expected, "the uniforms' bits changed: hash %016" PRIx64 ", expected %016" PRIx64 " (the former implementation's)", hash, expected);
  }

  /* 2. Known answer for the streams: seed 0x0123456789abcdef, input 42, draw 3, step 7, stream 4 (bridge).
     Elements 0, 1 come from counter {0, 7, (3 << 8) | 4, 42}, elements 34, 35 from counter {17, 7, ...}; key
     {0x89abcdef, 0x01234567}. Expected doubles computed in Python from randomgen's Philox words. */
  {
    const double expu[4] = {0.910137420035743, 0.2573621886571152, 0.8949008574930482, 0.4580754284858272};
    const double expn[4] = {-0.020066859031716504, 0.43349357648821146, -0.4550026193409774, 0.12270818057778994};
    PetscReal    v[36], w[36];
    const int    idx[4] = {0, 1, 34, 35};
    double       err = 0.0;

    PetscCall(DpsRandomUniforms(base, 36, v));
    PetscCall(DpsRandomNormals(base, 36, w));
    for (int j = 0; j < 4; j++) {
      err = PetscMax(err, PetscMax(fabs(v[idx[j]] - expu[j]), fabs(w[idx[j]] - expn[j])));
      DPS_CHECK(fabs(v[idx[j]] - expu[j]) <= 1e-15, "uniform element %d: %.17g, expected %.17g", idx[j], v[idx[j]], expu[j]);
      DPS_CHECK(fabs(w[idx[j]] - expn[j]) <= 1e-14, "normal element %d: %.17g, expected %.17g", idx[j], w[idx[j]], expn[j]);
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "stream known answers (elements 0, 1, 34, 35): max |error| %.2e\n", err));
  }

  PetscCall(PetscMalloc4(N, &x, N, &u, N, &big, N, &bigu));

  /* 3. prefix property: element e is the same whatever n */
  PetscCall(DpsRandomNormals(base, 1000, big));
  PetscCall(DpsRandomNormals(base, 5, a5));
  PetscCall(DpsRandomNormals(base, 1, a1));
  PetscCall(DpsRandomNormals(base, 999, a999));
  for (int e = 0; e < 5; e++) DPS_CHECK(a5[e] == big[e], "normals: element %d differs between n = 5 (%.17g) and n = 1000 (%.17g)", e, a5[e], big[e]);
  DPS_CHECK(a1[0] == big[0], "normals: element 0 differs between n = 1 and n = 1000");
  for (int e = 0; e < 999; e++) DPS_CHECK(a999[e] == big[e], "normals: element %d differs between n = 999 and n = 1000", e);
  PetscCall(DpsRandomUniforms(base, 1000, bigu));
  PetscCall(DpsRandomUniforms(base, 5, a5));
  PetscCall(DpsRandomUniforms(base, 999, a999));
  for (int e = 0; e < 5; e++) DPS_CHECK(a5[e] == bigu[e], "uniforms: element %d differs between n = 5 and n = 1000", e);
  for (int e = 0; e < 999; e++) DPS_CHECK(a999[e] == bigu[e], "uniforms: element %d differs between n = 999 and n = 1000", e);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "prefix property: n = 1, 5, 999 agree bitwise with n = 1000 (normals and uniforms)\n"));

  /* 4. every field of the address matters: no value of one stream appears anywhere in another */
  {
    enum { NA = 9, L = 64 };
    DpsRandomAddress addr[NA];
    PetscReal        val[NA][L];
    const char      *name[NA] = {"base", "seed+1", "seed+2^32", "input+1", "draw+1", "step+1", "stream", "draw 2^23", "input 2^31-1"};
    PetscInt         collisions = 0;
    for (int a = 0; a < NA; a++) addr[a] = base;
    addr[1].seed += 1;
    addr[2].seed += (PetscInt64)1 << 32;
    addr[3].input += 1;
    addr[4].draw += 1;
    addr[5].step += 1;
    addr[6].stream = DPS_STREAM_PRIOR_NOISE;
    addr[7].draw   = 1 << 23;
    addr[8].input  = 2147483647;
    for (int a = 0; a < NA; a++) PetscCall(DpsRandomNormals(addr[a], L, val[a]));
    for (int a = 0; a < NA; a++)
      for (int b = a + 1; b < NA; b++)
        for (int i = 0; i < L; i++)
          for (int j = 0; j < L; j++)
            if (val[a][i] == val[b][j]) {
              collisions++;
              DPS_CHECK(PETSC_FALSE, "addresses '%s' and '%s' share a value (elements %d and %d: %.17g)", name[a], name[b], i, j, val[a][i]);
            }
    /* and within one stream no element repeats */
    for (int i = 0; i < L; i++)
      for (int j = i + 1; j < L; j++) DPS_CHECK(val[0][i] != val[0][j], "elements %d and %d of one stream are equal", i, j);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "distinct addresses (seed low/high word, input, draw, step, stream): %" PetscInt_FMT " shared values among %d streams of %d\n", collisions, NA, L));
  }

  /* an address outside the counter's fields is an error, not a silent collision */
  {
    DpsRandomAddress bad = base;
    PetscErrorCode   ierr;
    bad.draw = 1 << 24;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = DpsRandomNormals(bad, 4, a5);
    PetscCall(PetscPopErrorHandler());
    DPS_CHECK(ierr != 0, "draw 2^24 does not fit the counter but was accepted");
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "draw = 2^24 rejected: %s\n", ierr ? "yes" : "no"));
  }

  /* 5. statistics of 10^6 normals: one long stream, and 1000 streams of 1000 (addresses varying draw and input) */
  PetscCall(DpsRandomNormals(base, N, x));
  PetscCall(CheckNormalMoments("normals, one stream", N, x));
  PetscCall(CheckLagCorrelation("normals, one stream (pair partners)", N, x, 1, 2));
  PetscCall(CheckLagCorrelation("normals, one stream (next pair)", N, x, 2, 1));
  for (PetscInt s = 0; s < 1000; s++) {
    DpsRandomAddress a = {7, s % 10, s / 10, 0, DPS_STREAM_INIT};
    PetscCall(DpsRandomNormals(a, 1000, u + s * 1000));
  }
  PetscCall(CheckNormalMoments("normals, 1000 streams", N, u));
  PetscCall(CheckLagCorrelation("normals, same element of neighbouring streams", N, u, 1000, 1));
  PetscCall(PetscSortReal(N, x));
  {
    double ks = KSStatistic(N, x, NormalCDF);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "normals: sqrt(n) KS = %.3f (0.1%% critical value 1.95)\n", ks));
    DPS_CHECK(ks < 1.95, "normals fail Kolmogorov-Smirnov: sqrt(n) D = %g", ks);
  }

  /* 6. uniforms: in the open interval, mean and variance, KS against U(0, 1) */
  PetscCall(DpsRandomUniforms(base, N, u));
  {
    double   m = 0, v = 0, ks, se_m = sqrt(1.0 / 12 / N), se_v = sqrt(1.0 / 180 / N);
    PetscInt outside = 0;
    for (PetscInt i = 0; i < N; i++) {
      outside += !(u[i] > 0.0 && u[i] < 1.0);
      m += u[i];
    }
    m /= N;
    for (PetscInt i = 0; i < N; i++) v += (u[i] - m) * (u[i] - m);
    v /= N;
    PetscCall(CheckLagCorrelation("uniforms (pair partners)", N, u, 1, 2));
    PetscCall(PetscSortReal(N, u));
    ks = KSStatistic(N, u, UniformCDF);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "uniforms, n = %" PetscInt_FMT ": min %.3e, max 1 - %.3e, outside (0,1): %" PetscInt_FMT ", mean %.6f (%.2f SE), variance %.6f (%.2f SE), sqrt(n) KS = %.3f\n", N, u[0], 1.0 - u[N - 1], outside, m, (m - 0.5) / se_m, v,
                          (v - 1.0 / 12) / se_v, ks));
    DPS_CHECK(outside == 0, "%" PetscInt_FMT " uniforms outside the open interval (0, 1)", outside);
    DPS_CHECK(fabs(m - 0.5) < 5 * se_m, "uniform mean %g more than 5 SE from 1/2", m);
    DPS_CHECK(fabs(v - 1.0 / 12) < 5 * se_v, "uniform variance %g more than 5 SE from 1/12", v);
    DPS_CHECK(ks < 1.95, "uniforms fail Kolmogorov-Smirnov: sqrt(n) D = %g", ks);
  }
  PetscCall(PetscFree4(x, u, big, bigu));
  DPS_TEST_END();
}
