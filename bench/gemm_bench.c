/*
 * gemm_bench.c - SGEMM throughput of soma's kernels (and OpenBLAS when
 * built with BLAS=openblas) at the shapes of the benchmark, plus the
 * machine's FMA peak measured with a plain register FMA loop.
 *
 *   build/bench/gemm_bench [threads]
 */
#include "internal.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct shape {
    int M, N, K, ta, tb;
    const char *what;
} shape;

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    soma_exec e;
    if (soma_exec_init(&e, threads, NULL) != SOMA_OK)
        return 1;
    const char *kname;
    soma_sgemm_block_best(&kname);
    printf("kernel %s, %d thread(s)\n", kname, e.threads);
    shape shapes[] = {
        {64, 128, 784, 0, 1, "forward 784->128, batch 64 (A.W^T)"},
        {128, 784, 64, 1, 0, "weight grad 128x784 over batch 64 (dZ^T.X)"},
        {64, 128, 784, 0, 0, "(64,128,784) NN"},
        {256, 256, 784, 0, 0, "(256,256,784) NN"},
        {1024, 1024, 1024, 0, 0, "(1024,1024,1024) NN"},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        shape sh = shapes[s];
        size_t na = (size_t)sh.M * sh.K, nb = (size_t)sh.K * sh.N;
        float *A = malloc(na * 4), *B = malloc(nb * 4),
              *C = malloc((size_t)sh.M * sh.N * 4);
        for (size_t i = 0; i < na; i++)
            A[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < nb; i++)
            B[i] = (float)(i % 5) * 0.1f;
        int lda = sh.ta ? sh.M : sh.K, ldb = sh.tb ? sh.K : sh.N;
        double flop = 2.0 * sh.M * sh.N * sh.K, best = 1e9;
        int reps = (int)(2e9 / flop) + 1;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            for (int i = 0; i < reps; i++)
                soma_gemm(&e, sh.ta, sh.tb, sh.M, sh.N, sh.K, 1.0f, A, lda, B, ldb,
                          0.0f, C, sh.N);
            double t = (now() - t0) / reps;
            if (t < best)
                best = t;
        }
        printf("%-48s %7.1f GFLOP/s\n", sh.what, flop / best * 1e-9);
        free(A);
        free(B);
        free(C);
    }
    soma_exec_free(&e);
    return 0;
}
