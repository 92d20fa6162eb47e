/* yaml_tree.c — owns the YAML -> tree conversion (libyaml's event parser),
 * with positions kept for error messages. Anchors and aliases are refused,
 * duplicate keys are an error. */
#include "io/yaml_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void bmd_yaml_free(bmd_ynode *n) {
    if (!n) return;
    free(n->value);
    for (int i = 0; i < n->n; i++) {
        if (n->keys) free(n->keys[i]);
        bmd_yaml_free(n->items[i]);
    }
    free(n->keys);
    free(n->key_line);
    free(n->key_col);
    free(n->items);
    free(n);
}

static bmd_ynode *new_node(bmd_ynode_kind kind, const yaml_mark_t *m) {
    bmd_ynode *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->line = (int)m->line + 1;
        n->col = (int)m->column + 1;
    }
    return n;
}

static int add_item(bmd_ynode *parent, char *key, int kl, int kc, bmd_ynode *item) {
    int n = parent->n + 1;
    bmd_ynode **items = realloc(parent->items, (size_t)n * sizeof *items);
    if (!items) return -1;
    parent->items = items;
    if (parent->kind == BMD_Y_MAP) {
        char **keys = realloc(parent->keys, (size_t)n * sizeof *keys);
        if (!keys) return -1;
        parent->keys = keys;
        int *l = realloc(parent->key_line, (size_t)n * sizeof *l);
        if (!l) return -1;
        parent->key_line = l;
        int *c = realloc(parent->key_col, (size_t)n * sizeof *c);
        if (!c) return -1;
        parent->key_col = c;
        keys[n - 1] = key;
        l[n - 1] = kl;
        c[n - 1] = kc;
    }
    items[n - 1] = item;
    parent->n = n;
    return 0;
}

typedef struct parse_ctx {
    yaml_parser_t parser;
    const char *path;
    bmd_status status;
} parse_ctx;

static bmd_status fail_at(parse_ctx *p, const yaml_mark_t *m, const char *what) {
    p->status = bmd__fail(BMD_ERR_PARSE, "%s:%d:%d: %s", p->path, (int)m->line + 1, (int)m->column + 1, what);
    return p->status;
}

/* libyaml's reader errors (bad UTF-8, control characters) give a byte
 * offset, not a mark: count the lines and columns up to it. */
static yaml_mark_t mark_at_offset(const char *path, size_t offset) {
    yaml_mark_t m = {offset, 0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) return m;
    int c;
    for (size_t i = 0; i < offset && (c = getc(f)) != EOF; i++) {
        if (c == '\n') {
            m.line++;
            m.column = 0;
        } else if ((c & 0xc0) != 0x80) { /* a UTF-8 continuation byte is not a column */
            m.column++;
        }
    }
    fclose(f);
    return m;
}

static bmd_status next_event(parse_ctx *p, yaml_event_t *ev) {
    if (!yaml_parser_parse(&p->parser, ev)) {
        if (p->parser.error == YAML_READER_ERROR) {
            yaml_mark_t m = mark_at_offset(p->path, p->parser.problem_offset);
            char msg[512];
            snprintf(msg, sizeof msg, "invalid YAML: %s (0x%02X; expected UTF-8 text)",
                     p->parser.problem ? p->parser.problem : "unreadable text", (unsigned)p->parser.problem_value);
            return fail_at(p, &m, msg);
        }
        yaml_mark_t m = p->parser.problem_mark;
        char msg[512];
        snprintf(msg, sizeof msg, "invalid YAML: %s%s%s", p->parser.problem ? p->parser.problem : "syntax error",
                 p->parser.context ? " " : "", p->parser.context ? p->parser.context : "");
        return fail_at(p, &m, msg);
    }
    return BMD_OK;
}

