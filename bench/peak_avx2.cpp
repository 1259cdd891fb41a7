// Compiled with -mavx2 -mfma only.
#include "peak_fma.h"
#include "peers.h"

namespace bench {
double peak_avx2(int64_t iters) { return peak_loop<xsimd::fma3<xsimd::avx2>>(iters); }
double read_avx2(const float* p, int64_t n) { return read_loop<xsimd::fma3<xsimd::avx2>>(p, n); }
}  // namespace bench
