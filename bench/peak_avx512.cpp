// Compiled with -mavx512f -mavx2 -mfma only.
#include "peak_fma.h"
#include "peers.h"

namespace bench {
double peak_avx512(int64_t iters) { return peak_loop<xsimd::avx512f>(iters); }
}  // namespace bench
