/*
 * forward.c - inference: the forward pass, predict and evaluate.
 */
#include "internal.h"
#include "kernels/kernels.h"

#include <string.h>

/* Rows per chunk in predict and evaluate: big enough for the matrix kernel
 * to stream, small enough that the workspace stays in cache; fewer for very
 * wide nets, so the workspace stays near 2^20 floats per buffer (or one
 * row), never a multiple of the model's size. */
#define CHUNK 256
#define CHUNK_FLOATS ((size_t)1 << 20)

/* What the matrix kernel applies to layer l as it stores the product: the
 * bias, and a ReLU unless the pre-activation is wanted as logits. */
static soma_epilogue layer_epilogue(const soma_net *net, int l, int want_logits)
{
    const soma_layer_spec *ls = &net->layers[l];
    soma_epilogue ep = {ls->bias ? net->params + net->b_off[l] : NULL,
                        ls->activation == SOMA_ACT_RELU && !want_logits};
    return ep;
}

/* The rest of layer l once z holds the product with ep applied. */
static void layer_rest(const soma_net *net, int l, const soma_epilogue *ep,
                       float *z, size_t n, float *logits)
{
    if (logits)
        memcpy(logits, z, n * (size_t)net->layers[l].units * sizeof(float));
    if (!ep->relu)
        soma_act_forward(net->layers[l].activation, z, n, net->layers[l].units);
}

void soma_forward_from(const soma_exec *e, const soma_net *net, int first,
                       const float *in, size_t n, float *const *acts,
                       float *logits)
{
    const float *a = in;
    for (int l = first; l < net->n_layers; l++) {
        int units = net->layers[l].units, fan_in = net->fan_in[l];
        float *lg = l == net->n_layers - 1 ? logits : NULL;
        float *z = acts[l];
        /* z [n, units] = a [n, fan_in] . W^T + b, W [units, fan_in], the
         * bias and a ReLU applied as the product stores each tile (the same
         * arithmetic as separate passes, while the tile is in registers) */
        soma_epilogue ep = layer_epilogue(net, l, lg != NULL);
        soma_gemm(e, 0, 1, (int)n, units, fan_in, 1.0f, a, fan_in,
                  net->params + net->w_off[l], fan_in, 0.0f, z, units, &ep);
        layer_rest(net, l, &ep, z, n, lg);
        a = z;
    }
}

void soma_forward(const soma_exec *e, const soma_net *net, const float *in,
                  size_t n, float *const *acts, float *logits)
{
    soma_forward_from(e, net, 0, in, n, acts, logits);
}

void soma_forward_finish(const soma_net *net, int l, float *z, size_t n,
                         float *logits)
{
    float *lg = l == net->n_layers - 1 ? logits : NULL;
    soma_epilogue ep = layer_epilogue(net, l, lg != NULL);
    soma_epilogue_apply(&ep, z, net->layers[l].units, 0, (int)n, 0,
                        net->layers[l].units);
    layer_rest(net, l, &ep, z, n, lg);
}

/* Makes sure the net's predict workspace holds three [rows, max_units]
 * buffers with rows enough for a chunk of n rows, and threads as many as
 * net->threads asks for. */
static soma_status reserve_workspace(soma_net *net, size_t n, soma_error *err)
{
    int want = net->threads <= 0 ? soma_cpu_count() : net->threads;
    if (net->exec && net->exec->threads != want) {
        soma_exec_free(net->exec);
        soma_free(net->exec);
        net->exec = NULL;
    }
    if (!net->exec) {
        soma_exec *e = soma_alloc(sizeof *e);
        if (!e)
            return soma_fail(err, SOMA_ERR_NOMEM, "out of memory");
        soma_status s = soma_exec_init(e, want, err);
        if (s != SOMA_OK) {
            soma_free(e);
            return s;
        }
        net->exec = e;
    }
    size_t rows = CHUNK_FLOATS / (size_t)net->max_units;
    rows = rows < 1 ? 1 : rows > CHUNK ? CHUNK : rows;
    if (n < rows)
        rows = n < 1 ? 1 : n;
    if (net->ws && net->ws_rows >= rows)
        return SOMA_OK;
    size_t per;
    if (!soma_size_mul(rows, (size_t)net->max_units, &per))
        return soma_fail(err, SOMA_ERR_NOMEM, "network too wide");
    float *ws = soma_alloc_array(per, 3 * sizeof(float));
    if (!ws)
        return soma_fail(err, SOMA_ERR_NOMEM,
                         "out of memory for the predict workspace");
    soma_free(net->ws);
    net->ws = ws;
    net->ws_rows = rows;
    return SOMA_OK;
}

