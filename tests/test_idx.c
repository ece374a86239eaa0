/* Reading IDX files: tiny hand-made files read exactly, plain, gzipped and
 * through a pipe; every error with its status and message; Fashion-MNIST
 * when the Debian package has installed it.
 *
 * The gzip files are written here with stored (uncompressed) deflate
 * blocks, which needs no zlib, so a build without zlib can check that it
 * refuses them. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "data/data.h"
#include "descent.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char tmpdir[64];
static int have_zlib;

typedef struct {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) exit(1);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u8(bytes *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put(b, &c, 1);
}

static void put_be32(bytes *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(b, c, 4);
}

static void put_le32(bytes *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, c, 4);
}

/* count images of rows x cols; pixel (i, k) is (7 i + 3 k) mod 256. */
static bytes images(uint32_t count, uint32_t rows, uint32_t cols)
{
    bytes b = {0};
    put_be32(&b, 0x00000803);
    put_be32(&b, count);
    put_be32(&b, rows);
    put_be32(&b, cols);
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < (size_t)rows * cols; k++) put_u8(&b, (unsigned)(7 * i + 3 * k));
    return b;
}

static bytes labels(uint32_t count, const unsigned char *v)
{
    bytes b = {0};
    put_be32(&b, 0x00000801);
    put_be32(&b, count);
    put(&b, v, count);
    return b;
}

/* One gzip member holding data in stored deflate blocks of at most 1000
 * bytes (so several blocks are exercised). */
static void gzip_member(bytes *g, const unsigned char *data, size_t n)
{
    static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    put(g, head, sizeof head);
    size_t at = 0;
    do {
        size_t len = n - at < 1000 ? n - at : 1000;
        put_u8(g, at + len == n); /* BFINAL, BTYPE 00 */
        put_u8(g, (unsigned)(len & 0xff));
        put_u8(g, (unsigned)(len >> 8));
        put_u8(g, (unsigned)(~len & 0xff));
        put_u8(g, (unsigned)((~len >> 8) & 0xff));
        put(g, data + at, len);
        at += len;
    } while (at < n);
    put_le32(g, dsc_crc32(0, data, n));
    put_le32(g, (uint32_t)n);
}

/* The data as gzip, in `members` members. */
static bytes gzip(const bytes *b, int members)
{
    bytes g = {0};
    size_t at = 0;
    for (int m = 0; m < members; m++) {
        size_t len = m + 1 == members ? b->n - at : b->n / (size_t)members;
        gzip_member(&g, b->p + at, len);
        at += len;
    }
    return g;
}

static const char *write_file(const char *name, const void *p, size_t n)
{
    return check_write_file(tmpdir, name, p, n);
}

static const char *write_bytes(const char *name, const bytes *b)
{
    return write_file(name, b->p, b->n);
}

static dsc_status load(const char *img, const char *lab, dsc_dataset **d)
{
    *d = (dsc_dataset *)&tmpdir; /* must become NULL on failure */
    dsc_status s = dsc_dataset_from_idx(img, lab, d);
    if (s != DSC_OK && *d != NULL) {
        check_failed++;
        fprintf(stderr, "%s: *out is not NULL after a failure\n", img);
        *d = NULL;
    }
    return s;
}

static void expect_error(const char *img, const char *lab, dsc_status want, const char *piece1,
                         const char *piece2, int line)
{
    dsc_dataset *d;
    dsc_status s = load(img, lab, &d);
    const char *msg = dsc_last_error();
    if (s == want && strstr(msg, piece1) && (!piece2 || strstr(msg, piece2))) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "%s:%d: expected status %d with '%s'%s%s%s, got %d: %s\n", __FILE__, line,
                (int)want, piece1, piece2 ? " and '" : "", piece2 ? piece2 : "", piece2 ? "'" : "",
                (int)s, msg);
    }
    dsc_dataset_free(d);
}

#define EXPECT_ERROR(img, lab, want, p1, p2) expect_error(img, lab, want, p1, p2, __LINE__)

