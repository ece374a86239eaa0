/* Checkpoints: a model file with one more chunk, "trst", holding where a
 * minibatch run stands (docs/FORMAT.md). The tag starts with a lowercase
 * letter, so every model loader skips it: a checkpoint is also a model. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/nn.h"
#include "model_file.h"
#include "outfile.h"

#define TRST_VERSION 1u

static void put_le(uint8_t *at, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) at[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *at, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)at[i] << (8 * i);
    return v;
}

static uint8_t *put_floats(uint8_t *at, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        put_le(at, bits, 4);
        at += 4;
    }
    return at;
}

static void get_floats(const uint8_t *at, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)get_le(at + 4 * i, 4);
        memcpy(&v[i], &bits, 4);
    }
}

dsc_status dsc_checkpoint_encode(const dsc_model *m, const dsc_train_state *st, uint8_t **bytes,
                                 size_t *size_out)
{
    if (!m || !st || !bytes || !size_out)
        return dsc_fail(DSC_EINVAL, "dsc_checkpoint_encode: NULL argument");
    *bytes = NULL;
    *size_out = 0;
    if (st->n_best && st->n_best != m->n_params)
        return dsc_fail(DSC_EINVAL, "checkpoint: %zu best parameters for a model of %zu",
                        st->n_best, m->n_params);
    uint8_t *model;
    size_t size;
    dsc_status s = dsc_model_encode(m, &model, &size);
    if (s) return s;
    /* The model's image ends with its END chunk (8-byte head + CRC): the
     * state goes before it, and the CRC is computed again. */
    size_t body = size - 12;
    size_t payload = 4 + 8 * 3 + 8 + 4 * st->n_state + 8 + 8 + 8 + 4 * st->n_best;
    if (payload > UINT32_MAX || body + 8 + payload + 12 > DSC_MODEL_FILE_MAX) {
        dsc_free(model);
        return dsc_fail(DSC_EINVAL, "checkpoint of model '%s' is too large", m->spec);
    }
    uint8_t *out = dsc_malloc(body + 8 + payload + 12);
    if (!out) {
        dsc_free(model);
        return dsc_fail(DSC_ENOMEM, "out of memory for a checkpoint");
    }
    memcpy(out, model, body);
    dsc_free(model);
    uint8_t *p = out + body;
    memcpy(p, "trst", 4);
    put_le(p + 4, payload, 4);
    p += 8;
    put_le(p, TRST_VERSION, 4);
    put_le(p + 4, st->epoch, 8);
    put_le(p + 12, st->iterations, 8);
    put_le(p + 20, st->optimizer_t, 8);
    put_le(p + 28, st->n_state, 8);
    p = put_floats(p + 36, st->state, st->n_state);
    uint64_t bits;
    memcpy(&bits, &st->best_val, 8);
    put_le(p, bits, 8);
    put_le(p + 8, st->since_best, 8);
    put_le(p + 16, st->n_best, 8);
    p = put_floats(p + 24, st->best, st->n_best);
    memcpy(p, "END ", 4);
    put_le(p + 4, 4, 4);
    put_le(p + 8, dsc_crc32(0, out, (size_t)(p - out)), 4);
    *bytes = out;
    *size_out = (size_t)(p - out) + 12;
    return DSC_OK;
}

dsc_status dsc_checkpoint_save(const dsc_model *m, const dsc_train_state *st, const char *path)
{
    if (!m || !st || !path) return dsc_fail(DSC_EINVAL, "dsc_checkpoint_save: NULL argument");
    uint8_t *bytes;
    size_t size;
    dsc_status s = dsc_checkpoint_encode(m, st, &bytes, &size);
    if (s) return s;
    s = dsc_write_file_atomic(path, bytes, size);
    dsc_free(bytes);
    return s;
}

void dsc_train_state_free(dsc_train_state *st)
{
    if (!st) return;
    dsc_free(st->state);
    dsc_free(st->best);
    memset(st, 0, sizeof *st);
}

