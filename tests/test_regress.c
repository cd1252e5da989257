/*
 * test_regress.c - regression tests for what fuzzing and the allocation
 * sweeps found (docs/testing.md, "Findings"), and the input bounds of the
 * hardening issue: no input may make soma allocate more than a small
 * multiple of its own size plus the model it describes, and no input may
 * take more than a second per megabyte to reject.
 *
 * Memory bounds are checked in a child process under an address-space
 * limit (RLIMIT_AS) of what it uses already plus the bound: an allocation
 * beyond the bound fails there and the call reports SOMA_ERR_NOMEM. The
 * sanitizers and valgrind reserve address space of their own, so these
 * checks are skipped under them (the fuzz targets check the same bounds
 * byte by byte). Time bounds are enforced in optimised builds without
 * sanitizers and only reported otherwise.
 */
#include "harness.h"
#include "internal.h"

#include <dirent.h>
#include <float.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char tmpdir[256];

/* ---- helpers ------------------------------------------------------------- */

/* Whether address-space limits mean anything here. */
static int can_limit_memory(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return !UNDER_ASAN && !(pre && strstr(pre, "vgpreload"));
}

/* The process's address space in bytes (VmSize), or 0. */
static size_t address_space(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

/* Runs fn(ctx) in a child whose address space may grow by at most extra
 * bytes; returns fn's result (a soma_status), or -1 if the child died. */
static int with_memory_limit(size_t extra, int (*fn)(void *), void *ctx)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct rlimit r;
        size_t now = address_space();
        r.rlim_cur = r.rlim_max = (rlim_t)(now + extra);
        if (now == 0 || setrlimit(RLIMIT_AS, &r) != 0)
            _exit(100);
        _exit(fn(ctx));
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status) == 100 ? -1 : WEXITSTATUS(status);
}

/* Process CPU time: a busy machine slows the wall clock, not this. */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Checks a parse time against 1 s per MB (enforced only in optimised
 * builds without sanitizers). */
static void check_speed(const char *what, double seconds, size_t bytes)
{
    double mb = (double)bytes / 1e6, per_mb = seconds / mb;
    printf("  %s: %.1f MB in %.3f s (%.3f s/MB)\n", what, mb, seconds, per_mb);
#if defined(__OPTIMIZE__)
    if (!UNDER_ASAN && per_mb > 1.0) {
        printf("  %s: over the bound of 1 s/MB\n", what);
        harness_current_failures++;
    }
#endif
}

static int count_entries(const char *sub)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, sub))
            n++;
    closedir(d);
    return n;
}

/* ---- CSV: numbers that round to FLT_MAX ----------------------------------
 * Found by fuzz_csv's round trip (tests/fuzz/findings/fuzz_csv/
 * flt-max-round-trip): "%.9g" of FLT_MAX is 3.40282347e+38, which as a
 * double is just above FLT_MAX, and src/io/csv.c (parse_float) rejected it
 * as "out of the float range" although it rounds to FLT_MAX. So soma could
 * not read back a value it prints (soma predict writes "%.9g"). Every
 * decimal below the midpoint 2^128 - 2^103 between FLT_MAX and 2^128 rounds
 * to a finite float; the midpoint and above round to infinity. */
static void test_csv_float_max(void)
{
    static const char ok[] = "x,y\n3.40282347e+38,3.40282347e+38\n"
                             "-3.40282347e+38,3.4028235e38\n"
                             "3.4028235677e38,-3.4028235677e38\n";
    soma_csv_options opt;
    memset(&opt, 0, sizeof opt);
    opt.target = "y";
    opt.target_kind = SOMA_TARGET_VALUE;
    soma_dataset *ds = NULL;
    soma_error err;
    CHECK_ERR(soma_csv_parse(ok, sizeof ok - 1, "max.csv", &opt, &ds, &err), SOMA_OK,
              NULL, &err);
    if (ds) {
        CHECK(ds->x[0] == FLT_MAX && ds->x[1] == -FLT_MAX && ds->x[2] == FLT_MAX);
        CHECK(ds->y[0] == FLT_MAX && ds->y[1] == FLT_MAX && ds->y[2] == -FLT_MAX);
    }
    soma_dataset_free(ds);
    /* the automatic target kind goes through the label table */
    opt.target_kind = SOMA_TARGET_AUTO;
    CHECK_ERR(soma_csv_parse(ok, sizeof ok - 1, "max.csv", &opt, &ds, &err), SOMA_OK,
              NULL, &err);
    if (ds)
        CHECK(ds->n_classes == 0 && ds->y[0] == FLT_MAX);
    soma_dataset_free(ds);

    static const char over[] = "x\n3.4028236e38\n";
    ds = NULL;
    CHECK_ERR(soma_csv_parse(over, sizeof over - 1, "over.csv", NULL, &ds, &err),
              SOMA_ERR_DATA, "out of the float range", &err);
    CHECK(ds == NULL);
}

