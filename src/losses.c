/*
 * losses.c - loss values and their gradients over a batch, and the target
 * checks that go with them. The cross-entropies are computed from the
 * logits (log-sum-exp, softplus), so no exp can overflow and no log sees 0.
 */
#include "internal.h"

#include <math.h>

int soma_loss_is_fused(soma_loss loss)
{
    return loss == SOMA_LOSS_BCE || loss == SOMA_LOSS_CE;
}

int soma_target_class(soma_loss loss, const float *y_row, int y_cols, int k)
{
    if (loss == SOMA_LOSS_BCE || y_cols == 1)
        return k == 1 ? (y_row[0] >= 0.5f) : (int)y_row[0];
    int best = 0;
    for (int j = 1; j < y_cols; j++)
        if (y_row[j] > y_row[best])
            best = j;
    return best;
}

static int argmax_row(const float *o, int k)
{
    if (k == 1)
        return o[0] >= 0.5f;
    int best = 0;
    for (int j = 1; j < k; j++)
        if (o[j] > o[best])
            best = j;
    return best;
}

void soma_argmax(const float *out, size_t n, int k, int *classes)
{
    for (size_t i = 0; i < n; i++)
        classes[i] = argmax_row(out + i * (size_t)k, k);
}

size_t soma_count_correct(soma_loss loss, const float *out, const float *y,
                          int y_cols, size_t B, int k)
{
    size_t correct = 0;
    for (size_t i = 0; i < B; i++) {
        const float *o = out + i * (size_t)k, *t = y + i * (size_t)y_cols;
        if (loss == SOMA_LOSS_BCE && k > 1) {
            /* several independent labels: a row counts when all are right */
            int all = 1;
            for (int j = 0; j < k; j++)
                all &= (o[j] >= 0.5f) == (t[j] >= 0.5f);
            correct += (size_t)all;
        } else {
            correct += argmax_row(o, k) == soma_target_class(loss, t, y_cols, k);
        }
    }
    return correct;
}

soma_status soma_check_targets(soma_loss loss, int k, const float *y, size_t n,
                               int y_cols, soma_error *err)
{
    if (loss == SOMA_LOSS_CE) {
        if (y_cols != 1 && y_cols != k)
            return soma_fail(err, SOMA_ERR_ARG,
                             "loss ce takes 1 target column (class index) or %d "
                             "(one per class), not %d", k, y_cols);
    } else if (y_cols != k) {
        return soma_fail(err, SOMA_ERR_ARG,
                         "loss %s needs %d target columns (one per output), not "
                         "%d", soma_loss_name(loss), k, y_cols);
    }
    for (size_t i = 0; i < n; i++) {
        const float *t = y + i * (size_t)y_cols;
        for (int j = 0; j < y_cols; j++) {
            float v = t[j];
            if (!isfinite(v))
                return soma_fail(err, SOMA_ERR_DATA,
                                 "row %zu: target %d is not a finite number", i,
                                 j);
            if (loss == SOMA_LOSS_BCE && v != 0.0f && v != 1.0f)
                return soma_fail(err, SOMA_ERR_DATA,
                                 "row %zu: target %g is not 0 or 1 (a sigmoid "
                                 "output with bce needs 0/1 targets)",
                                 i, (double)v);
            if (loss == SOMA_LOSS_CE && y_cols == 1 &&
                (v < 0.0f || v >= (float)k || v != floorf(v)))
                return soma_fail(err, SOMA_ERR_DATA,
                                 "row %zu: target %g is not a class index in "
                                 "0..%d", i, (double)v, k - 1);
            if (loss == SOMA_LOSS_CE && y_cols == k && v < 0.0f)
                return soma_fail(err, SOMA_ERR_DATA,
                                 "row %zu: target probability %g is negative", i,
                                 (double)v);
        }
    }
    return SOMA_OK;
}

double soma_loss_eval(soma_loss loss, const float *z, const float *out,
                      const float *y, int y_cols, size_t B, int k,
                      double norm_rows, float *grad)
{
    double total = 0.0;
    size_t n = B * (size_t)k;
    switch (loss) {
    case SOMA_LOSS_SSE:
        for (size_t i = 0; i < n; i++) {
            float d = out[i] - y[i];
            total += 0.5 * (double)d * (double)d;
            if (grad)
                grad[i] = d;
        }
        return total;
    case SOMA_LOSS_MSE: {
        double norm = norm_rows * (double)k;
        float scale = (float)(2.0 / norm);
        for (size_t i = 0; i < n; i++) {
            float d = out[i] - y[i];
            total += (double)d * (double)d;
            if (grad)
                grad[i] = scale * d;
        }
        return total / norm;
    }
    case SOMA_LOSS_BCE: {
        /* -[y log p + (1-y) log(1-p)] = max(z,0) - z y + log(1 + e^-|z|) */
        double norm = norm_rows * (double)k;
        float scale = (float)(1.0 / norm);
        for (size_t i = 0; i < n; i++) {
            double zi = (double)z[i], yi = (double)y[i];
            total += (zi > 0.0 ? zi : 0.0) - zi * yi + log1p(exp(-fabs(zi)));
            if (grad)
                grad[i] = scale * (out[i] - y[i]);
        }
        return total / norm;
    }
    case SOMA_LOSS_CE: {
        float scale = (float)(1.0 / norm_rows);
        for (size_t r = 0; r < B; r++) {
            const float *zr = z + r * (size_t)k, *pr = out + r * (size_t)k;
            const float *yr = y + r * (size_t)y_cols;
            double m = (double)zr[0];
            for (int j = 1; j < k; j++)
                if ((double)zr[j] > m)
                    m = (double)zr[j];
            double s = 0.0;
            for (int j = 0; j < k; j++)
                s += exp((double)zr[j] - m);
            double lse = m + log(s);
            if (y_cols == 1) {
                int c = (int)yr[0];
                total += lse - (double)zr[c];
                if (grad) {
                    float *gr = grad + r * (size_t)k;
                    for (int j = 0; j < k; j++)
                        gr[j] = scale * (pr[j] - (j == c ? 1.0f : 0.0f));
                }
            } else {
                /* dL/dz_j = p_j * sum(y) - y_j: rows need not sum to 1 */
                float ysum = 0.0f;
                for (int j = 0; j < k; j++) {
                    total += (double)yr[j] * (lse - (double)zr[j]);
                    ysum += yr[j];
                }
                if (grad) {
                    float *gr = grad + r * (size_t)k;
                    for (int j = 0; j < k; j++)
                        gr[j] = scale * (pr[j] * ysum - yr[j]);
                }
            }
        }
        return total / norm_rows;
    }
    }
    return total;
}
