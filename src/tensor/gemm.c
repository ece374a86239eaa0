/* Single-precision matrix multiply: a reference triple loop, a packed and
 * register-blocked kernel (its micro-kernels, AVX-512F, AVX2+FMA or
 * portable C, are in gemm_kernels.c), and optional CBLAS.
 *
 * How the built-in kernel is organised, and why:
 *  - The micro-kernel keeps an mr x nr tile of C in registers over a block
 *    of at most KC_MAX steps of k, reading operands that were copied
 *    ("packed") into aligned scratch in exactly the order it needs them.
 *    Packing is where the four transpose cases and the leading dimensions
 *    are dealt with, once, so the micro-kernel only sees unit-stride data.
 *    After each k block it folds its tile into C as alpha * acc + beta' * C,
 *    where beta' is beta for the first k block and 1 afterwards.
 *  - C is cut into tiles of at most MB_MAX x NB_MAX, and the problem into
 *    super-blocks (whole tiles, whole k blocks) whose packed operands fit
 *    PACK_BUDGET. For each super-block the threads first pack it together,
 *    then take tiles. Minibatch products on several threads go another way
 *    (one job of slabs, each thread packing what it reads: see "slabs"
 *    below). Every size comes from m, n and k alone and a tile is
 *    computed the same way by whichever thread takes it, so each element of
 *    C sees the same float operations whatever the thread count: results
 *    are bit-identical for 1, 2 or 64 threads.
 *  - Scratch is a thread-local buffer of the calling thread that only grows,
 *    so repeated calls with the same (or smaller) shapes never allocate. It
 *    is deliberately never freed: it lives as long as the thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "gemm_internal.h"
#include "tensor.h"

#if defined(DSC_USE_CBLAS) && DSC_USE_CBLAS
#include <cblas.h>
#include <limits.h>
#define DSC_HAVE_CBLAS_GEMM 1
#else
#define DSC_HAVE_CBLAS_GEMM 0
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DSC_GEMM_X86 1
#else
#define DSC_GEMM_X86 0
#endif

/* KC_MAX keeps a packed B micro-panel (KC x nr) in L1 and an A tile block
 * (MB x KC) in L2. MB_MAX x NB_MAX is the largest C tile one thread takes:
 * small enough that two threads balance on minibatch shapes (m = 128),
 * large enough that the micro-kernel loops amortise. The super-block caps
 * bound the shared packing buffers (a few MB, so they stay in L3). */
enum { KC_MAX = 256, MB_MAX = 96, NB_MAX = 192, MC_CAP = 1024, NC_CAP = 1024 };
#define PACK_BUDGET ((size_t)1 << 20)
/* Floats in the largest register tile (mr x nr) of any kernel. */
#define TILE_MAX 512

/* Below this many multiply-adds, waking threads costs more than it saves. */
#define PARALLEL_MIN_WORK 65536.0
/* Multiply-adds a thread must get, per float of the kernel's register tile,
 * before another thread is planned: handing work to a second core costs
 * some microseconds (waking it, and its reading what the first wrote),
 * which on Zen 5 with the 12 x 32 kernel (384 floats: 6.3 M multiply-adds,
 * about 50 us) made 2 threads slower than 1 below about 8 M: square 128
 * 154 against 217 GFLOP/s, W2's 128 x 128 x 256 180 against 222, W3's
 * 128 x 10 x 128 68 against 122. A kernel with a smaller tile is slower per
 * multiply-add, so the threshold falls with it (AVX2's 6 x 16: 1.6 M). */
#define THREAD_WORK_PER_TILE_FLOAT 16384.0
/* Up to this many, a plain loop beats packing. */
#define TINY_WORK 512.0

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Threads worth planning for work multiply-adds, at most t. */
static int threads_for(double work, const dsc_gemm_kernel *kd, int t)
{
    double per = THREAD_WORK_PER_TILE_FLOAT * (double)(kd->mr * kd->nr);
    double most = work / per;
    if (most < 1.0) return 1;
    return most < (double)t ? (int)most : t;
}
static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
static size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

/* ------------------------------------------------------------------ */
/* Reference                                                          */
/* ------------------------------------------------------------------ */

void dsc_gemm_ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc)
{
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++) {
                double a = trans_a ? A[p * lda + i] : A[i * lda + p];
                double b = trans_b ? B[j * ldb + p] : B[p * ldb + j];
                s += a * b;
            }
            double v = (double)alpha * s;
            if (beta != 0.0f) v += (double)beta * C[i * ldc + j];
            C[i * ldc + j] = (float)v;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Blocked driver                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
    int trans_a, trans_b;
    size_t m, n, k;
    float alpha, beta;
    const float *A, *B;
    size_t lda, ldb, ldc;
    float *C;
    /* The fixed grid, from the shape alone: C tiles of mb x nb, k blocks of
     * kcs, and super-blocks of mco x nco x kco whose packed operands fit
     * the scratch budget. */
    size_t mb, nb, kcs, mco, nco, kco;
    const dsc_gemm_kernel *kd;
    size_t mr, nr; /* its register tile */
} gemm_job;

/* Splits len into the fewest pieces of at most max, of nearly equal size
 * rounded up to a multiple of unit. */
static size_t even_block(size_t len, size_t max, size_t unit)
{
    size_t pieces = ceil_div(len, max);
    return round_up(ceil_div(len, pieces), unit);
}

/* With several threads, C is cut into at least TILES_PER_THREAD tiles per
 * thread where the shape allows (a thread that loses its core holds back
 * at most one tile), and into tiles that share the work out evenly: W1's
 * forward product (128 x 256) was cut into nine 48 x 96 tiles, five for
 * one thread and four for the other, and ran at 79 % of OpenBLAS's rate on
 * two threads. Tile sizes do not change what is computed: only the k
 * blocks do. */
