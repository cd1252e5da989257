/*
 * fuzz_cli.c - libFuzzer target for the command line: the real soma
 * program, main() and every subcommand, called in-process with an argv made
 * from the input (cli/main.c is compiled with -Dmain=soma_cli_main, so a
 * subcommand added to main's table is fuzzed with no change here).
 *
 * The input is the argument list, one argument per line ("train\nd\n-t\ny"
 * is `soma train d -t y`). Calling the real commands, not cli_parse with
 * copied option tables, fuzzes each command's actual table and everything
 * it does with the values: the checks after parsing, reading the files,
 * training, saving, printing.
 *
 * Beyond the sanitizers' checks: the exit status is 0, 1 or 2, no file
 * descriptor is left open and no thread is left running (--threads starts
 * a pool that must be joined).
 *
 * The commands run in a private scratch folder holding small fixture files
 * with one-letter names, so the fuzzer can name them:
 *   d  a CSV with three classes (features a, b, c; target y)
 *   r  a CSV with a numeric target (a, b, y)
 *   b  a CSV with a 0/1 target (a, y)
 *   m  a model trained on d;  n  a model trained on r (no hidden layer)
 *   i  IDX images [6, 2, 2];  l  IDX labels [6]
 *   g  a training log (soma train --log);  c  a checkpoint (--checkpoint)
 *   x  bytes that are no format at all
 * After every input, files the command created are removed and fixtures it
 * changed are rewritten, so every input runs against the same files.
 *
 * Bounds, so that one input costs milliseconds, not minutes: an input is
 * rejected (not run) when an argument holds '/' (nothing outside the scratch
 * folder is read or written), when it has more than 64 arguments, or when a
 * number in it is above 32 but not above 10^12 (so --epochs, --layers,
 * --threads and --iterations stay small, while numbers too large for any
 * option still reach the range checks), or the numbers up to 32 add up to
 * more than 256. --iterations of demo defaults to 10000: demo without it
 * runs as it is (a few milliseconds).
 */
#include "fuzz_common.h"

#include "soma.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int soma_cli_main(int argc, char **argv);

#define MAX_ARGS 64

typedef struct fixture {
    const char *name;
    unsigned char *data;
    size_t size;
    struct stat st; /* as written: a change shows in the inode or mtime */
} fixture;

static fixture fixtures[16];
static int n_fixtures;
static char scratch[256];
/* The folder libFuzzer runs in (corpus paths are relative to it) and the
 * scratch folder; each input runs inside the second. */
static int home_fd = -1, scratch_fd = -1;

static const char csv_d[] =
    "a,b,c,y\n"
    "5.1,3.5,1.4,setosa\n4.9,3.0,1.4,setosa\n4.7,3.2,1.3,setosa\n"
    "7.0,3.2,4.7,versicolor\n6.4,3.2,4.5,versicolor\n6.9,3.1,4.9,versicolor\n"
    "6.3,3.3,6.0,virginica\n5.8,2.7,5.1,virginica\n7.1,3.0,5.9,virginica\n";
static const char csv_r[] =
    "a,b,y\n1,2,3.5\n2,1,4\n3,5,9.25\n4,4,10\n0,1,0.5\n";
static const char csv_b[] = "a,y\n0,0\n1,1\n0.2,0\n0.9,1\n";
static const char junk[] = "\x00\x01not a file format\xff\n,,\"";

static void write_file(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(name, "wb");
    FUZZ_ASSERT(f && fwrite(data, 1, n, f) == n && fclose(f) == 0);
}

