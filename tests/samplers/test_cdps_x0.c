/* The C-DPS x0 form (-cdps_space x0, methods.md section 3, "x0-space form") against dense linear algebra.
   With a one-component Gaussian prior N(mu, v I) the model's eps is exact and linear in x_t, so
     x0 | x_t ~ N(m_t, v_t I),  v_t = v (1 - abar) / (abar v + 1 - abar),
     m_t = mu + v sqrt(abar) / (abar v + 1 - abar) (x_t - sqrt(abar) mu),
   and each r_t^2 option gives v_t exactly: tweedie (1 - abar) when v = 1, data with s^2 = v, and cadps (the
   finite-difference diagonal of a diagonal Jacobian is exact up to rounding). The step must then draw
     x0 ~ N(mpost, C),  C = (I / v_t + A^T A / sigma_y^2)^{-1},  mpost = C (m_t / v_t + A^T y / sigma_y^2),
   and return x_{t-1} = sqrt(abar_{t-1}) x0 + sqrt(1 - abar_{t-1}) e, e ~ N(0, I). Checked:
   - the last step returns mpost itself (relative error below 1e-7; CG tolerance 1e-10);
   - an interior step's draws have mean sqrt(abar_{t-1}) mpost and covariance abar_{t-1} C + (1 - abar_{t-1}) I
     within 5 Monte Carlo standard errors, every entry;
   - with -cdps_x0_moves 2 at the last step (one Gibbs sweep x_1' | x0, x0 | x_1', y, then the mean) the draws have
     the Gaussian law that composition implies, within 5 standard errors;
   - CG takes at most m + 1 iterations per solve (diagonal plus rank m, kept so by the preconditioner);
   - the x0 form keeps no restart state beyond x_t;
   for an operator solved by plain CG or Jacobi (cs) and one with an exact preconditioner (inpaint). */
#include <dpsolve/dpsolve.h>
#include <petscblaslapack.h>
#include "samplers/samplerimpl.h"
#include "samplertest.h"

#define D 6

/* C = (a I + b A^T A)^{-1} by LAPACK, independently of the MatShell and the CG */
static PetscErrorCode DenseInverse(const PetscReal A[], PetscInt m, PetscReal a, PetscReal b, PetscReal inv[])
{
  PetscBLASInt bn = D, info;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < D; i++)
    for (PetscInt j = 0; j < D; j++) {
      PetscReal s = 0.0;
      for (PetscInt l = 0; l < m; l++) s += A[l * D + i] * A[l * D + j];
      inv[i * D + j] = b * s + (i == j ? a : 0.0);
    }
  PetscCallBLAS("LAPACKpotrf", LAPACKpotrf_("L", &bn, inv, &bn, &info));
  PetscCheck(!info, PETSC_COMM_SELF, PETSC_ERR_LIB, "potrf %d", (int)info);
  PetscCallBLAS("LAPACKpotri", LAPACKpotri_("L", &bn, inv, &bn, &info));
  PetscCheck(!info, PETSC_COMM_SELF, PETSC_ERR_LIB, "potri %d", (int)info);
  for (PetscInt i = 0; i < D; i++)
    for (PetscInt j = i + 1; j < D; j++) inv[j * D + i] = inv[i * D + j];
  PetscFunctionReturn(0);
}

/* one step i of the x0 form from x_t (the same in every row) with S draws; x [S x D] */
static PetscErrorCode Step(DpsScore prior, DpsOperator op, PetscReal sigma_y, const char *options, PetscInt i, PetscInt S, const PetscReal xt[], const PetscReal y[], PetscReal x[], DpsStep *st, PetscInt *statesize, PetscReal *its)
{
  DpsSampler      s;
  DpsSchedule     sch;
  DpsSamplerStats stats;
  PetscInt        index = 0;

  PetscFunctionBegin;
  PetscCall(DpsTestMakeSampler(prior, op, sigma_y, 20, S, 7, NULL, options, &s));
  PetscCall(DpsSamplerBegin(s, 1, &index, y, x));
  for (PetscInt k = 0; k < S; k++) PetscCall(PetscArraycpy(x + k * D, xt, D));
  PetscCall(DpsSamplerStep(s, i, 1, &index, y, x));
  PetscCall(DpsSamplerGetStateSize(s, statesize));
  PetscCall(DpsSamplerGetStats(s, &stats));
  *its = (PetscReal)stats.cg_iterations / (PetscReal)stats.solves;
  sch = s->schedule;
  PetscCall(DpsScheduleGetStep(sch, i, st));
  PetscCall(DpsSamplerDestroy(&s));
  PetscFunctionReturn(0);
}

