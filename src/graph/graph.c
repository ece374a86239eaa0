/* The graph: building, compiling (buffer planning), forward, backward,
 * gradient check. Ops live in op_*.c and are reached through dsc_ops[]. */
#include <math.h>
#include <string.h>

#include "../tensor/tensor.h"
#include "graph_internal.h"

/* Inputs and parameters hold values that others set; they compute nothing. */
const dsc_op_def dsc_op_input = {
    .name = "input", .formula = "x", .derivative = "-", .kind = DSC_OPK_DATA};
const dsc_op_def dsc_op_param = {
    .name = "param", .formula = "w", .derivative = "-", .kind = DSC_OPK_DATA};

dsc_status dsc_shape_same(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *a = dsc_in(g, n, 0);
    n->rows = a->rows;
    n->cols = a->cols;
    n->batch_rows = a->batch_rows;
    n->rank = a->rank;
    memcpy(n->dims, a->dims, sizeof n->dims);
    return DSC_OK;
}

void dsc_shape_flat(dsc_gnode *n)
{
    memset(n->dims, 0, sizeof n->dims);
    n->rank = 1;
    n->dims[0] = n->cols;
}

dsc_status dsc_shape_scalar(dsc_graph *g, dsc_gnode *n)
{
    (void)g;
    n->rows = n->cols = 1;
    n->batch_rows = 0;
    dsc_shape_flat(n);
    return DSC_OK;
}

dsc_status dsc_shape_loss(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *p = dsc_in(g, n, 0), *t = dsc_in(g, n, 1);
    if (p->cols != t->cols || p->batch_rows != t->batch_rows ||
        (!p->batch_rows && p->rows != t->rows))
        return dsc_fail(DSC_ESHAPE,
                        "%s: prediction and target differ in shape (%zu vs %zu columns)",
                        n->def->name, p->cols, t->cols);
    return dsc_shape_scalar(g, n);
}

dsc_status dsc_graph_new(dsc_graph **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_graph_new: out is NULL");
    *out = dsc_calloc(1, sizeof **out);
    if (!*out) return dsc_fail(DSC_ENOMEM, "out of memory for a graph");
    return DSC_OK;
}

void dsc_graph_free(dsc_graph *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->n_nodes; i++) {
        dsc_free(g->nodes[i].name);
        dsc_free(g->nodes[i].data);
    }
    dsc_free(g->nodes);
    if (g->owns_params) dsc_free_aligned(g->params);
    dsc_free_aligned(g->arena);
    dsc_free(g->reach);
    dsc_free(g->plan_fwd);
    dsc_free(g->plan_run);
    dsc_free(g);
}

/* --- building ------------------------------------------------------------ */

/* Remembers the first error so that a chain of builder calls needs one
 * check, at compile. */
static dsc_node build_error(dsc_graph *g, dsc_status s)
{
    if (g && !g->error) g->error = s;
    return -1;
}

