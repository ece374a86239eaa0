/* The one writer of every file descent makes (outfile.h says what it
 * promises; docs/GUARANTEES.md says it to users). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* major/minor */

#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/sysmacros.h>
#endif

enum { K_NEW, K_REGULAR, K_FIFO, K_CHAR, K_FD };

typedef struct {
    int kind;
    char *dest; /* K_NEW / K_REGULAR / K_FIFO / K_CHAR: the name to open */
    int fd;     /* K_FD */
    struct stat st;
} target;

static dsc_status fail_errno(const char *path, const char *what, int e)
{
    return dsc_fail(DSC_EIO, "%s: %s: %s", path, what, strerror(e));
}

/* "/dev/stdout", "/dev/fd/3", "-": a descriptor this process holds, whose
 * file (a pipe, a terminal, a file the shell opened for appending) is
 * written where it stands rather than replaced. -1 for other names. */
static int named_descriptor(const char *path)
{
    if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0) return 1;
    if (strcmp(path, "/dev/stderr") == 0) return 2;
    const char *num = NULL;
    if (strncmp(path, "/dev/fd/", 8) == 0)
        num = path + 8;
    else if (strncmp(path, "/proc/self/fd/", 14) == 0)
        num = path + 14;
    if (!num || !*num || strspn(num, "0123456789") != strlen(num) || strlen(num) > 6) return -1;
    return atoi(num);
}

/* Character devices that take any bytes harmlessly, and terminals. Others
 * (a disk's raw device, /dev/port, /dev/mem) are never written. */
static int harmless_device(const struct stat *st)
{
#ifdef __linux__
    unsigned maj = major(st->st_rdev), min = minor(st->st_rdev);
    if (maj == 1) return min == 3 || min == 5 || min == 7;     /* null, zero, full */
    return maj == 4 || maj == 5 || (maj >= 136 && maj <= 143); /* ttys, /dev/tty, ptys */
#else
    (void)st;
    return 1;
#endif
}

/* dest with its folder: "a/b" from "a/" and "b"; target when absolute. */
static char *join_link(const char *link, const char *to)
{
    const char *slash = strrchr(link, '/');
    size_t dl = to[0] == '/' || !slash ? 0 : (size_t)(slash - link) + 1;
    size_t tl = strlen(to);
    char *s = dsc_malloc(dl + tl + 1);
    if (!s) return NULL;
    memcpy(s, link, dl);
    memcpy(s + dl, to, tl + 1);
    return s;
}

/* What writing to path means: follows symbolic links by hand (so that a
 * dangling one still says where the file should be), then decides by the
 * type of what is there. */
static dsc_status resolve(const char *path, target *t)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (!path || !*path) return dsc_fail(DSC_EINVAL, "an output file name is empty");
    int fd = named_descriptor(path);
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fstat(fd, &t->st) != 0)
            return dsc_fail(DSC_EIO, "%s: descriptor %d is not open", path, fd);
        if ((fl & O_ACCMODE) == O_RDONLY)
            return dsc_fail(DSC_EIO, "%s: descriptor %d is open for reading only", path, fd);
        t->kind = K_FD;
        t->fd = fd;
        return DSC_OK;
    }
    char *cur = dsc_strdup(path);
    if (!cur) return dsc_fail(DSC_ENOMEM, "out of memory for a file name");
    for (int hops = 0;; hops++) {
        if (lstat(cur, &t->st) != 0) {
            int e = errno;
            if (e == ENOENT) {
                t->kind = K_NEW;
                t->dest = cur;
                return DSC_OK;
            }
            dsc_free(cur);
            return fail_errno(path, "cannot write", e);
        }
        if (!S_ISLNK(t->st.st_mode)) break;
        if (hops == 40) {
            dsc_free(cur);
            return fail_errno(path, "cannot write", ELOOP);
        }
        char to[PATH_MAX];
        ssize_t n = readlink(cur, to, sizeof to - 1);
        if (n < 0) {
            int e = errno;
            dsc_free(cur);
            return fail_errno(path, "cannot follow the link", e);
        }
        to[n] = '\0';
        char *next = join_link(cur, to);
        dsc_free(cur);
        if (!next) return dsc_fail(DSC_ENOMEM, "out of memory for a file name");
        cur = next;
    }
    t->dest = cur;
    mode_t m = t->st.st_mode;
    if (S_ISREG(m)) {
        t->kind = K_REGULAR;
        return DSC_OK;
    }
    if (S_ISFIFO(m)) {
        t->kind = K_FIFO;
        return DSC_OK;
    }
    if (S_ISCHR(m) && harmless_device(&t->st)) {
        t->kind = K_CHAR;
        return DSC_OK;
    }
    const char *what = S_ISDIR(m)    ? "is a directory"
                       : S_ISBLK(m)  ? "is a block device"
                       : S_ISSOCK(m) ? "is a socket"
                       : S_ISCHR(m)  ? "is a character device other than a terminal or /dev/null"
                                     : "is not a regular file";
    dsc_free(cur);
    t->dest = NULL;
    return dsc_fail(DSC_EINVAL,
                    "%s %s; descent writes regular files (replaced whole), FIFOs, terminals and "
                    "/dev/null, /dev/zero, /dev/full",
                    path, what);
}