/* ---- CSV: memory follows the rows that exist -----------------------------
 * Found by fuzz_csv's memory bound (tests/fuzz/findings/fuzz_csv/
 * wide-header-rows): src/io/csv.c (grow_rows) gives the row arrays room
 * for 256 rows at once, 256 * 4 bytes per feature column, whatever the
 * rest of the file can hold: a 3 KB file with 1500 columns and one row
 * allocated 1.6 MB, and 1M columns would take 1 GB for a 4 MB file. */
typedef struct wide_ctx {
    char *data;
    size_t size;
} wide_ctx;

static int parse_wide(void *ctx)
{
    wide_ctx *w = ctx;
    soma_dataset *ds = NULL;
    soma_status st = soma_csv_parse(w->data, w->size, "wide.csv", NULL, &ds, NULL);
    soma_dataset_free(ds);
    return (int)st;
}

static void test_csv_memory_wide(void)
{
    if (!can_limit_memory()) {
        printf("  (address-space limits do not work under sanitizers or "
               "valgrind: skipped)\n");
        return;
    }
    /* 1M columns: a header of empty names, two rows of zeros, 5 MB */
    size_t cols = 1 << 20, at = 0;
    wide_ctx w;
    w.size = cols + 2 * (2 * cols);
    w.data = malloc(w.size);
    CHECK(w.data != NULL);
    if (!w.data)
        return;
    for (size_t r = 0; r < 3; r++)
        for (size_t c = 0; c < cols; c++) {
            if (r > 0)
                w.data[at++] = '0';
            w.data[at++] = c + 1 < cols ? ',' : '\n';
        }
    CHECK(at == w.size);
    /* bound: 64 times the input and 64 MB */
    int st = with_memory_limit(64 * w.size + (64u << 20), parse_wide, &w);
    if (st != SOMA_OK)
        printf("  a %zu-byte CSV with %zu columns and 2 rows: status %d "
               "(%d = out of memory) under a limit of 64 times its size\n",
               w.size, cols, st, (int)SOMA_ERR_NOMEM);
    CHECK(st == SOMA_OK);
    free(w.data);
}

/* ---- predict: workspace for the rows asked for ---------------------------
 * Found while checking fuzz_model's memory bounds: src/forward.c
 * (reserve_workspace) gives the predict workspace three buffers of 256
 * rows by the widest layer whatever the number of rows predicted: one row
 * through a net with a layer of 2^20 units (a 12 MB model) asks for 3 GB. */
static int predict_wide(void *ctx)
{
    soma_net *net = ctx;
    float x = 1.0f, y;
    return (int)soma_predict(net, &x, 1, &y, NULL);
}

static void test_predict_memory(void)
{
    if (!can_limit_memory()) {
        printf("  (address-space limits do not work under sanitizers or "
               "valgrind: skipped)\n");
        return;
    }
    soma_layer_spec layers[2] = {{1 << 20, SOMA_ACT_LINEAR, 1},
                                 {1, SOMA_ACT_LINEAR, 1}};
    soma_spec spec = {1, 2, layers, SOMA_LOSS_MSE};
    soma_net *net = soma_net_new(&spec, NULL);
    CHECK(net != NULL);
    if (!net)
        return;
    soma_net_set_threads(net, 1, NULL);
    size_t model = soma_net_n_params(net) * sizeof(float);
    /* bound: 16 times the model and 64 MB */
    int st = with_memory_limit(16 * model + (64u << 20), predict_wide, net);
    if (st != SOMA_OK)
        printf("  predicting one row through a %zu-byte model: status %d (%d = "
               "out of memory) under a limit of 16 times the model\n",
               model, st, (int)SOMA_ERR_NOMEM);
    CHECK(st == SOMA_OK);
    soma_net_free(net);
}

