/*
 * sgemm.c - single-precision matrix product: the naive reference, the
 * portable block kernel and the choice of kernel for this CPU.
 *
 * Every version keeps the order of kernels.h: per output element one fused
 * multiply-add chain over k in increasing order. The portable kernel keeps
 * it by making k the inner loop of independent chains; compilers turn fmaf
 * into one instruction where the target has FMA (aarch64, or x86-64 with
 * -mfma) and into a correctly rounded library call elsewhere.
 */
#include "kernels.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static float at(const float *m, int ld, int trans, int r, int c)
{
    return trans ? m[(size_t)c * ld + r] : m[(size_t)r * ld + c];
}

static void store(float *c, float acc, float alpha, float beta)
{
    float v = alpha == 1.0f ? acc : alpha * acc;
    if (beta != 0.0f) {
        float old = beta * *c;
        v = v + old;
    }
    *c = v;
}

void soma_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++)
                acc = fmaf(at(A, lda, trans_a, i, k), at(B, ldb, trans_b, k, j),
                           acc);
            store(&C[(size_t)i * ldc + j], acc, alpha, beta);
        }
}

void soma_epilogue_apply(const soma_epilogue *ep, float *C, int ldc, int m0,
                         int m1, int n0, int n1)
{
    if (!ep || (!ep->bias && !ep->relu))
        return;
    for (int i = m0; i < m1; i++) {
        float *c = C + (size_t)i * ldc;
        for (int j = n0; j < n1; j++) {
            float v = c[j];
            if (ep->bias)
                v = v + ep->bias[j];
            if (ep->relu)
                v = v > 0.0f ? v : 0.0f;
            c[j] = v;
        }
    }
}

/* Columns per pass of the portable kernel: one row of accumulators. */
#define PW 64

void soma_sgemm_block_portable(int trans_a, int trans_b, int M, int N, int K,
                               float alpha, const float *A, int lda,
                               const float *B, int ldb, float beta, float *C,
                               int ldc, int m0, int m1, int n0, int n1,
                               float *ws, const soma_epilogue *ep)
{
    (void)M;
    (void)N;
    (void)ws;
    float acc[PW];
    for (int i = m0; i < m1; i++)
        for (int j0 = n0; j0 < n1; j0 += PW) {
            int n = n1 - j0 < PW ? n1 - j0 : PW;
            for (int j = 0; j < n; j++)
                acc[j] = 0.0f;
            if (!trans_b) {
                /* C[i, j0..] += A[i,k] * B[k, j0..]: rows of B stream */
                for (int k = 0; k < K; k++) {
                    float a = at(A, lda, trans_a, i, k);
                    const float *b = B + (size_t)k * ldb + j0;
                    for (int j = 0; j < n; j++)
                        acc[j] = fmaf(a, b[j], acc[j]);
                }
            } else {
                /* each output is a dot product of two contiguous rows */
                for (int j = 0; j < n; j++) {
                    const float *b = B + (size_t)(j0 + j) * ldb;
                    float s = 0.0f;
                    for (int k = 0; k < K; k++)
                        s = fmaf(at(A, lda, trans_a, i, k), b[k], s);
                    acc[j] = s;
                }
            }
            float *c = C + (size_t)i * ldc + j0;
            for (int j = 0; j < n; j++)
                store(&c[j], acc[j], alpha, beta);
            soma_epilogue_apply(ep, C, ldc, i, i + 1, j0, j0 + n);
        }
}

#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)
int soma_cpu_has_avx2_fma(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
int soma_cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return soma_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
}
#else
int soma_cpu_has_avx2_fma(void)
{
    return 0;
}
int soma_cpu_has_avx512(void)
{
    return 0;
}
#endif

#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)
int soma_kernel_level(void)
{
    static atomic_int level = -1;
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    if (l < 0) {
        const char *cap = getenv("SOMA_KERNEL");
        l = soma_cpu_has_avx512() ? 2 : soma_cpu_has_avx2_fma() ? 1 : 0;
        if (cap && strcmp(cap, "avx2") == 0 && l > 1)
            l = 1;
        else if (cap && strcmp(cap, "portable") == 0)
            l = 0;
        /* racing threads store the same value */
        atomic_store_explicit(&level, l, memory_order_relaxed);
    }
    return l;
}
#else
int soma_kernel_level(void)
{
    return 0;
}
#endif

soma_sgemm_block_fn soma_sgemm_block_best(const char **name)
{
#if defined(__x86_64__) && !defined(SOMA_NO_SIMD)
    int l = soma_kernel_level();
    if (l == 2) {
        if (name)
            *name = "avx512";
        return soma_sgemm_block_avx512;
    }
    if (l == 1) {
        if (name)
            *name = "avx2";
        return soma_sgemm_block_avx2;
    }
#endif
    if (name)
        *name = "portable";
    return soma_sgemm_block_portable;
}

void soma_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc, float *ws)
{
    soma_sgemm_block_fn fn = soma_sgemm_block_best(NULL);
    fn(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 0, M, 0,
       N, ws, NULL);
}
