/*
 * out.c - output files written whole or not at all: to a temporary name
 * next to the path, then renamed over it.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


int cli_out_open(cli_out *o, const char *path, char *msg, size_t msg_size)
{
    o->f = NULL;
    o->path = path;
    o->tmp = NULL;
    if (!path || !*path) {
        snprintf(msg, msg_size, "no output file given");
        return -1;
    }
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        return 0;
    }
    size_t size = strlen(path) + 48;
    o->tmp = malloc(size);
    if (!o->tmp) {
        snprintf(msg, msg_size, "%s: out of memory", path);
        return -1;
    }
    int e = EEXIST;
    for (int k = 0; k < 1000 && e == EEXIST; k++) {
        snprintf(o->tmp, size, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
            e = errno;
            continue;
        }
        o->f = fdopen(fd, "w");
        if (o->f)
            return 0;
        e = errno;
        close(fd);
        unlink(o->tmp);
        break;
    }
    snprintf(msg, msg_size, "%s: cannot create the temporary file '%s': %s",
             path, o->tmp, e == EEXIST ? "too many exist" : strerror(e));
    free(o->tmp);
    o->tmp = NULL;
    return -1;
}

/* Flushes, syncs and renames the temporary file over the path. */
int cli_out_commit(cli_out *o, char *msg, size_t msg_size)
{
    if (!o->tmp) {
        if (fflush(o->f) != 0 || ferror(o->f)) {
            snprintf(msg, msg_size, "cannot write the picture to standard output");
            return -1;
        }
        return 0;
    }
    /* errno only says why when one of these calls failed just now; a
     * stream error from an earlier write has no reason of its own left */
    errno = 0;
    int ok = !ferror(o->f) && fflush(o->f) == 0 && fsync(fileno(o->f)) == 0;
    int e = !ok && errno ? errno : EIO;
    if (fclose(o->f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    o->f = NULL;
    if (ok && rename(o->tmp, o->path) != 0) {
        snprintf(msg, msg_size, "%s: cannot rename '%s' to it: %s", o->path,
                 o->tmp, strerror(errno));
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    if (!ok) {
        snprintf(msg, msg_size, "%s: cannot write '%s': %s", o->path, o->tmp,
                 strerror(e));
        unlink(o->tmp);
    }
    free(o->tmp);
    o->tmp = NULL;
    return ok ? 0 : -1;
}


void cli_out_abort(cli_out *o)
{
    if (o->tmp) {
        if (o->f)
            fclose(o->f);
        unlink(o->tmp);
        free(o->tmp);
    }
    o->f = NULL;
    o->tmp = NULL;
}