/* ---- saving when jansson runs out of memory --------------------------------
 * Found by routing jansson's allocations through soma's failure injection:
 * jansson 2.14's json_dumps ignores a failed allocation while it writes an
 * object key (dump.c: do_dump does not check dump_string's result), so
 * soma_net_save reported success and wrote a model whose soma.layers text
 * had lost a key ('{"units":3,":"softmax",...}'): a file that no longer
 * loads, renamed over the good one. Whatever fails, a save must either
 * fail and keep the old file, or write a file that loads as the same net.
 * The same sweep found a leak (run it under the sanitizer build or
 * valgrind): src/io/safetensors.c, build_header, allocates a tensor's
 * "shape" array before setting its "dtype", and when that fails the `||`
 * skips the call that would have handed the array over. */
static void test_jansson_oom(void)
{
    static const soma_layer_spec layers[2] = {{5, SOMA_ACT_TANH, 1},
                                              {3, SOMA_ACT_SOFTMAX, 1}};
    static const soma_spec spec = {2, 2, layers, SOMA_LOSS_CE};
    static const char *const classes[3] = {"a", "b", "c"};
    soma_net *net = soma_net_new(&spec, NULL);
    CHECK(net && soma_net_init(net, SOMA_INIT_GLOROT, 3, NULL) == SOMA_OK &&
          soma_net_set_classes(net, 3, classes, NULL) == SOMA_OK &&
          soma_net_set_meta(net, "target", "y", NULL) == SOMA_OK);
    if (!net)
        return;
    char path[300];
    snprintf(path, sizeof path, "%s/jansson.safetensors", tmpdir);
    CHECK(soma_net_save(net, path, NULL) == SOMA_OK);

    json_set_alloc_funcs(soma_alloc, soma_free);
    int bad = 0;
    for (unsigned long k = 1; k < 10000 && bad < 5; k++) {
        soma_error err;
        memset(&err, 0, sizeof err);
        soma_debug_fail_after(k);
        soma_status st = soma_net_save(net, path, &err);
        unsigned long count = soma_debug_alloc_count();
        soma_debug_fail_after(0);
        soma_net *back = soma_net_load(path, &err);
        int same = back && soma_net_n_params(back) == soma_net_n_params(net) &&
                   memcmp(soma_net_params_const(back), soma_net_params_const(net),
                          soma_net_n_params(net) * sizeof(float)) == 0 &&
                   soma_net_n_classes(back) == 3 && soma_net_n_meta(back) == 1;
        if (!same) {
            printf("  allocation %lu failed: save gave status %d, and the file "
                   "%s\n", k, (int)st,
                   back ? "loads as another net" : "no longer loads:");
            if (!back)
                printf("    %s\n", err.message);
            bad++;
            /* a good file again for the next k */
            json_set_alloc_funcs(malloc, free);
            CHECK(soma_net_save(net, path, NULL) == SOMA_OK);
            json_set_alloc_funcs(soma_alloc, soma_free);
        }
        CHECK(st == SOMA_OK || st == SOMA_ERR_NOMEM);
        soma_net_free(back);
        if (count < k)
            break;
    }
    json_set_alloc_funcs(malloc, free);
    CHECK(bad == 0);
    CHECK(count_entries(".tmp.") == 0);
    soma_net_free(net);
}

/* ---- speed: a second per megabyte at most ----------------------------------
 * Large hostile inputs for each parser, timed. */
static char *repeat(const char *head, const char *unit, size_t times,
                    const char *tail, size_t *size)
{
    size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
    char *b = malloc(h + u * times + t + 1);
    if (!b)
        return NULL;
    memcpy(b, head, h);
    for (size_t i = 0; i < times; i++)
        memcpy(b + h + i * u, unit, u);
    memcpy(b + h + u * times, tail, t + 1);
    *size = h + u * times + t;
    return b;
}

static void time_csv(const char *what, char *data, size_t size,
                     const soma_csv_options *opt)
{
    if (!data) {
        CHECK(data != NULL);
        return;
    }
    soma_dataset *ds = NULL;
    double t0 = now_seconds();
    soma_csv_parse(data, size, "big.csv", opt, &ds, NULL);
    check_speed(what, now_seconds() - t0, size);
    soma_dataset_free(ds);
    free(data);
}

