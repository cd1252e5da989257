/*
 * fann_fmnist.c - FANN 2.2 (Debian's libfann-dev) on the benchmark's
 * workload, as near as FANN comes to it: 784-128-10, incremental training
 * (one weight update per example, FANN_TRAIN_INCREMENTAL's fann_train) over
 * a fresh shuffle of the 60,000 training images each epoch.
 *
 * Where FANN differs: 2.2 has no ReLU and no softmax or cross-entropy, so
 * the hidden layer is FANN_SIGMOID_SYMMETRIC (tanh), the outputs
 * FANN_SIGMOID trained to one-hot targets under FANN's mean squared error,
 * weights FANN's default U(-0.1, 0.1), batch size 1 by construction.
 * Single precision (floatfann.h). The data comes through soma_idx_read
 * (pixels / 255), so both libraries see the same numbers.
 *
 *   build/bench/fann_fmnist [--epochs E] [--lr X] [--samples N] [--data DIR]
 *
 * Prints key=value lines like soma_fmnist (config, epoch, summary) and
 *   predict lib=fann threads=1 single_us= batch_images_per_s=
 */
#include "soma.h"

#include <floatfann.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    fprintf(stderr, "fann_fmnist: %s: %s\n", what, err->message);
    exit(1);
}

static int argmax10(const fann_type *o)
{
    int best = 0;
    for (int j = 1; j < 10; j++)
        if (o[j] > o[best])
            best = j;
    return best;
}

static double test_accuracy(struct fann *ann, const soma_dataset *test)
{
    size_t correct = 0, d = (size_t)test->n_features;
    for (size_t i = 0; i < test->n_rows; i++)
        correct += argmax10(fann_run(ann, test->x + i * d)) == (int)test->y[i];
    return (double)correct / (double)test->n_rows;
}

/* xorshift64*, for the shuffle: FANN's own shuffle uses rand() */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static unsigned long long rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    int epochs = 1;
    double lr = 0.1;
    size_t samples = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--epochs"))
            epochs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--lr"))
            lr = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--samples"))
            samples = (size_t)strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--data"))
            dir = argv[i + 1];
        else {
            fputs("usage: fann_fmnist [--epochs E] [--lr X] [--samples N] "
                  "[--data DIR]\n",
                  stderr);
            return 2;
        }
    }
    if (epochs < 1)
        epochs = 1;

    soma_error err;
    char img[1024], lab[1024];
    soma_dataset *train = NULL, *test = NULL;
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte.gz", dir);
    if (soma_idx_read(img, lab, NULL, 0, &train, &err) != SOMA_OK)
        die("reading the training set", &err);
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (soma_idx_read(img, lab, (const char *const *)train->class_names,
                      train->n_classes, &test, &err) != SOMA_OK)
        die("reading the test set", &err);

    struct fann *ann = fann_create_standard(3, 784, 128, 10);
    if (!ann)
        return 1;
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_learning_rate(ann, (float)lr);
    fann_set_learning_momentum(ann, 0.0f);
    fann_randomize_weights(ann, -0.1f, 0.1f);

    size_t n = train->n_rows, d = (size_t)train->n_features;
    size_t per = samples > 0 && samples < n ? samples : n;
    size_t *perm = malloc(n * sizeof *perm);
    double *ep_s = malloc((size_t)epochs * sizeof *ep_s);
    if (!perm || !ep_s)
        return 1;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    printf("config lib=fann layers=784-128-10 hidden=sigmoid_symmetric "
           "output=sigmoid loss=mse batch=1 lr=%g epochs=%d samples=%zu\n",
           lr, epochs, per);
    fflush(stdout);

    double acc1 = -1.0, acc = -1.0;
    size_t pos = n;
    for (int e = 0; e < epochs; e++) {
        double t0 = now();
        for (size_t k = 0; k < per; k++) {
            if (pos >= n) {
                for (size_t i = n - 1; i > 0; i--) {
                    size_t j = (size_t)(rng_next() % (i + 1));
                    size_t tmp = perm[i];
                    perm[i] = perm[j];
                    perm[j] = tmp;
                }
                pos = 0;
            }
            size_t r = perm[pos++];
            fann_type target[10] = {0};
            target[(int)train->y[r]] = 1.0f;
            fann_train(ann, train->x + r * d, target);
        }
        double s = now() - t0;
        ep_s[e] = s * (double)n / (double)per;
        acc = test_accuracy(ann, test);
        if (e == 0)
            acc1 = acc;
        printf("epoch lib=fann n=%d seconds=%.4f epoch_seconds=%.4f samples=%zu "
               "test_acc=%.4f\n",
               e + 1, s, ep_s[e], per, acc);
        fflush(stdout);
    }
    qsort(ep_s, (size_t)epochs, sizeof *ep_s, cmp_double);
    printf("summary lib=fann threads=1 layers=784-128-10 batch=1 epochs=%d "
           "extrapolated=%d median_epoch_s=%.4f min_epoch_s=%.4f acc_1=%.4f "
           "acc_last=%.4f\n",
           epochs, per < n, ep_s[epochs / 2], ep_s[0], acc1, acc);

    /* predict: one image per fann_run, there is no batched call */
    enum { CALLS = 20000 };
    static double lat[CALLS];
    for (int i = 0; i < CALLS; i++) {
        const float *row = test->x + (size_t)i % test->n_rows * d;
        double t0 = now();
        fann_run(ann, (fann_type *)row);
        lat[i] = now() - t0;
    }
    qsort(lat, CALLS, sizeof lat[0], cmp_double);
    double t0 = now();
    for (size_t i = 0; i < test->n_rows; i++)
        fann_run(ann, test->x + i * d);
    double all = now() - t0;
    printf("predict lib=fann threads=1 single_us=%.3f batch_images_per_s=%.0f\n",
           lat[CALLS / 2] * 1e6, (double)test->n_rows / all);

    free(perm);
    free(ep_s);
    fann_destroy(ann);
    soma_dataset_free(train);
    soma_dataset_free(test);
    return 0;
}
