/* checkpoint.h — checkpoints of an inflight run and resuming from them.
 *
 * A checkpoint is one file, written atomically (FILE.tmp, fsync, rename,
 * fsync of the folder) at a round boundary of the inflight loop, after the
 * leaving systems went to their sinks and before the batch is refilled. It
 * holds everything that the rest of the run depends on: the live batch
 * (every system with all its arrays and every per-system column: integrator
 * and hook state), the sampler's position (which structures were admitted,
 * the reservation), the stage's loop step, the run statistics so far, and
 * for every output ("stream") the state its rewind needs: an extxyz file's
 * committed length, the held systems of an ordered sink, an H5MD file's
 * frame count per system, the log's length. Before the file is written every
 * output is flushed and fsynced, so what a checkpoint calls committed is on
 * disk. A system's numbers depend only on its own state (columns, own step
 * counts, counter-based random numbers), so a run resumed from a checkpoint
 * gives every system the same bits as an uninterrupted run.
 *
 * File format (version 1; all integers little-endian as on the host):
 *   "BMDCKPT\0", u32 format version, str batchmd version, u64 campaign hash,
 *   u32 rank, u32 ranks (0, 1 for a single process: a pipeline would write one
 *   file per rank, e.g. campaign.rank1.ckpt), u32 n_inputs, per input: str
 *   path, u64 size, u64 content hash; u32 n_sections, per section: str name,
 *   u64 length, bytes; then u64 FNV-1a hash of everything before it and
 *   "BMDCKEND". str = u32 length + bytes. Hashes are 64-bit FNV-1a.
 * A file that is truncated, garbled or fails its checksum is refused
 * (BMD_ERR_PARSE); one from another campaign file (its bytes), batchmd
 * version or input (number of files, or a file's size or content, in
 * order; paths may differ: a campaign folder may move) is refused with
 * BMD_ERR_INVALID and a message saying which differs. */
#ifndef BATCHMD_CHECKPOINT_H
#define BATCHMD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "flow.h"
#include "hooks.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BMD_CHECKPOINT_FORMAT 1

typedef struct bmd_checkpoint bmd_checkpoint;

/* The two operations that bring an output back to a checkpoint: commit makes
 * what was written so far durable (flush, fsync) and returns in *state
 * (malloc'd, the caller frees it; *n bytes) what rewind needs to bring the
 * output back to this point later, dropping whatever was written after it
 * (a torn last frame included). bmd_sink_ops has the same two as optional
 * ops. */
typedef bmd_status (*bmd_checkpoint_commit_fn)(void *self, void **state, size_t *n);
typedef bmd_status (*bmd_checkpoint_rewind_fn)(void *self, const void *state, size_t n);

/* A checkpoint kept at `path`, every `every_s` seconds of wall time (0: at
 * every round of the inflight loop, for tests; < 0: only when the run is
 * asked to stop). Its identity is computed now: this batchmd's version, a
 * hash of the bytes of `campaign_path` (may be NULL: no campaign), and the
 * path, size and content hash of each of the n_inputs input files (each
 * read once). Nothing is read from or written to `path` yet. */
bmd_status bmd_checkpoint_create(const char *path, double every_s, const char *campaign_path,
                                 const char *const *inputs, int n_inputs, bmd_checkpoint **out);
/* Frees it; NULL is a no-op. Files stay. */
void bmd_checkpoint_destroy(bmd_checkpoint *ck);

/* Reads the checkpoint file for a resume: *found = 1 and BMD_OK when it was
 * read and matches this identity, *found = 0 and BMD_OK when there is no
 * file. BMD_ERR_INVALID when it comes from another campaign, version or
 * input (the message says which and what to do), BMD_ERR_PARSE when it is
 * corrupt or truncated, BMD_ERR_IO when it cannot be read. */
bmd_status bmd_checkpoint_load(bmd_checkpoint *ck, int *found);
/* Removes the checkpoint file (a fresh run starts without one, so that a
 * stale checkpoint never meets fresh outputs). A missing file is fine. */
bmd_status bmd_checkpoint_remove(bmd_checkpoint *ck);

/* Registers an output that checkpoints commit and a resume rewinds, under a
 * unique name ("final" and "failed" are the runner's own). The object must
 * outlive the run. A loaded checkpoint without that name's state is
 * refused at the start of the run. */
bmd_status bmd_checkpoint_add_stream(bmd_checkpoint *ck, const char *name, bmd_checkpoint_commit_fn commit,
                                     bmd_checkpoint_rewind_fn rewind, void *self);
/* The same for a sink with the commit and rewind ops (BMD_ERR_UNSUPPORTED
 * when it lacks them). */
bmd_status bmd_checkpoint_add_sink(bmd_checkpoint *ck, const char *name, bmd_sink *s);

/* Whether a checkpoint was loaded (bmd_checkpoint_load found one). */
int bmd_checkpoint_loaded(const bmd_checkpoint *ck);
/* Checkpoints written by this process so far. */
long bmd_checkpoint_written(const bmd_checkpoint *ck);
/* Nonzero when the last run returned early because its stop flag was set
 * (after writing a checkpoint). */
int bmd_checkpoint_stopped(const bmd_checkpoint *ck);
const char *bmd_checkpoint_path(const bmd_checkpoint *ck);

/* Test only: cb(user, index) is called in the middle of writing the
 * index-th checkpoint of this process (1-based), after half of its bytes
 * went to FILE.tmp and were flushed; `batchmd run` uses it to kill itself
 * there (BATCHMD_TEST_KILL). */
void bmd_checkpoint_set_test_hook(bmd_checkpoint *ck, void (*cb)(void *user, long index), void *user);

/* The CSV log hook (bmd_hook_log_create) as a stream: commit flushes and
 * fsyncs the log and records its length; rewind (before the run opens the
 * hook) makes the hook's open keep the file, truncated to that length,
 * instead of starting a new one. BMD_ERR_INVALID if h is not a log hook. */
bmd_status bmd_checkpoint_add_log_hook(bmd_checkpoint *ck, const char *name, bmd_hook *h);

#ifdef __cplusplus
}
#endif

#endif
