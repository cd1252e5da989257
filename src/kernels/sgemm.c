/*
 * sgemm.c - single-precision matrix product, naive reference and the
 * portable fast path.
 *
 * Determinism contract (kernels.h): every C[i][j] is the sum over k in
 * increasing order, one float accumulator, multiply then add. The fast path
 * keeps that order by making k the outer loop and streaming whole rows of C
 * ("axpy form": C[i,:] += A[i,k] * B[k,:]), which the compiler vectorises
 * over j without reassociating anything. Transposed operands are handled by
 * choosing the loop nest, never by reordering a sum.
 */
#include "kernels.h"

static float at(const float *m, int ld, int trans, int r, int c)
{
    return trans ? m[(size_t)c * ld + r] : m[(size_t)r * ld + c];
}

void soma_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) {
                float prod = at(A, lda, trans_a, i, k) * at(B, ldb, trans_b, k, j);
                acc = acc + prod;
            }
            float *c = &C[(size_t)i * ldc + j];
            if (beta == 0.0f)
                *c = alpha * acc;
            else
                *c = alpha * acc + beta * *c;
        }
    }
}

/* Rows of C are produced in blocks of this many columns so the accumulator
 * row stays in L1. */
#define NB 256

/* acc[0..n) = sum_k op(A)[i,k] * B[k, j0..j0+n) for non-transposed B. */
static void row_axpy(const float *A, int lda, int trans_a, int i, int K,
                     const float *B, int ldb, int j0, int n, float *acc)
{
    for (int j = 0; j < n; j++)
        acc[j] = 0.0f;
    for (int k = 0; k < K; k++) {
        float a = at(A, lda, trans_a, i, k);
        const float *b = B + (size_t)k * ldb + j0;
        for (int j = 0; j < n; j++) {
            float prod = a * b[j];
            acc[j] = acc[j] + prod;
        }
    }
}

/* acc[0..n) = sum_k op(A)[i,k] * B[j0+j, k] for transposed B ([N, K]):
 * each output is a dot product of two contiguous rows. Several outputs are
 * computed together, each with its own accumulator, so the k order of each
 * stays sequential. */
static void row_dot(const float *A, int lda, int trans_a, int i, int K,
                    const float *B, int ldb, int j0, int n, float *acc)
{
    int j = 0;
    if (!trans_a) {
        const float *a = A + (size_t)i * lda;
        for (; j + 4 <= n; j += 4) {
            const float *b0 = B + (size_t)(j0 + j) * ldb;
            const float *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
            for (int k = 0; k < K; k++) {
                float p0 = a[k] * b0[k], p1 = a[k] * b1[k];
                float p2 = a[k] * b2[k], p3 = a[k] * b3[k];
                s0 = s0 + p0;
                s1 = s1 + p1;
                s2 = s2 + p2;
                s3 = s3 + p3;
            }
            acc[j] = s0;
            acc[j + 1] = s1;
            acc[j + 2] = s2;
            acc[j + 3] = s3;
        }
    }
    for (; j < n; j++) {
        const float *b = B + (size_t)(j0 + j) * ldb;
        float s = 0.0f;
        for (int k = 0; k < K; k++) {
            float prod = at(A, lda, trans_a, i, k) * b[k];
            s = s + prod;
        }
        acc[j] = s;
    }
}

void soma_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc)
{
    float acc[NB];
    for (int i = 0; i < M; i++) {
        for (int j0 = 0; j0 < N; j0 += NB) {
            int n = N - j0 < NB ? N - j0 : NB;
            if (trans_b)
                row_dot(A, lda, trans_a, i, K, B, ldb, j0, n, acc);
            else
                row_axpy(A, lda, trans_a, i, K, B, ldb, j0, n, acc);
            float *c = C + (size_t)i * ldc + j0;
            if (beta == 0.0f) {
                for (int j = 0; j < n; j++)
                    c[j] = alpha * acc[j];
            } else {
                for (int j = 0; j < n; j++)
                    c[j] = alpha * acc[j] + beta * c[j];
            }
        }
    }
}