/* The 3 images of 2 x 3 pixels and labels {0, 2, 1} read exactly. */
static void check_tiny(const dsc_dataset *d)
{
    CHECK(dsc_dataset_rows(d) == 3);
    CHECK(dsc_dataset_inputs(d) == 6);
    CHECK(dsc_dataset_outputs(d) == 3);
    const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
    int exact = 1;
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 6; k++) exact &= x[i * 6 + k] == (float)((7 * i + 3 * k) & 255);
    CHECK(exact);
    /* The values are the bytes; a model divides them by 255. */
    CHECK(dsc_dataset_input_divisor(d) == 255.0f);
    static const float want_y[9] = {1, 0, 0, 0, 0, 1, 0, 1, 0};
    CHECK(memcmp(y, want_y, sizeof want_y) == 0);
    CHECK(dsc_dataset_classes(d) == 3);
    CHECK(strcmp(dsc_dataset_class_label(d, 0), "0") == 0);
    CHECK(strcmp(dsc_dataset_class_label(d, 2), "2") == 0);
    CHECK(strcmp(dsc_dataset_output_name(d, 1), "1") == 0);
    CHECK(strcmp(dsc_dataset_input_name(d, 0), "pixel1") == 0);
    CHECK(strcmp(dsc_dataset_input_name(d, 5), "pixel6") == 0);
    CHECK(d->target_name && strcmp(d->target_name, "label") == 0);
}

static void test_read(void)
{
    static const unsigned char lv[3] = {0, 2, 1};
    bytes im = images(3, 2, 3), lb = labels(3, lv);
    const char *img = write_bytes("tiny-images", &im), *lab = write_bytes("tiny-labels", &lb);
    dsc_dataset *d;
    CHECK_OK(load(img, lab, &d));
    if (d) check_tiny(d);
    dsc_dataset_free(d);

    /* Exact pixel values at the ends and in between. */
    bytes px = {0};
    put_be32(&px, 0x803);
    put_be32(&px, 1);
    put_be32(&px, 1);
    put_be32(&px, 3);
    put(&px, "\x00\x33\xff", 3);
    static const unsigned char one[1] = {1};
    bytes l1 = labels(1, one);
    CHECK_OK(load(write_bytes("px-images", &px), write_bytes("px-labels", &l1), &d));
    if (d) {
        const float *x = dsc_dataset_x(d);
        CHECK(x[0] == 0.0f && x[1] == 51.0f && x[2] == 255.0f);
        CHECK(dsc_dataset_outputs(d) == 2 && dsc_dataset_y(d)[1] == 1.0f);
    }
    dsc_dataset_free(d);
    free(px.p);
    free(l1.p);

    /* All labels 0 still make two classes; label 255 makes 256. */
    static const unsigned char zeros[3] = {0, 0, 0}, big[3] = {255, 0, 7};
    bytes lz = labels(3, zeros), lg = labels(3, big);
    CHECK_OK(load(img, write_bytes("zero-labels", &lz), &d));
    if (d) {
        CHECK(dsc_dataset_outputs(d) == 2 && dsc_dataset_classes(d) == 2);
        CHECK(dsc_dataset_y(d)[0] == 1 && dsc_dataset_y(d)[1] == 0);
    }
    dsc_dataset_free(d);
    CHECK_OK(load(img, write_bytes("big-labels", &lg), &d));
    if (d) {
        CHECK(dsc_dataset_outputs(d) == 256);
        CHECK(strcmp(dsc_dataset_class_label(d, 255), "255") == 0);
        CHECK(dsc_dataset_y(d)[255] == 1 && dsc_dataset_y(d)[256 + 0] == 1);
        CHECK(dsc_dataset_y(d)[512 + 7] == 1);
    }
    dsc_dataset_free(d);
    free(lz.p);
    free(lg.p);

    /* gzip, by content whatever the name, in one or several members. */
    bytes gi = gzip(&im, 1), gl = gzip(&lb, 1), gi3 = gzip(&im, 3);
    const char *gimg = write_bytes("gz-images.idx", &gi), *glab = write_bytes("gz-labels", &gl);
    const char *gimg3 = write_bytes("gz3-images", &gi3);
    if (have_zlib) {
        CHECK_OK(load(gimg, lab, &d));
        if (d) check_tiny(d);
        dsc_dataset_free(d);
        CHECK_OK(load(gimg3, glab, &d));
        if (d) check_tiny(d);
        dsc_dataset_free(d);
    } else {
        EXPECT_ERROR(gimg, lab, DSC_EUNSUPPORTED, "gz-images.idx: the file is gzip-compressed",
                     "no zlib");
        EXPECT_ERROR(img, glab, DSC_EUNSUPPORTED, "gz-labels: the file is gzip-compressed",
                     "no zlib");
    }
    free(gi.p);
    free(gl.p);
    free(gi3.p);

    /* Larger than the read chunks, so reads stitch together. */
    unsigned char lv2[300];
    for (int i = 0; i < 300; i++) lv2[i] = (unsigned char)(i % 10);
    bytes bi = images(300, 28, 28), bl = labels(300, lv2), bg = gzip(&bi, 1);
    const char *blab = write_bytes("big-labels2", &bl);
    dsc_dataset *p = NULL, *g = NULL;
    CHECK_OK(load(write_bytes("big-images", &bi), blab, &p));
    if (have_zlib) {
        CHECK_OK(load(write_bytes("big-images.gz", &bg), blab, &g));
        CHECK(p && g && memcmp(dsc_dataset_x(p), dsc_dataset_x(g), 300 * 784 * sizeof(float)) == 0);
        CHECK(g && dsc_dataset_x(g)[299 * 784 + 783] == (float)((7 * 299 + 3 * 783) & 255));
    }
    CHECK(p && dsc_dataset_outputs(p) == 10 && dsc_dataset_y(p)[299 * 10 + 9] == 1);
    dsc_dataset_free(p);
    dsc_dataset_free(g);
    free(bi.p);
    free(bl.p);
    free(bg.p);
    free(im.p);
    free(lb.p);
}

