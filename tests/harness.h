/*
 * harness.h - the tiny test harness. A test file defines static void
 * functions, runs each with RUN(fn) from main and ends with
 * `return harness_summary();`. Each RUN prints "PASS name" or "FAIL name"
 * with the failed checks above it; tests/run.sh counts those lines.
 */
#ifndef SOMA_HARNESS_H
#define SOMA_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed, harness_current_failures;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            printf("  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            harness_current_failures++;                                       \
        }                                                                     \
    } while (0)

/* |a - b| <= tol, with both values printed on failure. */
#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double ha_ = (double)(a), hb_ = (double)(b);                           \
        if (!(fabs(ha_ - hb_) <= (double)(tol))) {                             \
            printf("  %s:%d: %s = %.9g, %s = %.9g, tolerance %g\n", __FILE__,  \
                   __LINE__, #a, ha_, #b, hb_, (double)(tol));                 \
            harness_current_failures++;                                        \
        }                                                                      \
    } while (0)

/* Whether msg contains sub; a NULL sub matches anything. */
static inline int harness_has(const char *msg, const char *sub)
{
    return sub == NULL || strstr(msg, sub) != NULL;
}

/* A call returns the expected status and, when sub is not NULL, its message
 * contains sub. */
#define CHECK_ERR(call, status, sub, errp)                                     \
    do {                                                                       \
        int hs_ = (int)(call);                                                 \
        if (hs_ != (int)(status) || !harness_has((errp)->message, (sub))) {    \
            printf("  %s:%d: %s gave status %d '%s', wanted %d containing "    \
                   "'%s'\n",                                                   \
                   __FILE__, __LINE__, #call, hs_, (errp)->message,            \
                   (int)(status), (sub) ? (const char *)(sub) : "");           \
            harness_current_failures++;                                        \
        }                                                                      \
    } while (0)

static inline void harness_run(const char *name, void (*fn)(void))
{
    harness_current_failures = 0;
    fn();
    if (harness_current_failures) {
        printf("FAIL %s\n", name);
        harness_failed++;
    } else {
        printf("PASS %s\n", name);
        harness_passed++;
    }
    fflush(stdout);
}

#define RUN(fn) harness_run(#fn, fn)

static inline int harness_summary(void)
{
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed ? 1 : 0;
}

#endif /* SOMA_HARNESS_H */
