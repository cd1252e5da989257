/*
 * soma_fmnist.c - times soma's training on Fashion-MNIST through the public
 * API, the way bench/torch_fmnist.py times PyTorch: the 784-128-10 network
 * (ReLU hidden layer, softmax output, cross-entropy, biases), He-uniform
 * weights, zero biases, plain SGD with learning rate 0.1, shuffled batches
 * of 64, pixels in [0, 1] without standardisation.
 *
 *   build/bench/soma_fmnist [--threads T] [--layers W1,W2..] [--batch B]
 *       [--epochs E] [--optimizer gd|sgd|adam] [--lr X] [--momentum X]
 *       [--schedule constant|step|cosine] [--weight-decay X] [--seed S]
 *       [--samples N] [--warmup W] [--standardize] [--data DIR]
 *
 * Each epoch is timed on its own (soma_trainer_epoch, data loading and the
 * test evaluation excluded); the test accuracy is taken after every epoch.
 * --samples N trains slices of N examples instead of whole epochs (the
 * trainer stops inside the epoch through on_batch and goes on from there on
 * the next call) and extrapolates the epoch time as slice time * 60000 / N:
 * for batch sizes where a whole epoch takes too long. --warmup W trains
 * W untimed epochs (or slices) first. --standardize
 * standardises the pixels as the CLI does (for the accuracy recipe).
 *
 * Prints key=value lines (bench/run.sh parses them):
 *   config ...
 *   epoch n= seconds= epoch_seconds= samples= train_loss= test_loss= test_acc=
 *   summary ... median_epoch_s= acc_1= acc_last= ...
 */
#include "soma.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* Resets the kernel's peak-RSS mark (VmHWM) of this process, so that a
 * later read measures training alone; 0 when the kernel refused. */
static int reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return 0;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* VmHWM of this process in kB, or -1. */
static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

typedef struct slice_ctx {
    size_t start;  /* first batch of this slice (0-based, in the epoch) */
    size_t count;  /* batches per slice; 0: whole epochs */
} slice_ctx;

static int on_batch(void *ctx, const soma_batch_report *r)
{
    slice_ctx *s = ctx;
    return s->count > 0 && r->batch - s->start >= s->count;
}

static void usage(void)
{
    fputs("usage: soma_fmnist [--threads T] [--layers W1,W2..] [--batch B] "
          "[--epochs E]\n"
          "       [--optimizer gd|sgd|adam] [--lr X] [--momentum X]\n"
          "       [--schedule constant|step|cosine] [--weight-decay X] "
          "[--seed S]\n"
          "       [--samples N] [--warmup W] [--standardize] [--data DIR]\n",
          stderr);
    exit(2);
}