/* A safetensors file around a JSON header. */
static void time_model(const char *what, char *header, size_t n)
{
    if (!header) {
        CHECK(header != NULL);
        return;
    }
    unsigned char *file = malloc(n + 8);
    CHECK(file != NULL);
    if (!file) {
        free(header);
        return;
    }
    for (int i = 0; i < 8; i++)
        file[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(file + 8, header, n);
    double t0 = now_seconds();
    soma_net *net = soma_net_load_buffer(file, n + 8, "big.safetensors", NULL);
    check_speed(what, now_seconds() - t0, n + 8);
    soma_net_free(net);
    free(file);
    free(header);
}

static void test_parse_speed(void)
{
    if (!can_limit_memory()) {
        printf("  (timing is meaningless under sanitizers or valgrind: skipped)\n");
        return;
    }
    size_t n = 0;
    char *b;
    soma_csv_options target;
    memset(&target, 0, sizeof target);
    target.target = "y";
    b = repeat("a,y\n", "1.5,2\n", 1 << 19, "", &n);
    time_csv("CSV, 512k rows", b, n, &target);
    b = repeat("", ",", 2 << 20, "\n", &n);
    time_csv("CSV, 2M empty columns", b, n, NULL);
    b = repeat("", "y,", 1 << 20, "\n", &n);
    time_csv("CSV, 1M columns named y", b, n, &target);
    b = repeat("a\n\"", "xxxxxxx\n", 1 << 18, "", &n);
    time_csv("CSV, an unterminated 2 MB quoted field", b, n, NULL);
    b = repeat("", "\n", 2 << 20, "", &n);
    time_csv("CSV, 2M blank lines", b, n, NULL);
    /* distinct labels, past the 65536 the reader allows */
    size_t rows = 200000;
    b = malloc(rows * 16 + 8);
    n = 0;
    if (b) {
        n = (size_t)sprintf(b, "x,y\n");
        for (size_t i = 0; i < rows; i++)
            n += (size_t)sprintf(b + n, "1,L%zu\n", i);
    }
    time_csv("CSV, 200k distinct labels", b, n, &target);

    b = repeat("", "[", 2 << 20, "", &n);
    time_model("model, 2 MB of nested arrays", b, n);
    size_t entries = 50000;
    b = malloc(entries * 64 + 64);
    n = 0;
    if (b) {
        n = (size_t)sprintf(b, "{\"__metadata__\":{\"format\":\"soma\"}");
        for (size_t i = 0; i < entries; i++)
            n += (size_t)sprintf(b + n, ",\"t%zu\":{\"dtype\":\"F32\",\"shape\":[0],"
                                        "\"data_offsets\":[0,0]}", i);
        n += (size_t)sprintf(b + n, "}");
    }
    time_model("model, 50k empty tensors", b, n);
    b = malloc(entries * 32 + 256);
    n = 0;
    if (b) {
        n = (size_t)sprintf(b, "{\"__metadata__\":{\"format\":\"soma\","
                               "\"soma.format_version\":\"1\"");
        for (size_t i = 0; i < entries; i++)
            n += (size_t)sprintf(b + n, ",\"k%zu\":\"v\"", i);
        n += (size_t)sprintf(b + n, "}}");
    }
    time_model("model, 50k metadata keys", b, n);
    b = repeat("{\"__metadata__\":{\"format\":\"soma\",\"soma.format_version\":\"1\","
               "\"soma.inputs\":\"1\",\"soma.loss\":\"mse\",\"soma.layers\":\"[",
               "{\\\"units\\\":1,\\\"activation\\\":\\\"linear\\\",\\\"bias\\\":true},",
               40000, "1]\"}}", &n);
    time_model("model, a 40k-layer soma.layers", b, n);
}

/* ---- main ------------------------------------------------------------------ */

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/soma-test-regress-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_csv_float_max);
    RUN(test_csv_memory_wide);
    RUN(test_predict_memory);
    RUN(test_jansson_oom);
    RUN(test_parse_speed);

    char p[400];
    snprintf(p, sizeof p, "%s/jansson.safetensors", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    return harness_summary();
}
