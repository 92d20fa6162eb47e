/* campaign_model.c — owns the campaign's `model:` section (lj and morse pair
 * potentials with per-species-pair parameters; eam, kim, plugin, python)
 * and building the model. lj, morse and python models compute in the
 * campaign's units (a Python model that declares other units is refused
 * when it is made); eam files, KIM models (loaded with metal units) and
 * plug-ins (whose ABI is metal) compute in eV and Å, so `units: lj` with
 * them is refused at the `units` line. */
#include "io/campaign_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/elements.h"
#include "batchmd/model_eam.h"
#include "batchmd/model_kim.h"
#include "batchmd/model_plugin.h"

/* Parameter names of each pair style, in bmd_pair_params.p order. */
typedef struct pair_style {
    const char *type;
    const char *p[3];
    int n_p;
} pair_style;

static const pair_style styles[] = {
    {"lj", {"epsilon", "sigma", NULL}, 2},
    {"morse", {"D0", "alpha", "r0"}, 3},
};

static const pair_style *find_style(const char *type) {
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++)
        if (strcmp(styles[i].type, type) == 0) return &styles[i];
    return NULL;
}

/* Reads the style's parameters and cutoff from map into e (keeps e's values
 * for absent keys). *all says whether every one was given. */
static bmd_status read_pair_values(const bmd_yread *r, const bmd_ynode *map, const char *where,
                                   const pair_style *ps, bmd_pair_params *e, int *all) {
    *all = 1;
    for (int k = 0; k < ps->n_p; k++) {
        int present;
        bmd_status st = bmd_yget_number(r, map, ps->p[k], where, &e->p[k], &present);
        if (st) return st;
        if (!present) *all = 0;
    }
    int present;
    bmd_status st = bmd_yget_number(r, map, "cutoff", where, &e->cutoff, &present);
    if (st) return st;
    if (present && !(e->cutoff > 0)) return bmd_yerr(r, bmd_yaml_get(map, "cutoff", NULL), "%s.cutoff: expected a positive distance", where);
    return BMD_OK;
}

static bmd_status species_z(const bmd_yread *r, const bmd_ynode *n, const char *where, int *z) {
    if (n->kind != BMD_Y_SCALAR) return bmd_yerr(r, n, "%s: expected a chemical symbol such as Ar", where);
    *z = bmd_element_from_symbol(n->value);
    if (*z <= 0) return bmd_yerr(r, n, "%s: unknown element '%s' (expected a chemical symbol such as Ar)", where, n->value);
    return BMD_OK;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static bmd_status read_skin(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    int present;
    bmd_status st = bmd_yget_number(r, node, "skin", "model", &c->model.opt.skin, &present);
    if (!st && present && c->model.opt.skin < 0)
        st = bmd_yerr(r, bmd_yaml_get(node, "skin", NULL), "model.skin: expected a distance >= 0");
    return st;
}

/* model: {type: eam, file: Cu_u3.eam | [Cu_u3.eam, Ni_u3.eam], style: eam/alloy, skin: 0.5} */
static bmd_status read_eam(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    static const char *const keys[] = {"type", "file", "style", "skin", NULL};
    bmd_status st = bmd_ycheck_keys(r, node, "model", keys);
    if (!st) st = read_skin(r, node, c);
    if (st) return st;
    strcpy(c->model.type, "eam");
    const char *style = NULL;
    if ((st = bmd_yget_string(r, node, "style", "model", &style, NULL))) return st;
    if (style) {
        if (strcmp(style, "eam") && strcmp(style, "eam/alloy") && strcmp(style, "eam/fs"))
            return bmd_yerr(r, bmd_yaml_get(node, "style", NULL), "model.style: unknown EAM style '%s' (expected eam, eam/alloy or eam/fs)", style);
        snprintf(c->model.style, sizeof c->model.style, "%s", style);
    }
    const bmd_ynode *f = bmd_yaml_get(node, "file", NULL);
    if (!f) return bmd_yerr(r, node, "model: missing 'file' (a LAMMPS .eam, .eam.alloy or .eam.fs file)");
    int n = f->kind == BMD_Y_SEQ ? f->n : 1;
    if (n == 0 || (f->kind == BMD_Y_MAP))
        return bmd_yerr(r, f, "model.file: expected a potential file, or a list of funcfl files (one per element)");
    c->model.files = calloc((size_t)n, sizeof *c->model.files);
    if (!c->model.files) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const bmd_ynode *e = f->kind == BMD_Y_SEQ ? f->items[i] : f;
        if (e->kind != BMD_Y_SCALAR || bmd_yaml_is_null(e)) return bmd_yerr(r, e, "model.file: expected a file name");
        if (!(c->model.files[i] = bmd__campaign_path(c->dir, e->value))) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
        c->model.n_files = i + 1;
    }
    return BMD_OK;
}

