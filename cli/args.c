/*
 * args.c - table-driven parsing of "--name value", "--name=value", "-o
 * value" and flags, with every number checked for range and trailing junk.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say(const char *fmt, va_list ap)
{
    fputs("soma: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_notice(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    return 1;
}

int cli_usage_error(const cli_command *cmd, const char *msg)
{
    fprintf(stderr, "soma %s: %s (see 'soma %s --help')\n", cmd->name, msg,
            cmd->name);
    return EXIT_USAGE;
}

void cli_help(const cli_command *cmd)
{
    printf("usage: soma %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->n_opts)
        printf("\noptions:\n");
    for (int i = 0; i < cmd->n_opts; i++) {
        const cli_opt *o = &cmd->opts[i];
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        /* a long option and its value get a line of their own, so that
         * they never run into their help */
        if (strlen(left) > 28)
            printf("  %s\n  %-28s %s\n", left, "", o->help);
        else
            printf("  %-28s %s\n", left, o->help);
    }
    printf("  %-28s %s\n", "-h, --help", "show this help");
}

/* Levenshtein distance of a and b, case-insensitive, stopping at 9. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 9;
    int prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] +
                      (tolower((unsigned char)a[i - 1]) !=
                       tolower((unsigned char)b[j - 1]));
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb] < 9 ? prev[lb] : 9;
}

const char *cli_suggest(const char *word, const char *const *names, int n)
{
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(word, names[i]);
        if (d < best_d && (d == 0 || 3 * (size_t)d < strlen(names[i]))) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

static const cli_opt *find_opt(const cli_command *cmd, const char *name,
                               size_t len, char short_name)
{
    for (int i = 0; i < cmd->n_opts; i++) {
        const cli_opt *o = &cmd->opts[i];
        if (short_name ? o->short_name == short_name
                       : strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    }
    return NULL;
}

/* Stores value into o's destination; 0 on success, -1 with msg set. */
static int store(const cli_opt *o, const char *value, char *msg, size_t msg_size)
{
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_FLAG:
        *(int *)o->dest = 1;
        return 0;
    case OPT_STRING:
        *(const char **)o->dest = value;
        return 0;
    case OPT_LIST: {
        cli_list *l = o->dest;
        const char *p = value;
        for (;;) {
            size_t len = strcspn(p, ",");
            if (len > 0) {
                if (l->n == CLI_LIST_MAX || l->used + len + 1 > sizeof l->buf) {
                    snprintf(msg, msg_size, "--%s: too many items", o->name);
                    return -1;
                }
                memcpy(l->buf + l->used, p, len);
                l->buf[l->used + len] = '\0';
                l->items[l->n++] = l->buf + l->used;
                l->used += len + 1;
            }
            if (!p[len])
                return 0;
            p += len + 1;
        }
    }
    case OPT_INT:
    case OPT_SIZE: {
        long long v = strtoll(value, &end, 10);
        if (end == value || *end || errno || (double)v < o->min ||
            (double)v > o->max) {
            snprintf(msg, msg_size, "--%s needs a whole number from %.0f to %.0f, "
                     "not '%s'", o->name, o->min, o->max, value);
            return -1;
        }
        if (o->kind == OPT_INT)
            *(int *)o->dest = (int)v;
        else
            *(size_t *)o->dest = (size_t)v;
        return 0;
    }
    case OPT_U64: {
        if (value[0] == '-') {
            snprintf(msg, msg_size, "--%s needs a non-negative whole number, not "
                     "'%s'", o->name, value);
            return -1;
        }
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || errno) {
            snprintf(msg, msg_size, "--%s needs a non-negative whole number, not "
                     "'%s'", o->name, value);
            return -1;
        }
        *(uint64_t *)o->dest = (uint64_t)v;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || !isfinite(v) || v < o->min || v > o->max) {
            snprintf(msg, msg_size, "--%s needs a number from %g to %g, not '%s'",
                     o->name, o->min, o->max, value);
            return -1;
        }
        *(double *)o->dest = v;
        return 0;
    }
    }
    return -1;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, const char **pos,
              int *n_pos, char *msg, size_t msg_size)
{
    *n_pos = 0;
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (*n_pos >= cmd->max_pos) {
                snprintf(msg, msg_size, "unexpected argument '%s'", a);
                return -1;
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_help(cmd);
            return 1;
        }
        const cli_opt *o;
        const char *value = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_opt(cmd, name, len, 0);
            if (eq)
                value = eq + 1;
        } else {
            o = a[2] == '\0' ? find_opt(cmd, NULL, 0, a[1]) : NULL;
        }
        if (!o) {
            const char *names[64];
            char dashed[64][40];
            int n = 0;
            for (int k = 0; k < cmd->n_opts && n < 64; k++, n++) {
                snprintf(dashed[n], sizeof dashed[n], "--%s", cmd->opts[k].name);
                names[n] = dashed[n];
            }
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)strcspn(a, "="), a);
            const char *near = cli_suggest(word, names, n);
            if (near)
                snprintf(msg, msg_size, "unknown option '%s' (did you mean '%s'?)",
                         a, near);
            else
                snprintf(msg, msg_size, "unknown option '%s'", a);
            return -1;
        }
        if (o->kind == OPT_FLAG) {
            if (value) {
                snprintf(msg, msg_size, "--%s takes no value", o->name);
                return -1;
            }
        } else if (!value) {
            if (i + 1 >= argc) {
                snprintf(msg, msg_size, "--%s needs a value (%s)", o->name,
                         o->arg ? o->arg : "?");
                return -1;
            }
            value = argv[++i];
        }
        if (store(o, value, msg, msg_size) != 0)
            return -1;
    }
    if (*n_pos < cmd->min_pos) {
        snprintf(msg, msg_size, "missing argument: %s", cmd->usage);
        return -1;
    }
    return 0;
}

void cli_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