#define TILES_PER_THREAD 4

/* The next smaller block for len than b (> unit): one more piece, of
 * nearly equal size rounded up to a multiple of unit, or at least one
 * unit less. */
static size_t smaller_block(size_t len, size_t b, size_t unit)
{
    size_t next = round_up(ceil_div(len, ceil_div(len, b) + 1), unit);
    return next < b ? next : b - unit;
}

/* The busiest thread's work, in register tiles plus one for each tile's
 * overhead, when T threads take the tiles of an M x N grid of register
 * tiles cut in a x b blocks, each the next tile as it becomes free (equal
 * speeds). */
static size_t makespan(size_t M, size_t N, size_t a, size_t b, int T)
{
    size_t load[8] = {0};
    size_t tm = ceil_div(M, a), tn = ceil_div(N, b);
    for (size_t t = 0; t < tm * tn; t++) {
        size_t i = t / tn, j = t % tn;
        size_t w = min_sz(a, M - i * a) * min_sz(b, N - j * b) + 1;
        int least = 0;
        for (int q = 1; q < T; q++)
            if (load[q] < load[least]) least = q;
        load[least] += w;
    }
    size_t most = 0;
    for (int q = 0; q < T; q++)
        if (load[q] > most) most = load[q];
    return most;
}

/* A few plans per thread, by shape: training asks for the same handful of
 * shapes every step, and the search below takes microseconds. */
typedef struct {
    size_t m, n, mr, nr, mb, nb;
    int threads;
} plan_memo;
static _Thread_local plan_memo memo[8];
static _Thread_local unsigned memo_next;

/* Searches the tile sizes for small grids (minibatch products): the
 * fewest register tiles for the busiest thread, then the fewest tiles.
 * Returns 0 when it does not apply. */
static int plan_even(gemm_job *g, int nthreads)
{
    size_t M = ceil_div(g->m, g->mr), N = ceil_div(g->n, g->nr);
    size_t want = (size_t)nthreads * TILES_PER_THREAD;
    size_t amax = MB_MAX / g->mr, bmax = NB_MAX / g->nr;
    /* Many tiles of the largest size even out by themselves. */
    if (nthreads > 8 || ceil_div(M, amax) * ceil_div(N, bmax) >= 4 * want) return 0;
    for (unsigned i = 0; i < DSC_COUNT_OF(memo); i++) {
        const plan_memo *e = &memo[i];
        if (e->m == g->m && e->n == g->n && e->mr == g->mr && e->nr == g->nr &&
            e->threads == nthreads) {
            g->mb = e->mb, g->nb = e->nb;
            return 1;
        }
    }
    size_t best = SIZE_MAX, best_tiles = 0;
    for (size_t a = 1; a <= min_sz(amax, M); a++) {
        for (size_t b = 1; b <= min_sz(bmax, N); b++) {
            size_t tiles = ceil_div(M, a) * ceil_div(N, b);
            /* Enough tiles where the grid allows, but not many more. */
            if ((tiles < want && tiles < M * N) || tiles > 4 * want) continue;
            size_t w = makespan(M, N, a, b, nthreads);
            if (w < best || (w == best && tiles < best_tiles)) {
                best = w, best_tiles = tiles;
                g->mb = a * g->mr, g->nb = b * g->nr;
            }
        }
    }
    if (best == SIZE_MAX) return 0;
    memo[memo_next++ % DSC_COUNT_OF(memo)] =
        (plan_memo){g->m, g->n, g->mr, g->nr, g->mb, g->nb, nthreads};
    return 1;
}

static void plan(gemm_job *g, int nthreads)
{
    g->mb = even_block(g->m, MB_MAX, g->mr);
    g->nb = even_block(g->n, NB_MAX, g->nr);
    if (nthreads > 1 && !plan_even(g, nthreads)) {
        while (ceil_div(g->m, g->mb) * ceil_div(g->n, g->nb) <
               (size_t)nthreads * TILES_PER_THREAD) {
            /* Split the side whose tiles hold more register tiles. */
            int rows = g->mb / g->mr >= g->nb / g->nr;
            if (!rows && g->nb == g->nr) rows = 1;
            if (rows && g->mb == g->mr) rows = 0;
            if (rows && g->mb > g->mr) {
                g->mb = smaller_block(g->m, g->mb, g->mr);
            } else if (!rows && g->nb > g->nr) {
                g->nb = smaller_block(g->n, g->nb, g->nr);
            } else {
                break;
            }
        }
    }
    g->kcs = ceil_div(g->k, ceil_div(g->k, KC_MAX));
    /* Super-blocks hold whole tiles and whole k blocks, so boundaries stay
     * where the shape put them. */
    g->mco = g->mb * ceil_div(ceil_div(g->m, g->mb), ceil_div(g->m, MC_CAP));
    g->nco = g->nb * ceil_div(ceil_div(g->n, g->nb), ceil_div(g->n, NC_CAP));
    size_t width = round_up(min_sz(g->mco, g->m), g->mr) + round_up(min_sz(g->nco, g->n), g->nr);
    size_t kblocks = PACK_BUDGET / (width * g->kcs);
    g->kco = g->kcs * (kblocks > 0 ? kblocks : 1);
}

/* Floats of scratch for the packed A and B parts of one super-block; the
 * A part is rounded so that B starts 64-byte aligned for the kernel's
 * aligned loads. */
static size_t scratch_floats(const gemm_job *g, size_t *a_floats)
{
    size_t kc = min_sz(g->kco, g->k);
    *a_floats = round_up(round_up(min_sz(g->mco, g->m), g->mr) * kc, 16);
    return *a_floats + round_up(min_sz(g->nco, g->n), g->nr) * kc;
}

static _Thread_local float *scratch_buf;
static _Thread_local size_t scratch_cap;

