/* checkpoint_internal.h — what the checkpoint file (checkpoint.c), the
 * state it holds (checkpoint_state.c: batch, systems, stats) and its users
 * in src/flow (runner, sampler, sinks) share: a growing byte buffer to
 * write into, a bounds-checked reader, named sections, and the streams
 * registered with a checkpoint. Everything is copied with memcpy in host
 * byte order: doubles keep their bits. */
#ifndef BATCHMD_FLOW_CHECKPOINT_INTERNAL_H
#define BATCHMD_FLOW_CHECKPOINT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "batchmd/batch.h"
#include "batchmd/checkpoint.h"

/* ------------------------------------------------------------ writing */
typedef struct bmd__buf {
    unsigned char *p;
    size_t n, cap;
    int oom; /* an allocation failed: every later put is a no-op */
} bmd__buf;

void bmd__buf_put(bmd__buf *b, const void *data, size_t n);
void bmd__buf_u32(bmd__buf *b, uint32_t v);
void bmd__buf_u64(bmd__buf *b, uint64_t v);
void bmd__buf_i64(bmd__buf *b, int64_t v);
void bmd__buf_f64(bmd__buf *b, double v);
void bmd__buf_str(bmd__buf *b, const char *s); /* u32 length + bytes (NULL: length 0xffffffff) */
void bmd__buf_free(bmd__buf *b);

/* ------------------------------------------------------------ reading */
typedef struct bmd__rd {
    const unsigned char *p;
    size_t n, off;
    int bad; /* read past the end or malformed: every later get returns 0 */
} bmd__rd;

void bmd__rd_get(bmd__rd *r, void *out, size_t n);
uint32_t bmd__rd_u32(bmd__rd *r);
uint64_t bmd__rd_u64(bmd__rd *r);
int64_t bmd__rd_i64(bmd__rd *r);
double bmd__rd_f64(bmd__rd *r);
/* A malloc'd NUL-terminated copy (NULL for a NULL string, or on error). */
char *bmd__rd_str(bmd__rd *r);
/* A pointer to the next n bytes (NULL, bad set, when fewer are left). */
const void *bmd__rd_ptr(bmd__rd *r, size_t n);

/* 64-bit FNV-1a, continued from h (start with BMD__FNV_START). */
#define BMD__FNV_START 14695981039346656037ull
uint64_t bmd__fnv(uint64_t h, const void *data, size_t n);

/* --------------------------------------------------- the checkpoint */
typedef struct bmd__ckpt_stream {
    char *name;
    bmd_checkpoint_commit_fn commit;
    bmd_checkpoint_rewind_fn rewind;
    void *self;
} bmd__ckpt_stream;

/* Streams registered by the caller (the runner adds final and failed itself). */
int bmd__ckpt_n_streams(const bmd_checkpoint *ck);
const bmd__ckpt_stream *bmd__ckpt_stream_at(const bmd_checkpoint *ck, int i);
/* Whether a checkpoint is due now (every_s elapsed since the last one or
 * since bmd__ckpt_start). */
int bmd__ckpt_due(const bmd_checkpoint *ck);
/* Starts the clock of every_s (the run begins). */
void bmd__ckpt_start(bmd_checkpoint *ck);
/* The loaded section `name` (NULL when absent or nothing loaded). */
const void *bmd__ckpt_section(const bmd_checkpoint *ck, const char *name, size_t *n);
/* Writes a checkpoint whose body is `sections` (a sequence of: str name,
 * u64 length, bytes; n_sections of them): header, body, checksum, to
 * FILE.tmp, fsync, rename, fsync of the folder. */
bmd_status bmd__ckpt_write(bmd_checkpoint *ck, const bmd__buf *sections, uint32_t n_sections);
void bmd__ckpt_set_stopped(bmd_checkpoint *ck, int stopped);
/* Pipeline ranks (pipeline_ckpt.c): the path the checkpoint was created
 * with; the rank and world size written to (and checked in) the header; the
 * file that later writes, loads and removes use instead of it; forgetting
 * a loaded file. */
const char *bmd__ckpt_base(const bmd_checkpoint *ck);
void bmd__ckpt_set_rank(bmd_checkpoint *ck, int rank, int ranks);
bmd_status bmd__ckpt_use_file(bmd_checkpoint *ck, const char *path);
void bmd__ckpt_unload(bmd_checkpoint *ck);

/* A section into out: name, length, bytes. */
void bmd__buf_section(bmd__buf *out, const char *name, const void *data, size_t n);

/* ------------------------------------------------- state (checkpoint_state.c) */
/* The whole batch: every system with its arrays, flags and info, and every
 * column (name, shape, rows). */
void bmd__ckpt_put_batch(bmd__buf *out, const bmd_batch *b);
/* Appends the saved systems to an empty batch b, with forces, energy,
 * stress, their flags, status, and every column (created by name). */
bmd_status bmd__ckpt_get_batch(bmd__rd *r, bmd_batch *b);
/* One standalone system (the ordered sink's held ones). */
void bmd__ckpt_put_system(bmd__buf *out, const bmd_system *s);
bmd_status bmd__ckpt_get_system(bmd__rd *r, bmd_system *s);

#endif
