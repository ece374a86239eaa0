/* The one writer of every file descent makes: model files, checkpoints,
 * plots, and the command line's predictions, logs and traces. Internal.
 *
 * What a writer promises (docs/GUARANTEES.md):
 *  - A regular file (new or existing) is written to a temporary file with a
 *    unique name next to it, flushed to the disk and renamed over the name:
 *    the name holds either its old content or all of the new, never a part,
 *    and two writers of one name never disturb each other (the last rename
 *    wins). A replaced file keeps its permissions; a new one gets 0666 less
 *    the umask, as any program's would.
 *  - A symbolic link is followed: the file it names is what gets written
 *    (created if the link dangles), and the link stays a link.
 *  - Something that is not a regular file is never replaced by one. A FIFO,
 *    a terminal and the harmless character devices (/dev/null, /dev/zero,
 *    /dev/full) are written through, without atomicity, and a failed write
 *    there is a failure; "-", /dev/stdout, /dev/stderr and /dev/fd/N write
 *    to the descriptor this process already has. Directories, block
 *    devices, sockets by name and other character devices are refused.
 *  - An existing file that this process may not write is refused, even when
 *    its folder would let a rename replace it.
 */
#ifndef DSC_OUTFILE_H
#define DSC_OUTFILE_H

#include <stdio.h>

#include "../base/base.h"

typedef struct {
    char *path;    /* the file written: the name given, symbolic links followed */
    char *tmp;     /* the temporary file renamed onto path; NULL when writing through */
    FILE *f;       /* where the bytes go */
    int through;   /* 1: written straight into a device, FIFO or descriptor */
    unsigned mode; /* the permissions a replaced file had (tmp only; 0: new file) */
    int err;       /* errno of a write that failed earlier, for the message */
} dsc_outfile;

/* What dsc_outfile_open would do with path, without creating anything:
 * DSC_OK with *through set (1: written through, 0: atomically replaced),
 * or the refusal (DSC_EINVAL for a name that can never be written, DSC_EIO
 * for one that cannot be written now) with its message. */
dsc_status dsc_outfile_check(const char *path, int *through);

/* Opens path for writing as described above. On failure nothing exists
 * that did not before, o is cleared and the message names path. */
dsc_status dsc_outfile_open(dsc_outfile *o, const char *path);

/* Flushes, syncs and renames into place (or, written through, flushes).
 * DSC_EIO with a message when any write failed; the temporary file is then
 * removed and the old content stays. o is released either way. */
dsc_status dsc_outfile_commit(dsc_outfile *o);

/* Abandons the output: removes the temporary file; o is released. */
void dsc_outfile_abort(dsc_outfile *o);

/* data[0, size) as the whole content of path, through a writer. */
dsc_status dsc_write_file_atomic(const char *path, const void *data, size_t size);

/* The file an output name would replace, as an absolute path through no
 * link (dsc_malloc'd), or NULL for one written through or not writable:
 * two outputs with the same one would clobber each other. */
char *dsc_outfile_dest(const char *path);

/* Both files exist and are the same one (same device and inode, after
 * following links). "-" is standard input for in and standard output for
 * out, compared through fstat. */
int dsc_same_file(const char *in, const char *out);

#endif