/* Writes data into a FIFO from a child process; returns the child's pid. */
static pid_t feed_fifo(const char *path, const bytes *b)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY);
        size_t at = 0;
        while (fd >= 0 && at < b->n) {
            ssize_t k = write(fd, b->p + at, b->n - at);
            if (k <= 0) break;
            at += (size_t)k;
        }
        _exit(0);
    }
    return pid;
}

/* A pipe has no size to check up front: the stream itself must show a
 * short or long file, and the peeked magic bytes must not be lost. */
static void test_pipe(void)
{
    static const unsigned char lv[3] = {0, 2, 1};
    bytes im = images(3, 2, 3), lb = labels(3, lv);
    const char *lab = write_bytes("pipe-labels", &lb);
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    if (mkfifo(fifo, 0600) != 0) {
        printf("skipping the pipe tests: mkfifo failed\n");
        free(im.p);
        free(lb.p);
        return;
    }
    dsc_dataset *d;
    pid_t pid = feed_fifo(fifo, &im);
    CHECK_OK(load(fifo, lab, &d));
    if (d) check_tiny(d);
    dsc_dataset_free(d);
    waitpid(pid, NULL, 0);

    im.n--;
    pid = feed_fifo(fifo, &im);
    EXPECT_ERROR(fifo, lab, DSC_EFORMAT, "truncated: expected 18 pixel bytes, found 17", NULL);
    waitpid(pid, NULL, 0);

    im.n += 3;
    pid = feed_fifo(fifo, &im);
    EXPECT_ERROR(fifo, lab, DSC_EFORMAT, "trailing garbage: 2 bytes after the 18 pixel bytes",
                 NULL);
    waitpid(pid, NULL, 0);
    remove(fifo);
    free(im.p);
    free(lb.p);
}

