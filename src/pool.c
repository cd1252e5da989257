/*
 * pool.c - worker threads. (Being written: for now everything runs on the
 * calling thread.)
 */
#include "internal.h"

#include <unistd.h>

int soma_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}