static dsc_node add_node(dsc_graph *g, dsc_op_id op, dsc_node a, dsc_node b, const char *name)
{
    if (!g) return -1;
    if (g->error) return -1;
    if (g->compiled)
        return build_error(
            g, dsc_fail(DSC_EINVAL, "%s: the graph is already compiled", dsc_ops[op]->name));
    const dsc_op_def *def = dsc_ops[op];
    dsc_node in[DSC_MAX_INPUTS] = {a, b, 0, 0};
    for (int i = 0; i < def->n_in && i < 2; i++)
        if (in[i] < 0 || (size_t)in[i] >= g->n_nodes)
            return build_error(g, dsc_fail(DSC_EINVAL,
                                           "%s: input %d is not a node of this "
                                           "graph",
                                           def->name, i + 1));
    if (g->n_nodes == g->cap_nodes) {
        size_t cap = g->cap_nodes ? 2 * g->cap_nodes : 16;
        dsc_gnode *nodes = dsc_realloc(g->nodes, cap * sizeof *nodes);
        if (!nodes) return build_error(g, dsc_fail(DSC_ENOMEM, "out of memory for graph nodes"));
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    dsc_gnode *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->def = def;
    n->n_in = def->n_in;
    for (int i = 0; i < def->n_in; i++) n->in[i] = in[i]; /* inputs 3 and 4: the builder */
    if (name && !(n->name = dsc_strdup(name)))
        return build_error(g, dsc_fail(DSC_ENOMEM, "out of memory for a node name"));
    return (dsc_node)g->n_nodes++;
}

/* Runs the op's shape rule on a node just added; drops it on failure. */
static dsc_node finish_node(dsc_graph *g, dsc_node id)
{
    if (id < 0) return id;
    dsc_gnode *n = &g->nodes[id];
    dsc_status s = n->def->shape(g, n);
    if (s) {
        dsc_free(n->name);
        dsc_free(n->data);
        g->n_nodes--;
        return build_error(g, s);
    }
    if (n->rank == 0) dsc_shape_flat(n); /* a shape rule that set rows and columns only */
    return id;
}

dsc_node dsc_input(dsc_graph *g, const char *name, size_t cols)
{
    return dsc_input_shaped(g, name, 1, &cols);
}

dsc_node dsc_input_shaped(dsc_graph *g, const char *name, size_t rank, const size_t *dims)
{
    if (!g) return -1;
    if (rank < 1 || rank > DSC_MAX_RANK || !dims)
        return build_error(g, dsc_fail(DSC_EINVAL, "input '%s': a sample has 1 to %d dimensions",
                                       name ? name : "?", DSC_MAX_RANK));
    size_t cols = 1;
    for (size_t k = 0; k < rank; k++) {
        if (dims[k] == 0 || dims[k] > SIZE_MAX / 4 / cols)
            return build_error(g, dsc_fail(DSC_EINVAL, "input '%s': dimension %zu is %zu",
                                           name ? name : "?", k + 1, dims[k]));
        cols *= dims[k];
    }
    dsc_node id = add_node(g, DSC_OP_INPUT, -1, -1, name);
    if (id < 0) return id;
    dsc_gnode *n = &g->nodes[id];
    n->cols = cols;
    n->rows = 0;
    n->batch_rows = 1;
    n->rank = (int)rank;
    for (size_t k = 0; k < rank; k++) n->dims[k] = dims[k];
    return id;
}

dsc_node dsc_param(dsc_graph *g, const char *name, size_t rows, size_t cols)
{
    if (g && (rows == 0 || cols == 0))
        return build_error(g, dsc_fail(DSC_EINVAL, "parameter '%s' has no elements (%zu x %zu)",
                                       name ? name : "?", rows, cols));
    dsc_node id = add_node(g, DSC_OP_PARAM, -1, -1, name);
    if (id < 0) return id;
    dsc_gnode *n = &g->nodes[id];
    n->rows = rows;
    n->cols = cols;
    n->requires_grad = 1;
    n->param_off = g->n_params;
    g->n_params += rows * cols;
    dsc_shape_flat(n);
    return id;
}

dsc_node dsc_matmul(dsc_graph *g, dsc_node a, dsc_node b, int trans_a, int trans_b)
{
    dsc_node id = add_node(g, DSC_OP_MATMUL, a, b, NULL);
    if (id < 0) return id;
    g->nodes[id].ip[0] = trans_a != 0;
    g->nodes[id].ip[1] = trans_b != 0;
    return finish_node(g, id);
}

dsc_node dsc_add(dsc_graph *g, dsc_node a, dsc_node b)
{
    return finish_node(g, add_node(g, DSC_OP_ADD, a, b, NULL));
}

dsc_node dsc_sub(dsc_graph *g, dsc_node a, dsc_node b)
{
    return finish_node(g, add_node(g, DSC_OP_SUB, a, b, NULL));
}

dsc_node dsc_mul(dsc_graph *g, dsc_node a, dsc_node b)
{
    return finish_node(g, add_node(g, DSC_OP_MUL, a, b, NULL));
}

dsc_node dsc_scale(dsc_graph *g, dsc_node a, float s)
{
    dsc_node id = add_node(g, DSC_OP_SCALE, a, -1, NULL);
    if (id >= 0) g->nodes[id].fp[0] = s;
    return finish_node(g, id);
}

dsc_node dsc_sum(dsc_graph *g, dsc_node a)
{
    return finish_node(g, add_node(g, DSC_OP_SUM, a, -1, NULL));
}

dsc_node dsc_mean(dsc_graph *g, dsc_node a)
{
    return finish_node(g, add_node(g, DSC_OP_MEAN, a, -1, NULL));
}

dsc_node dsc_activate(dsc_graph *g, dsc_activation act, dsc_node x)
{
    if ((unsigned)act >= DSC_ACT_COUNT)
        return build_error(g, dsc_fail(DSC_EINVAL, "unknown activation %d", (int)act));
    return finish_node(g, add_node(g, (dsc_op_id)(DSC_OP_IDENTITY + act), x, -1, NULL));
}

dsc_node dsc_dropout(dsc_graph *g, dsc_node x, float p)
{
    if (!(p >= 0.0f && p < 1.0f))
        return build_error(g,
                           dsc_fail(DSC_EINVAL, "dropout rate %g: must be in [0, 1)", (double)p));
    dsc_node id = add_node(g, DSC_OP_DROPOUT, x, -1, NULL);
    if (id >= 0) g->nodes[id].fp[0] = p;
    return finish_node(g, id);
}

/* Stride and padding as ip[2..5], kernel as ip[0..1]; a signal's height is
 * 1 (kernel 1, stride 1, no padding). */
static dsc_node window_node(dsc_graph *g, dsc_op_id op, dsc_node x, dsc_node w, size_t kh,
                            size_t kw, size_t sh, size_t sw, size_t ph, size_t pw)
{
    if (!g) return -1;
    const char *name = dsc_ops[op]->name;
    if (kh == 0 || kw == 0 || sh == 0 || sw == 0 || kh > 65536 || kw > 65536 || sh > 65536 ||
        sw > 65536 || ph > 65536 || pw > 65536)
        return build_error(g, dsc_fail(DSC_EINVAL,
                                       "%s: kernel %zu x %zu, stride %zu x %zu, padding %zu x %zu: "
                                       "kernel and stride must be 1 to 65536",
                                       name, kh, kw, sh, sw, ph, pw));
    dsc_node id = add_node(g, op, x, w, NULL);
    if (id < 0) return id;
    dsc_gnode *n = &g->nodes[id];
    n->ip[0] = (int64_t)kh, n->ip[1] = (int64_t)kw, n->ip[2] = (int64_t)sh;
    n->ip[3] = (int64_t)sw, n->ip[4] = (int64_t)ph, n->ip[5] = (int64_t)pw;
    return id;
}

/* A signal (channels x length) runs as an image of height 1. */
static int is_signal(const dsc_graph *g, dsc_node x)
{
    return g && x >= 0 && (size_t)x < g->n_nodes && g->nodes[x].rank == 2;
}

/* conv2d and conv1d: the checks a builder makes before adding the node. */
static dsc_node conv(dsc_graph *g, dsc_node x, dsc_node w, dsc_node b, size_t kh, size_t kw,
                     size_t sh, size_t sw, size_t ph, size_t pw, int one_d)
{
    if (!g) return -1;
    if (b < 0 || (size_t)b >= g->n_nodes)
        return build_error(g, dsc_fail(DSC_EINVAL, "conv: the bias is not a node of this graph"));
    if (x >= 0 && (size_t)x < g->n_nodes && is_signal(g, x) != one_d)
        return build_error(
            g, dsc_fail(DSC_ESHAPE, "conv: the input is %s: use dsc_conv%s",
                        one_d ? "not a signal (channels x length)" : "a signal (channels x length)",
                        one_d ? "2d" : "1d"));
    dsc_node id = window_node(g, DSC_OP_CONV, x, w, kh, kw, sh, sw, ph, pw);
    if (id < 0) return id;
    g->nodes[id].in[2] = b;
    return finish_node(g, id);
}

dsc_node dsc_conv2d(dsc_graph *g, dsc_node x, dsc_node w, dsc_node b, size_t kernel_h,
                    size_t kernel_w, size_t stride, size_t pad)
{
    return conv(g, x, w, b, kernel_h, kernel_w, stride, stride, pad, pad, 0);
}

dsc_node dsc_conv1d(dsc_graph *g, dsc_node x, dsc_node w, dsc_node b, size_t kernel, size_t stride,
                    size_t pad)
{
    return conv(g, x, w, b, 1, kernel, 1, stride, 0, pad, 1);
}

static dsc_node pool(dsc_graph *g, dsc_op_id op, dsc_node x, size_t kernel, size_t stride,
                     int one_d)
{
    if (!g) return -1;
    if (stride == 0) stride = kernel;
    if (x >= 0 && (size_t)x < g->n_nodes && is_signal(g, x) != one_d)
        return build_error(
            g, dsc_fail(DSC_ESHAPE, "%s: the input is %s: use the %s pool", dsc_ops[op]->name,
                        one_d ? "not a signal (channels x length)" : "a signal (channels x length)",
                        one_d ? "2-D" : "1-D"));
    dsc_node id = one_d ? window_node(g, op, x, -1, 1, kernel, 1, stride, 0, 0)
                        : window_node(g, op, x, -1, kernel, kernel, stride, stride, 0, 0);
    return id < 0 ? id : finish_node(g, id);
}

dsc_node dsc_maxpool2d(dsc_graph *g, dsc_node x, size_t kernel, size_t stride)
{
    return pool(g, DSC_OP_MAXPOOL, x, kernel, stride, 0);
}

dsc_node dsc_avgpool2d(dsc_graph *g, dsc_node x, size_t kernel, size_t stride)
{
    return pool(g, DSC_OP_AVGPOOL, x, kernel, stride, 0);
}

dsc_node dsc_maxpool1d(dsc_graph *g, dsc_node x, size_t kernel, size_t stride)
{
    return pool(g, DSC_OP_MAXPOOL, x, kernel, stride, 1);
}

dsc_node dsc_avgpool1d(dsc_graph *g, dsc_node x, size_t kernel, size_t stride)
{
    return pool(g, DSC_OP_AVGPOOL, x, kernel, stride, 1);
}

dsc_node dsc_flatten(dsc_graph *g, dsc_node x)
{
    return finish_node(g, add_node(g, DSC_OP_FLATTEN, x, -1, NULL));
}

void dsc_graph_set_seed(dsc_graph *g, uint64_t seed)
{
    if (g) g->relu_seed = seed;
}

dsc_node dsc_loss_of(dsc_graph *g, dsc_loss loss, dsc_node pred, dsc_node target)
{
    if ((unsigned)loss >= DSC_LOSS_COUNT)
        return build_error(g, dsc_fail(DSC_EINVAL, "unknown loss %d", (int)loss));
    dsc_op_id op = (dsc_op_id)(DSC_OP_SSR + loss);
    /* Cross-entropy of a sigmoid or softmax is computed from the logits:
     * stable for any logit, and its gradient is simply p - t. */
    if (g && pred >= 0 && (size_t)pred < g->n_nodes) {
        const dsc_gnode *p = &g->nodes[pred];
        if (loss == DSC_LOSS_BCE && p->op == DSC_OP_SIGMOID) {
            op = DSC_OP_BCE_LOGITS;
            pred = p->in[0];
        } else if (loss == DSC_LOSS_CE && p->op == DSC_OP_SOFTMAX) {
            op = DSC_OP_CE_LOGITS;
            pred = p->in[0];
        }
    }
    return finish_node(g, add_node(g, op, pred, target, NULL));
}

/* --- compiling ----------------------------------------------------------- */

static size_t max_size(const dsc_graph *g, const dsc_gnode *n)
{
    return (n->batch_rows ? g->max_batch : n->rows) * n->cols;
}

/* Keeps every buffer 64-byte aligned inside the arena. */
static size_t round_up(size_t n) { return (n + 15) & ~(size_t)15; }

/* Undoes a compile that failed half-way, so nothing leaks and compiling
 * again starts clean. */
static dsc_status compile_failed(dsc_graph *g, dsc_status s)
{
    if (g->owns_params) dsc_free_aligned(g->params);
    dsc_free_aligned(g->arena);
    dsc_free(g->reach);
    dsc_free(g->plan_fwd);
    dsc_free(g->plan_run);
    g->params = g->grads = g->arena = NULL;
    g->reach = NULL;
    g->plan_fwd = g->plan_run = NULL;
    g->owns_params = 0;
    return s;
}

dsc_status dsc_graph_compile(dsc_graph *g, size_t max_batch, float *params, int flags)
{
    if (!g) return dsc_fail(DSC_EINVAL, "dsc_graph_compile: graph is NULL");
    if (g->error) return g->error;
    if (g->compiled) return dsc_fail(DSC_EINVAL, "the graph is already compiled");
    if (max_batch == 0) return dsc_fail(DSC_EINVAL, "the largest batch must be at least 1");
    if (g->n_nodes == 0) return dsc_fail(DSC_EINVAL, "the graph has no nodes");
    dsc_gemm_prepare();
    g->max_batch = max_batch;
    g->batch = max_batch;
    g->no_grad = (flags & DSC_COMPILE_NO_GRAD) != 0;
    if ((flags & DSC_COMPILE_FUSE_) && !g->no_grad) dsc_graph_fuse(g, max_batch);

    /* Nodes are created after their inputs, so creation order is already
     * a topological order; requires_grad flows forward along it. */
    for (size_t i = 0; i < g->n_nodes; i++) {
        dsc_gnode *n = &g->nodes[i];
        if (n->op == DSC_OP_PARAM) continue;
        n->requires_grad = 0;
        for (int k = 0; k < n->n_in; k++) n->requires_grad |= dsc_in(g, n, k)->requires_grad;
    }

    for (size_t i = 0; i < g->n_nodes; i++) {
        dsc_gnode *n = &g->nodes[i];
        if (!n->dead && n->def && n->def->plan) n->def->plan(g, n);
    }

    size_t np = round_up(g->n_params);
    if (params) {
        g->params = params;
    } else {
        g->params = dsc_malloc_aligned(np * sizeof(float));
        if (!g->params)
            return compile_failed(g, dsc_fail(DSC_ENOMEM, "out of memory for %zu parameters", np));
        memset(g->params, 0, np * sizeof(float));
        g->owns_params = 1;
    }
    if (!g->no_grad) {
        g->reach = dsc_calloc(g->n_nodes, 1);
        g->plan_run = dsc_malloc(g->n_nodes * sizeof *g->plan_run);
        if (!g->reach || !g->plan_run)
            return compile_failed(g, dsc_fail(DSC_ENOMEM, "out of memory for gradients"));
    }
    g->plan_loss = -1;
    g->plan_fwd = dsc_malloc(g->n_nodes * sizeof *g->plan_fwd);
    if (!g->plan_fwd) return compile_failed(g, dsc_fail(DSC_ENOMEM, "out of memory for a graph"));

    /* One arena holds every computed value and gradient, sized for the
     * largest batch, so running never allocates: first the values, then
     * every gradient (the parameters', then the nodes'), so that backward
     * clears all gradients at once. */
    size_t vals = 0, grads = g->no_grad ? 0 : np;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const dsc_gnode *n = &g->nodes[i];
        if (n->op == DSC_OP_INPUT || n->op == DSC_OP_PARAM || n->dead) continue;
        vals += round_up(max_size(g, n) + n->keep + n->keep_row * max_batch);
        if (n->requires_grad && !g->no_grad) grads += round_up(max_size(g, n));
    }
    size_t total = vals + grads;
    if (total > SIZE_MAX / sizeof(float) || total < vals)
        return compile_failed(g, dsc_fail(DSC_ENOMEM, "graph too large"));
    g->arena = dsc_malloc_aligned((total ? total : 16) * sizeof(float));
    if (!g->arena)
        return compile_failed(g, dsc_fail(DSC_ENOMEM, "out of memory for %zu activations", total));
    memset(g->arena, 0, (total ? total : 16) * sizeof(float));
    g->n_grad_floats = grads;
    if (!g->no_grad) g->grads = g->arena + vals;
    float *p = g->arena, *pg = g->arena + vals + np;
    for (size_t i = 0; i < g->n_nodes; i++) {
        dsc_gnode *n = &g->nodes[i];
        n->val.cols = n->grad.cols = n->cols;
        n->val.rows = n->grad.rows = n->batch_rows ? max_batch : n->rows;
        if (n->op == DSC_OP_INPUT) {
            g->unbound++;
            continue;
        }
        if (n->op == DSC_OP_PARAM) {
            n->val.data = g->params + n->param_off;
            if (!g->no_grad) n->grad.data = g->grads + n->param_off;
            continue;
        }
        if (n->dead) continue;
        g->plan_fwd[g->n_fwd++] = (dsc_node)i;
        n->val.data = p;
        p += round_up(max_size(g, n) + n->keep + n->keep_row * max_batch);
        if (n->requires_grad && !g->no_grad) {
            n->grad.data = pg;
            pg += round_up(max_size(g, n));
        }
    }
    g->compiled = 1;
    return DSC_OK;
}

