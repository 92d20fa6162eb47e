/* handover.h — packing systems into a hand-over buffer and out of it
 * (internal to src/flow, MPI-free): what travels between the ranks of a
 * pipeline (pipeline.h documents the content and the budgets).
 *
 * A message is a byte string: a header (counts, flags, sequence number,
 * the chain's dataset size, the buffer capacity), a table of the
 * per-system columns it carries (name, width), then one record per system.
 * All fields are copied with memcpy (no alignment needed), in the host's
 * byte order (the ranks of a job share one architecture). */
#ifndef BATCHMD_FLOW_HANDOVER_H
#define BATCHMD_FLOW_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

#include "batchmd/batch.h"
#include "batchmd/pipeline.h"

/* CKPT: the checkpoint marker (pipeline_run.c: the sender's cut is on disk,
 * the receiver cuts before it receives anything more); STOP: with CKPT, every
 * rank stops after its cut. */
enum { BMD__HO_DONE = 1u, BMD__HO_ERROR = 2u, BMD__HO_CKPT = 4u, BMD__HO_STOP = 8u };

/* A buffer being packed. */
typedef struct bmd__handover {
    long cap_systems, cap_atoms;
    size_t capacity; /* bytes: bmd_pipeline_buffer_bytes(cap_systems, cap_atoms) */
    unsigned char *buf;
    size_t used;
    int n_systems, n_atoms;
    int n_columns, col_doubles;         /* table: columns and doubles per system */
    int col_index[BMD_HANDOVER_MAX_COLUMNS]; /* their indices in the packing batch */
    long info_used;                     /* info bytes packed */
} bmd__handover;

/* Allocates a buffer of the capacity for (systems, atoms), empty. */
bmd_status bmd__handover_init(bmd__handover *h, long systems, long atoms);
void bmd__handover_free(bmd__handover *h);
/* Empties it for packing. */
void bmd__handover_reset(bmd__handover *h);
/* Whether column `name` travels (every per-system column but a sub-stage's
 * private state: "stage.*" and "<type>.<index>.<what>"). */
int bmd__handover_column_travels(const char *name);
/* Packs slot s of b (it enters the next stage, or was taken out when
 * failed != 0) if it fits what is left of the buffer: *packed = 1; else
 * *packed = 0 and nothing changes. BMD_ERR_BUDGET with a message when it
 * could not fit even an empty buffer (more atoms than the buffer, too much
 * info text or column data). */
bmd_status bmd__handover_pack(bmd__handover *h, const bmd_batch *b, int s, int failed, int *packed);
/* Writes the header; returns the message length (bytes to send). origin:
 * with BMD__HO_ERROR, the rank where the error happened (-1: none). */
size_t bmd__handover_seal(bmd__handover *h, unsigned flags, int64_t seq, int64_t total, int origin);

/* A received message being unpacked. */
typedef struct bmd__handover_reader {
    const unsigned char *msg;
    size_t len;
    int n_systems, n_atoms, next; /* next: records unpacked so far */
    size_t off;                   /* offset of record `next` */
    unsigned flags;
    int64_t seq, total;
    int origin; /* the failing rank an error message reports, -1 */
    int n_columns, col_doubles;
    const unsigned char *table;
} bmd__handover_reader;

/* Checks the header and every record's bounds (len bytes of a buffer of
 * `capacity`); BMD_ERR_PARSE with a message when malformed. */
bmd_status bmd__handover_open(bmd__handover_reader *r, const void *msg, size_t len, size_t capacity);
/* Atoms of the next record and whether it was taken out; -1 when none left. */
int bmd__handover_peek(const bmd__handover_reader *r, int *failed);
/* Appends the next record to b (status 0, or BMD_STATUS_FAILED; forces,
 * energy, stress and their flags as packed; the travelling columns by
 * name, created when absent); *slot (may be NULL) receives its slot. */
bmd_status bmd__handover_unpack(bmd__handover_reader *r, bmd_batch *b, int *slot);

#endif
