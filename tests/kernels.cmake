# SIMD kernels against the scalar oracles (issue 3). Every compiled kernel set
# runs; one this CPU lacks is skipped with a visible message. No timings here.
mote_add_test(test_gemm LABELS unit)
mote_add_test(test_simd_math LABELS unit)
mote_add_test(test_gemm_training LABELS unit)
