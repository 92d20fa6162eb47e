/* yaml_tree.h — a YAML document as a small tree of maps, sequences and
 * scalars, each node with its 1-based line and column, built with libyaml.
 * Internal to src/io (the campaign reader). */
#ifndef BATCHMD_YAML_TREE_H
#define BATCHMD_YAML_TREE_H

#include <stddef.h>
#include "batchmd/status.h"

typedef enum { BMD_Y_SCALAR, BMD_Y_MAP, BMD_Y_SEQ } bmd_ynode_kind;

typedef struct bmd_ynode {
    bmd_ynode_kind kind;
    int line, col;
    char *value;  /* scalar text */
    int quoted;   /* scalar was quoted (never a number/bool/null) */
    int n;        /* map pairs / sequence items */
    char **keys;  /* map keys */
    int *key_line, *key_col;
    struct bmd_ynode **items; /* map values / sequence items */
} bmd_ynode;

/* Parses path; *root is a map (an empty file gives an empty map). Errors:
 * "FILE:LINE:COL: ..." with BMD_ERR_PARSE, BMD_ERR_IO when unreadable. */
bmd_status bmd_yaml_load(const char *path, bmd_ynode **root);
/* The same from text[0..len); messages name it `name`. */
bmd_status bmd_yaml_load_text(const char *text, size_t len, const char *name, bmd_ynode **root);
void bmd_yaml_free(bmd_ynode *n);
/* Map lookup; NULL when absent. *index (may be NULL) receives the pair index. */
const bmd_ynode *bmd_yaml_get(const bmd_ynode *map, const char *key, int *index);
/* A plain scalar meaning null ("", "~", "null")? */
int bmd_yaml_is_null(const bmd_ynode *n);

#endif
