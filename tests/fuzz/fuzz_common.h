/*
 * fuzz_common.h - what the libFuzzer targets share: a byte counter on the
 * heap, so that a target can check that one call allocated no more than a
 * bound it states (docs/testing.md, "Memory is bounded by the input"), and
 * small input helpers.
 *
 * The counter rides on the sanitizer allocator's malloc/free hooks: it sees
 * every allocation of the process, soma's allocator and jansson's malloc
 * alike. fuzz_mem_begin() starts a window, fuzz_mem_peak() returns the most
 * bytes that were live at once during it beyond what was live at its start.
 */
#ifndef SOMA_FUZZ_COMMON_H
#define SOMA_FUZZ_COMMON_H

#ifndef FUZZ_NO_MEM_BOUNDS
#include <sanitizer/allocator_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A finding: prints "fuzz: MESSAGE" and aborts, so that libFuzzer keeps the
 * input. The message also goes to the sanitizer's report stream as
 * "SUMMARY: ERROR: fuzz: ...", which survives -close_fd_mask=2 (fuzz_cli)
 * and is the kind of line fork mode copies from a job's log into its own. */
static inline void fuzz_fail(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
static inline void fuzz_fail(const char *fmt, ...)
{
    char msg[512], line[560];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "fuzz: %s\n", msg);
#ifndef FUZZ_NO_MEM_BOUNDS
    snprintf(line, sizeof line, "ERROR: fuzz: %s", msg);
    __sanitizer_report_error_summary(line);
#else
    (void)line;
#endif
    abort();
}

#ifdef FUZZ_NO_MEM_BOUNDS
/* Builds without the sanitizer allocator (tests/fuzz/coverage.sh): no
 * counting, no bound. */
static inline void fuzz_mem_init(void) {}
static inline void fuzz_mem_begin(void) {}
static inline void fuzz_mem_check(const char *what, size_t limit, size_t input)
{
    (void)what;
    (void)limit;
    (void)input;
}
#else
static size_t fuzz_live, fuzz_peak, fuzz_base;

static void fuzz_malloc_hook(const volatile void *p, size_t size)
{
    (void)p;
    size_t live = __atomic_add_fetch(&fuzz_live, size, __ATOMIC_RELAXED);
    size_t peak = __atomic_load_n(&fuzz_peak, __ATOMIC_RELAXED);
    while (live > peak &&
           !__atomic_compare_exchange_n(&fuzz_peak, &peak, live, 1,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static void fuzz_free_hook(const volatile void *p)
{
    if (p && __sanitizer_get_ownership((const void *)p))
        __atomic_sub_fetch(&fuzz_live,
                           __sanitizer_get_allocated_size((const void *)p),
                           __ATOMIC_RELAXED);
}

/* Installs the hooks once; call from LLVMFuzzerInitialize. */
static inline void fuzz_mem_init(void)
{
    __sanitizer_install_malloc_and_free_hooks(fuzz_malloc_hook, fuzz_free_hook);
}

static inline void fuzz_mem_begin(void)
{
    fuzz_base = __atomic_load_n(&fuzz_live, __ATOMIC_RELAXED);
    __atomic_store_n(&fuzz_peak, fuzz_base, __ATOMIC_RELAXED);
}

static inline size_t fuzz_mem_peak(void)
{
    size_t peak = __atomic_load_n(&fuzz_peak, __ATOMIC_RELAXED);
    return peak > fuzz_base ? peak - fuzz_base : 0;
}

/* Aborts (a libFuzzer finding) when the window's peak is over limit. */
static inline void fuzz_mem_check(const char *what, size_t limit, size_t input)
{
    size_t peak = fuzz_mem_peak();
    if (peak > limit)
        fuzz_fail("%s allocated %zu bytes at peak for a %zu-byte input; the "
                  "bound is %zu",
                  what, peak, input, limit);
}
#endif

/* A failed invariant is a finding. */
#define FUZZ_ASSERT(cond)                                                     \
    do {                                                                      \
        if (!(cond))                                                          \
            fuzz_fail("%s:%d: invariant failed: %s", __FILE__, __LINE__,      \
                      #cond);                                                 \
    } while (0)

/* Taking bytes off the front of the input. */
typedef struct fuzz_reader {
    const uint8_t *p;
    size_t n;
} fuzz_reader;

static inline unsigned fuzz_byte(fuzz_reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

#endif /* SOMA_FUZZ_COMMON_H */