/* model: {type: kim, name: EAM_Dynamo_..._Cu__MO_..., skin: 0.5} */
static bmd_status read_kim(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    static const char *const keys[] = {"type", "name", "skin", NULL};
    bmd_status st = bmd_ycheck_keys(r, node, "model", keys);
    if (!st) st = read_skin(r, node, c);
    if (st) return st;
    strcpy(c->model.type, "kim");
    const char *name = NULL;
    if ((st = bmd_yget_string(r, node, "name", "model", &name, NULL))) return st;
    if (!name) return bmd_yerr(r, node, "model: missing 'name' (an installed OpenKIM model; see batchmd models)");
    return (c->model.kim_name = dup_str(name)) ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory");
}

static int is_file_key(const char *k) {
    size_t n = strlen(k);
    return strcmp(k, "file") == 0 || (n > 5 && strcmp(k + n - 5, "_file") == 0);
}

/* model: {type: plugin, path: ./libmymodel.so, params: {key: value, ...}} */
static bmd_status read_plugin(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    static const char *const keys[] = {"type", "path", "params", NULL};
    bmd_status st = bmd_ycheck_keys(r, node, "model", keys);
    if (st) return st;
    strcpy(c->model.type, "plugin");
    const char *path = NULL;
    if ((st = bmd_yget_string(r, node, "path", "model", &path, NULL))) return st;
    if (!path) return bmd_yerr(r, node, "model: missing 'path' (the plug-in's shared library)");
    if (!(c->model.plugin_path = bmd__campaign_path(c->dir, path))) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    const bmd_ynode *p = bmd_yaml_get(node, "params", NULL);
    if (!p) return BMD_OK;
    if (p->kind != BMD_Y_MAP) return bmd_yerr(r, p, "model.params: expected a mapping of parameter names to values");
    c->model.param_keys = calloc((size_t)p->n + 1, sizeof(char *));
    c->model.param_values = calloc((size_t)p->n + 1, sizeof(char *));
    if (!c->model.param_keys || !c->model.param_values) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    for (int i = 0; i < p->n; i++) {
        const bmd_ynode *v = p->items[i];
        if (v->kind != BMD_Y_SCALAR)
            return bmd_yerr(r, v, "model.params.%s: expected a single value (number or text)", p->keys[i]);
        c->model.param_keys[i] = dup_str(p->keys[i]);
        c->model.param_values[i] = is_file_key(p->keys[i]) ? bmd__campaign_path(c->dir, v->value) : dup_str(v->value);
        c->model.n_params = i + 1;
        if (!c->model.param_keys[i] || !c->model.param_values[i]) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    return BMD_OK;
}

/* A Python name: letters, digits, '_' (any non-ASCII byte: Python allows
 * Unicode letters), not starting with a digit. */
static int is_identifier(const char *s, size_t n) {
    if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(ch == '_' || ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
            return 0;
    }
    return 1;
}

static int is_dotted_name(const char *s) {
    for (const char *p = s;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!is_identifier(p, n)) return 0;
        if (!dot) return 1;
        p = dot + 1;
    }
}

static int one_of(const char *s, const char *const *words) {
    for (; *words; words++)
        if (strcmp(s, *words) == 0) return 1;
    return 0;
}

/* [-+]?[0-9]+, [-+]?0x[0-9a-fA-F]+, [-+]?0o[0-7]+ (YAML 1.2's integers) */
static int is_yaml_int(const char *s) {
    if (*s == '+' || *s == '-') s++;
    const char *digits = "0123456789";
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) digits = "0123456789abcdefABCDEF", s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) digits = "01234567", s += 2;
    return *s && strspn(s, digits) == strlen(s);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? (YAML 1.2's floats) */
static int is_yaml_float(const char *s) {
    if (*s == '+' || *s == '-') s++;
    size_t a = strspn(s, "0123456789");
    s += a;
    size_t b = 0;
    if (*s == '.') {
        b = strspn(s + 1, "0123456789");
        s += 1 + b;
    }
    if (a == 0 && b == 0) return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        size_t e = strspn(s, "0123456789");
        if (e == 0) return 0;
        s += e;
    }
    return *s == '\0';
}