/* The folder of a path, for permission checks and fsync ("." without). */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return dsc_strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = dsc_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* Can a file be created in path's folder (new) or replaced (existing)? */
static dsc_status writable(const char *path, const target *t)
{
    if (t->kind == K_REGULAR && access(t->dest, W_OK) != 0)
        return fail_errno(path, "cannot write", errno);
    char *dir = parent_of(t->dest);
    if (!dir) return dsc_fail(DSC_ENOMEM, "out of memory for a file name");
    int ok = access(dir, W_OK | X_OK) == 0;
    int e = errno;
    dsc_free(dir);
    if (!ok)
        return fail_errno(
            path,
            t->kind == K_NEW ? "cannot create" : "cannot replace (its folder is not writable)", e);
    return DSC_OK;
}

dsc_status dsc_outfile_check(const char *path, int *through)
{
    target t;
    dsc_status s = resolve(path, &t);
    if (!s && (t.kind == K_NEW || t.kind == K_REGULAR)) s = writable(path, &t);
    if (!s && through) *through = !(t.kind == K_NEW || t.kind == K_REGULAR);
    dsc_free(t.dest);
    return s;
}

/* A name for the temporary file no other writer (another thread, another
 * process) picks: the file name, ".tmp.", and six characters that change
 * every call. Long names are cut so the result stays a valid name. */