size_t dsc_graph_param_count(const dsc_graph *g) { return g ? g->n_params : 0; }
float *dsc_graph_params(dsc_graph *g) { return g ? g->params : NULL; }
float *dsc_graph_grads(dsc_graph *g) { return g ? g->grads : NULL; }

size_t dsc_graph_param_offset(const dsc_graph *g, dsc_node p)
{
    if (!g || p < 0 || (size_t)p >= g->n_nodes) return 0;
    return g->nodes[p].param_off;
}

void dsc_graph_set_relu_grad(dsc_graph *g, dsc_relu_grad rule, uint64_t seed)
{
    if (!g) return;
    g->relu_rule = rule;
    g->relu_seed = seed;
}

void dsc_graph_set_threads(dsc_graph *g, int threads)
{
    if (g) g->threads = threads < 0 ? 0 : threads;
}

/* --- running ------------------------------------------------------------- */

static dsc_status need_compiled(const dsc_graph *g, const char *what)
{
    if (!g) return dsc_fail(DSC_EINVAL, "%s: graph is NULL", what);
    if (!g->compiled) return dsc_fail(DSC_EINVAL, "%s: compile the graph first", what);
    return DSC_OK;
}

dsc_status dsc_graph_set_batch(dsc_graph *g, size_t rows)
{
    dsc_status s = need_compiled(g, "dsc_graph_set_batch");
    if (s) return s;
    if (rows == 0 || rows > g->max_batch)
        return dsc_fail(DSC_EINVAL, "batch of %zu rows: must be 1 to %zu (the compiled size)", rows,
                        g->max_batch);
    g->forward_done = 0;
    /* A training loop sets the same batch every step: the nodes' rows are
     * already right. */
    if (rows == g->batch) return DSC_OK;
    g->batch = rows;
    for (size_t i = 0; i < g->n_nodes; i++) {
        dsc_gnode *n = &g->nodes[i];
        if (n->batch_rows) n->val.rows = n->grad.rows = rows;
    }
    return DSC_OK;
}