/* A thread-specific key whose destructor frees a thread's scratch when the
 * thread ends, so threads that come and go (a caller's own pthreads, each
 * predicting with a workspace) do not leak their buffers. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_release(void *p) { dsc_free_aligned(p); }

static void scratch_key_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_release) == 0;
}

/* The calling thread's scratch with room for n floats, or NULL when it
 * cannot grow (the old buffer is kept for later calls). */
static float *scratch(size_t n)
{
    if (n <= scratch_cap) return scratch_buf;
    if (n > SIZE_MAX / sizeof(float)) return NULL;
    pthread_once(&scratch_once, scratch_key_init);
    if (!scratch_key_ok) return NULL;
    float *p = dsc_malloc_aligned(n * sizeof(float));
    if (!p) return NULL;
    if (pthread_setspecific(scratch_key, p) != 0) {
        dsc_free_aligned(p);
        return NULL;
    }
    dsc_free_aligned(scratch_buf);
    scratch_buf = p;
    scratch_cap = n;
    return p;
}

/* One super-block: rows ci.., columns cj.., k from pk on. */
typedef struct {
    size_t ci, cj, pk;
    size_t mc, nc, kc;     /* its extent */
    size_t mc_pad, nc_pad; /* packed widths (whole panels) */
    float *pa, *pb;
} super_block;

/* Packs the mr rows of A from row i0 (rows of them left in the operand)
 * and the nr columns of B from column j0, over kc steps of k from p0. */
static void pack_a_panel(const gemm_job *g, size_t i0, size_t rows, size_t p0, size_t kc,
                         float *dst)
{
    if (g->kd->pack_a_rows && !g->trans_a && rows >= g->mr)
        g->kd->pack_a_rows(g->A, g->lda, i0, p0, kc, dst);
    else
        dsc_gemm_pack_a(g->trans_a, g->A, g->lda, i0, min_sz(g->mr, rows), p0, kc, g->mr, dst);
}

static void pack_b_panel(const gemm_job *g, size_t j0, size_t cols, size_t p0, size_t kc,
                         float *dst)
{
    if (g->kd->pack_b_cols && g->trans_b && cols >= g->nr)
        g->kd->pack_b_cols(g->B, g->ldb, j0, p0, kc, dst);
    else
        dsc_gemm_pack_b(g->trans_b, g->B, g->ldb, j0, min_sz(g->nr, cols), p0, kc, g->nr, dst);
}

/* Packs one panel: index t counts the k blocks of the super-block, and
 * within each the A panels, then the B panels. A k block of A is stored as
 * mc_pad x kc (panel after panel), so a tile finds its rows at a fixed
 * offset; likewise for B. */
static void pack_item(const gemm_job *g, const super_block *sb, size_t t)
{
    size_t mr = g->mr, nr = g->nr;
    size_t na = sb->mc_pad / mr, nbp = sb->nc_pad / nr;
    size_t blk = t / (na + nbp), idx = t % (na + nbp);
    size_t p = blk * g->kcs, kc = min_sz(g->kcs, sb->kc - p);
    if (idx < na) {
        size_t i = idx * mr;
        pack_a_panel(g, sb->ci + i, sb->mc - i, sb->pk + p, kc, sb->pa + sb->mc_pad * p + i * kc);
    } else {
        size_t j = (idx - na) * nr;
        pack_b_panel(g, sb->cj + j, sb->nc - j, sb->pk + p, kc, sb->pb + sb->nc_pad * p + j * kc);
    }
}

/* One register tile: c (mr x nr of C's rows) = alpha a b + beta c over kc.
 * Edge tiles run the same kernel on a local copy, so their elements get
 * exactly the operations interior ones get. */
static void micro_tile(const gemm_job *g, size_t kc, const float *pa, const float *pb, float *c,
                       size_t mr, size_t nr, float beta)
{
    size_t ldc = g->ldc, tn = g->nr;
    if (mr == g->mr && nr == tn) {
        g->kd->kernel(kc, pa, pb, c, ldc, g->alpha, beta);
        return;
    }
    _Alignas(64) float tmp[TILE_MAX];
    if (beta != 0.0f) {
        for (size_t r = 0; r < mr; r++) memcpy(tmp + r * tn, c + r * ldc, nr * sizeof(float));
    }
    g->kd->kernel(kc, pa, pb, tmp, tn, g->alpha, beta);
    for (size_t r = 0; r < mr; r++) memcpy(c + r * ldc, tmp + r * tn, nr * sizeof(float));
}

/* One tile of C (rows ti.., columns tj.. of the super-block) over all the
 * super-block's k blocks, in order. */
static void compute_tile(const gemm_job *g, const super_block *sb, size_t ti, size_t tj)
{
    size_t rows = min_sz(g->mb, sb->mc - ti), cols = min_sz(g->nb, sb->nc - tj);
    size_t ldc = g->ldc, tm = g->mr, tn = g->nr;
    float *C = g->C + (sb->ci + ti) * ldc + sb->cj + tj;
    for (size_t p = 0; p < sb->kc; p += g->kcs) {
        size_t kc = min_sz(g->kcs, sb->kc - p);
        float beta = sb->pk + p == 0 ? g->beta : 1.0f;
        const float *pa = sb->pa + sb->mc_pad * p + ti * kc;
        const float *pb = sb->pb + sb->nc_pad * p + tj * kc;
        for (size_t jr = 0; jr < cols; jr += tn) {
            for (size_t ir = 0; ir < rows; ir += tm)
                micro_tile(g, kc, pa + ir * kc, pb + jr * kc, C + ir * ldc + jr,
                           min_sz(tm, rows - ir), min_sz(tn, cols - jr), beta);
        }
    }
}

/* A super-block and its job, as the pool's range functions see them. */
typedef struct {
    const gemm_job *g;
    const super_block *sb;
    size_t n_tcols; /* tiles per row of tiles */
} sb_job;

