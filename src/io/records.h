/* records.h — an output file written in whole records (an extxyz frame, a
 * CSV row): what a writer formats goes to memory, and only complete
 * records reach the file, in one write() with the catchable signals
 * blocked. So a process that dies by any signal but SIGKILL (a second
 * Ctrl-C, a closed terminal, SIGPIPE, a crash) leaves whole records, never
 * a torn one. Internal to libbatchmd (records.c). */
#ifndef BATCHMD_IO_RECORDS_H
#define BATCHMD_IO_RECORDS_H

#include <stdio.h>

#include "batchmd/status.h"

typedef struct bmd__records bmd__records;

/* Opens path (creating its parent folders): keep = 0 creates or empties
 * it; keep = 1 keeps an existing file and appends to it (created when
 * missing). */
bmd_status bmd__records_open(const char *path, int keep, bmd__records **out);
/* Where the next record is formatted (a memory stream). */
FILE *bmd__records_stream(bmd__records *r);
/* The record formatted since the last call is complete; complete records
 * reach the file once 64 KiB of them are held or a second has passed
 * since the last write-out. */
bmd_status bmd__records_end(bmd__records *r);
/* Every complete record into the file (a record not ended is dropped);
 * sync: also fsync. *length (may be NULL): the file's length then. */
bmd_status bmd__records_flush(bmd__records *r, int sync, long long *length);
/* A checkpoint's commit: every complete record into the file and to disk
 * (fsync), and the file's length then as the state to keep (*state: a
 * malloc'd int64_t, *n its size; r NULL: a file not opened yet, length 0). */
bmd_status bmd__records_commit(bmd__records *r, void **state, size_t *n);
/* Cuts the file to length bytes (a checkpoint's committed length) and
 * appends from there; refused when the file is shorter than that. */
bmd_status bmd__records_truncate(bmd__records *r, long long length);
/* Flushes and closes; frees r (NULL: no-op). */
bmd_status bmd__records_close(bmd__records *r);

#endif