dsc_status dsc_graph_bind(dsc_graph *g, dsc_node id, const float *data)
{
    dsc_status s = need_compiled(g, "dsc_graph_bind");
    if (s) return s;
    if (id < 0 || (size_t)id >= g->n_nodes || g->nodes[id].op != DSC_OP_INPUT)
        return dsc_fail(DSC_EINVAL, "dsc_graph_bind: node %d is not an input", id);
    if (!data) return dsc_fail(DSC_EINVAL, "dsc_graph_bind: data is NULL");
    if (!g->nodes[id].val.data) g->unbound--;
    /* The graph only reads inputs; the cast keeps one tensor type. */
    g->nodes[id].val.data = (float *)(uintptr_t)data;
    g->forward_done = 0;
    return DSC_OK;
}

dsc_status dsc_graph_forward(dsc_graph *g)
{
    dsc_status s = need_compiled(g, "dsc_graph_forward");
    if (s) return s;
    if (g->unbound) { /* name the first input without data */
        for (size_t i = 0; i < g->n_nodes; i++) {
            dsc_gnode *n = &g->nodes[i];
            if (n->op == DSC_OP_INPUT && !n->val.data)
                return dsc_fail(DSC_EINVAL, "input '%s' has no data bound",
                                n->name ? n->name : "?");
        }
    }
    g->pass++;
    for (size_t f = 0; f < g->n_fwd; f++) {
        dsc_gnode *n = &g->nodes[g->plan_fwd[f]];
        if (n->def->forward) n->def->forward(g, n);
    }
    g->forward_done = 1;
    return DSC_OK;
}