static dsc_status parse_trst(const char *path, const uint8_t *b, size_t len, size_t n_params,
                             dsc_train_state *st)
{
    if (len < 36) return dsc_fail(DSC_EFORMAT, "%s: chunk trst is truncated", path);
    if (get_le(b, 4) != TRST_VERSION)
        return dsc_fail(DSC_EFORMAT, "%s: checkpoint state version %u is not known", path,
                        (unsigned)get_le(b, 4));
    st->epoch = get_le(b + 4, 8);
    st->iterations = get_le(b + 12, 8);
    st->optimizer_t = get_le(b + 20, 8);
    uint64_t n_state = get_le(b + 28, 8);
    if (n_state > (len - 36) / 4)
        return dsc_fail(DSC_EFORMAT, "%s: chunk trst holds fewer state values than it says", path);
    size_t pos = 36 + 4 * (size_t)n_state;
    if (len - pos < 24) return dsc_fail(DSC_EFORMAT, "%s: chunk trst is truncated", path);
    uint64_t bits = get_le(b + pos, 8), n_best = get_le(b + pos + 16, 8);
    memcpy(&st->best_val, &bits, 8);
    st->since_best = get_le(b + pos + 8, 8);
    if ((n_best && n_best != n_params) || len - pos - 24 != 4 * n_best)
        return dsc_fail(DSC_EFORMAT, "%s: chunk trst: its sizes do not add up", path);
    st->n_state = (size_t)n_state;
    st->n_best = (size_t)n_best;
    st->state = dsc_malloc((st->n_state ? st->n_state : 1) * sizeof(float));
    st->best = dsc_malloc((st->n_best ? st->n_best : 1) * sizeof(float));
    if (!st->state || !st->best) return dsc_fail(DSC_ENOMEM, "out of memory for a checkpoint");
    get_floats(b + 36, st->state, st->n_state);
    get_floats(b + pos + 24, st->best, st->n_best);
    for (size_t i = 0; i < st->n_state; i++)
        if (!isfinite(st->state[i]))
            return dsc_fail(DSC_EFORMAT, "%s: optimizer state value %zu is not finite", path,
                            i + 1);
    return DSC_OK;
}

dsc_status dsc_checkpoint_load(const char *path, dsc_model **m, dsc_train_state *st)
{
    return dsc_checkpoint_load_limits(path, NULL, m, st);
}

dsc_status dsc_checkpoint_load_limits(const char *path, const dsc_limits *l, dsc_model **m,
                                      dsc_train_state *st)
{
    if (!path || !m || !st) return dsc_fail(DSC_EINVAL, "dsc_checkpoint_load: NULL argument");
    memset(st, 0, sizeof *st);
    *m = NULL;
    /* Read once; the model part is checked whole (CRC included) by the
     * model loader, then the state chunk is found by walking the chunks. */
    uint8_t *buf = NULL;
    size_t n = 0;
    dsc_status s = dsc_model_file_read(path, l, &buf, &n);
    if (!s) s = dsc_model_load_memory(path, buf, n, m);
    if (s) {
        dsc_free(buf);
        return s;
    }
    int found = 0;
    for (size_t pos = 12; !s && pos + 8 <= n;) {
        size_t len = (size_t)get_le(buf + pos + 4, 4);
        if (len > n - pos - 8) break;
        if (memcmp(buf + pos, "trst", 4) == 0) {
            s = parse_trst(path, buf + pos + 8, len, (*m)->n_params, st);
            found = 1;
            break;
        }
        pos += 8 + len;
    }
    dsc_free(buf);
    if (!s && !found)
        s = dsc_fail(DSC_EFORMAT, "%s: a model file, not a checkpoint (no training state)", path);
    if (s) {
        dsc_train_state_free(st);
        dsc_model_free(*m);
        *m = NULL;
    }
    return s;
}
