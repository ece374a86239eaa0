/* Activations on one element: the forms op_act.c applies to whole nodes and
 * the fused small_net op (op_net.c) applies inside its loop, kept in one
 * place so that both compute the same values. Internal. */
#ifndef DSC_ACT1_H
#define DSC_ACT1_H

#include <math.h>

#include "graph_internal.h"

/* ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), from e = e^-|x|: e <= 1, so
 * the exponential cannot overflow, and for large |x| the log1p term
 * vanishes exactly. The max is a comparison, not fmaxf, which is a library
 * call without -ffast-math; both give 0 for a NaN, whose log1p term is NaN
 * anyway. */
static inline float dsc_softplus_of(float x, float e) { return (x > 0.0f ? x : 0.0f) + log1pf(e); }

static inline float dsc_softplus1(float x) { return dsc_softplus_of(x, expf(-fabsf(x))); }

/* 1 / (1 + e^-x) from e = e^-|x| (so it never overflows); the x < 0 branch
 * is the same value written as e^x / (1 + e^x). */
static inline float dsc_sigmoid_of(float x, float e)
{
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

static inline float dsc_sigmoid1(float x) { return dsc_sigmoid_of(x, expf(-fabsf(x))); }

/* The random rule for ReLU's derivative at exactly 0 is a hash of (seed,
 * pass, id, element), not a draw from a stream, so it is the same whichever
 * thread handles the element; the key folds in the parts shared by a whole
 * node (id: the node, or a layer inside a fused op). */
static inline uint64_t dsc_kink_key(const dsc_graph *g, uint64_t id)
{
    return dsc_hash64(g->relu_seed ^
                      dsc_hash64(g->pass * 0x9e3779b97f4a7c15ULL ^ id * 0xd1b54a32d192ed03ULL));
}

/* 1 when element i at a kink takes the right derivative (1), 0 for the left. */
static inline int dsc_kink_right(const dsc_graph *g, uint64_t key, size_t i)
{
    switch (g->relu_rule) {
    case DSC_RELU_GRAD_ZERO: return 0;
    case DSC_RELU_GRAD_ONE: return 1;
    case DSC_RELU_GRAD_RANDOM: return (int)(dsc_hash64(key ^ (uint64_t)i) >> 63);
    }
    return 0;
}

#endif
