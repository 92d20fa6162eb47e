/* campaign_read.h — typed getters over the YAML tree that fail with
 * "FILE:LINE:COL: where: what was expected". Internal to src/io. */
#ifndef BATCHMD_CAMPAIGN_READ_H
#define BATCHMD_CAMPAIGN_READ_H

#include "io/yaml_tree.h"

typedef struct bmd_yread {
    const char *path; /* the campaign file, for messages */
} bmd_yread;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
bmd_status bmd_yerr(const bmd_yread *r, const bmd_ynode *at, const char *fmt, ...);

/* Every key of map must be in allowed (NULL-terminated); else an error at the
 * key naming the allowed ones. A non-map is an error too. */
bmd_status bmd_ycheck_keys(const bmd_yread *r, const bmd_ynode *map, const char *where,
                           const char *const *allowed);
/* Scalars. *present (may be NULL) says whether the key was there; when absent
 * *out is left unchanged. */
bmd_status bmd_yget_number(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                           double *out, int *present);
bmd_status bmd_yget_long(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                         long min, long *out, int *present);
bmd_status bmd_yget_bool(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                         int *out, int *present);
/* *out points into the tree (not copied). */
bmd_status bmd_yget_string(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                           const char **out, int *present);
/* A scalar node as a finite number. */
bmd_status bmd_ynumber(const bmd_yread *r, const bmd_ynode *n, const char *where, double *out);

#endif
