/* Philox4x32-10 (include/dpsolve/philox.h) is one header for host and device: on a GPU the kernel below must give
   the host's words bit for bit, and the host's normals to rounding (libm and CUDA's log/sincos may differ in the
   last bits). Exits 77 (skipped) where there is no CUDA device. */
#include <cstdio>
#include <cmath>
#include <cuda_runtime.h>
#include <dpsolve/philox.h>

#define NB 4096

__global__ void PhiloxKernel(uint64_t seed, uint32_t input, uint32_t draw, uint32_t step, uint32_t stream, uint32_t *words, double *normals)
{
  int      b = blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t key[2], ctr[4];
  if (b >= NB) return;
  DpsPhiloxKey(seed, key);
  DpsPhiloxCounter(input, draw, step, stream, (uint64_t)b, ctr);
  DpsPhilox4x32_10(ctr, key, words + 4 * b);
  DpsNormalPairFromWords(words + 4 * b, normals + 2 * b);
}

int main()
{
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  uint32_t *dw, hw[4 * NB];
  double   *dn, hn[2 * NB], worst = 0.0;
  int       mismatches = 0;
  cudaMalloc(&dw, sizeof(hw));
  cudaMalloc(&dn, sizeof(hn));
  PhiloxKernel<<<(NB + 127) / 128, 128>>>(0x0123456789abcdefull, 42, 3, 7, 4, dw, dn);
  if (cudaMemcpy(hw, dw, sizeof(hw), cudaMemcpyDeviceToHost) != cudaSuccess || cudaMemcpy(hn, dn, sizeof(hn), cudaMemcpyDeviceToHost) != cudaSuccess) {
    printf("CUDA error: %s\n", cudaGetErrorString(cudaGetLastError()));
    return 1;
  }
  for (int b = 0; b < NB; b++) {
    uint32_t key[2], ctr[4], w[4];
    double   n[2];
    DpsPhiloxKey(0x0123456789abcdefull, key);
    DpsPhiloxCounter(42, 3, 7, 4, (uint64_t)b, ctr);
    DpsPhilox4x32_10(ctr, key, w);
    DpsNormalPairFromWords(w, n);
    for (int j = 0; j < 4; j++) mismatches += w[j] != hw[4 * b + j];
    for (int j = 0; j < 2; j++) worst = fmax(worst, fabs(n[j] - hn[2 * b + j]) / fmax(1.0, fabs(n[j])));
  }
  printf("philox on the device: %d word mismatches of %d; normals max relative difference %.2e\n", mismatches, 4 * NB, worst);
  cudaFree(dw);
  cudaFree(dn);
  return mismatches == 0 && worst < 1e-14 ? 0 : 1;
}
