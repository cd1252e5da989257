/*
 * kernels.h - pure numeric functions over float arrays with explicit sizes.
 * They never allocate, never fail and never look at anything but their
 * arguments. Every fast kernel has a naive reference beside it (the _ref
 * functions) that is its documentation and its test oracle.
 */
#ifndef SOMA_KERNELS_H
#define SOMA_KERNELS_H

#include <stddef.h>

/* C = alpha * op(A) . op(B) + beta * C, row-major.
 *   op(A) is [M, K]: A is [M, K] with row stride lda, or with trans_a it is
 *   [K, M] and op(A) = A^T. Likewise op(B) is [K, N]: B is [K, N], or with
 *   trans_b [N, K]. C is [M, N] with row stride ldc.
 * beta == 0 overwrites C without reading it (C may hold NaN).
 * Every C[i][j] is accumulated over k = 0..K-1 in increasing order with one
 * float accumulator and separate multiply and add (no FMA contraction), so
 * soma_sgemm and soma_sgemm_ref give the same bits. */
void soma_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc);

/* The fast path, same contract and same bits as soma_sgemm_ref. */
void soma_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc);

/* e^x in float, within 2 ulp, defined by float arithmetic only so that it
 * gives the same bits on every IEEE platform (libm's expf need not).
 * Overflows to +inf above 88.72, returns 0 below -87.33 (no subnormals),
 * NaN for NaN. */
float soma_expf(float x);

/* e^x - 1 without cancellation near 0. */
float soma_expm1f(float x);

#endif /* SOMA_KERNELS_H */
