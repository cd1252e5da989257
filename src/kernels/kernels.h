/*
 * kernels.h - pure numeric functions over float arrays with explicit sizes.
 * They never allocate, never fail and never look at anything but their
 * arguments. Every fast kernel has a naive reference beside it (the _ref
 * functions) that is its documentation and its test oracle.
 */
#ifndef SOMA_KERNELS_H
#define SOMA_KERNELS_H

#include <stddef.h>

/* ---- Matrix product -------------------------------------------------------
 * C = alpha * op(A) . op(B) + beta * C, row-major.
 *   op(A) is [M, K]: A is [M, K] with row stride lda, or with trans_a it is
 *   [K, M] and op(A) = A^T. Likewise op(B) is [K, N]: B is [K, N], or with
 *   trans_b [N, K]. C is [M, N] with row stride ldc.
 * beta == 0 overwrites C without reading it (C may hold NaN).
 *
 * The order of arithmetic is part of the contract, so that every
 * implementation, every instruction set and every thread count gives the
 * same bits: each C[i][j] is one fused multiply-add chain
 *     acc = 0;  for k = 0..K-1: acc = fma(op(A)[i][k], op(B)[k][j], acc)
 * followed by C[i][j] = alpha * acc (+ beta * C[i][j]) with separate
 * multiply and add (alpha * acc is skipped when alpha == 1: it is exact).
 * fma is IEEE-754's fused multiply-add (C99 fmaf), which every platform
 * rounds identically. */
void soma_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc);

/* What a block kernel may do to each element of C as it stores it, after
 * alpha and beta: add the column's bias (v = v + bias[j]; bias NULL: none),
 * then with relu v = v > 0 ? v : 0 (so NaN and -0 become +0, as in
 * soma_act_forward). This is the layer's own arithmetic done while the
 * tile is still in registers, so the bits are those of the separate passes.
 * A NULL epilogue does nothing. */
typedef struct soma_epilogue {
    const float *bias;
    int relu;
} soma_epilogue;

/* The epilogue applied to rows [m0, m1) and columns [n0, n1) of C: the
 * reference for the kernels' fused ones, and the BLAS build's. */
void soma_epilogue_apply(const soma_epilogue *ep, float *C, int ldc, int m0,
                         int m1, int n0, int n1);

/* Workspace floats one call of a blocked kernel needs (see below). */
#define SOMA_GEMM_KC 256
#define SOMA_GEMM_NC 256
#define SOMA_GEMM_WS ((size_t)SOMA_GEMM_KC * SOMA_GEMM_NC)

/* The block [m0, m1) x [n0, n1) of the product above followed by the
 * epilogue ep (may be NULL), same contract and bits; ws holds
 * SOMA_GEMM_WS floats of scratch. Separate blocks may run
 * in parallel on separate workspaces. The portable version is always built;
 * the AVX2+FMA and AVX-512 ones only on x86-64 without SOMA_NO_SIMD, and
 * are used only when soma_cpu_has_avx2_fma() / soma_cpu_has_avx512() say
 * the CPU has them. */
typedef void (*soma_sgemm_block_fn)(int trans_a, int trans_b, int M, int N,
                                    int K, float alpha, const float *A, int lda,
                                    const float *B, int ldb, float beta,
                                    float *C, int ldc, int m0, int m1, int n0,
                                    int n1, float *ws,
                                    const soma_epilogue *ep);
void soma_sgemm_block_portable(int trans_a, int trans_b, int M, int N, int K,
                               float alpha, const float *A, int lda,
                               const float *B, int ldb, float beta, float *C,
                               int ldc, int m0, int m1, int n0, int n1,
                               float *ws, const soma_epilogue *ep);
void soma_sgemm_block_avx2(int trans_a, int trans_b, int M, int N, int K,
                           float alpha, const float *A, int lda, const float *B,
                           int ldb, float beta, float *C, int ldc, int m0,
                           int m1, int n0, int n1, float *ws,
                           const soma_epilogue *ep);
void soma_sgemm_block_avx512(int trans_a, int trans_b, int M, int N, int K,
                             float alpha, const float *A, int lda,
                             const float *B, int ldb, float beta, float *C,
                             int ldc, int m0, int m1, int n0, int n1,
                             float *ws, const soma_epilogue *ep);
int soma_cpu_has_avx2_fma(void);
/* AVX-512F (with AVX2 and FMA, which its kernel also uses), enabled by the
 * OS. */
int soma_cpu_has_avx512(void);

/* The best block kernel for this CPU and build ("avx512", "avx2" or
 * "portable" in *name when name is not NULL). SOMA_KERNEL=avx2 or portable
 * in the environment caps the choice (for comparisons and tests; the bits
 * are the same). */
soma_sgemm_block_fn soma_sgemm_block_best(const char **name);

/* What the choice above rests on: 2 AVX-512, 1 AVX2+FMA, 0 portable. */
int soma_kernel_level(void);

/* Single-threaded soma_sgemm over the whole matrix with the best kernel;
 * ws as above. */
void soma_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc, float *ws);

/* ---- Batch size 1, plain gradient descent --------------------------------
 * One row w [n] of a layer's weight after one example, whose delta for the
 * row is d and whose input is x [n]:
 *     g = fma(d, x[k], 0);  w[k] = w[k] - lr * g      (multiply, subtract)
 * which is, bit for bit, the general path: the matrix kernel's one-term
 * chain for the weight gradient, then soma_opt_update's gradient descent.
 * Returns non-zero when an updated w[k] is NaN or infinite. */