/* Runs one chunk of rows: standardises x into the workspace and runs the
 * layers ping-ponging between two buffers. Returns the output [n, k]; the
 * logits go to the third buffer when want_logits. */
static const float *run_chunk(soma_net *net, const float *x, size_t n,
                              int want_logits, float **logits)
{
    size_t per = net->ws_rows * (size_t)net->max_units;
    float *buf[2] = {net->ws, net->ws + per};
    float *acts[SOMA_MAX_LAYERS];
    soma_standardize_rows(net, x, n, buf[0]);
    for (int l = 0; l < net->n_layers; l++)
        acts[l] = buf[(l + 1) % 2];
    *logits = want_logits ? net->ws + 2 * per : NULL;
    soma_forward(net->exec, net, buf[0], n, acts, *logits);
    return acts[net->n_layers - 1];
}

static soma_status check_inputs(const soma_net *net, const float *x, size_t n,
                                soma_error *err)
{
    size_t d = (size_t)net->n_inputs;
    size_t bad = soma_find_nonfinite(x, n * d);
    if (bad < n * d)
        return soma_fail(err, SOMA_ERR_DATA,
                         "row %zu, input %zu: %g is not a finite number",
                         bad / d, bad % d, (double)x[bad]);
    return SOMA_OK;
}

soma_status soma_net_prepare(soma_net *net, soma_error *err)
{
    if (!net)
        return soma_fail(err, SOMA_ERR_ARG, "no network given");
    soma_net_sync(net);
    size_t off[SOMA_MAX_LAYERS], total = 0;
    for (int l = 0; l < net->n_layers; l++) {
        size_t panels = ((size_t)net->layers[l].units + 15) / 16, sz;
        off[l] = total;
        if (!soma_size_mul(panels * 16, (size_t)net->fan_in[l], &sz) ||
            !soma_size_add(total, sz, &total))
            return soma_fail(err, SOMA_ERR_ARG,
                             "the network has too many parameters");
    }
    if (!net->prep) {
        net->prep = soma_alloc_array(total, sizeof(float));
        if (!net->prep)
            return soma_fail(err, SOMA_ERR_NOMEM,
                             "out of memory preparing the network");
    }
    for (int l = 0; l < net->n_layers; l++) {
        net->prep_off[l] = off[l];
        soma_gdt_pack(net->params + net->w_off[l], (size_t)net->fan_in[l],
                         (size_t)net->layers[l].units, net->prep + off[l]);
    }
    return SOMA_OK;
}

void soma_net_unprepare(soma_net *net)
{
    if (net && net->prep) {
        soma_free(net->prep);
        net->prep = NULL;
    }
}

/* One row through the prepared weights: each layer's product is the
 * matrix kernel's chains (soma_gdt_step without an update, kernels.h), so
 * the bits are soma_forward's; reading the weights as rows of what each
 * input feeds to every unit needs no shuffling in registers, which the
 * product with the weight in place does. */