static void zero_range(void *p, size_t lo, size_t hi)
{
    memset((float *)p + lo, 0, (hi - lo) * sizeof(float));
}

/* Clears n floats; large blocks (a Fashion-MNIST network's gradients are
 * 1.3 MB) in pieces over the threads. */
static void zero(float *p, size_t n, int threads)
{
    enum { CHUNK = 65536 };
    dsc_parallel_for(dsc_threads(threads), n > 3 * CHUNK, n, CHUNK, zero_range, p);
}

/* Plans backward from `loss`: walking nodes in reverse topological order
 * from the loss, it marks the nodes the loss depends on (nodes that do not
 * feed it are skipped) and lists those whose backward runs. */
static void plan_backward(dsc_graph *g, dsc_node loss)
{
    memset(g->reach, 0, g->n_nodes);
    g->n_run = 0;
    g->reach[loss] = 1;
    for (size_t i = (size_t)loss + 1; i-- > 0;) {
        const dsc_gnode *n = &g->nodes[i];
        if (!g->reach[i] || !n->requires_grad || !n->def->backward) continue;
        for (int k = 0; k < n->n_in; k++) {
            dsc_node j = n->in[k];
            if (g->nodes[j].requires_grad) g->reach[j] = 1;
        }
        g->plan_run[g->n_run++] = (dsc_node)i;
    }
    g->plan_loss = loss;
}

