/*
 * fma_peak.c - the machine's fused multiply-add peak, measured: every
 * thread runs independent FMA chains held in registers, enough of them
 * (12) to cover the FMA latency times the number of FMA pipes, so the
 * loop is bound by FMA throughput alone. No memory is touched.
 *
 * Built with -mavx2 -mfma (bench/run.sh); the AVX-512 variant is compiled
 * for AVX-512F by a function attribute and only called when the CPU has it.
 *
 * Each thread divides its operations by its own CPU time (not the wall
 * clock), so other processes sharing the cores do not lower the figure: it
 * is what the cores can do, which is what a fraction of peak should be of.
 */
#include "fma_peak.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Keeps the chains' results alive, so the compiler cannot drop them. */
static volatile float sink;

/* x = x * m + a converges to a / (1 - m), never overflows, never goes
 * subnormal. Returns the floating-point operations done. */
static double fma_chains_avx2(long iters)
{
    __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-3f);
    __m256 x0 = _mm256_set1_ps(1.0f), x1 = _mm256_set1_ps(1.1f);
    __m256 x2 = _mm256_set1_ps(1.2f), x3 = _mm256_set1_ps(1.3f);
    __m256 x4 = _mm256_set1_ps(1.4f), x5 = _mm256_set1_ps(1.5f);
    __m256 x6 = _mm256_set1_ps(1.6f), x7 = _mm256_set1_ps(1.7f);
    __m256 x8 = _mm256_set1_ps(1.8f), x9 = _mm256_set1_ps(1.9f);
    __m256 x10 = _mm256_set1_ps(2.0f), x11 = _mm256_set1_ps(2.1f);
    for (long i = 0; i < iters; i++) {
        x0 = _mm256_fmadd_ps(x0, m, a), x1 = _mm256_fmadd_ps(x1, m, a);
        x2 = _mm256_fmadd_ps(x2, m, a), x3 = _mm256_fmadd_ps(x3, m, a);
        x4 = _mm256_fmadd_ps(x4, m, a), x5 = _mm256_fmadd_ps(x5, m, a);
        x6 = _mm256_fmadd_ps(x6, m, a), x7 = _mm256_fmadd_ps(x7, m, a);
        x8 = _mm256_fmadd_ps(x8, m, a), x9 = _mm256_fmadd_ps(x9, m, a);
        x10 = _mm256_fmadd_ps(x10, m, a), x11 = _mm256_fmadd_ps(x11, m, a);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)),
                             _mm256_add_ps(_mm256_add_ps(x4, x5), _mm256_add_ps(x6, x7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(x8, x9), _mm256_add_ps(x10, x11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    sink = out[0];
    return (double)iters * 12.0 * 8.0 * 2.0;
}

#if defined(__GNUC__) || defined(__clang__)
#define HAVE_AVX512_ATTR 1
__attribute__((target("avx512f"))) static double fma_chains_avx512(long iters)
{
    __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-3f);
    __m512 x0 = _mm512_set1_ps(1.0f), x1 = _mm512_set1_ps(1.1f);
    __m512 x2 = _mm512_set1_ps(1.2f), x3 = _mm512_set1_ps(1.3f);
    __m512 x4 = _mm512_set1_ps(1.4f), x5 = _mm512_set1_ps(1.5f);
    __m512 x6 = _mm512_set1_ps(1.6f), x7 = _mm512_set1_ps(1.7f);
    __m512 x8 = _mm512_set1_ps(1.8f), x9 = _mm512_set1_ps(1.9f);
    __m512 x10 = _mm512_set1_ps(2.0f), x11 = _mm512_set1_ps(2.1f);
    for (long i = 0; i < iters; i++) {
        x0 = _mm512_fmadd_ps(x0, m, a), x1 = _mm512_fmadd_ps(x1, m, a);
        x2 = _mm512_fmadd_ps(x2, m, a), x3 = _mm512_fmadd_ps(x3, m, a);
        x4 = _mm512_fmadd_ps(x4, m, a), x5 = _mm512_fmadd_ps(x5, m, a);
        x6 = _mm512_fmadd_ps(x6, m, a), x7 = _mm512_fmadd_ps(x7, m, a);
        x8 = _mm512_fmadd_ps(x8, m, a), x9 = _mm512_fmadd_ps(x9, m, a);
        x10 = _mm512_fmadd_ps(x10, m, a), x11 = _mm512_fmadd_ps(x11, m, a);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(x0, x1), _mm512_add_ps(x2, x3)),
                             _mm512_add_ps(_mm512_add_ps(x4, x5), _mm512_add_ps(x6, x7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(x8, x9), _mm512_add_ps(x10, x11)));
    sink = _mm512_reduce_add_ps(s);
    return (double)iters * 12.0 * 16.0 * 2.0;
}
#else
#define HAVE_AVX512_ATTR 0
#endif

int bench_has_avx512(void)
{
#if HAVE_AVX512_ATTR
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

typedef struct peak_arg {
    int avx512;
    long iters;
    double gflops; /* operations over this thread's CPU time */
} peak_arg;

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *peak_thread(void *p)
{
    peak_arg *a = p;
    double t0 = thread_cpu_seconds(), flop;
#if HAVE_AVX512_ATTR
    if (a->avx512)
        flop = fma_chains_avx512(a->iters);
    else
#endif
        flop = fma_chains_avx2(a->iters);
    double t = thread_cpu_seconds() - t0;
    a->gflops = t > 0.0 ? flop / t * 1e-9 : 0.0;
    return NULL;
}

double bench_fma_peak(int threads, int avx512, int reps)
{
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    if (avx512 && !bench_has_avx512())
        return 0.0;
    pthread_t tid[64];
    peak_arg args[64];
    double best = 0.0;
    /* about 20 ms per repetition at the peak of a Zen 5 core; the best
     * repetition is the one the rest of the machine disturbed least */
    long iters = 10L * 1000 * 1000 / (avx512 ? 2 : 1);
    for (int r = 0; r < reps; r++) {
        for (int t = 0; t < threads; t++) {
            args[t].avx512 = avx512;
            args[t].iters = iters;
            args[t].gflops = 0.0;
            if (t > 0 && pthread_create(&tid[t], NULL, peak_thread, &args[t]) != 0)
                return 0.0;
        }
        peak_thread(&args[0]);
        double g = args[0].gflops;
        for (int t = 1; t < threads; t++) {
            pthread_join(tid[t], NULL);
            g += args[t].gflops;
        }
        if (g > best)
            best = g;
    }
    return best;
}
