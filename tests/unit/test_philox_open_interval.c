/* unit_philox_open_interval: DpsUniformFromBits promises a uniform on the OPEN interval (0, 1) (philox.h), so that
   log(u) and u < c comparisons never see an endpoint. Check the extreme words exactly, and the words whose top 53
   bits are all one. Kept apart from unit_philox so that a failure here names
   itself. */
#include <dpsolve/dpsolve.h>
#include "unittest.h"

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  {
    double lo = DpsUniformFromBits(0u, 0u), hi = DpsUniformFromBits(0xffffffffu, 0xffffffffu);
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "DpsUniformFromBits: all-zero bits -> %.17g, all-one bits -> %.17g (1 - %.3e)\n", lo, hi, 1.0 - hi));
    DPS_CHECK(lo > 0.0, "all-zero bits give %g: not inside (0, 1)", lo);
    DPS_CHECK(hi < 1.0, "all-one bits give %.17g: not inside (0, 1)", hi);
    /* the top 53 bits all one: the largest value must still lie below 1 */
    for (uint32_t lo32 = 0xfffff800u; lo32 != 0u; lo32 += 0x100u) {
      double v = DpsUniformFromBits(0xffffffffu, lo32);
      DPS_CHECK(v < 1.0, "bits 0xffffffff %08x give %.17g: not inside (0, 1)", lo32, v);
    }
  }
  DPS_TEST_END();
}