dsc_status dsc_graph_backward(dsc_graph *g, dsc_node loss)
{
    dsc_status s = need_compiled(g, "dsc_graph_backward");
    if (s) return s;
    if (g->no_grad) return dsc_fail(DSC_EINVAL, "the graph was compiled without gradients");
    if (!g->forward_done) return dsc_fail(DSC_EINVAL, "run forward before backward");
    if (loss < 0 || (size_t)loss >= g->n_nodes)
        return dsc_fail(DSC_EINVAL, "backward: node %d is not in the graph", loss);
    dsc_gnode *l = &g->nodes[loss];
    if (dsc_size(g, l) != 1)
        return dsc_fail(DSC_ESHAPE, "backward needs a 1 x 1 loss node, not %zu x %zu",
                        dsc_rows(g, l), l->cols);
    /* Every gradient is cleared before anything is added into it: they
     * are one block of the arena, so this is one memset however many nodes
     * there are (gradients of nodes the loss does not depend on stay 0). */
    zero(g->grads, g->n_grad_floats, g->threads);
    if (!l->requires_grad) return DSC_OK; /* nothing trainable upstream */
    if (g->plan_loss != loss) plan_backward(g, loss);
    if (l->op != DSC_OP_PARAM)
        l->grad.data[0] = 1.0f;
    else
        l->grad.data[0] += 1.0f;
    for (size_t r = 0; r < g->n_run; r++) {
        dsc_gnode *n = &g->nodes[g->plan_run[r]];
        n->def->backward(g, n);
    }
    return DSC_OK;
}

