/*
 * fma_peak.h - helpers shared by the benchmark programs: a monotonic clock
 * and the machine's measured fused multiply-add peak.
 */
#ifndef SOMA_BENCH_FMA_PEAK_H
#define SOMA_BENCH_FMA_PEAK_H

/* Seconds on the monotonic clock. */
double bench_now(void);

/* Non-zero when the CPU runs AVX-512F. */
int bench_has_avx512(void);

/* Single-precision FMA peak in GFLOP/s (an FMA counts as two operations)
 * of threads threads running register-only FMA chains at once, 256-bit
 * (AVX2+FMA) or, with avx512, 512-bit: the sum over the threads of each
 * one's operations per second of its own CPU time, the best of reps runs.
 * 0 when avx512 is asked for and the CPU lacks it. */
double bench_fma_peak(int threads, int avx512, int reps);

#endif /* SOMA_BENCH_FMA_PEAK_H */