static unsigned char *read_file(const char *name, size_t *n)
{
    FILE *f = fopen(name, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *b = malloc(cap);
    FUZZ_ASSERT(b);
    for (;;) {
        size_t got = fread(b + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
        if (len == cap) {
            cap *= 2;
            b = realloc(b, cap);
            FUZZ_ASSERT(b);
        }
    }
    fclose(f);
    *n = len;
    return b;
}

/* Runs `soma args...`; returns the exit status. */
static int soma(int n, const char *const *args)
{
    char *argv[MAX_ARGS + 2];
    argv[0] = (char *)"soma";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    return soma_cli_main(n + 1, argv);
}

static void keep_fixture(const char *name)
{
    fixture *f = &fixtures[n_fixtures];
    f->name = name;
    f->data = read_file(name, &f->size);
    if (f->data && stat(name, &f->st) == 0)
        n_fixtures++;
}

static void make_fixtures(void)
{
    static const unsigned char images[] = {0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 2,
                                           0, 0, 0, 2, 0, 255, 3, 4, 9, 8,
                                           7, 6, 10, 11, 12, 13, 100, 101, 102,
                                           103, 1, 1, 1, 1, 200, 201, 202, 203};
    static const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 6,
                                           0, 1, 2, 0, 1, 2};
    write_file("d", csv_d, sizeof csv_d - 1);
    write_file("r", csv_r, sizeof csv_r - 1);
    write_file("b", csv_b, sizeof csv_b - 1);
    write_file("x", junk, sizeof junk - 1);
    write_file("i", images, sizeof images);
    write_file("l", labels, sizeof labels);
    static const char *const train_m[] = {"train", "d", "--target", "y", "-o", "m",
                                          "--layers", "4", "--epochs", "3", "-q"};
    static const char *const train_n[] = {"train", "r", "--target", "y", "-o", "n",
                                          "--layers", "none", "--epochs", "3", "-q"};
    static const char *const train_g[] = {"train", "b", "--target", "y", "-o", "tmp",
                                          "--epochs", "3", "-q", "--log", "g"};
    static const char *const train_c[] = {"train", "d", "--target", "y", "-o", "tmp",
                                          "--epochs", "2", "-q", "--checkpoint", "c"};
    FUZZ_ASSERT(soma(11, train_m) == 0);
    FUZZ_ASSERT(soma(11, train_n) == 0);
    /* options that may not exist yet: their fixtures are optional */
    if (soma(11, train_g) != 0)
        unlink("g");
    if (soma(11, train_c) != 0)
        unlink("c");
    unlink("tmp");
    const char *names[] = {"d", "r", "b", "x", "i", "l", "m", "n", "g", "c"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        keep_fixture(names[i]);
}

static int is_fixture(const char *name)
{
    for (int i = 0; i < n_fixtures; i++)
        if (strcmp(fixtures[i].name, name) == 0)
            return 1;
    return 0;
}

/* Removes what the last command created, restores what it changed. */
static void restore(void)
{
    DIR *d = opendir(".");
    FUZZ_ASSERT(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            !is_fixture(e->d_name))
            FUZZ_ASSERT(unlink(e->d_name) == 0);
    closedir(d);
    for (int i = 0; i < n_fixtures; i++) {
        fixture *f = &fixtures[i];
        struct stat st;
        if (stat(f->name, &st) == 0 && st.st_ino == f->st.st_ino &&
            st.st_size == f->st.st_size &&
            st.st_mtim.tv_sec == f->st.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec)
            continue;
        unlink(f->name);
        write_file(f->name, f->data, f->size);
        FUZZ_ASSERT(stat(f->name, &f->st) == 0);
    }
}

/* The number of threads in this process (the pool must join its workers). */
static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    int n = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* The number of open file descriptors (a command must close its files);
 * with LIST, the ones at or above FROM are described there. */
static int fd_count(char *list, size_t cap, int from)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    size_t used = 0;
    struct dirent *e;
    if (!d)
        return -1;
    if (list && cap)
        list[0] = '\0';
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        int fd = atoi(e->d_name);
        if (list && fd >= from && fd != dirfd(d) && used + 80 < cap) {
            char link[64], target[256];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t k = readlink(link, target, sizeof target - 1);
            target[k > 0 ? k : 0] = '\0';
            used += (size_t)snprintf(list + used, cap - used, " %d=%.60s", fd,
                                     target);
        }
    }
    closedir(d);
    return n;
}

/* The cost bounds of the header comment; 1 when the input may run. */
static int cheap(char **args, int n)
{
    unsigned long long sum = 0;
    for (int i = 0; i < n; i++) {
        if (strchr(args[i], '/'))
            return 0;
        for (const char *p = args[i]; *p;) {
            if (*p < '0' || *p > '9') {
                p++;
                continue;
            }
            unsigned long long v = 0;
            for (; *p >= '0' && *p <= '9'; p++)
                if (v <= 1000000000000ull)
                    v = v * 10 + (unsigned)(*p - '0');
            if (v > 1000000000000ull)
                continue;
            if (v > 32)
                return 0;
            sum += v;
        }
    }
    return sum <= 256;
}

/* Empties and removes the scratch folder at exit. */
static void remove_scratch(void)
{
    n_fixtures = 0; /* now every file goes */
    if (fchdir(scratch_fd) == 0)
        restore();
    if (fchdir(home_fd) == 0)
        rmdir(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(scratch, sizeof scratch, "%s/soma-fuzz-cli-XXXXXX", base);
    FUZZ_ASSERT(mkdtemp(scratch));
    home_fd = open(".", O_RDONLY | O_DIRECTORY);
    scratch_fd = open(scratch, O_RDONLY | O_DIRECTORY);
    FUZZ_ASSERT(home_fd >= 0 && scratch_fd >= 0 && fchdir(scratch_fd) == 0);
    /* predict and info print on stdout: only libFuzzer's stderr matters */
    int null = open("/dev/null", O_WRONLY);
    FUZZ_ASSERT(null >= 0 && dup2(null, 1) == 1);
    close(null);
    make_fixtures();
    atexit(remove_scratch);
    FUZZ_ASSERT(fchdir(home_fd) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FUZZ_ASSERT(text);
    memcpy(text, data, size);
    text[size] = '\0';
    char *args[MAX_ARGS + 1];
    int n = 0;
    for (char *p = text;;) {
        char *nl = strchr(p, '\n');
        if (n == MAX_ARGS) {
            free(text);
            return -1;
        }
        args[n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    if (!cheap(args, n)) {
        free(text);
        return -1;
    }
    static int threads = -1;
    if (threads < 0)
        threads = thread_count();
    /* counted around each command: between inputs libFuzzer itself may open
     * pipes to the symbolizer it starts to name new functions */
    int fds = fd_count(NULL, 0, 0);
    FUZZ_ASSERT(fchdir(scratch_fd) == 0);
    int rc = soma(n, (const char *const *)args);
    if (rc != 0 && rc != 1 && rc != 2)
        fuzz_fail("exit status %d", rc);
    char open_fds[400];
    int now = fd_count(open_fds, sizeof open_fds, 3);
    if (now != fds)
        fuzz_fail("%d file descriptors open after the command, %d before:%s",
                  now, fds, open_fds);
    /* pthread_join can return a moment before the thread leaves the
     * process's count: give it a little time */
    for (int i = 0; i < 200 && thread_count() != threads; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    if (thread_count() != threads)
        fuzz_fail("%d threads after the command, %d before", thread_count(),
                  threads);
    fflush(stdout);
    restore();
    FUZZ_ASSERT(fchdir(home_fd) == 0);
    free(text);
    return 0;
}