static int valid(const dsc_graph *g, dsc_node n) { return g && n >= 0 && (size_t)n < g->n_nodes; }

dsc_tensor dsc_graph_value(const dsc_graph *g, dsc_node n)
{
    dsc_tensor t = {NULL, 0, 0};
    if (valid(g, n)) t = g->nodes[n].val;
    return t;
}

dsc_tensor dsc_graph_grad(const dsc_graph *g, dsc_node n)
{
    dsc_tensor t = {NULL, 0, 0};
    if (valid(g, n)) t = g->nodes[n].grad;
    return t;
}

/* --- inspecting ---------------------------------------------------------- */

size_t dsc_graph_node_count(const dsc_graph *g) { return g ? g->n_nodes : 0; }

dsc_op_text dsc_graph_op_text(const dsc_graph *g, dsc_node n)
{
    dsc_op_text t = {"", "", ""};
    if (valid(g, n)) {
        const dsc_op_def *d = g->nodes[n].def;
        t.name = d->name;
        t.formula = d->formula;
        t.derivative = d->derivative;
    }
    return t;
}

size_t dsc_graph_node_shape(const dsc_graph *g, dsc_node n, size_t dims[3])
{
    if (!valid(g, n)) return 0;
    const dsc_gnode *x = &g->nodes[n];
    for (int k = 0; k < 3; k++) dims[k] = k < x->rank ? x->dims[k] : 0;
    return (size_t)x->rank;
}

const char *dsc_graph_node_name(const dsc_graph *g, dsc_node n)
{
    return valid(g, n) && g->nodes[n].name ? g->nodes[n].name : "";
}

int dsc_graph_node_arity(const dsc_graph *g, dsc_node n)
{
    return valid(g, n) ? g->nodes[n].n_in : 0;
}

dsc_node dsc_graph_node_input(const dsc_graph *g, dsc_node n, int i)
{
    return valid(g, n) && i >= 0 && i < g->nodes[n].n_in ? g->nodes[n].in[i] : -1;
}

/* --- gradient check ------------------------------------------------------ */