int soma_rank1_gd_ref(float *w, const float *x, size_t n, float d, float lr);
int soma_rank1_gd_avx2(float *w, const float *x, size_t n, float d, float lr);
typedef int (*soma_rank1_gd_fn)(float *w, const float *x, size_t n, float d,
                                float lr);
soma_rank1_gd_fn soma_rank1_gd_best(void);

/* ---- Small batches, plain gradient descent, weight transposed -----------
 * wt holds a layer's weight W [N, K] transposed, wt(k, j) = W[j][k], so
 * that row k is what input k feeds to every unit, in panels of 16 columns:
 * panel p (columns 16p..16p+15) is a [K, 16] row-major block at
 * wt + 16 K p, and
 *     wt(k, j) = wt[16 K (j / 16) + 16 k + j % 16]
 * (a partial last panel keeps its row stride of 16; its missing columns
 * are never read or written). Each panel is contiguous, so code working on
 * separate panels never shares a cache line, even through the prefetcher.
 * SOMA_GDT_FLOATS(K, N) is the size of such an array.
 *
 * soma_gdt_step makes one pass over it that does two things:
 *  1. the gradient-descent update of a batch of nu examples (nu may be 0)
 *     whose inputs are xu [nu, K] and whose deltas are du [nu, N]:
 *         g = 0;  for b = 0..nu-1: g = fma(du[b][j], xu[b][k], g)
 *         wt(k, j) = wt(k, j) - lr * g          (multiply, subtract)
 *     which is, bit for bit, the matrix kernel's chain for the weight
 *     gradient d^T . x followed by soma_opt_update's gradient descent. A
 *     row whose inputs xu[*][k] are all 0 is left as it is: its g is +0
 *     (each fma's zero addend turns a -0 product into +0; du must be
 *     finite), and w - lr * +0 is w;
 *  2. the product of the next batch of nf examples xf [nf, K] (nf may be
 *     0) with the updated weights, the matrix kernel's chains (top):
 *         z[b][j] = 0;  for k = 0..K-1: z[b][j] = fma(xf[b][k], wt(k, j), z[b][j])
 *     into z [nf, N] (no bias and no activation: soma_epilogue_apply does
 *     those).
 * Reading the weights once for both is what makes training a few examples
 * at a time fast: the update and the next product each stream the whole
 * matrix otherwise. With nu = 0 it is a product alone (soma_net_prepare's
 * one-row predict). Returns non-zero when an updated weight is NaN or
 * infinite. */
#define SOMA_GDT_FLOATS(K, N) ((size_t)16 * (size_t)(K) * (((size_t)(N) + 15) / 16))
typedef int (*soma_gdt_step_fn)(float *wt, size_t K, size_t N, size_t nu,
                                const float *du, const float *xu, float lr,
                                size_t nf, const float *xf, float *z);
int soma_gdt_step_ref(float *wt, size_t K, size_t N, size_t nu,
                      const float *du, const float *xu, float lr, size_t nf,
                      const float *xf, float *z);
int soma_gdt_step_avx2(float *wt, size_t K, size_t N, size_t nu,
                       const float *du, const float *xu, float lr, size_t nf,
                       const float *xf, float *z);
int soma_gdt_step_avx512(float *wt, size_t K, size_t N, size_t nu,
                         const float *du, const float *xu, float lr, size_t nf,
                         const float *xf, float *z);
soma_gdt_step_fn soma_gdt_step_best(void);
/* Whether row k of soma_gdt_step's update moves: some input xu[b][k] of
 * its nu examples is not 0. */
static inline int soma_gdt_row_moves(const float *xu, size_t nu, size_t K,
                                     size_t k)
{
    for (size_t b = 0; b < nu; b++)
        if (xu[b * K + k] != 0.0f)
            return 1;
    return 0;
}

/* Whether a weight of columns [0, N) (wt at a panel's start) in a row with
 * some xu[b][k] != 0 (an updated one) is NaN or infinite: the exact check
 * the SIMD kernels fall back on when their cheap one fires. */
int soma_gdt_scan(const float *wt, size_t K, size_t N, size_t nu,
                  const float *xu);
/* For the SIMD kernels: soma_gdt_step as passes of up to 4 products
 * each (bf of them, 1 to 4, and xf NULL for none), the first of which
 * also applies the update. */
typedef int (*soma_gdt_pass_fn)(size_t bf, float *wt, size_t K, size_t N,
                                size_t nu, const float *du, const float *xu,
                                float lr, const float *xf, float *z);
int soma_gdt_passes(soma_gdt_pass_fn pass, float *wt, size_t K, size_t N,
                    size_t nu, const float *du, const float *xu, float lr,
                    size_t nf, const float *xf, float *z);
/* wt [SOMA_GDT_FLOATS(K, N)] from W [N, K] and back. */
void soma_gdt_pack(const float *W, size_t K, size_t N, float *wt);
void soma_gdt_unpack(const float *wt, size_t K, size_t N, float *W);

/* ---- Elementary functions -------------------------------------------------
 * e^x in float, within 2 ulp, defined by float arithmetic only so that it
 * gives the same bits on every IEEE platform (libm's expf need not).
 * Overflows to +inf above 88.72, returns 0 below -87.33 (no subnormals),
 * NaN for NaN. */
float soma_expf(float x);

/* e^x - 1 without cancellation near 0. */
float soma_expm1f(float x);

/* For SIMD kernels that keep small arrays of vectors in registers: the
 * loops over them must unroll completely, or the arrays live in memory. */
#if defined(__clang__)
#define SOMA_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define SOMA_UNROLL _Pragma("GCC unroll 8")
#else
#define SOMA_UNROLL
#endif

#endif /* SOMA_KERNELS_H */