static void test_errors(void)
{
    static const unsigned char lv[3] = {0, 2, 1};
    bytes im = images(3, 2, 3), lb = labels(3, lv);
    const char *img = write_bytes("e-images", &im), *lab = write_bytes("e-labels", &lb);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/no-such-file", tmpdir);

    CHECK(dsc_dataset_from_idx(img, lab, NULL) == DSC_EINVAL);
    EXPECT_ERROR(NULL, lab, DSC_EINVAL, "images path is NULL", NULL);
    EXPECT_ERROR(img, NULL, DSC_EINVAL, "labels path is NULL", NULL);
    EXPECT_ERROR(missing, lab, DSC_EIO, "no-such-file: cannot open: No such file", NULL);
    EXPECT_ERROR(img, missing, DSC_EIO, "no-such-file: cannot open: No such file", NULL);
    EXPECT_ERROR(tmpdir, lab, DSC_EIO, "is a directory, not an IDX file", NULL);

    /* Magic numbers and dimensions. */
    EXPECT_ERROR(write_file("empty", "", 0), lab, DSC_EFORMAT, "empty: the images file is empty",
                 NULL);
    EXPECT_ERROR(img, write_file("short", "\0\0\x08", 3), DSC_EFORMAT,
                 "short: truncated: 3 bytes, too short for the 4-byte IDX magic number", NULL);
    EXPECT_ERROR(write_file("zip", "PK\3\4 and more", 14), lab, DSC_EFORMAT,
                 "zip: not an IDX file: magic number 0x504B0304, expected 0x00000803 "
                 "(unsigned-byte images, 3 dimensions)",
                 NULL);
    EXPECT_ERROR(img, write_file("text", "hello", 5), DSC_EFORMAT,
                 "not an IDX file: magic number 0x68656C6C, expected 0x00000801 "
                 "(unsigned-byte labels, 1 dimension)",
                 NULL);
    EXPECT_ERROR(write_file("float", "\0\0\x0d\x03\0\0\0\1", 8), lab, DSC_EFORMAT,
                 "magic number 0x00000D03 is IDX of type 0x0D (float); only unsigned bytes",
                 "expected 0x00000803");
    EXPECT_ERROR(lab, img, DSC_EFORMAT,
                 "e-labels: magic number 0x00000801 gives 1 dimensions, expected 0x00000803",
                 "looks like a label file");
    EXPECT_ERROR(img, img, DSC_EFORMAT, "magic number 0x00000803 gives 3 dimensions",
                 "looks like an image file");
    EXPECT_ERROR(write_file("dims2", "\0\0\x08\x02\0\0\0\1\0\0\0\1", 12), lab, DSC_EFORMAT,
                 "gives 2 dimensions, expected 0x00000803", NULL);
    EXPECT_ERROR(write_file("hdr", "\0\0\x08\x03\0\0\0\3\0\0", 10), lab, DSC_EFORMAT,
                 "hdr: truncated header: expected 12 bytes of dimensions, found 6", NULL);
    EXPECT_ERROR(img, write_file("hdr1", "\0\0\x08\x01", 4), DSC_EFORMAT,
                 "truncated header: expected 4 bytes of dimensions, found 0", NULL);

    bytes b = images(3, 2, 3);
    b.p[7] = 0; /* count 0 */
    EXPECT_ERROR(write_bytes("count0", &b), lab, DSC_EFORMAT, "images count is 0, expected 1 to",
                 NULL);
    b.p[7] = 3;
    b.p[11] = 0;
    EXPECT_ERROR(write_bytes("rows0", &b), lab, DSC_EFORMAT, "images rows is 0", NULL);
    b.p[11] = 2;
    memset(b.p + 12, 0xff, 4);
    EXPECT_ERROR(write_bytes("colsbig", &b), lab, DSC_EFORMAT,
                 "images columns is 4294967295, expected 1 to 2147483647", NULL);
    memcpy(b.p + 8, "\0\1\0\0\0\1\0\0", 8); /* 65536 x 65536 */
    EXPECT_ERROR(write_bytes("huge", &b), lab, DSC_EFORMAT,
                 "images of 65536 x 65536 pixels are too large", NULL);
    /* A header that claims far more than the file holds allocates nothing
     * big: plain and (below) compressed. */
    memcpy(b.p + 4, "\x7f\xff\xff\xff\0\0\x10\0\0\0\x10\0", 12);
    bytes bl = {0};
    put_be32(&bl, 0x801);
    put_be32(&bl, 0x7fffffff);
    put(&bl, "\0\1\2", 3);
    const char *claim_lab = write_bytes("claim-labels", &bl);
    /* Past the limits, refused from the header alone. */
    EXPECT_ERROR(write_bytes("claim", &b), claim_lab, DSC_ELIMIT,
                 "claims 2147483647 images, more than 10000000, the limit", NULL);
    dsc_limits none = {0, 0, 0}, small;
    dsc_limits_init(&small);
    dsc_dataset *d = NULL;
    CHECK(dsc_dataset_from_idx_limits(write_bytes("claim", &b), claim_lab, &none, &d) ==
          DSC_EFORMAT);
    CHECK(strstr(dsc_last_error(), "claim-labels: truncated: expected 2147483647 labels, found 3"));
    small.max_bytes = 17; /* the good file has 3 images of 6 pixels */
    CHECK(dsc_dataset_from_idx_limits(img, lab, &small, &d) == DSC_ELIMIT);
    CHECK(strstr(dsc_last_error(), "18 bytes, more than 17 bytes, the limit"));
    small.max_bytes = 18;
    small.max_rows = 2;
    CHECK(dsc_dataset_from_idx_limits(img, lab, &small, &d) == DSC_ELIMIT);
    CHECK(strstr(dsc_last_error(), "claims 3 images, more than 2"));
    small.max_rows = 3;
    CHECK_OK(dsc_dataset_from_idx_limits(img, lab, &small, &d));
    dsc_dataset_free(d);
    if (have_zlib) {
        bytes g = gzip(&bl, 1);
        EXPECT_ERROR(img, write_bytes("claim-labels.gz", &g), DSC_EFORMAT, "has 3 images but",
                     "has 2147483647 labels");
        d = NULL;
        CHECK(dsc_dataset_from_idx_limits(write_bytes("claim", &b),
                                          write_bytes("claim-labels.gz", &g), &none,
                                          &d) == DSC_EFORMAT);
        CHECK(strstr(dsc_last_error(),
                     "claim-labels.gz: truncated: expected 2147483647 labels, found 3"));
        free(g.p);
    }
    free(bl.p);
    free(b.p);

    /* Counts and sizes. */
    bytes l2 = labels(2, lv);
    EXPECT_ERROR(img, write_bytes("two-labels", &l2), DSC_EFORMAT, "e-images has 3 images but",
                 "two-labels has 2 labels");
    free(l2.p);
    EXPECT_ERROR(write_file("trunc-images", im.p, im.n - 2), lab, DSC_EFORMAT,
                 "trunc-images: truncated: expected 18 pixel bytes, found 16", NULL);
    EXPECT_ERROR(img, write_file("trunc-labels", lb.p, lb.n - 1), DSC_EFORMAT,
                 "trunc-labels: truncated: expected 3 labels, found 2", NULL);
    bytes extra = images(3, 2, 3);
    put(&extra, "\0", 1);
    EXPECT_ERROR(write_bytes("long-images", &extra), lab, DSC_EFORMAT,
                 "long-images: trailing garbage: 1 byte after the 18 pixel bytes", NULL);
    bytes lx = labels(3, lv);
    put(&lx, "\n\n", 2);
    EXPECT_ERROR(img, write_bytes("long-labels", &lx), DSC_EFORMAT,
                 "long-labels: trailing garbage: 2 bytes after the 3 labels", NULL);

    /* Compressed files: the same checks on the decompressed data, and the
     * gzip stream's own. */
    if (have_zlib) {
        bytes g = gzip(&extra, 1);
        EXPECT_ERROR(write_bytes("long.gz", &g), lab, DSC_EFORMAT,
                     "long.gz: trailing garbage: 1 byte after the 18 pixel bytes", NULL);
        free(g.p);
        bytes shortim = images(3, 2, 3);
        shortim.n -= 5;
        g = gzip(&shortim, 2);
        EXPECT_ERROR(write_bytes("short.gz", &g), lab, DSC_EFORMAT,
                     "short.gz: truncated: expected 18 pixel bytes, found 13", NULL);
        free(g.p);
        free(shortim.p);

        g = gzip(&im, 1);
        EXPECT_ERROR(write_file("cut.gz", g.p, g.n - 3), lab, DSC_EFORMAT,
                     "cut.gz: corrupt gzip data: the compressed stream ends early", NULL);
        EXPECT_ERROR(write_file("cut2.gz", g.p, 12), lab, DSC_EFORMAT,
                     "cut2.gz: corrupt gzip data: the compressed stream ends early", NULL);
        g.p[g.n - 6] ^= 1; /* the CRC */
        EXPECT_ERROR(write_bytes("crc.gz", &g), lab, DSC_EFORMAT,
                     "crc.gz: corrupt gzip data: incorrect data check", NULL);
        g.p[g.n - 6] ^= 1;
        g.p[13] ^= 1; /* NLEN of the first stored block */
        EXPECT_ERROR(write_bytes("len.gz", &g), lab, DSC_EFORMAT,
                     "len.gz: corrupt gzip data: invalid stored block lengths", NULL);
        g.p[13] ^= 1;
        g.p[2] = 9; /* compression method */
        EXPECT_ERROR(write_bytes("method.gz", &g), lab, DSC_EFORMAT,
                     "method.gz: corrupt gzip data: unknown compression method", NULL);
        g.p[2] = 8;
        put(&g, "junk", 4);
        EXPECT_ERROR(write_bytes("junk.gz", &g), lab, DSC_EFORMAT,
                     "junk.gz: trailing garbage: 4 bytes after the gzip data", NULL);
        g.n -= 4;
        put(&g, "\x1f\x00", 2);
        EXPECT_ERROR(write_bytes("member.gz", &g), lab, DSC_EFORMAT,
                     "member.gz: corrupt gzip data: incorrect header check", NULL);
        free(g.p);
        /* The magic alone. */
        EXPECT_ERROR(write_file("magic.gz", "\x1f\x8b", 2), lab, DSC_EFORMAT,
                     "magic.gz: corrupt gzip data: the compressed stream ends early", NULL);
    }
    free(extra.p);
    free(lx.p);
    free(im.p);
    free(lb.p);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_fashion_mnist(void)
{
    const char *img = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
    const char *lab = FASHION_DIR "/t10k-labels-idx1-ubyte.gz";
    if (access(img, R_OK) != 0 || access(lab, R_OK) != 0) {
        printf("skipping the Fashion-MNIST test: %s not found (apt install "
               "dataset-fashion-mnist)\n",
               img);
        return;
    }
    if (!have_zlib) {
        EXPECT_ERROR(img, lab, DSC_EUNSUPPORTED, "no zlib", NULL);
        return;
    }
    dsc_dataset *d;
    double t0 = now();
    CHECK_OK(load(img, lab, &d));
    double t = now() - t0;
    if (!d) return;
    printf("Fashion-MNIST test set: %zu rows in %.3f s\n", dsc_dataset_rows(d), t);
    CHECK(dsc_dataset_rows(d) == 10000);
    CHECK(dsc_dataset_inputs(d) == 784);
    CHECK(dsc_dataset_outputs(d) == 10 && dsc_dataset_classes(d) == 10);
    CHECK(strcmp(dsc_dataset_class_label(d, 9), "9") == 0);
    const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
    size_t bad = 0, ones = 0, zeros = 0;
    for (size_t i = 0; i < 10000 * 784; i++) {
        bad += !(x[i] >= 0 && x[i] <= 255 && x[i] == (float)(int)x[i]);
        ones += x[i] == 255;
        zeros += x[i] == 0;
    }
    CHECK(bad == 0);
    CHECK(ones > 0 && zeros > 0); /* the full range is used */
    size_t counts[10] = {0}, one_hot = 1;
    for (size_t i = 0; i < 10000; i++) {
        float sum = 0;
        for (size_t k = 0; k < 10; k++) {
            sum += y[i * 10 + k];
            if (y[i * 10 + k] == 1) counts[k]++;
        }
        one_hot &= sum == 1;
    }
    CHECK(one_hot);
    for (size_t k = 0; k < 10; k++) CHECK(counts[k] == 1000);
    dsc_dataset_free(d);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_idx_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    have_zlib = strstr(dsc_build_info(), "zlib: yes") != NULL;
    test_read();
    test_pipe();
    test_errors();
    test_fashion_mnist();
    check_remove_files();
    rmdir(tmpdir);
    return check_report();
}
