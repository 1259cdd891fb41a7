// Compiled with -mavx2 -mfma only.
#include "peak_fma.h"
#include "peers.h"

namespace bench {
double peak_avx2(int64_t iters) { return peak_loop<xsimd::fma3<xsimd::avx2>>(iters); }
}  // namespace bench