/* A parameter's value typed as YAML 1.2's core schema reads it: null, true /
 * false, an integer, a float, else (or quoted) text. YAML 1.1's other
 * booleans are refused unquoted: they would be true for some readers and
 * text for others. */
static bmd_status read_py_value(const bmd_yread *r, const bmd_ynode *v, const char *key, bmd_python_param *p) {
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const ambiguous[] = {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off",
                                            "Off", "OFF", "y", "Y", "n", "N", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    if (v->kind != BMD_Y_SCALAR)
        return bmd_yerr(r, v, "model.params.%s: expected a single value (a number, true or false, text or null), got %s",
                        key, v->kind == BMD_Y_MAP ? "a mapping" : "a list");
    const char *t = v->value;
    p->kind = BMD_PY_STR;
    if (v->quoted) {
    } else if (one_of(t, nulls)) {
        p->kind = BMD_PY_NONE;
    } else if (one_of(t, trues) || one_of(t, falses)) {
        p->kind = BMD_PY_BOOL;
        p->flag = one_of(t, trues);
    } else if (one_of(t, ambiguous)) {
        return bmd_yerr(r, v, "model.params.%s: '%s' is true to some YAML readers and text to others: write true or "
                              "false, or quote it for text", key, t);
    } else if (is_yaml_int(t)) {
        p->kind = BMD_PY_INT;
    } else if (one_of(t, infs) || one_of(t, ninfs) || one_of(t, nans)) {
        p->kind = BMD_PY_FLOAT;
        p->number = one_of(t, nans) ? NAN : one_of(t, infs) ? INFINITY : -INFINITY;
    } else if (is_yaml_float(t)) {
        p->kind = BMD_PY_FLOAT;
        p->number = strtod(t, NULL);
        if (!isfinite(p->number))
            return bmd_yerr(r, v, "model.params.%s: the number '%s' is out of range (write .inf for infinity)", key, t);
    }
    return (p->text = dup_str(t)) ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory");
}

/* model: {type: python, module: mymodel.py | package.module, object: build, params: {key: value, ...}} */
static bmd_status read_python(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    static const char *const keys[] = {"type", "module", "object", "params", NULL};
    bmd_status st = bmd_ycheck_keys(r, node, "model", keys);
    if (st) return st;
    strcpy(c->model.type, "python");
    const char *module = NULL, *object = NULL;
    if ((st = bmd_yget_string(r, node, "module", "model", &module, NULL))) return st;
    if (!module)
        return bmd_yerr(r, node, "model: missing 'module' (a Python file such as mymodel.py, or a module name such as "
                                 "mypackage.models)");
    size_t n = strlen(module);
    int file = strchr(module, '/') || (n > 3 && strcmp(module + n - 3, ".py") == 0);
    if (!file && !is_dotted_name(module))
        return bmd_yerr(r, bmd_yaml_get(node, "module", NULL),
                        "model.module: '%s' is neither a Python file (ending in .py) nor a module name (names "
                        "separated by dots)", module);
    if ((st = bmd_yget_string(r, node, "object", "model", &object, NULL))) return st;
    if (!object)
        return bmd_yerr(r, node, "model: missing 'object' (the name of the class or function in %s that makes the "
                                 "model)", module);
    if (!is_identifier(object, strlen(object)))
        return bmd_yerr(r, bmd_yaml_get(node, "object", NULL), "model.object: '%s' is not a Python name", object);
    if (!(c->model.py_module = dup_str(module)) || !(c->model.py_object = dup_str(object)))
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    const bmd_ynode *p = bmd_yaml_get(node, "params", NULL);
    if (!p || bmd_yaml_is_null(p)) return BMD_OK;
    if (p->kind != BMD_Y_MAP)
        return bmd_yerr(r, p, "model.params: expected a mapping of parameter names to values (the keyword arguments "
                              "of %s)", object);
    if (!(c->model.py_params = calloc((size_t)p->n + 1, sizeof *c->model.py_params)))
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    for (int i = 0; i < p->n; i++) {
        bmd_python_param *e = &c->model.py_params[i];
        if (!is_identifier(p->keys[i], strlen(p->keys[i]))) {
            const bmd_ynode at = {.line = p->key_line[i], .col = p->key_col[i]};
            return bmd_yerr(r, &at, "model.params: '%s' is not a Python name (a keyword argument of %s)", p->keys[i],
                            object);
        }
        if (!(e->key = dup_str(p->keys[i]))) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
        c->model.n_py_params = i + 1;
        if ((st = read_py_value(r, p->items[i], p->keys[i], e))) return st;
        if (e->kind == BMD_PY_STR && is_file_key(e->key)) { /* a path, as a plug-in's */
            char *path = bmd__campaign_path(c->dir, e->text);
            if (!path) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
            free((char *)e->text);
            e->text = path;
        }
    }
    return BMD_OK;
}

bmd_status bmd__campaign_read_model(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    if (node->kind != BMD_Y_MAP) return bmd_yerr(r, node, "model: expected a mapping with a 'type' key");
    const char *type = NULL;
    int present;
    bmd_status st = bmd_yget_string(r, node, "type", "model", &type, &present);
    if (st) return st;
    if (!present) return bmd_yerr(r, node, "model: missing 'type' (expected lj, morse, eam, kim, plugin or python)");
    c->model.line = node->line;
    c->model.col = node->col;
    c->model.opt.skin = c->units == BMD_UNITS_LJ ? 0.3 : 0.5;
    if (c->units == BMD_UNITS_LJ && (!strcmp(type, "eam") || !strcmp(type, "kim") || !strcmp(type, "plugin"))) {
        const bmd_ynode at = {.line = c->units_line, .col = c->units_col};
        return bmd_yerr(r, &at,
                        "units: lj, but a model of type %s (line %d) computes in metal units (eV, Å, eV/Å; its "
                        "masses amu and times fs): use units: metal, the only units of eam, kim and plugin models",
                        type, node->line);
    }
    if (!strcmp(type, "eam")) return read_eam(r, node, c);
    if (!strcmp(type, "kim")) return read_kim(r, node, c);
    if (!strcmp(type, "plugin")) return read_plugin(r, node, c);
    if (!strcmp(type, "python")) return read_python(r, node, c);
    const pair_style *ps = find_style(type);
    if (!ps)
        return bmd_yerr(r, bmd_yaml_get(node, "type", NULL),
                        "model.type: unknown model type '%s' (expected lj, morse, eam, kim, plugin or python)", type);
    snprintf(c->model.type, sizeof c->model.type, "%s", ps->type);

    const char *keys[12];
    int nk = 0;
    keys[nk++] = "type";
    for (int k = 0; k < ps->n_p; k++) keys[nk++] = ps->p[k];
    keys[nk++] = "cutoff";
    keys[nk++] = "shift";
    keys[nk++] = "skin";
    keys[nk++] = "pairs";
    keys[nk] = NULL;
    if ((st = bmd_ycheck_keys(r, node, "model", keys))) return st;

    /* defaults, then the top-level values (the default entry for every pair) */
    bmd_pair_params def = {0, 0, {NAN, NAN, NAN}, NAN};
    int all;
    if ((st = read_pair_values(r, node, "model", ps, &def, &all))) return st;
    c->model.opt.shift = 0;
    if ((st = bmd_yget_bool(r, node, "shift", "model", &c->model.opt.shift, NULL))) return st;
    if ((st = bmd_yget_number(r, node, "skin", "model", &c->model.opt.skin, &present))) return st;
    if (present && c->model.opt.skin < 0) return bmd_yerr(r, bmd_yaml_get(node, "skin", NULL), "model.skin: expected a distance >= 0");

    const bmd_ynode *pairs = bmd_yaml_get(node, "pairs", NULL);
    int np = pairs ? pairs->n : 0;
    if (pairs && pairs->kind != BMD_Y_SEQ)
        return bmd_yerr(r, pairs, "model.pairs: expected a list of {species: [A, B], ...} entries");
    c->model.pairs = calloc((size_t)np + 1, sizeof *c->model.pairs);
    if (!c->model.pairs) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    c->model.n_pairs = 0;

    if (all) {
        if (isnan(def.cutoff)) def.cutoff = strcmp(ps->type, "lj") == 0 ? 2.5 * def.p[1] : NAN;
        if (isnan(def.cutoff)) return bmd_yerr(r, node, "model: missing 'cutoff' (a distance)");
        c->model.pairs[c->model.n_pairs++] = def;
        c->model.opt.has_default = 1;
    } else if (np == 0) {
        for (int k = 0; k < ps->n_p; k++)
            if (!bmd_yaml_get(node, ps->p[k], NULL))
                return bmd_yerr(r, node, "model: missing '%s' (%s needs %s%s%s%s%s, or per-pair values under 'pairs')",
                                ps->p[k], ps->type, ps->p[0], ps->n_p > 1 ? ", " : "", ps->n_p > 1 ? ps->p[1] : "",
                                ps->n_p > 2 ? ", " : "", ps->n_p > 2 ? ps->p[2] : "");
    }
    for (int i = 0; i < np; i++) {
        const bmd_ynode *e = pairs->items[i];
        char where[64];
        snprintf(where, sizeof where, "model.pairs[%d]", i);
        const char *pkeys[8];
        int n = 0;
        pkeys[n++] = "species";
        for (int k = 0; k < ps->n_p; k++) pkeys[n++] = ps->p[k];
        pkeys[n++] = "cutoff";
        pkeys[n] = NULL;
        if ((st = bmd_ycheck_keys(r, e, where, pkeys))) return st;
        const bmd_ynode *sp = bmd_yaml_get(e, "species", NULL);
        if (!sp || sp->kind != BMD_Y_SEQ || sp->n != 2)
            return bmd_yerr(r, sp ? sp : e, "%s.species: expected two chemical symbols, e.g. [Ar, Kr]", where);
        bmd_pair_params p = def;
        if ((st = species_z(r, sp->items[0], where, &p.z1)) || (st = species_z(r, sp->items[1], where, &p.z2))) return st;
        if ((st = read_pair_values(r, e, where, ps, &p, &all))) return st;
        for (int k = 0; k < ps->n_p; k++)
            if (isnan(p.p[k])) return bmd_yerr(r, e, "%s: missing '%s'", where, ps->p[k]);
        if (isnan(p.cutoff)) p.cutoff = strcmp(ps->type, "lj") == 0 ? 2.5 * p.p[1] : NAN;
        if (isnan(p.cutoff)) return bmd_yerr(r, e, "%s: missing 'cutoff'", where);
        for (int j = 0; j < c->model.n_pairs; j++) {
            const bmd_pair_params *q = &c->model.pairs[j];
            if ((q->z1 == p.z1 && q->z2 == p.z2) || (q->z1 == p.z2 && q->z2 == p.z1))
                return bmd_yerr(r, sp, "%s: species pair %s-%s given twice", where, bmd_element_symbol(p.z1), bmd_element_symbol(p.z2));
        }
        c->model.pairs[c->model.n_pairs++] = p;
    }
    return BMD_OK;
}

bmd_status bmd_campaign_make_model(const bmd_campaign *c, bmd_model **out) {
    const bmd_campaign_model *m = &c->model;
    bmd_status st;
    if (strcmp(m->type, "lj") == 0) st = bmd_model_lj_create(m->pairs, m->n_pairs, &m->opt, out);
    else if (strcmp(m->type, "morse") == 0) st = bmd_model_morse_create(m->pairs, m->n_pairs, &m->opt, out);
    else if (strcmp(m->type, "eam") == 0)
        st = m->n_files > 1 ? bmd_model_eam_create_funcfl((const char *const *)m->files, m->n_files, m->opt.skin, out)
                            : bmd_model_eam_create(m->files[0], m->style[0] ? m->style : NULL, m->opt.skin, out);
    else if (strcmp(m->type, "kim") == 0) st = bmd_model_kim_create(m->kim_name, m->opt.skin, out);
    else if (strcmp(m->type, "plugin") == 0)
        st = bmd_model_plugin_create(m->plugin_path, (const char *const *)m->param_keys,
                                     (const char *const *)m->param_values, m->n_params, out);
    else if (strcmp(m->type, "python") == 0)
        st = bmd_model_python_create(m->py_module, m->py_object, m->py_params, m->n_py_params, c->units, c->dir, out);
    else return bmd__fail(BMD_ERR_UNSUPPORTED, "%s: model type '%s' is not available", c->path, m->type);
    if (st) {
        /* say where the model was asked for, then why it cannot be made */
        char why[1600];
        snprintf(why, sizeof why, "%s", bmd_last_error());
        return bmd__fail(st, "%s:%d:%d: model: %s", c->path, m->line, m->col, why);
    }
    return BMD_OK;
}
