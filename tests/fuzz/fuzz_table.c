/*
 * fuzz_table.c - libFuzzer target for the table reader (soma_table_parse),
 * the preprocessing (soma_prep_fit, soma_prep_apply) and its JSON form
 * (soma_prep_from_json).
 *
 * Input layout:
 *   byte 0        bits 0-2 the separator (0 detected, then , ; tab | space),
 *                 bits 3-4 the decimal mark (0 detected, '.', ','), bit 5
 *                 the missing policy drop, bit 6 the task regress, bit 7:
 *                 the rest is a soma.preprocess JSON text instead of a table
 *   byte 1        the target column (modulo the column count); its low bit
 *                 also forces the first other column categorical
 *   the rest      the text
 *
 * Checks: no crash, leak or undefined behaviour; memory within
 * TABLE_MEM_FACTOR * size + slack while reading; a fitted prep survives
 * its JSON round trip unchanged, and applying it to its own table gives
 * n_inputs columns, finite values, and (training) targets in range.
 */
#include "fuzz_common.h"

#include "soma.h"

#include <math.h>

#define TABLE_MEM_FACTOR 64
#define TABLE_MEM_SLACK (2u << 20) /* the reader's 1 MB buffer and such */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_mem_init();
    return 0;
}

static void check_json(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    soma_error e;
    soma_prep *p = soma_prep_from_json(text, "fuzz", &e);
    if (p) {
        char *j = soma_prep_to_json(p, &e);
        FUZZ_ASSERT(j != NULL);
        soma_prep *q = soma_prep_from_json(j, "again", &e);
        FUZZ_ASSERT(q != NULL && q->n_inputs == p->n_inputs);
        char *k = soma_prep_to_json(q, &e);
        FUZZ_ASSERT(k != NULL && strcmp(j, k) == 0);
        soma_prep_json_free(j);
        soma_prep_json_free(k);
        soma_prep_free(q);
    }
    soma_prep_free(p);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char seps[8] = {0, ',', ';', '\t', '|', ' ', 0, 0};
    static const char decimals[4] = {0, '.', ',', 0};
    fuzz_reader r = {data, size};
    unsigned flags = fuzz_byte(&r), which = fuzz_byte(&r);
    if (flags & 0x80) {
        check_json(r.p, r.n);
        return 0;
    }
    soma_table_options o;
    memset(&o, 0, sizeof o);
    o.sep = seps[flags & 7];
    o.decimal = decimals[(flags >> 3) & 3];
    soma_error e;
    soma_table *t = NULL;
    fuzz_mem_begin();
    soma_status st = soma_table_parse(r.p, r.n, "fuzz.csv", &o, &t, &e);
    fuzz_mem_check("soma_table_parse", TABLE_MEM_FACTOR * r.n + TABLE_MEM_SLACK,
                   r.n);
    if (st != SOMA_OK) {
        FUZZ_ASSERT(t == NULL && e.message[0]);
        return 0;
    }
    int nc = soma_table_n_cols(t);
    FUZZ_ASSERT(nc >= 1 && soma_table_n_rows(t) >= 1);
    const char *target = soma_table_col_name(t, (int)(which % (unsigned)nc));
    const char *cat = NULL;
    for (int c = 0; c < nc && (which & 1); c++)
        if (strcmp(soma_table_col_name(t, c), target) != 0) {
            cat = soma_table_col_name(t, c);
            break;
        }
    soma_prep_options po;
    memset(&po, 0, sizeof po);
    po.targets = &target;
    po.n_targets = 1;
    po.categorical = cat ? &cat : NULL;
    po.n_categorical = cat ? 1 : 0;
    po.missing = (flags & 0x20) ? SOMA_MISSING_DROP : SOMA_MISSING_IMPUTE;
    po.task = (flags & 0x40) ? SOMA_TASK_REGRESS : SOMA_TASK_AUTO;
    po.max_categories = 50;
    soma_prep *p = NULL;
    if (soma_prep_fit(t, &po, &p, &e) == SOMA_OK) {
        char *j = soma_prep_to_json(p, &e);
        FUZZ_ASSERT(j != NULL);
        soma_prep *q = soma_prep_from_json(j, "fuzz", &e);
        /* a fit may give one class, which a model cannot have */
        if (q) {
            char *k = soma_prep_to_json(q, &e);
            FUZZ_ASSERT(k != NULL && strcmp(j, k) == 0);
            soma_prep_json_free(k);
        } else {
            FUZZ_ASSERT(p->task == SOMA_TASK_CLASSIFY && p->n_classes < 2);
        }
        soma_prep_free(q);
        soma_prep_json_free(j);
        soma_dataset *ds = NULL;
        soma_prep_report rep;
        if (soma_prep_apply(p, t, SOMA_PREP_TARGETS | SOMA_PREP_TRAINING, &ds,
                            &rep, &e) == SOMA_OK) {
            FUZZ_ASSERT(ds->n_features == p->n_inputs && ds->n_rows >= 1);
            size_t n = ds->n_rows * (size_t)ds->n_features;
            for (size_t i = 0; i < n; i++)
                FUZZ_ASSERT(isfinite(ds->x[i]));
            for (size_t i = 0; i < ds->n_rows; i++)
                FUZZ_ASSERT(p->task == SOMA_TASK_REGRESS
                                ? isfinite(ds->y[i])
                                : ds->y[i] >= 0 && ds->y[i] < (float)p->n_classes);
            soma_dataset_free(ds);
        }
        soma_prep_free(p);
    }
    soma_table_free(t);
    return 0;
}
