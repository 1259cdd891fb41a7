// The kernel sets a test can run here: compiled in and supported by this CPU.
// A set the CPU lacks is named in a visible SKIPPED message, never silently dropped.
#pragma once
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/gemm_kernels.h"

namespace mote::test {

inline std::vector<const kernels::IsaKernels*> testable_kernel_sets() {
  std::vector<const kernels::IsaKernels*> out;
  int count = 0;
  const kernels::IsaKernels* const* sets = kernels::compiled_isas(&count);
  for (int i = 0; i < count; ++i) {
    if (kernels::isa_supported(*sets[i]))
      out.push_back(sets[i]);
    else
      MESSAGE("SKIPPED: kernel set '", std::string(sets[i]->name), "' is compiled in but this CPU lacks it");
  }
  return out;
}

}  // namespace mote::test