static void pack_range(void *job_, size_t lo, size_t hi)
{
    const sb_job *j = job_;
    for (size_t t = lo; t < hi; t++) pack_item(j->g, j->sb, t);
}

static void tile_range(void *job_, size_t lo, size_t hi)
{
    const sb_job *j = job_;
    for (size_t t = lo; t < hi; t++)
        compute_tile(j->g, j->sb, t / j->n_tcols * j->g->mb, t % j->n_tcols * j->g->nb);
}

/* Per super-block: the threads pack it, then take tiles. Panels and tiles
 * are handed out one piece at a time, so a thread that gets less CPU
 * takes fewer; which thread computes a tile does not change how it is
 * computed. */
static void gemm_blocked(const gemm_job *g, float *pa, float *pb, int nthreads, int par)
{
    for (size_t ci = 0; ci < g->m; ci += g->mco) {
        for (size_t cj = 0; cj < g->n; cj += g->nco) {
            for (size_t pk = 0; pk < g->k; pk += g->kco) {
                super_block sb = {.ci = ci,
                                  .cj = cj,
                                  .pk = pk,
                                  .mc = min_sz(g->mco, g->m - ci),
                                  .nc = min_sz(g->nco, g->n - cj),
                                  .kc = min_sz(g->kco, g->k - pk),
                                  .pa = pa,
                                  .pb = pb};
                sb.mc_pad = round_up(sb.mc, g->mr);
                sb.nc_pad = round_up(sb.nc, g->nr);
                size_t n_pack = ceil_div(sb.kc, g->kcs) * (sb.mc_pad / g->mr + sb.nc_pad / g->nr);
                sb_job job = {g, &sb, ceil_div(sb.nc, g->nb)};
                size_t n_tiles = ceil_div(sb.mc, g->mb) * job.n_tcols;
                dsc_parallel_for(nthreads, par, n_pack, 4, pack_range, &job);
                dsc_parallel_for(nthreads, par, n_tiles, 1, tile_range, &job);
            }
        }
    }
}

/* --- slabs: minibatch products on several threads, one job ------------
 * On a host whose two vCPUs sit far apart (a cache line round trip of
 * ~370 ns, reading what the other core wrote at a third of the speed of
 * one's own caches), the super-block path above cost W1's products most
 * of what a second thread brings: two jobs per product (pack, then
 * tiles), and each thread reading panels the other packed. Here the
 * product is one job. C is cut into slabs of whole columns (or whole
 * rows, when C is taller than wide); each thread packs the whole of the
 * smaller operand into its own slot of scratch once per product, then,
 * for each slab it takes, packs that slab's part of the other operand k
 * block by k block and multiplies, reading only what it packed. The
 * caller takes slabs from the front and helpers from the back, so each
 * keeps one end of C. Same k blocks, same kernel per register tile: the
 * same bits as the super-block path and as one thread. */

/* Used when the operand packed whole holds at most this many floats. */
#define SLAB_WHOLE_MAX ((size_t)1 << 17)
/* ...and C's shorter side is at most this long (larger products keep the
 * super-block path, which already scales). */
#define SLAB_SIDE_MAX 256
/* Panels in a slab at most (a long side makes more slabs). */
#define SLAB_PANELS_MAX 16

typedef struct {
    const gemm_job *g;
    int by_cols;            /* slabs of columns (A packed whole) or of rows */
    size_t panels;          /* register-tile panels along the split side */
    size_t per_slab;        /* panels in a slab */
    size_t whole_pad;       /* the other side, rounded up to whole panels */
    size_t whole_floats;    /* the operand packed whole, rounded to 16 */
    size_t slot_floats;     /* a thread's slot: whole + one slab's k block */
    float *buf;             /* nthreads slots */
    uint64_t seq;           /* this product's number */
    _Atomic unsigned slots; /* slots handed out */
} slab_job;

static _Atomic uint64_t slab_products;
/* The product this thread last packed for, and its slot there. */
static _Thread_local uint64_t slab_seq;
static _Thread_local float *slab_slot;

static void slab_pack_whole(const slab_job *j, float *dst)
{
    const gemm_job *g = j->g;
    for (size_t p = 0; p < g->k; p += g->kcs) {
        size_t kc = min_sz(g->kcs, g->k - p);
        float *d = dst + j->whole_pad * p;
        if (j->by_cols) {
            for (size_t i = 0; i < g->m; i += g->mr)
                pack_a_panel(g, i, g->m - i, p, kc, d + i * kc);
        } else {
            for (size_t c = 0; c < g->n; c += g->nr)
                pack_b_panel(g, c, g->n - c, p, kc, d + c * kc);
        }
    }
}

static void slab_range(void *job_, size_t lo, size_t hi)
{
    slab_job *j = job_;
    const gemm_job *g = j->g;
    if (slab_seq != j->seq) {
        unsigned s = atomic_fetch_add_explicit(&j->slots, 1, memory_order_relaxed);
        slab_slot = j->buf + (size_t)s * j->slot_floats;
        slab_seq = j->seq;
        slab_pack_whole(j, slab_slot);
    }
    const float *whole = slab_slot;
    float *part = slab_slot + j->whole_floats;
    size_t mr = g->mr, nr = g->nr, ldc = g->ldc;
    size_t unit = j->by_cols ? nr : mr, side = j->by_cols ? g->n : g->m;
    for (size_t q = lo; q < hi; q++) {
        size_t s0 = q * j->per_slab * unit;
        size_t s1 = min_sz(side, (q + 1) * j->per_slab * unit);
        for (size_t p = 0; p < g->k; p += g->kcs) {
            size_t kc = min_sz(g->kcs, g->k - p);
            float beta = p == 0 ? g->beta : 1.0f;
            const float *w = whole + j->whole_pad * p;
            if (j->by_cols) {
                for (size_t c = s0; c < s1; c += nr) {
                    float *pb = part; /* one panel at a time */
                    pack_b_panel(g, c, g->n - c, p, kc, pb);
                    for (size_t i = 0; i < g->m; i += mr)
                        micro_tile(g, kc, w + i * kc, pb, g->C + i * ldc + c, min_sz(mr, g->m - i),
                                   min_sz(nr, g->n - c), beta);
                }
            } else {
                for (size_t i = s0; i < s1; i += mr)
                    pack_a_panel(g, i, g->m - i, p, kc, part + (i - s0) * kc);
                for (size_t c = 0; c < g->n; c += nr) {
                    for (size_t i = s0; i < s1; i += mr)
                        micro_tile(g, kc, part + (i - s0) * kc, w + c * kc, g->C + i * ldc + c,
                                   min_sz(mr, g->m - i), min_sz(nr, g->n - c), beta);
                }
            }
        }
    }
}