static PetscErrorCode Check(DpsOperator op, const PetscReal Adense[], PetscInt m, PetscReal v, const char *options, const char *name)
{
  const PetscInt  S = 20000;
  const PetscReal sigma_y = 0.3, mu[D] = {0.5, -1.0, 0.0, 2.0, 1.0, -0.5}, xt[D] = {0.3, -0.2, 1.1, 0.4, -0.9, 0.6}, w = 1.0;
  PetscReal       y[D], C[D * D], mpost[D], rhs[D], *x, merr = 0.0, zmax = 0.0, its;
  DpsScore        prior;
  DpsStep         st;
  PetscInt        statesize;
  char            opts[256], optsm[256];

  PetscFunctionBegin;
  for (PetscInt l = 0; l < m; l++) y[l] = 0.7 - 0.4 * l;
  PetscCall(DpsScoreCreate(PETSC_COMM_SELF, &prior));
  PetscCall(DpsScoreSetType(prior, DPSSCOREGMM));
  PetscCall(DpsScoreGMMSetPrior(prior, 1, D, &w, mu, &v));
  PetscCall(PetscMalloc1(S * D, &x));
  PetscCall(PetscSNPrintf(opts, sizeof(opts), "-sampler_type cdps -cdps_space x0 %s", options));
  PetscCall(PetscSNPrintf(optsm, sizeof(optsm), "%s -cdps_x0_moves 2", opts));
  for (PetscInt pass = 0; pass < 3; pass++) { /* the last step's mean; an interior step; the last step with 2 moves */
    const PetscInt i = pass == 1 ? 10 : 1;
    PetscReal      vt, sc, cov[D * D] = {0}, mean[D] = {0}, K[D * D], V[D * D];
    PetscCall(Step(prior, op, sigma_y, pass == 2 ? optsm : opts, i, pass == 0 ? 1 : S, xt, y, x, &st, &statesize, &its));
    PetscCheck(statesize == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: the x0 form keeps %" PetscInt_FMT " state values per row, expected none", name, statesize);
    /* Lambda = diag(a) + A^T A / sigma_y^2 is "diagonal plus rank m" and preconditioned to keep it so:
       at most m + 1 CG iterations (and 1 with inpainting's exact preconditioner) */
    PetscCheck(its <= m + 1, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: %.2f CG iterations per solve, more than m + 1 = %" PetscInt_FMT, name, (double)its, m + 1);
    vt = v * (1.0 - st.abar) / (st.abar * v + 1.0 - st.abar);
    sc = v * PetscSqrtReal(st.abar) / (st.abar * v + 1.0 - st.abar);
    PetscCall(DenseInverse(Adense, m, 1.0 / vt, 1.0 / (sigma_y * sigma_y), C));
    for (PetscInt e = 0; e < D; e++) {
      rhs[e] = (mu[e] + sc * (xt[e] - PetscSqrtReal(st.abar) * mu[e])) / vt;
      for (PetscInt l = 0; l < m; l++) rhs[e] += Adense[l * D + e] * y[l] / (sigma_y * sigma_y);
    }
    for (PetscInt e = 0; e < D; e++) {
      mpost[e] = 0.0;
      for (PetscInt f = 0; f < D; f++) mpost[e] += C[e * D + f] * rhs[f];
    }
    if (pass == 2) {
      /* two moves at the last step: x' = sqrt(abar) x0 + sqrt(1 - abar) e, x0 ~ N(mpost(x_t), C), then mpost(x'),
         mpost(x) = K x + k0 with K = (sc / v_t) C: mean mpost(sqrt(abar) mpost(x_t)), covariance
         K (abar C + (1 - abar) I) K^T */
      PetscReal xs[D], target[D];
      for (PetscInt e = 0; e < D; e++) xs[e] = PetscSqrtReal(st.abar) * mpost[e];
      for (PetscInt e = 0; e < D; e++) {
        target[e] = (mu[e] + sc * (xs[e] - PetscSqrtReal(st.abar) * mu[e])) / vt;
        for (PetscInt l = 0; l < m; l++) target[e] += Adense[l * D + e] * y[l] / (sigma_y * sigma_y);
      }
      for (PetscInt e = 0; e < D; e++) {
        mpost[e] = 0.0;
        for (PetscInt f = 0; f < D; f++) mpost[e] += C[e * D + f] * target[f];
      }
      for (PetscInt e = 0; e < D; e++)
        for (PetscInt f = 0; f < D; f++) K[e * D + f] = sc / vt * C[e * D + f];
      for (PetscInt e = 0; e < D; e++)
        for (PetscInt f = 0; f < D; f++) {
          V[e * D + f] = 0.0;
          for (PetscInt g = 0; g < D; g++) V[e * D + f] += K[e * D + g] * (st.abar * C[g * D + f] + (g == f ? 1.0 - st.abar : 0.0));
        }
      for (PetscInt e = 0; e < D; e++)
        for (PetscInt f = 0; f < D; f++) {
          C[e * D + f] = 0.0;
          for (PetscInt g = 0; g < D; g++) C[e * D + f] += V[e * D + g] * K[f * D + g];
        }
      /* the comparison below is against sqrt(abar_prev) mpost and abar_prev C + (1 - abar_prev) I: abar_0 = 1 */
    }
    if (pass == 0) {
      for (PetscInt e = 0; e < D; e++) merr = PetscMax(merr, PetscAbsReal(x[e] - mpost[e]) / PetscMax(PetscAbsReal(mpost[e]), 1e-3));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: last step, relative error of the mean against dense algebra %.2e\n", name, (double)merr));
      PetscCheck(merr < 1e-7, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: the last step returned a mean off by %.2e (relative)", name, (double)merr);
      continue;
    }
    /* x_{t-1} ~ N(sqrt(abar') mpost, abar' C + (1 - abar') I) */
    zmax = 0.0;
    for (PetscInt k = 0; k < S; k++)
      for (PetscInt e = 0; e < D; e++) {
        mean[e] += x[k * D + e] / S;
        for (PetscInt f = 0; f < D; f++) cov[e * D + f] += (x[k * D + e] - PetscSqrtReal(st.abar_prev) * mpost[e]) * (x[k * D + f] - PetscSqrtReal(st.abar_prev) * mpost[f]) / S;
      }
    for (PetscInt e = 0; e < D; e++) {
      for (PetscInt f = 0; f < D; f++) C[e * D + f] = st.abar_prev * C[e * D + f] + (e == f ? 1.0 - st.abar_prev : 0.0);
    }
    for (PetscInt e = 0; e < D; e++) {
      zmax = PetscMax(zmax, PetscAbsReal(mean[e] - PetscSqrtReal(st.abar_prev) * mpost[e]) / PetscSqrtReal(C[e * D + e] / S));
      for (PetscInt f = 0; f < D; f++) zmax = PetscMax(zmax, PetscAbsReal(cov[e * D + f] - C[e * D + f]) / PetscSqrtReal((C[e * D + e] * C[f * D + f] + C[e * D + f] * C[e * D + f]) / S));
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: step %" PetscInt_FMT " of 20%s, %" PetscInt_FMT " draws: max |mean, cov - exact| = %.2f standard errors; %.2f CG iterations per solve\n", name, i, pass == 2 ? " with 2 moves" : "", S, (double)zmax, (double)its));
    PetscCheck(zmax < 5.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: the draws differ from the exact Gaussian by %.2f standard errors", name, (double)zmax);
  }
  PetscCall(PetscFree(x));
  PetscCall(DpsScoreDestroy(&prior));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  DpsOperator      cs, inpaint;
  PetscReal        A[3 * D], mask[D] = {1, 0, 1, 1, 0, 1}, Ainp[D * D] = {0};
  DpsRandomAddress ra = {5, 0, 0, 0, DPS_STREAM_PROBLEM};
  const struct {
    PetscReal   v;
    const char *options;
  } cases[] = {
    {1.0, "-cdps_x0_variance tweedie"},
    {2.5, "-cdps_x0_variance data -cdps_x0_data_variance 2.5"},
    {2.5, "-cdps_x0_variance cadps -cdps_x0_probes 1"},
    {1.0, "-cdps_x0_variance tweedie -cdps_solves 2"},
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(DpsRandomNormals(ra, 3 * D, A));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &cs));
  PetscCall(DpsOperatorSetType(cs, DPSOPERATORCS));
  PetscCall(DpsOperatorCSSetMatrix(cs, 3, D, A));
  PetscCall(DpsOperatorCreate(PETSC_COMM_SELF, &inpaint));
  PetscCall(DpsOperatorSetType(inpaint, DPSOPERATORINPAINT));
  PetscCall(DpsOperatorInpaintSetMask(inpaint, D, mask));
  for (PetscInt j = 0; j < D; j++) Ainp[j * D + j] = mask[j];
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char name[160];
    PetscCall(PetscSNPrintf(name, sizeof(name), "cs, prior variance %g, %s", (double)cases[c].v, cases[c].options));
    PetscCall(Check(cs, A, 3, cases[c].v, cases[c].options, name));
    PetscCall(PetscSNPrintf(name, sizeof(name), "inpaint, prior variance %g, %s", (double)cases[c].v, cases[c].options));
    PetscCall(Check(inpaint, Ainp, D, cases[c].v, cases[c].options, name));
  }
  PetscCall(DpsOperatorDestroy(&cs));
  PetscCall(DpsOperatorDestroy(&inpaint));
  PetscCall(PetscFinalize());
  return 0;
}
