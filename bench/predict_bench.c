/*
 * predict_bench.c - inference speed of the 784-128-10 network through the
 * public API: the latency of soma_predict on one image (the median of many
 * warm calls, each timed on its own), as the net comes and after
 * soma_net_prepare, and the throughput of soma_predict on the 10,000
 * Fashion-MNIST test images in one call, for each thread count given
 * (soma_net_set_threads).
 *
 *   build/bench/predict_bench [--data DIR] [--layers W1,W2..] [THREADS...]
 *
 * The weights are He-initialised, not trained: the arithmetic, and so the
 * time, does not depend on their values. Prints, per thread count:
 *   predict lib=soma threads=T single_us= single_p10_us= single_p90_us=
 *           single_prepared_us= batch_images_per_s= batch_ms=
 */
#include "soma.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SINGLE_CALLS 20000
#define BATCH_RUNS 9

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, const soma_error *err)
{
    fprintf(stderr, "predict_bench: %s: %s\n", what, err->message);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *layers = "128";
    int thread_counts[16], n_counts = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--layers") && i + 1 < argc)
            layers = argv[++i];
        else if (n_counts < 16 && atoi(argv[i]) >= 0 && argv[i][0] != '-')
            thread_counts[n_counts++] = atoi(argv[i]);
        else {
            fputs("usage: predict_bench [--data DIR] [--layers W1,W2..] "
                  "[THREADS...]\n",
                  stderr);
            return 2;
        }
    }
    if (n_counts == 0) {
        thread_counts[0] = 1;
        thread_counts[1] = 2;
        n_counts = 2;
    }

    soma_error err;
    char img[1024];
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    soma_dataset *test = NULL;
    if (soma_idx_read(img, NULL, NULL, 0, &test, &err) != SOMA_OK)
        die("reading the test images", &err);

    soma_layer_spec spec_layers[SOMA_MAX_LAYERS];
    int n_layers = 0;
    for (const char *p = layers; *p && n_layers < SOMA_MAX_LAYERS - 1;) {
        char *end;
        long w = strtol(p, &end, 10);
        if (end == p || w < 1)
            return 2;
        spec_layers[n_layers++] = (soma_layer_spec){(int)w, SOMA_ACT_RELU, 1};
        p = *end == ',' ? end + 1 : end;
    }
    spec_layers[n_layers++] = (soma_layer_spec){10, SOMA_ACT_SOFTMAX, 1};
    soma_spec spec = {test->n_features, n_layers, spec_layers, SOMA_LOSS_CE};
    soma_net *net = soma_net_new(&spec, &err);
    if (!net || soma_net_init(net, SOMA_INIT_HE, 1, &err) != SOMA_OK)
        die("creating the network", &err);

    size_t n = test->n_rows, d = (size_t)test->n_features;
    float *out = malloc(n * 10 * sizeof *out);
    double *lat = malloc(SINGLE_CALLS * sizeof *lat);
    if (!out || !lat)
        return 1;
    for (int c = 0; c < n_counts; c++) {
        int T = thread_counts[c];
        if (soma_net_set_threads(net, T, &err) != SOMA_OK)
            die("setting threads", &err);
        /* single images, a different one each call, after a warm-up: as
         * the net comes, then prepared (soma_net_prepare), which must give
         * the same bits */
        double single[2], p10 = 0, p90 = 0;
        (void)soma_net_params(net); /* drops the last count's prepared copy */
        soma_net *plain = soma_net_clone(net, &err);
        if (!plain)
            die("cloning the network", &err);
        for (int prepared = 0; prepared < 2; prepared++) {
            if (prepared && soma_net_prepare(net, &err) != SOMA_OK)
                die("preparing the network", &err);
            for (int i = 0; i < 2000; i++)
                if (soma_predict(net, test->x + (size_t)i % n * d, 1, out,
                                 &err) != SOMA_OK)
                    die("predict", &err);
            for (int i = 0; i < SINGLE_CALLS; i++) {
                const float *row = test->x + (size_t)i % n * d;
                double t0 = now();
                soma_predict(net, row, 1, out, &err);
                lat[i] = now() - t0;
            }
            qsort(lat, SINGLE_CALLS, sizeof *lat, cmp_double);
            single[prepared] = lat[SINGLE_CALLS / 2];
            if (!prepared) {
                p10 = lat[SINGLE_CALLS / 10];
                p90 = lat[SINGLE_CALLS * 9 / 10];
            }
        }
        for (size_t i = 0; i < n; i += 97) {
            float a[16], b[16];
            if (soma_predict(net, test->x + i * d, 1, a, &err) != SOMA_OK ||
                soma_predict(plain, test->x + i * d, 1, b, &err) != SOMA_OK)
                die("predict", &err);
            if (memcmp(a, b, 10 * sizeof(float)) != 0) {
                fprintf(stderr, "predict_bench: the prepared net gave other "
                                "bits for image %zu\n", i);
                return 1;
            }
        }
        soma_net_free(plain);
        /* the whole test set in one call */
        double runs[BATCH_RUNS];
        if (soma_predict(net, test->x, n, out, &err) != SOMA_OK)
            die("predict", &err);
        for (int r = 0; r < BATCH_RUNS; r++) {
            double t0 = now();
            soma_predict(net, test->x, n, out, &err);
            runs[r] = now() - t0;
        }
        qsort(runs, BATCH_RUNS, sizeof runs[0], cmp_double);
        double batch = runs[BATCH_RUNS / 2];
        printf("predict lib=soma threads=%d single_us=%.3f single_p10_us=%.3f "
               "single_p90_us=%.3f single_prepared_us=%.3f "
               "batch_images_per_s=%.0f batch_ms=%.3f\n",
               T, single[0] * 1e6, p10 * 1e6, p90 * 1e6, single[1] * 1e6,
               (double)n / batch, batch * 1e3);
        fflush(stdout);
    }
    free(out);
    free(lat);
    soma_net_free(net);
    soma_dataset_free(test);
    return 0;
}