static void predict_prepared(soma_net *net, const float *x, float *out)
{
    size_t per = net->ws_rows * (size_t)net->max_units;
    float *buf[2] = {net->ws, net->ws + per};
    soma_gdt_step_fn product = soma_gdt_step_best();
    soma_standardize_rows(net, x, 1, buf[0]);
    const float *a = buf[0];
    for (int l = 0; l < net->n_layers; l++) {
        float *z = buf[(l + 1) % 2];
        product(net->prep + net->prep_off[l], (size_t)net->fan_in[l],
                (size_t)net->layers[l].units, 0, NULL, NULL, 0.0f, 1, a, z);
        soma_forward_finish(net, l, z, 1, NULL);
        a = z;
    }
    memcpy(out, a, (size_t)soma_net_n_outputs(net) * sizeof(float));
}

soma_status soma_predict(soma_net *net, const float *x, size_t n, float *out,
                         soma_error *err)
{
    if (!net || (n > 0 && (!x || !out)))
        return soma_fail(err, SOMA_ERR_ARG, "predict needs a net, inputs and "
                                            "an output buffer");
    soma_net_sync(net);
    soma_status s = check_inputs(net, x, n, err);
    if (s == SOMA_OK)
        s = reserve_workspace(net, n, err);
    if (s != SOMA_OK)
        return s;
    if (net->prep && n == 1) {
        predict_prepared(net, x, out);
        return SOMA_OK;
    }
    size_t d = (size_t)net->n_inputs, k = (size_t)soma_net_n_outputs(net);
    size_t chunk = net->ws_rows;
    for (size_t r = 0; r < n; r += chunk) {
        size_t m = n - r < chunk ? n - r : chunk;
        float *logits;
        const float *o = run_chunk(net, x + r * d, m, 0, &logits);
        memcpy(out + r * k, o, m * k * sizeof(float));
    }
    return SOMA_OK;
}

soma_status soma_evaluate(soma_net *net, const float *x, const float *y,
                          size_t n, int y_cols, double *loss, double *accuracy,
                          size_t *confusion, soma_error *err)
{
    if (!net || !x || !y || n == 0)
        return soma_fail(err, SOMA_ERR_ARG,
                         "evaluate needs a net and at least one example");
    soma_net_sync(net);
    int k = soma_net_n_outputs(net);
    soma_status s = soma_check_targets(net->loss, k, y, n, y_cols, err);
    if (s == SOMA_OK)
        s = check_inputs(net, x, n, err);
    if (s == SOMA_OK)
        s = reserve_workspace(net, n, err);
    if (s != SOMA_OK)
        return s;
    int classify = net->loss == SOMA_LOSS_CE || net->loss == SOMA_LOSS_BCE;
    int nc = k == 1 ? 2 : k;
    int with_confusion = confusion && classify &&
                         (net->loss == SOMA_LOSS_CE || k == 1);
    if (with_confusion)
        memset(confusion, 0, (size_t)nc * (size_t)nc * sizeof *confusion);
    double total = 0.0;
    size_t correct = 0, d = (size_t)net->n_inputs;
    size_t chunk = net->ws_rows;
    for (size_t r = 0; r < n; r += chunk) {
        size_t m = n - r < chunk ? n - r : chunk;
        float *z;
        const float *o = run_chunk(net, x + r * d, m, 1, &z);
        const float *yc = y + r * (size_t)y_cols;
        total += soma_loss_eval(net->loss, z, o, yc, y_cols, m, k, (double)n,
                                NULL);
        if (classify)
            correct += soma_count_correct(net->loss, o, yc, y_cols, m, k);
        if (with_confusion) {
            for (size_t i = 0; i < m; i++) {
                int truth = soma_target_class(net->loss, yc + i * (size_t)y_cols,
                                              y_cols, k);
                int pred;
                soma_argmax(o + i * (size_t)k, 1, k, &pred);
                confusion[(size_t)truth * (size_t)nc + (size_t)pred]++;
            }
        }
    }
    if (loss)
        *loss = total;
    if (accuracy)
        *accuracy = classify ? (double)correct / (double)n : -1.0;
    return SOMA_OK;
}
