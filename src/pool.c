/*
 * pool.c - worker threads and the threaded matrix product.
 *
 * Threading stays outside the maths: a kernel is told which block of the
 * output is its own, and the blocks never depend on which thread computes
 * them, so results are the same for any thread count.
 *
 * Dispatch: the caller bumps a generation counter; workers notice it by
 * spinning for a short while (training dispatches many small products in a
 * row, and a sleeping thread takes tens of microseconds to wake), then fall
 * back to a condition variable so an idle pool costs nothing.
 */
#include "internal.h"
#include "kernels/kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spins before a worker sleeps (each a pause, roughly 10-100 ns). */
#define SPIN_LIMIT 20000

struct soma_pool {
    int threads;
    pthread_t *workers;     /* [threads - 1] */
    int started;            /* workers successfully created */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_uint generation; /* bumped once per soma_pool_run */
    atomic_int done;        /* workers finished with this generation */
    atomic_int stop;
    soma_task_fn fn;        /* written before the generation bump */
    void *ctx;
};

typedef struct worker_arg {
    soma_pool *pool;
    int id;
} worker_arg;

int soma_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    soma_pool *p = wa->pool;
    int id = wa->id;
    soma_free(wa);
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) ==
                   seen &&
               !atomic_load(&p->stop)) {
            if (++spins < SPIN_LIMIT) {
                if (spins % 256 == 0)
                    sched_yield();
                else
                    CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&p->lock);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = gen;
        p->fn(p->ctx, id, p->threads);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

soma_pool *soma_pool_new(int threads, soma_error *err)
{
    if (threads < 1)
        threads = 1;
    soma_pool *p = soma_alloc_zero(1, sizeof *p);
    if (!p) {
        soma_fail(err, SOMA_ERR_NOMEM, "out of memory creating threads");
        return NULL;
    }
    p->threads = threads;
    atomic_init(&p->generation, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->stop, 0);
    if (threads == 1)
        return p;
    p->workers = soma_alloc_array((size_t)threads - 1, sizeof *p->workers);
    if (!p->workers || pthread_mutex_init(&p->lock, NULL) != 0) {
        soma_free(p->workers);
        soma_free(p);
        soma_fail(err, SOMA_ERR_NOMEM, "out of memory creating threads");
        return NULL;
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        soma_free(p->workers);
        soma_free(p);
        soma_fail(err, SOMA_ERR_NOMEM, "cannot create a condition variable");
        return NULL;
    }
    for (int i = 0; i < threads - 1; i++) {
        worker_arg *wa = soma_alloc(sizeof *wa);
        if (wa) {
            wa->pool = p;
            wa->id = i + 1;
        }
        if (!wa || pthread_create(&p->workers[i], NULL, worker_main, wa) != 0) {
            soma_free(wa);
            soma_pool_free(p);
            soma_fail(err, SOMA_ERR_NOMEM, "cannot start worker thread %d", i + 1);
            return NULL;
        }
        p->started++;
    }
    return p;
}

void soma_pool_free(soma_pool *p)
{
    if (!p)
        return;
    if (p->threads > 1) {
        pthread_mutex_lock(&p->lock);
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        for (int i = 0; i < p->started; i++)
            pthread_join(p->workers[i], NULL);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
    }
    soma_free(p->workers);
    soma_free(p);
}

int soma_pool_threads(const soma_pool *p)
{
    return p ? p->threads : 1;
}

void soma_pool_run(soma_pool *p, soma_task_fn fn, void *ctx)
{
    if (!p || p->threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    /* the lock orders the bump against a worker about to sleep */
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    fn(ctx, 0, p->threads);
    /* a worker that lost its core would make a pure spin burn ours: after
     * a short spin, give the core away between looks */
    for (int spins = 0;
         atomic_load_explicit(&p->done, memory_order_acquire) < p->threads - 1;
         spins++) {
        if (spins < 4000)
            CPU_RELAX();
        else
            sched_yield();
    }
}

/* ---- execution context ------------------------------------------------- */

soma_status soma_exec_init(soma_exec *e, int threads, soma_error *err)
{
    e->pool = NULL;
    e->ws = NULL;
    e->threads = threads <= 0 ? soma_cpu_count() : threads;
    e->ws = soma_alloc_array((size_t)e->threads * SOMA_GEMM_WS, sizeof(float));
    if (!e->ws)
        return soma_fail(err, SOMA_ERR_NOMEM, "out of memory for workspace");
    if (e->threads > 1 && !(e->pool = soma_pool_new(e->threads, err))) {
        soma_free(e->ws);
        e->ws = NULL;
        return err ? err->code : SOMA_ERR_NOMEM;
    }
    return SOMA_OK;
}

void soma_exec_free(soma_exec *e)
{
    if (!e)
        return;
    soma_pool_free(e->pool);
    soma_free(e->ws);
    e->pool = NULL;
    e->ws = NULL;
}

#ifdef SOMA_BLAS
/* make BLAS=openblas: every product goes to cblas_sgemm, for comparison.
 * OpenBLAS keeps its own threads (OPENBLAS_NUM_THREADS) and its own order
 * of summation, so this build gives up soma's same-bits guarantee. */
#include <cblas.h>

void soma_gemm(const soma_exec *e, int trans_a, int trans_b, int M, int N,
               int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc, const soma_epilogue *ep)
{
    (void)e;
    if (M == 0 || N == 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
                ldb, beta, C, ldc);
    soma_epilogue_apply(ep, C, ldc, 0, M, 0, N);
}

int soma_gemm_threads(const soma_exec *e, int M, int N, int K)
{
    (void)e, (void)M, (void)N, (void)K;
    return 1; /* OpenBLAS keeps its own threads */
}
#else
/* ---- threaded matrix product ----------------------------------------- */

typedef struct gemm_job {
    soma_sgemm_block_fn fn;
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
    float *ws;
    const soma_epilogue *ep;
    int by_columns; /* split N (in 16-column panels) or M (in 6-row strips) */
    int units;      /* panels or strips in all */
} gemm_job;

static void gemm_task(void *ctx, int t, int n)
{
    const gemm_job *g = ctx;
    int u0 = (int)((long long)g->units * t / n);
    int u1 = (int)((long long)g->units * (t + 1) / n);
    if (u0 == u1)
        return;
    float *ws = g->ws + (size_t)t * SOMA_GEMM_WS;
    if (g->by_columns) {
        int n0 = u0 * 16, n1 = u1 * 16 < g->N ? u1 * 16 : g->N;
        g->fn(g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B,
              g->ldb, g->beta, g->C, g->ldc, 0, g->M, n0, n1, ws, g->ep);
    } else {
        int m0 = u0 * 6, m1 = u1 * 6 < g->M ? u1 * 6 : g->M;
        g->fn(g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B,
              g->ldb, g->beta, g->C, g->ldc, m0, m1, 0, g->N, ws, g->ep);
    }
}

/* Below this many multiply-adds one thread is faster than waking others. */
#define PARALLEL_MIN_WORK 262144.0

int soma_gemm_threads(const soma_exec *e, int M, int N, int K)
{
    /* A product of fewer than 6 rows streams all of B from memory for few
     * multiply-adds each (one example through a layer): it is bound by
     * the cache's bandwidth, not the FMA units, and each thread brings its
     * own, so it counts as more work. */
    double work = (double)M * (double)N * (double)K * (M < 6 ? 6.0 : 1.0);
    return e->threads == 1 || !e->pool || work < PARALLEL_MIN_WORK ? 1
                                                                    : e->threads;
}

void soma_gemm(const soma_exec *e, int trans_a, int trans_b, int M, int N,
               int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc, const soma_epilogue *ep)
{
    gemm_job g = {soma_sgemm_block_best(NULL), trans_a, trans_b, M, N, K, lda,
                  ldb, ldc, alpha, beta, A, B, C, e->ws, ep, 0, 0};
    int T = soma_gemm_threads(e, M, N, K);
    if (T == 1) {
        g.fn(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 0,
             M, 0, N, e->ws, ep);
        return;
    }
    int panels = (N + 15) / 16, strips = (M + 5) / 6;
    /* Columns when there are enough 16-column panels to go round: each
     * thread then packs only its own part of B (measured 15% faster per
     * epoch than rows at the benchmark's shapes on a quiet machine). */
    g.by_columns = panels >= 2 * T || panels >= strips;
    g.units = g.by_columns ? panels : strips;
    soma_pool_run(e->pool, gemm_task, &g);
}
#endif /* SOMA_BLAS */
