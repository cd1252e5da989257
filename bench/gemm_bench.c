/*
 * gemm_bench.c - SGEMM throughput of soma's threaded kernel and of
 * OpenBLAS's cblas_sgemm, side by side in one process, at the issue's
 * shapes and at the two products that dominate training the 784-128-10
 * network, each as a fraction of the machine's FMA peak measured here.
 *
 *   build/bench/gemm_bench [threads]      (OPENBLAS_NUM_THREADS=threads too)
 *
 * Prints key=value lines:
 *   peak threads=T isa=avx2|avx512 gflops=G
 *   gemm lib=soma|openblas threads=T M= N= K= ta= tb= median_gflops=
 *        best_gflops= frac_avx2= what="..."
 * frac_avx2 is the median over the AVX2 peak of the same thread count (the
 * instruction set soma's kernel uses).
 */
#include "internal.h"
#include "kernels/kernels.h"
#include "fma_peak.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct shape {
    int M, N, K, ta, tb;
    const char *what;
} shape;

#define RUNS 7

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Times one library at one shape: RUNS timed runs of enough calls for
 * about 50 ms each, after one warm-up run. Fills median and best GFLOP/s. */
static void time_gemm(const soma_exec *e, int blas, const shape *sh,
                      const float *A, const float *B, float *C, double *median,
                      double *best)
{
    int lda = sh->ta ? sh->M : sh->K, ldb = sh->tb ? sh->K : sh->N;
    double flop = 2.0 * sh->M * sh->N * sh->K;
    int reps = 1;
    double g[RUNS];
    for (int r = -1; r < RUNS; r++) {
        double t0 = bench_now();
        for (int i = 0; i < reps; i++) {
            if (blas)
                cblas_sgemm(CblasRowMajor, sh->ta ? CblasTrans : CblasNoTrans,
                            sh->tb ? CblasTrans : CblasNoTrans, sh->M, sh->N,
                            sh->K, 1.0f, A, lda, B, ldb, 0.0f, C, sh->N);
            else
                soma_gemm(e, sh->ta, sh->tb, sh->M, sh->N, sh->K, 1.0f, A, lda,
                          B, ldb, 0.0f, C, sh->N, NULL);
        }
        double t = bench_now() - t0;
        if (r < 0) { /* warm-up: size the runs */
            reps = (int)(0.05 / (t > 1e-7 ? t : 1e-7)) + 1;
            continue;
        }
        g[r] = flop * reps / t * 1e-9;
    }
    qsort(g, RUNS, sizeof g[0], cmp_double);
    *median = g[RUNS / 2];
    *best = g[RUNS - 1];
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1)
        threads = 1;
    soma_exec e;
    if (soma_exec_init(&e, threads, NULL) != SOMA_OK)
        return 1;
    openblas_set_num_threads(threads);
    const char *kname;
    soma_sgemm_block_best(&kname);
    printf("info soma_kernel=%s openblas_core=%s openblas_threads=%d\n", kname,
           openblas_get_corename(), openblas_get_num_threads());

    double peak2 = bench_fma_peak(threads, 0, 25);
    printf("peak threads=%d isa=avx2 gflops=%.1f\n", threads, peak2);
    if (bench_has_avx512())
        printf("peak threads=%d isa=avx512 gflops=%.1f\n", threads,
               bench_fma_peak(threads, 1, 25));

    static const shape shapes[] = {
        {64, 128, 784, 0, 0, "(64,128,784)"},
        {256, 256, 784, 0, 0, "(256,256,784)"},
        {1024, 1024, 1024, 0, 0, "(1024,1024,1024)"},
        {64, 128, 784, 0, 1, "train forward X.W^T"},
        {128, 784, 64, 1, 0, "train weight grad dZ^T.X"},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *sh = &shapes[s];
        size_t na = (size_t)sh->M * sh->K, nb = (size_t)sh->K * sh->N;
        float *A = malloc(na * 4), *B = malloc(nb * 4),
              *C = malloc((size_t)sh->M * sh->N * 4);
        if (!A || !B || !C)
            return 1;
        for (size_t i = 0; i < na; i++)
            A[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < nb; i++)
            B[i] = (float)(i % 5) * 0.1f;
        for (int blas = 0; blas < 2; blas++) {
            double med, best;
            time_gemm(&e, blas, sh, A, B, C, &med, &best);
            printf("gemm lib=%s threads=%d M=%d N=%d K=%d ta=%d tb=%d "
                   "median_gflops=%.1f best_gflops=%.1f frac_avx2=%.3f "
                   "what=\"%s\"\n",
                   blas ? "openblas" : "soma", threads, sh->M, sh->N, sh->K,
                   sh->ta, sh->tb, med, best, peak2 > 0 ? med / peak2 : 0.0,
                   sh->what);
            fflush(stdout);
        }
        free(A);
        free(B);
        free(C);
    }
    soma_exec_free(&e);
    return 0;
}
