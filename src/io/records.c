/* records.c — owns output files written in whole records (records.h): a
 * memory stream collects the formatted bytes; at a record's end the
 * complete part is known, and it is written out, with every catchable
 * signal blocked for the write() calls, once 64 KiB are held or a
 * second has passed since the last write-out, on flush and on close. A
 * fatal signal is then delivered between records. */
#include "io/records.h"
#include "core/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { HOLD = 64 * 1024 };   /* bytes of complete records kept in memory at most */
static const double AGE = 1.0; /* seconds a complete record waits at most (tail -f shows the log) */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

struct bmd__records {
    int fd;
    char *path;
    FILE *mem;   /* open_memstream over buf */
    char *buf;
    size_t size; /* bytes in buf (valid after fflush of mem) */
    size_t done; /* of which complete records */
    double last; /* when complete records last went out (or the file was opened) */
};

bmd_status bmd__records_open(const char *path, int keep, bmd__records **out) {
    *out = NULL;
    bmd__records *r = calloc(1, sizeof *r);
    if (!r || !(r->path = malloc(strlen(path) + 1))) {
        free(r);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    strcpy(r->path, path);
    r->fd = -1;
    bmd__make_parents(path);
    r->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (keep ? 0 : O_TRUNC), 0666);
    if (r->fd < 0 || (keep && lseek(r->fd, 0, SEEK_END) < 0)) {
        bmd_status st = bmd__fail(BMD_ERR_IO, "%s: cannot %s: %s", path, keep ? "reopen" : "create", strerror(errno));
        bmd__records_close(r);
        return st;
    }
    /* the buffer grown to HOLD now: no allocation while records come and go (a larger record grows it once) */
    static const char zeros[4096];
    r->mem = open_memstream(&r->buf, &r->size);
    for (int i = 0; r->mem && i < HOLD / (int)sizeof zeros; i++) fwrite(zeros, 1, sizeof zeros, r->mem);
    if (!r->mem || fflush(r->mem) != 0 || ferror(r->mem) || fseeko(r->mem, 0, SEEK_SET) != 0) {
        bmd__records_close(r);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    r->last = now();
    *out = r;
    return BMD_OK;
}

FILE *bmd__records_stream(bmd__records *r) { return r->mem; }

/* buf[0, done) into the file: every catchable signal held back meanwhile,
 * so that none ends the process in the middle of a record. */
static bmd_status write_out(bmd__records *r) {
    int err = 0;
    if (r->done > 0) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (size_t at = 0; at < r->done;) {
            ssize_t n = write(r->fd, r->buf + at, r->done - at);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                err = n < 0 ? errno : EIO;
                break;
            }
            at += (size_t)n;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        r->done = 0;
    }
    /* buf is reused from its start (a record not ended is dropped) */
    if (fseeko(r->mem, 0, SEEK_SET) != 0 && !err) err = errno ? errno : EIO;
    return err ? bmd__fail(BMD_ERR_IO, "%s: write failed: %s", r->path, strerror(err)) : BMD_OK;
}

bmd_status bmd__records_end(bmd__records *r) {
    if (fflush(r->mem) != 0 || ferror(r->mem)) return bmd__fail(BMD_ERR_NOMEM, "%s: out of memory", r->path);
    r->done = r->size;
    if (r->done < HOLD && now() - r->last < AGE) return BMD_OK;
    r->last = now();
    return write_out(r);
}

bmd_status bmd__records_flush(bmd__records *r, int sync, long long *length) {
    bmd_status st = write_out(r);
    if (st) return st;
    if (sync && fsync(r->fd) != 0) return bmd__fail(BMD_ERR_IO, "%s: cannot flush to disk: %s", r->path, strerror(errno));
    if (length) {
        off_t at = lseek(r->fd, 0, SEEK_CUR);
        if (at < 0) return bmd__fail(BMD_ERR_IO, "%s: %s", r->path, strerror(errno));
        *length = (long long)at;
    }
    return BMD_OK;
}

bmd_status bmd__records_commit(bmd__records *r, void **state, size_t *n) {
    *state = NULL;
    *n = 0;
    long long len = 0;
    bmd_status st = r ? bmd__records_flush(r, 1, &len) : BMD_OK;
    if (st) return st;
    int64_t *v = malloc(sizeof *v);
    if (!v) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    *v = len;
    *state = v;
    *n = sizeof *v;
    return BMD_OK;
}

bmd_status bmd__records_truncate(bmd__records *r, long long length) {
    bmd_status st = bmd__records_flush(r, 0, NULL);
    if (st) return st;
    struct stat sb;
    if (fstat(r->fd, &sb) != 0) return bmd__fail(BMD_ERR_IO, "%s: %s", r->path, strerror(errno));
    if ((long long)sb.st_size < length)
        return bmd__fail(BMD_ERR_IO, "%s: %lld bytes, shorter than the %lld the checkpoint committed: the file was "
                                     "changed since; cannot resume",
                         r->path, (long long)sb.st_size, length);
    if (ftruncate(r->fd, (off_t)length) != 0 || lseek(r->fd, (off_t)length, SEEK_SET) < 0)
        return bmd__fail(BMD_ERR_IO, "%s: cannot truncate: %s", r->path, strerror(errno));
    return BMD_OK;
}

bmd_status bmd__records_close(bmd__records *r) {
    if (!r) return BMD_OK;
    bmd_status st = r->mem && r->fd >= 0 ? bmd__records_flush(r, 0, NULL) : BMD_OK;
    if (r->mem) fclose(r->mem);
    if (r->fd >= 0 && close(r->fd) != 0 && !st)
        st = bmd__fail(BMD_ERR_IO, "%s: closing failed: %s", r->path, strerror(errno));
    free(r->buf);
    free(r->path);
    free(r);
    return st;
}