/* Runs the product as slabs if its shape suits them; 0 if not (or if
 * scratch cannot grow). */
static int gemm_slabs(const gemm_job *g, int nthreads)
{
    int by_cols = g->m <= g->n;
    size_t mpad = round_up(g->m, g->mr), npad = round_up(g->n, g->nr);
    size_t whole_pad = by_cols ? mpad : npad;
    if ((by_cols ? g->m : g->n) > SLAB_SIDE_MAX || whole_pad * g->k > SLAB_WHOLE_MAX) return 0;
    slab_job j = {.g = g, .by_cols = by_cols, .whole_pad = whole_pad};
    j.panels = by_cols ? npad / g->nr : mpad / g->mr;
    /* About four slabs per thread: a thread the scheduler holds back
     * leaves few behind, and the taking stays a few line transfers. */
    j.per_slab = j.panels / (4 * (size_t)nthreads);
    if (j.per_slab == 0) j.per_slab = 1;
    /* A rows slab is packed whole per k block: keep it in L2. */
    if (j.per_slab > SLAB_PANELS_MAX) j.per_slab = SLAB_PANELS_MAX;
    j.whole_floats = round_up(whole_pad * g->k, 16);
    size_t unit = by_cols ? g->nr : g->mr;
    j.slot_floats = j.whole_floats + round_up((by_cols ? 1 : j.per_slab) * unit * g->kcs, 16);
    j.buf = scratch(j.slot_floats * (size_t)nthreads);
    if (!j.buf) return 0;
    j.seq = atomic_fetch_add_explicit(&slab_products, 1, memory_order_relaxed) + 1;
    atomic_init(&j.slots, 0);
    dsc_parallel_for(nthreads, 1, ceil_div(j.panels, j.per_slab), 1, slab_range, &j);
    return 1;
}

/* For tiny products, and when scratch cannot be allocated: slow on big
 * ones, but it gives an answer instead of a failure the signature has no
 * way to report. */
static void gemm_unpacked(const gemm_job *g)
{
    for (size_t i = 0; i < g->m; i++) {
        for (size_t j = 0; j < g->n; j++) {
            float s = 0.0f;
            for (size_t p = 0; p < g->k; p++) {
                float a = g->trans_a ? g->A[p * g->lda + i] : g->A[i * g->lda + p];
                float b = g->trans_b ? g->B[j * g->ldb + p] : g->B[p * g->ldb + j];
                s += a * b;
            }
            float *c = g->C + i * g->ldc + j;
            *c = g->beta == 0.0f ? g->alpha * s : g->alpha * s + g->beta * *c;
        }
    }
}

/* --- narrow products (n <= 16) ---------------------------------------
 * A network's output layer (10 classes) makes products 10 columns wide.
 * Packing A for them costs as much as the multiply, so a kernel with a
 * narrow tile reads A where it lies and only B is packed (k x 16 floats,
 * k block after k block). The k blocks, and so each element's chain of
 * operations, are those of the blocked path. */
#define NARROW 16

typedef struct {
    const gemm_job *g;
    const float *pb; /* B packed: k block after k block, kcs x 16 each */
} narrow_job;

/* Row panels [lo, hi) of 16 rows. A short last panel is packed, since
 * the kernel would read rows past it. */
static void narrow_panels(void *job_, size_t lo, size_t hi)
{
    const narrow_job *j = job_;
    const gemm_job *g = j->g;
    _Alignas(64) float tmp[NARROW * NARROW];
    for (size_t q = lo; q < hi; q++) {
        size_t i0 = q * NARROW, rows = min_sz(NARROW, g->m - i0);
        float *c = g->C + i0 * g->ldc;
        for (size_t p = 0; p < g->k; p += g->kcs) {
            size_t kc = min_sz(g->kcs, g->k - p);
            float beta = p == 0 ? g->beta : 1.0f;
            const float *pb = j->pb + p * NARROW;
            const float *a = g->trans_a ? g->A + p * g->lda + i0 : g->A + i0 * g->lda + p;
            size_t rs = g->trans_a ? 1 : g->lda, ks = g->trans_a ? g->lda : 1;
            _Alignas(64) float pa[NARROW * KC_MAX];
            if (rows < NARROW) {
                dsc_gemm_pack_a(g->trans_a, g->A, g->lda, i0, rows, p, kc, NARROW, pa);
                a = pa, rs = 1, ks = NARROW;
            }
            if (beta != 0.0f)
                for (size_t r = 0; r < rows; r++)
                    memcpy(tmp + r * NARROW, c + r * g->ldc, g->n * sizeof(float));
            g->kd->narrow(kc, a, rs, ks, pb, tmp, NARROW, g->alpha, beta);
            for (size_t r = 0; r < rows; r++)
                memcpy(c + r * g->ldc, tmp + r * NARROW, g->n * sizeof(float));
        }
    }
}