static char *temp_name(const char *dest)
{
    static _Atomic unsigned long counter;
    const char *base = strrchr(dest, '/');
    base = base ? base + 1 : dest;
    size_t dir_len = (size_t)(base - dest), base_len = strlen(base);
    if (base_len > 200) base_len = 200;
    char *s = dsc_malloc(dir_len + base_len + 12);
    if (!s) return NULL;
    memcpy(s, dest, dir_len + base_len);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t h = dsc_hash64((uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_nsec ^
                            (uint64_t)atomic_fetch_add(&counter, 1) << 40 ^ (uint64_t)(uintptr_t)s);
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char *p = s + dir_len + base_len;
    memcpy(p, ".tmp.", 5);
    for (int i = 0; i < 6; i++, h /= 36) p[5 + i] = digits[h % 36];
    p[11] = '\0';
    return s;
}

static dsc_status open_atomic(dsc_outfile *o, const char *path, target *t)
{
    dsc_status s = writable(path, t);
    if (s) return s;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        dsc_free(o->tmp);
        if (!(o->tmp = temp_name(t->dest)))
            return dsc_fail(DSC_ENOMEM, "out of memory for a file name");
        /* 0666: the umask applies, as to any new file. */
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        dsc_free(o->tmp);
        o->tmp = NULL;
        return fail_errno(path, "cannot create a temporary file next to it", e);
    }
    if (t->kind == K_REGULAR) {
        /* A replaced file keeps its permissions (and, for root, owner). */
        o->mode = (unsigned)(t->st.st_mode & 07777);
        int failed = fchmod(fd, t->st.st_mode & 07777) != 0;
        if (!failed && geteuid() == 0) (void)!fchown(fd, t->st.st_uid, t->st.st_gid);
        if (failed) {
            int e = errno;
            close(fd);
            unlink(o->tmp);
            return fail_errno(path, "cannot set the permissions of its temporary file", e);
        }
    }
    if (!(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        return fail_errno(path, "cannot write", e);
    }
    o->path = t->dest;
    t->dest = NULL;
    return DSC_OK;
}

/* A FIFO opens without blocking, so one nobody reads fails (after a
 * second's grace for a reader that is just starting) instead of hanging. */
static dsc_status open_through(dsc_outfile *o, const char *path, target *t)
{
    int fd = -1;
    if (t->kind == K_FD) {
        if (t->fd == 1) fflush(stdout);
        if (t->fd == 2) fflush(stderr);
        fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) return fail_errno(path, "cannot write", errno);
    } else {
        for (int tries = 0; tries < 100; tries++) {
            fd = open(t->dest, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
            if (fd >= 0 || errno != ENXIO || t->kind != K_FIFO) break;
            struct timespec wait = {0, 10 * 1000 * 1000};
            nanosleep(&wait, NULL);
        }
        if (fd < 0) {
            int e = errno;
            if (e == ENXIO && t->kind == K_FIFO)
                return dsc_fail(DSC_EIO, "%s: no process reads this FIFO (waited 1 s)", path);
            return fail_errno(path, "cannot write", e);
        }
        struct stat st;
        /* What was opened must still be what was checked. */
        if (fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != (t->st.st_mode & S_IFMT) ||
            (S_ISCHR(st.st_mode) && !harmless_device(&st))) {
            close(fd);
            return dsc_fail(DSC_EIO, "%s: changed while being opened", path);
        }
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    if (!(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        return fail_errno(path, "cannot write", e);
    }
    o->through = 1;
    o->path = t->dest ? t->dest : dsc_strdup(path);
    t->dest = NULL;
    if (!o->path) {
        fclose(o->f);
        return dsc_fail(DSC_ENOMEM, "out of memory for a file name");
    }
    return DSC_OK;
}

dsc_status dsc_outfile_open(dsc_outfile *o, const char *path)
{
    if (!o) return dsc_fail(DSC_EINVAL, "dsc_outfile_open: NULL argument");
    memset(o, 0, sizeof *o);
    target t;
    dsc_status s = resolve(path, &t);
    if (s) return s;
    s = t.kind == K_NEW || t.kind == K_REGULAR ? open_atomic(o, path, &t)
                                               : open_through(o, path, &t);
    dsc_free(t.dest);
    if (s) {
        dsc_free(o->tmp);
        dsc_free(o->path);
        memset(o, 0, sizeof *o);
    }
    return s;
}

static void release(dsc_outfile *o)
{
    dsc_free(o->path);
    dsc_free(o->tmp);
    memset(o, 0, sizeof *o);
}

/* fsync of the folder makes the rename itself durable (best effort: some
 * file systems refuse it, and the data is safe by then). */
static void sync_parent(const char *path)
{
    char *dir = parent_of(path);
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    dsc_free(dir);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

dsc_status dsc_outfile_commit(dsc_outfile *o)
{
    if (!o || !o->f) return dsc_fail(DSC_EINVAL, "dsc_outfile_commit: no open output");
    errno = 0;
    int e = 0;
    /* An earlier write that failed left the error flag (and maybe errno);
     * the flush retries what is buffered and says why. */
    int bad = ferror(o->f);
    if (fflush(o->f) != 0) bad = 1, e = errno;
    if (!bad && !o->through && fsync(fileno(o->f)) != 0) bad = 1, e = errno;
    if (fclose(o->f) != 0 && !bad) bad = 1, e = errno;
    o->f = NULL;
    dsc_status s = DSC_OK;
    if (bad && !e) e = o->err;
    if (bad) {
        s = dsc_fail(DSC_EIO, "%s: cannot write: %s", o->path, e ? strerror(e) : "a write failed");
    } else if (o->tmp && rename(o->tmp, o->path) != 0) {
        s = fail_errno(o->path, "cannot rename its temporary file into place", errno);
    } else if (o->tmp) {
        dsc_free(o->tmp);
        o->tmp = NULL;
        sync_parent(o->path);
    }
    if (o->tmp) unlink(o->tmp);
    release(o);
    return s;
}

void dsc_outfile_abort(dsc_outfile *o)
{
    if (!o) return;
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    release(o);
}

dsc_status dsc_write_file_atomic(const char *path, const void *data, size_t size)
{
    dsc_outfile o;
    dsc_status s = dsc_outfile_open(&o, path);
    if (s) return s;
    if (size) (void)fwrite(data, 1, size, o.f);
    return dsc_outfile_commit(&o);
}

char *dsc_outfile_dest(const char *path)
{
    target t;
    if (resolve(path, &t) != DSC_OK) return NULL;
    char *out = NULL;
    if (t.kind == K_NEW || t.kind == K_REGULAR) {
        char *dir = parent_of(t.dest), *real = dir ? realpath(dir, NULL) : NULL;
        const char *slash = strrchr(t.dest, '/'), *base = slash ? slash + 1 : t.dest;
        if (real && (out = dsc_malloc(strlen(real) + strlen(base) + 2)))
            sprintf(out, "%s/%s", real, base);
        free(real); /* realpath's, from malloc */
        dsc_free(dir);
    }
    dsc_free(t.dest);
    return out;
}

/* The file a name (or "-": the descriptor fd_for_dash) stands for. */
static int stat_named(const char *path, int fd_for_dash, struct stat *st)
{
    int fd = strcmp(path, "-") == 0 ? fd_for_dash : named_descriptor(path);
    if (fd >= 0) return fstat(fd, st);
    return stat(path, st);
}

int dsc_same_file(const char *in, const char *out)
{
    struct stat a, b;
    if (!in || !out || stat_named(in, 0, &a) != 0 || stat_named(out, 1, &b) != 0) return 0;
    /* Only a regular file can be harmed by being written over. */
    return S_ISREG(a.st_mode) && S_ISREG(b.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
