// CPU checks for the FMA-peak rows (baseline flags).
#include "peers.h"

namespace bench {
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool cpu_has_avx512() { return __builtin_cpu_supports("avx512f"); }
}  // namespace bench