static void gemm_narrow(const gemm_job *g, int threads)
{
    float *pb = scratch(round_up(g->k, g->kcs) * NARROW);
    if (!pb) {
        gemm_unpacked(g);
        return;
    }
    for (size_t p = 0; p < g->k; p += g->kcs)
        dsc_gemm_pack_b(g->trans_b, g->B, g->ldb, 0, g->n, p, min_sz(g->kcs, g->k - p), NARROW,
                        pb + p * NARROW);
    narrow_job job = {g, pb};
    size_t panels = ceil_div(g->m, NARROW);
    int t = threads_for((double)g->m * (double)g->n * (double)g->k, g->kd, dsc_threads(threads));
    dsc_parallel_for(t, t > 1, panels, 1, narrow_panels, &job);
}

/* C = beta * C, for k == 0 or alpha == 0 (A and B are then not read). */
static void scale_c(size_t m, size_t n, float beta, float *C, size_t ldc)
{
    for (size_t i = 0; i < m; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) {
            memset(c, 0, n * sizeof(float));
        } else if (beta != 1.0f) {
            for (size_t j = 0; j < n; j++) c[j] *= beta;
        }
    }
}

/* ------------------------------------------------------------------ */
/* CBLAS switch                                                       */
/* ------------------------------------------------------------------ */

/* One process-wide choice, meant to be set once at start-up. Atomic so
 * that a change while other threads multiply is not a data race. */
#if DSC_HAVE_CBLAS_GEMM
static _Atomic int use_cblas;
#endif

int dsc_gemm_use_cblas(int on)
{
#if DSC_HAVE_CBLAS_GEMM
    int old = use_cblas;
    use_cblas = on ? 1 : 0;
    return old;
#else
    (void)on;
    return 0;
#endif
}

const char *dsc_gemm_name(void)
{
#if DSC_HAVE_CBLAS_GEMM
    if (use_cblas) return "cblas";
#endif
    static _Thread_local char buf[64];
    const dsc_gemm_kernel *k = dsc_gemm_kernel_now();
    snprintf(buf, sizeof buf, "built-in (%s, %zux%zu)", k->name, k->mr, k->nr);
    return buf;
}

#if DSC_HAVE_CBLAS_GEMM
/* CBLAS takes int sizes and reports bad leading dimensions by printing
 * (xerbla); anything it would reject goes to the built-in kernel. */
static int cblas_can_take(int trans_a, int trans_b, size_t m, size_t n, size_t k, size_t lda,
                          size_t ldb, size_t ldc)
{
    size_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
    size_t lim = (size_t)INT_MAX;
    if (m > lim || n > lim || k > lim || lda > lim || ldb > lim || ldc > lim) return 0;
    if (lda < (a_cols ? a_cols : 1) || ldb < (b_cols ? b_cols : 1) || ldc < (n ? n : 1)) return 0;
    return 1;
}
#endif

/* ------------------------------------------------------------------ */
/* Entry point                                                        */
/* ------------------------------------------------------------------ */

/* --- thin products: a column, a row, or k = 1 ----------------------------
 * A linear model (the seed's line on a million points: 1e6 x 1 by 1 x 1)
 * makes products with one side of width 1. Packing them for the blocked
 * kernel costs far more than the arithmetic, so they go straight through
 * streaming loops. Each output is computed by one fixed sequence of
 * operations, so results do not depend on the thread count. */

/* Contiguous x . y over [0, n), n a multiple of 32: four vectors of eight
 * lanes (independent chains, so the adds overlap), added in double in a
 * fixed order (as a loop over a float array it ran 7x slower). The body is
 * compiled for AVX2 and for the build's target, and written once more for
 * AVX-512 below; the kernel in use picks one at run time, and all compute
 * the same sums (no multiply-add is fused: the build says
 * -ffp-contract=off, and no copy is given FMA). */
#define DOT32_BODY                                                                                 \
    dsc_f32x8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                              \
    for (size_t i = 0; i < n; i += 32) {                                                           \
        dsc_f32x8 x0, x1, x2, x3, y0, y1, y2, y3;                                                  \
        memcpy(&x0, x + i, 32), memcpy(&x1, x + i + 8, 32);                                        \
        memcpy(&x2, x + i + 16, 32), memcpy(&x3, x + i + 24, 32);                                  \
        memcpy(&y0, y + i, 32), memcpy(&y1, y + i + 8, 32);                                        \
        memcpy(&y2, y + i + 16, 32), memcpy(&y3, y + i + 24, 32);                                  \
        a0 += x0 * y0, a1 += x1 * y1, a2 += x2 * y2, a3 += x3 * y3;                                \
    }                                                                                              \
    double s = 0.0;                                                                                \
    for (int l = 0; l < 8; l++) s += (double)a0[l] + (double)a1[l] + (double)a2[l] + a3[l];        \
    return s;

static double dot32_plain(const float *x, const float *y, size_t n) { DOT32_BODY }

#if DSC_GEMM_X86
__attribute__((target("avx2"))) static double dot32_avx2(const float *x, const float *y, size_t n)
{
    DOT32_BODY
}

/* The same four eight-lane sums, two to a 16-lane register: lanes 0-7 of
 * a01 are a0's, 8-15 a1's, and so on, each lane adding the same products
 * in the same order, then the same fixed sum; so the same bits. Half the
 * loads and adds of the AVX2 copy, which on a one-row prediction's
 * products (weights in L2) waits on loads. */