static void die(const char *what, const soma_error *err)
{
    fprintf(stderr, "soma_fmnist: %s: %s\n", what, err->message);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    const char *layers_arg = "128", *opt_name = "gd", *sched_name = "constant";
    int threads = 1, epochs = 5, warmup = 0;
    size_t batch = 64, samples = 0;
    double lr = 0.1, momentum = 0.0, wd = 0.0;
    unsigned long long seed = 1;
    int standardize = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--standardize")) {
            standardize = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--layers") || !strcmp(a, "--width"))
            layers_arg = v;
        else if (!strcmp(a, "--batch"))
            batch = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--epochs"))
            epochs = atoi(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atoi(v);
        else if (!strcmp(a, "--optimizer"))
            opt_name = v;
        else if (!strcmp(a, "--lr"))
            lr = atof(v);
        else if (!strcmp(a, "--momentum"))
            momentum = atof(v);
        else if (!strcmp(a, "--schedule"))
            sched_name = v;
        else if (!strcmp(a, "--weight-decay"))
            wd = atof(v);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--samples"))
            samples = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--data"))
            dir = v;
        else
            usage();
    }
    int opt = soma_optimizer_parse(opt_name);
    int sched = soma_lr_schedule_parse(sched_name);
    if (opt < 0 || sched < 0 || epochs < 1 || batch < 1 || warmup < 0)
        usage();

    /* hidden widths, then the 10 softmax outputs */
    soma_layer_spec spec_layers[SOMA_MAX_LAYERS];
    int n_layers = 0;
    char arch[512];
    int alen = snprintf(arch, sizeof arch, "784");
    for (const char *p = layers_arg; *p && n_layers < SOMA_MAX_LAYERS - 1;) {
        char *end;
        long w = strtol(p, &end, 10);
        if (end == p || w < 1)
            usage();
        spec_layers[n_layers++] = (soma_layer_spec){(int)w, SOMA_ACT_RELU, 1};
        if (alen < (int)sizeof arch)
            alen += snprintf(arch + alen, sizeof arch - (size_t)alen, "-%ld", w);
        p = *end == ',' ? end + 1 : end;
    }
    spec_layers[n_layers++] = (soma_layer_spec){10, SOMA_ACT_SOFTMAX, 1};
    if (alen < (int)sizeof arch)
        snprintf(arch + alen, sizeof arch - (size_t)alen, "-10");

    soma_error err;
    char img[1024], lab[1024];
    double t_load = now();
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
    t_load = now() - t_load;
    long load_rss = peak_rss_kb();

    soma_spec spec = {train->n_features, n_layers, spec_layers, SOMA_LOSS_CE};
    soma_net *net = soma_net_new(&spec, &err);
    if (!net || soma_net_init(net, SOMA_INIT_HE, seed, &err) != SOMA_OK ||
        soma_net_set_threads(net, threads, &err) != SOMA_OK)
        die("creating the network", &err);
    if (standardize) {
        /* what the CLI does by default: per-pixel mean and deviation of the
         * training set, stored in the net and applied to every input */
        size_t d = (size_t)train->n_features;
        float *mean = malloc(d * sizeof *mean), *sd = malloc(d * sizeof *sd);
        if (!mean || !sd ||
            soma_standardize_fit(train->x, train->n_rows, (int)d, mean, sd,
                                 &err) != SOMA_OK ||
            soma_net_set_standardize(net, mean, sd, &err) != SOMA_OK)
            die("standardising", &err);
        free(mean);
        free(sd);
    }

    soma_train_config cfg = soma_train_config_default();
    cfg.optimizer = (soma_optimizer)opt;
    cfg.learning_rate = lr;
    cfg.momentum = momentum;
    cfg.weight_decay = wd;
    cfg.batch_size = batch;
    cfg.epochs = epochs + warmup;
    cfg.shuffle = 1;
    cfg.seed = seed;
    cfg.threads = threads;
    cfg.lr_schedule = (soma_lr_schedule)sched;
    slice_ctx slice = {0, 0};
    size_t n = train->n_rows;
    if (samples > 0 && samples < n) {
        slice.count = (samples + batch - 1) / batch;
        cfg.on_batch = on_batch;
        cfg.ctx = &slice;
    }

    /* forward, weight gradients, and every input gradient but the first
     * layer's: the products a training epoch needs */
    double flop = 0.0;
    for (int l = 0, in = train->n_features; l < n_layers; l++) {
        double wsz = (double)in * spec_layers[l].units;
        flop += 2.0 * wsz * (l > 0 ? 3.0 : 2.0) * (double)n;
        in = spec_layers[l].units;
    }

    printf("config lib=soma threads=%d layers=%s batch=%zu optimizer=%s lr=%g "
           "momentum=%g schedule=%s weight_decay=%g epochs=%d samples=%zu "
           "seed=%llu standardize=%d load_s=%.3f gflop_per_epoch=%.3f\n",
           threads, arch, batch, opt_name, lr, momentum, sched_name, wd, epochs,
           slice.count ? slice.count * batch : n, seed, standardize, t_load,
           flop * 1e-9);
    fflush(stdout);

    int rss_reset = reset_peak_rss();
    soma_trainer *t = soma_trainer_new(net, &cfg, n, &err);
    if (!t)
        die("setting up training", &err);
    double *ep_s = malloc((size_t)epochs * sizeof *ep_s);
    double acc_first = -1.0, acc = -1.0, total = 0.0;
    if (!ep_s)
        return 1;
    for (int e = -warmup; e < epochs; e++) {
        soma_epoch_report rep;
        memset(&rep, 0, sizeof rep);
        rep.train_loss = -1.0;
        int stopped = 0;
        double t0 = now();
        if (soma_trainer_epoch(t, train->x, train->y, n, 1, &rep, &stopped,
                               &err) != SOMA_OK)
            die("training", &err);
        double s = now() - t0;
        size_t done = n;
        if (slice.count) {
            done = stopped ? slice.count * batch : n - slice.start * batch;
            if (done > n)
                done = n;
            slice.start = stopped ? slice.start + slice.count : 0;
        }
        if (e < 0) { /* untimed: caches, pages and clocks settle */
            printf("warmup lib=soma seconds=%.4f samples=%zu\n", s, done);
            continue;
        }
        total += s;
        ep_s[e] = s * (double)n / (double)done;
        double loss;
        if (soma_evaluate(net, test->x, test->y, test->n_rows, 1, &loss, &acc,
                          NULL, &err) != SOMA_OK)
            die("evaluating", &err);
        if (e == 0)
            acc_first = acc;
        printf("epoch lib=soma n=%d seconds=%.4f epoch_seconds=%.4f samples=%zu "
               "train_loss=%.4f test_loss=%.4f test_acc=%.4f\n",
               e + 1, s, ep_s[e], done, stopped ? -1.0 : rep.train_loss, loss,
               acc);
        fflush(stdout);
    }
    long train_rss = rss_reset ? peak_rss_kb() : -1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    qsort(ep_s, (size_t)epochs, sizeof *ep_s, cmp_double);
    double med = epochs % 2 ? ep_s[epochs / 2]
                            : 0.5 * (ep_s[epochs / 2 - 1] + ep_s[epochs / 2]);
    printf("summary lib=soma threads=%d layers=%s batch=%zu epochs=%d "
           "extrapolated=%d median_epoch_s=%.4f min_epoch_s=%.4f "
           "total_train_s=%.3f gflops=%.2f acc_1=%.4f acc_last=%.4f "
           "load_rss_kb=%ld train_rss_kb=%ld peak_rss_kb=%ld\n",
           threads, arch, batch, epochs, slice.count ? 1 : 0, med, ep_s[0],
           total, flop / med * 1e-9, acc_first, acc, load_rss, train_rss,
           ru.ru_maxrss);
    free(ep_s);
    soma_trainer_free(t);
    soma_net_free(net);
    soma_dataset_free(train);
    soma_dataset_free(test);
    return 0;
}
