// mote's GEMM entry point: validates nothing (callers planned the shapes) and
// routes a problem to the kernels chosen for this CPU.
#pragma once
#include <cstddef>

#include "kernels/gemm_problem.h"

namespace mote::gemm {

using kernels::Epilogue;
using kernels::GemmProblem;
using kernels::Op;

// scratch: packing space planned by gemm_scratch_floats() (may be empty).
void run(const GemmProblem& p, float* scratch, std::size_t scratch_floats);

// The name of the kernel set in use ("scalar", "avx2", ...).
const char* active_isa();

}  // namespace mote::gemm