typedef float f32x16 __attribute__((vector_size(64)));
__attribute__((target("avx512f"))) static double dot32_avx512(const float *x, const float *y,
                                                              size_t n)
{
    f32x16 a01 = {0}, a23 = {0};
    for (size_t i = 0; i < n; i += 32) {
        f32x16 x01, x23, y01, y23;
        memcpy(&x01, x + i, 64), memcpy(&x23, x + i + 16, 64);
        memcpy(&y01, y + i, 64), memcpy(&y23, y + i + 16, 64);
        a01 += x01 * y01, a23 += x23 * y23;
    }
    double s = 0.0;
    for (int l = 0; l < 8; l++)
        s += (double)a01[l] + (double)a01[l + 8] + (double)a23[l] + a23[l + 8];
    return s;
}
#endif

/* The copy for the kernel in use: pinning a kernel (tests, DSC_GEMM_KERNEL)
 * pins this too. */
static double dot32(const float *x, const float *y, size_t n)
{
#if DSC_GEMM_X86
    const char *k = dsc_gemm_kernel_now()->name;
    if (!strcmp(k, "avx512f")) return dot32_avx512(x, y, n);
    if (__builtin_cpu_supports("avx2") && strcmp(k, "portable") != 0) return dot32_avx2(x, y, n);
#endif
    return dot32_plain(x, y, n);
}

/* Dot product of x (stride sx) and y (stride sy) over k: contiguous blocks
 * of 4096 terms through dot32, blocks added in double, so long sums keep
 * their precision. */
static double thin_dot(const float *x, size_t sx, const float *y, size_t sy, size_t k)
{
    /* Fewer than eight terms: the same sum without the vector set-up (the
     * seed's small network makes such products every step). */
    if (k < 8) {
        double s = 0.0;
        for (size_t i = 0; i < k; i++) s += (double)x[i * sx] * y[i * sy];
        return s;
    }
    double total = 0.0;
    for (size_t b = 0; b < k; b += 4096) {
        size_t e = b + 4096 < k ? b + 4096 : k, i = b;
        double part = 0.0;
        if (sx == 1 && sy == 1 && e - b >= 32) {
            size_t n = (e - b) / 32 * 32;
            part = dot32(x + b, y + b, n);
            i = b + n;
        }
        for (; i < e; i++) part += (double)x[i * sx] * y[i * sy];
        total += part;
    }
    return total;
}

static void store(float *c, float alpha, double v, float beta)
{
    float r = alpha * (float)v;
    *c = beta == 0.0f ? r : r + beta * *c;
}

#ifdef OPENBLAS_VERSION
/* Linking OpenBLAS starts its thread pool when the program loads, and idle
 * pool threads spin on sched_yield before they sleep, taking a core from
 * the built-in kernel. While the built-in kernel is in use the pool gets
 * one thread; --gemm cblas sets the count it wants (see dsc_gemm). */
static pthread_once_t openblas_once = PTHREAD_ONCE_INIT;
static _Atomic int openblas_quiet;
static void quiet_openblas_once(void) { openblas_set_num_threads(1); }
/* Called on every product: after the first, one load and no library call. */
static void quiet_openblas(void)
{
    if (atomic_load_explicit(&openblas_quiet, memory_order_acquire)) return;
    pthread_once(&openblas_once, quiet_openblas_once);
    atomic_store_explicit(&openblas_quiet, 1, memory_order_release);
}
#endif

void dsc_gemm_prepare(void)
{
#ifdef OPENBLAS_VERSION /* only with CBLAS, so use_cblas exists */
    if (!use_cblas) quiet_openblas();
#endif
}

#define THIN_CHUNK      65536
#define THIN_MAX_CHUNKS 1024

/* One long dot product (a weight's gradient over a large batch): fixed
 * chunks summed in parallel, then added in order. Kept out of line: inlined,
 * its 8 KB of partial sums made every small thin product slower. */
typedef struct {
    const float *x, *y;
    size_t sx, sy, k;
    double *part;
} dot_job;

