#include "gemm/gemm.h"

namespace mote::gemm {

void run(const GemmProblem& p, float* scratch, std::size_t scratch_floats) {
  (void)scratch;
  (void)scratch_floats;
  kernels::gemm_ref(p);
}

const char* active_isa() { return "scalar"; }

}  // namespace mote::gemm
