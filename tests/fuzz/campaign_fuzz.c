/* campaign_fuzz.c — fuzz entry for the campaign reader (YAML tree + schema;
 * libFuzzer, or the replay driver): the input bytes are c.yaml in a folder
 * that also holds in.extxyz (one good frame) and in/ (a folder of two), so
 * that `input:` can name something real. bmd_campaign_load reads it; when it
 * succeeds, every pipeline group's stage is built and an lj or morse model is
 * made. Invariants (abort when broken): no crash, no leak, and a refused
 * campaign gives BMD_ERR_PARSE or BMD_ERR_IO with a message that starts with
 * the campaign's path. Inputs that would make glob() walk the file system
 * (a pattern after '/' or '..' ) are skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batchmd/batchmd.h"
#include "fuzz_tmp.h"

static const char xyz[] = "1\nProperties=species:S:1:pos:R:3\nAr 0 0 0\n";

static void setup_inputs(void) {
    static int done;
    if (done) return;
    done = 1;
    char p[600];
    bmd_fuzz_path(p, sizeof p, "in");
    bmd_fuzz_check(mkdir(p, 0700) == 0, "mkdir in/", p);
    bmd_fuzz_write("in.extxyz", (const uint8_t *)xyz, sizeof xyz - 1);
    bmd_fuzz_write("in/a.extxyz", (const uint8_t *)xyz, sizeof xyz - 1);
    bmd_fuzz_write("in/b.xyz", (const uint8_t *)xyz, sizeof xyz - 1);
}

/* A glob character right after a slash (as in "/x/\*"), or "..". */
static int walks_far(const uint8_t *d, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (d[i] == '.' && d[i + 1] == '.') return 1;
        if (d[i] == '/' && (d[i + 1] == '*' || d[i + 1] == '?' || d[i + 1] == '[' || d[i + 1] == '\\')) {
            /* "in/" then "*": the folder made above, allowed */
            if (!(i >= 2 && d[i - 2] == 'i' && d[i - 1] == 'n' && d[i + 1] == '*')) return 1;
        }
    }
    return 0;
}

static void use(const bmd_campaign *c) {
    for (int g = 0; g < c->n_groups; g++) {
        bmd_stage *st = NULL;
        bmd_status rc = bmd_campaign_make_stage(c, g, &st);
        bmd_fuzz_check(rc == BMD_OK || rc == BMD_ERR_INVALID, "make_stage fails only as invalid", bmd_last_error());
        bmd_stage_destroy(st);
    }
    if (!strcmp(c->model.type, "lj") || !strcmp(c->model.type, "morse")) {
        bmd_model *m = NULL;
        if (bmd_campaign_make_model(c, &m) == BMD_OK) bmd_model_destroy(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (walks_far(data, size)) return 0;
    setup_inputs();
    bmd_fuzz_write("c.yaml", data, size);
    char path[600];
    bmd_fuzz_path(path, sizeof path, "c.yaml");
    bmd_campaign c;
    bmd_status st = bmd_campaign_load(path, &c);
    if (st) {
        const char *msg = bmd_last_error();
        bmd_fuzz_check(st == BMD_ERR_PARSE || st == BMD_ERR_IO || st == BMD_ERR_NOMEM,
                       "a refused campaign is PARSE or IO", msg);
        if (st != BMD_ERR_NOMEM)
            bmd_fuzz_check(strncmp(msg, path, strlen(path)) == 0 && msg[strlen(path)] == ':',
                           "the message starts with the campaign's path", msg);
        return 0;
    }
    bmd_fuzz_check(c.n_inputs >= 1, "a campaign has inputs", NULL);
    bmd_fuzz_check(c.n_stages >= 1 && c.n_groups >= 1, "a campaign has stages", NULL);
    use(&c);
    bmd_campaign_free(&c);
    return 0;
}