static void dot_chunks(void *job_, size_t lo, size_t hi)
{
    const dot_job *j = job_;
    for (size_t ch = lo; ch < hi; ch++) {
        size_t p0 = ch * THIN_CHUNK, len = j->k - p0 < THIN_CHUNK ? j->k - p0 : THIN_CHUNK;
        j->part[ch] = thin_dot(j->x + p0 * j->sx, j->sx, j->y + p0 * j->sy, j->sy, len);
    }
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void
long_dot(const float *x, size_t sx, const float *y, size_t sy, size_t k, float alpha, float beta,
         float *c, int par, int threads)
{
    double part[THIN_MAX_CHUNKS];
    size_t chunks = (k + THIN_CHUNK - 1) / THIN_CHUNK;
    dot_job job = {x, y, sx, sy, k, part};
    dsc_parallel_for(dsc_threads(threads), par, chunks, 1, dot_chunks, &job);
    double total = 0.0;
    for (size_t ch = 0; ch < chunks; ch++) total += part[ch];
    store(c, alpha, total, beta);
}

/* Row c (n elements) of an outer product: a_i times row b (stride sb). */
static inline void outer_row(float *c, float ai, const float *b, size_t sb, size_t n, float beta)
{
    if (beta == 0.0f) {
        for (size_t j = 0; j < n; j++) c[j] = ai * b[j * sb];
    } else {
        for (size_t j = 0; j < n; j++) c[j] = ai * b[j * sb] + beta * c[j];
    }
}

/* A thin product's operands: element (i, p) of op(A) is A[i a_row + p a_k],
 * element (p, j) of op(B) is B[p b_k + j b_col]. */
typedef struct {
    const float *A, *B;
    float *C;
    size_t a_row, a_k, b_k, b_col, n, k, ldc;
    float alpha, beta;
} thin_job;

/* Rows [lo, hi) of an outer product (k = 1). */
static void outer_rows(void *job_, size_t lo, size_t hi)
{
    const thin_job *j = job_;
    for (size_t i = lo; i < hi; i++)
        outer_row(j->C + i * j->ldc, j->alpha * j->A[i * j->a_row], j->B, j->b_col, j->n, j->beta);
}

/* Elements [lo, hi) of a column C (n = 1). */
static void column_dots(void *job_, size_t lo, size_t hi)
{
    const thin_job *j = job_;
    for (size_t i = lo; i < hi; i++)
        store(&j->C[i * j->ldc], j->alpha,
              thin_dot(j->A + i * j->a_row, j->a_k, j->B, j->b_k, j->k), j->beta);
}

/* Elements [lo, hi) of a row C (m = 1). */
static void row_dots(void *job_, size_t lo, size_t hi)
{
    const thin_job *j = job_;
    for (size_t c = lo; c < hi; c++)
        store(&j->C[c], j->alpha, thin_dot(j->A, j->a_k, j->B + c * j->b_col, j->b_k, j->k),
              j->beta);
}

/* Returns 1 when the product was thin and has been computed. The thread
 * count is only asked for when the work is large enough to split. */
static int gemm_thin(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *A,
                     size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc,
                     int threads)
{
    thin_job job = {.A = A,
                    .B = B,
                    .C = C,
                    .a_row = ta ? 1 : lda,
                    .a_k = ta ? lda : 1,
                    .b_k = tb ? 1 : ldb,
                    .b_col = tb ? ldb : 1,
                    .n = n,
                    .k = k,
                    .ldc = ldc,
                    .alpha = alpha,
                    .beta = beta};
    /* m n k > 262144, in integers: m n cannot overflow, C holds m n floats. */
    int par = m * n > 262144 / k;
    int t = par ? dsc_threads(threads) : 1;
    /* Pieces of about 16K multiply-adds. */
    size_t piece = 16384 / (k * (m == 1 ? 1 : n)) + 1;

    if (k == 1) {
        /* An outer product: every element is one multiplication. */
        dsc_parallel_for(t, par, m, piece, outer_rows, &job);
        return 1;
    }
    if (m == 1 && n == 1 && k >= 2 * THIN_CHUNK && k <= THIN_CHUNK * THIN_MAX_CHUNKS) {
        long_dot(A, job.a_k, B, job.b_k, k, alpha, beta, C, par, threads);
        return 1;
    }
    if (n == 1) {
        /* C is a column: one dot product per row. */
        dsc_parallel_for(t, par && m > 1, m, piece, column_dots, &job);
        return 1;
    }
    if (m == 1) {
        /* C is a row: one dot product per column. */
        dsc_parallel_for(t, par && n > 1, n, piece, row_dots, &job);
        return 1;
    }
    return 0;
}

/* Tied to the path choice below: thin products with k == 1 or n == 1 are
 * the same per row for every m (except one long dot, m = n = 1); others are
 * packed from 2 rows on once past the tiny limit, and the packed kernel runs
 * edge tiles like interior ones. */
size_t dsc_gemm_invariant_rows(size_t n, size_t k)
{
    if (k <= 1) return 1;
    if (n == 1) return k >= 2 * THIN_CHUNK ? 2 : 1;
    size_t m = (size_t)(TINY_WORK / ((double)n * (double)k)) + 1;
    return m < 2 ? 2 : m;
}

void dsc_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A,
              size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc, int threads)
{
    if (m == 0 || n == 0) return;
#if DSC_HAVE_CBLAS_GEMM
    if (use_cblas && cblas_can_take(trans_a, trans_b, m, n, k, lda, ldb, ldc)) {
#ifdef OPENBLAS_VERSION
        /* The caller's thread count caps OpenBLAS's own pool too, so the
         * two never compete for the cores. Setting it only when it changes
         * keeps the call out of the hot path. */
        static _Atomic int blas_threads;
        int want = dsc_threads(threads);
        if (blas_threads != want) {
            openblas_set_num_threads(want);
            blas_threads = want;
        }
#endif
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, A, (int)lda,
                    B, (int)ldb, beta, C, (int)ldc);
        return;
    }
#endif
#ifdef OPENBLAS_VERSION
    quiet_openblas();
#endif
    if (k == 0 || alpha == 0.0f) {
        scale_c(m, n, beta, C, ldc);
        return;
    }
    if ((m == 1 || n == 1 || k == 1) &&
        gemm_thin(trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, threads))
        return;

    gemm_job g = {.trans_a = trans_a,
                  .trans_b = trans_b,
                  .m = m,
                  .n = n,
                  .k = k,
                  .alpha = alpha,
                  .beta = beta,
                  .A = A,
                  .B = B,
                  .lda = lda,
                  .ldb = ldb,
                  .ldc = ldc,
                  .C = C,
                  .kd = dsc_gemm_kernel_now()};
    g.mr = g.kd->mr;
    g.nr = g.kd->nr;
    int nthreads = threads_for((double)m * (double)n * (double)k, g.kd, dsc_threads(threads));
    plan(&g, nthreads);

    /* Tiny products (the seed's 1-2-1 network) cost more to pack than to
     * compute. The choice depends on the shape only, like everything else. */
    if ((double)m * (double)n * (double)k <= TINY_WORK) {
        gemm_unpacked(&g);
        return;
    }
    size_t a_floats;
    float *buf = scratch(scratch_floats(&g, &a_floats));
    if (!buf) {
        gemm_unpacked(&g);
        return;
    }

    if (n <= NARROW && g.kd->narrow) {
        gemm_narrow(&g, threads);
        return;
    }
    size_t tiles = ceil_div(min_sz(g.mco, m), g.mb) * ceil_div(min_sz(g.nco, n), g.nb);
    if ((size_t)nthreads > tiles) nthreads = (int)tiles;
    int par = nthreads > 1 && (double)m * (double)n * (double)k >= PARALLEL_MIN_WORK;
    if (par && gemm_slabs(&g, nthreads)) return;
    gemm_blocked(&g, buf, buf + a_floats, nthreads, par);
}