static double loss_at(dsc_graph *g, dsc_node loss)
{
    dsc_graph_forward(g);
    return g->nodes[loss].val.data[0];
}

/* Differences of the loss in parameter i at step h: central, forward and
 * backward. The step actually taken is what a float can hold, so divide by
 * that rather than by h. */
typedef struct {
    double central, forward, backward;
} differences;

static differences probe(dsc_graph *g, dsc_node loss, size_t i, double h, double f0)
{
    float p0 = g->params[i];
    float up = (float)(p0 + h), down = (float)(p0 - h);
    g->params[i] = up;
    double f_up = loss_at(g, loss);
    g->params[i] = down;
    double f_down = loss_at(g, loss);
    g->params[i] = p0;
    differences d = {(f_up - f_down) / ((double)up - (double)down),
                     (f_up - f0) / ((double)up - (double)p0),
                     (f0 - f_down) / ((double)p0 - (double)down)};
    return d;
}

static double rel_diff(double a, double b)
{
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), 1.0);
}

/* Richardson: from central differences at h and h/2 the h^2 error terms
 * cancel, leaving float rounding as the main error. */
static double richardson(differences d, differences half)
{
    return (4.0 * half.central - d.central) / 3.0;
}

/* Is there a kink (ReLU at 0) near the parameter? Differences at h, h/2 and
 * h/4 tell, without looking at the analytic gradient (so a wrong derivative
 * is never excused): for a smooth loss the central differences approach
 * their limit as h^2 (each change a quarter of the one before) and the gap
 * between the forward and backward differences halves with the step. A
 * kink within the smallest step breaks one or the other. */
static int kink_near(differences d1, differences d2, differences d3, double f0, double h)
{
    /* Rounding the loss to float (half an ulp of f0) divided by the step is
     * noise in every difference; only changes well above it count. */
    double noise = 1.2e-7 * fabs(f0) / (h / 4);
    double scale = fmax(fmax(fabs(d1.forward), fabs(d1.backward)), 1.0);
    double floor_ = fmax(1e-4 * scale, 10 * noise);
    double c1 = d1.central - d2.central, c2 = d2.central - d3.central;
    if (fabs(c2) > 0.5 * fabs(c1) + floor_) return 1;
    double gap2 = d2.forward - d2.backward, gap3 = d3.forward - d3.backward;
    return fabs(gap3) > floor_ && fabs(gap3) > 0.75 * fabs(gap2);
}

dsc_status dsc_graph_gradcheck(dsc_graph *g, dsc_node loss, double *max_rel_error, size_t *worst,
                               size_t *kinks)
{
    dsc_status s = dsc_graph_forward(g);
    if (s || (s = dsc_graph_backward(g, loss))) return s;
    double f0 = g->nodes[loss].val.data[0];
    double max_err = 0.0;
    size_t worst_i = 0, n_kinks = 0;
    for (size_t i = 0; i < g->n_params; i++) {
        /* A large step keeps the float rounding of the loss small next to
         * the difference, and Richardson extrapolation removes the
         * truncation error a large step brings. */
        double h = 4e-2 * fmax(1.0, fabs(g->params[i]));
        differences d[5];
        d[0] = probe(g, loss, i, h, f0);
        d[1] = probe(g, loss, i, h / 2, f0);
        double err = rel_diff(g->grads[i], richardson(d[0], d[1]));
        /* A kink within the step spoils the larger steps only: halve the
         * step a few times, and count a kink only when the differences
         * themselves show one. */
        int k = 1, kink = 0;
        while (err > 1e-4 && k < 4) {
            d[k + 1] = probe(g, loss, i, h / (double)(2 << k), f0);
            err = fmin(err, rel_diff(g->grads[i], richardson(d[k], d[k + 1])));
            kink |= kink_near(d[k - 1], d[k], d[k + 1], f0, h / (double)(1 << (k - 1)));
            k++;
        }
        if (err > 1e-4 && kink) {
            n_kinks++;
            continue;
        }
        if (!(err <= max_err)) { /* also catches NaN */
            max_err = err;
            worst_i = i;
            if (isnan(err)) break;
        }
    }
    dsc_graph_forward(g); /* leave values consistent with the restored params */
    if (max_rel_error) *max_rel_error = max_err;
    if (worst) *worst = worst_i;
    if (kinks) *kinks = n_kinks;
    return DSC_OK;
}