/* Parses the node that starts with event ev (consumed). */
static bmd_status parse_node(parse_ctx *p, yaml_event_t *ev, int depth, bmd_ynode **out) {
    *out = NULL;
    if (depth > MAX_DEPTH) return fail_at(p, &ev->start_mark, "YAML nested too deeply");
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return fail_at(p, &ev->start_mark, "YAML aliases (*name) are not supported in a campaign file");
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.anchor)
            return fail_at(p, &ev->start_mark, "YAML anchors (&name) are not supported in a campaign file");
        bmd_ynode *n = new_node(BMD_Y_SCALAR, &ev->start_mark);
        if (!n || !(n->value = dup_str((const char *)ev->data.scalar.value))) {
            bmd_yaml_free(n);
            return p->status = bmd__fail(BMD_ERR_NOMEM, "out of memory reading %s", p->path);
        }
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        *out = n;
        return BMD_OK;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        if ((is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor))
            return fail_at(p, &ev->start_mark, "YAML anchors (&name) are not supported in a campaign file");
        bmd_ynode *n = new_node(is_map ? BMD_Y_MAP : BMD_Y_SEQ, &ev->start_mark);
        if (!n) return p->status = bmd__fail(BMD_ERR_NOMEM, "out of memory reading %s", p->path);
        for (;;) {
            yaml_event_t e;
            if (next_event(p, &e)) {
                bmd_yaml_free(n);
                return p->status;
            }
            if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                break;
            }
            char *key = NULL;
            int kl = 0, kc = 0;
            if (is_map) {
                if (e.type != YAML_SCALAR_EVENT) {
                    fail_at(p, &e.start_mark, "expected a plain key (a name followed by ':')");
                    yaml_event_delete(&e);
                    bmd_yaml_free(n);
                    return p->status;
                }
                kl = (int)e.start_mark.line + 1;
                kc = (int)e.start_mark.column + 1;
                const char *k = (const char *)e.data.scalar.value;
                if (bmd_yaml_get(n, k, NULL)) {
                    char msg[300];
                    snprintf(msg, sizeof msg, "duplicate key '%.200s'", k);
                    fail_at(p, &e.start_mark, msg);
                    yaml_event_delete(&e);
                    bmd_yaml_free(n);
                    return p->status;
                }
                key = dup_str(k);
                yaml_event_delete(&e);
                if (!key || next_event(p, &e)) {
                    free(key);
                    bmd_yaml_free(n);
                    return p->status ? p->status : bmd__fail(BMD_ERR_NOMEM, "out of memory");
                }
            }
            bmd_ynode *child;
            bmd_status st = parse_node(p, &e, depth + 1, &child);
            yaml_event_delete(&e);
            if (st || add_item(n, key, kl, kc, child)) {
                free(key);
                bmd_yaml_free(child);
                bmd_yaml_free(n);
                return st ? st : (p->status = bmd__fail(BMD_ERR_NOMEM, "out of memory"));
            }
        }
        *out = n;
        return BMD_OK;
    }
    default:
        return fail_at(p, &ev->start_mark, "unexpected YAML event");
    }
}

/* Parses one document from f (a file) or from text[0..len) (f NULL);
 * path names it in messages. */
static bmd_status load_doc(const char *path, FILE *f, const char *text, size_t len, bmd_ynode **root) {
    *root = NULL;
    parse_ctx p = {.path = path, .status = BMD_OK};
    yaml_parser_initialize(&p.parser);
    if (f) yaml_parser_set_input_file(&p.parser, f);
    else yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);
    bmd_ynode *doc = NULL;
    yaml_event_t ev;
    int done = 0;
    while (!done && !next_event(&p, &ev)) {
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        default:
            if (doc) {
                fail_at(&p, &ev.start_mark, "a campaign file holds one YAML document");
                done = 1;
                break;
            }
            parse_node(&p, &ev, 0, &doc);
            if (p.status) done = 1;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p.parser);
    if (p.status) {
        bmd_yaml_free(doc);
        return p.status;
    }
    if (!doc) {
        yaml_mark_t m = {0, 0, 0};
        doc = new_node(BMD_Y_MAP, &m);
        if (!doc) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    if (doc->kind != BMD_Y_MAP) {
        int l = doc->line, c = doc->col;
        bmd_yaml_free(doc);
        return bmd__fail(BMD_ERR_PARSE, "%s:%d:%d: expected a mapping of campaign keys (units, model, input, stages, ...)",
                         path, l, c);
    }
    *root = doc;
    return BMD_OK;
}

bmd_status bmd_yaml_load(const char *path, bmd_ynode **root) {
    *root = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return bmd__fail(BMD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    bmd_status st = load_doc(path, f, NULL, 0, root);
    fclose(f);
    return st;
}

bmd_status bmd_yaml_load_text(const char *text, size_t len, const char *name, bmd_ynode **root) {
    return load_doc(name, NULL, text, len, root);
}

const bmd_ynode *bmd_yaml_get(const bmd_ynode *map, const char *key, int *index) {
    if (!map || map->kind != BMD_Y_MAP) return NULL;
    for (int i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            if (index) *index = i;
            return map->items[i];
        }
    }
    return NULL;
}

int bmd_yaml_is_null(const bmd_ynode *n) {
    return n && n->kind == BMD_Y_SCALAR && !n->quoted &&
           (n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}
