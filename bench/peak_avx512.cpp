// Compiled with -mavx512f -mavx2 -mfma only.
#include "peak_fma.h"
#include "peers.h"

namespace bench {
double peak_avx512(int64_t iters) { return peak_loop<xsimd::avx512f>(iters); }
double read_avx512(const float* p, int64_t n) { return read_loop<xsimd::avx512f>(p, n); }
}  // namespace bench
