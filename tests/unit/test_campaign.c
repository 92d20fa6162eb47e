/* test_campaign.c — the campaign reader's positive paths: the pipeline
 * expression ('+' binds tighter than '|'), defaults from docs/campaign.md, paths
 * resolved against the campaign's folder, directories and globs expanded in
 * sorted order, per-pair model parameters, a campaign without stages
 * (valid with BMD_CAMPAIGN_STAGES_OPTIONAL only), output.eval. (Refusals
 * are covered end to end by tests/cli/errors_test.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batchmd/batchmd.h"

static char dir[256];

static void write_file(const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/bmd_campaign_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char p[512];
    snprintf(p, sizeof p, "%s/in", dir);
    mkdir(p, 0777);
    const char *xyz = "1\nProperties=species:S:1:pos:R:3\nAr 0 0 0\n";
    write_file("in/b.extxyz", xyz);
    write_file("in/a.extxyz", xyz);
    write_file("in/c.xyz", xyz);
    write_file("in/notes.txt", "not a structure");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void load(const char *text, bmd_campaign *c) {
    write_file("c.yaml", text);
    char p[512];
    snprintf(p, sizeof p, "%s/c.yaml", dir);
    bmd_status st = bmd_campaign_load(p, c);
    if (st) fail_msg("load failed: %s", bmd_last_error());
}

static const char *STAGES = "stages:\n"
                            "  relax: {type: fire, fmax: 0.01}\n"
                            "  anneal: {type: nvt_langevin, dt: 2, temperature: 300, friction: 0.01, steps: 10}\n"
                            "  md: {type: nve, dt: 1, steps: 20}\n";

static void test_pipeline_groups(void **state) {
    (void)state;
    char text[2048];
    snprintf(text, sizeof text, "model: {type: lj, epsilon: 1, sigma: 1}\ninput: in\n%spipeline: \"relax + anneal | md\"\n",
             STAGES);
    bmd_campaign c;
    load(text, &c);
    assert_int_equal(c.n_stages, 3);
    assert_int_equal(c.n_groups, 2);
    assert_int_equal(c.group_size[0], 2);
    assert_int_equal(c.group_stage[0][0], 0);
    assert_int_equal(c.group_stage[0][1], 1);
    assert_int_equal(c.group_size[1], 1);
    assert_int_equal(c.group_stage[1][0], 2);
    bmd_campaign_free(&c);
    /* default: every stage fused, in the order written */
    snprintf(text, sizeof text, "model: {type: lj, epsilon: 1, sigma: 1}\ninput: in\n%s", STAGES);
    load(text, &c);
    assert_int_equal(c.n_groups, 1);
    assert_int_equal(c.group_size[0], 3);
    assert_int_equal(c.group_stage[0][2], 2);
    bmd_campaign_free(&c);
}

static void test_defaults_and_paths(void **state) {
    (void)state;
    char text[2048];
    snprintf(text, sizeof text, "model: {type: lj, epsilon: 0.0104, sigma: 3.4}\ninput: in\n%s", STAGES);
    bmd_campaign c;
    load(text, &c);
    assert_int_equal(c.units, BMD_UNITS_METAL);
    assert_int_equal(c.batch.max_atoms, 50000);
    assert_int_equal(c.batch.max_systems, 1024);
    assert_int_equal(c.batch.refill_every, 5);
    assert_string_equal(c.batch.comm, "async_recv");
    /* lj cutoff defaults to 2.5 sigma, skin 0.5 Å in metal units */
    assert_int_equal(c.model.n_pairs, 1);
    assert_true(fabs(c.model.pairs[0].cutoff - 8.5) < 1e-12);
    assert_true(c.model.opt.skin == 0.5);
    assert_int_equal(c.model.opt.has_default, 1);
    /* FIRE: ASE's defaults, campaign fmax, budget 1000 */
    assert_true(c.stages[0].conv.fmax == 0.01);
    assert_int_equal(c.stages[0].conv.max_steps, 1000);
    assert_int_equal(c.stages[1].conv.max_steps, 10);
    /* the directory expands to its extxyz/xyz files, sorted */
    assert_int_equal(c.n_inputs, 3);
    char want[512];
    snprintf(want, sizeof want, "%s/in/a.extxyz", dir);
    assert_string_equal(c.inputs[0], want);
    snprintf(want, sizeof want, "%s/in/c.xyz", dir);
    assert_string_equal(c.inputs[2], want);
    snprintf(want, sizeof want, "%s/results/final.extxyz", dir);
    assert_string_equal(c.output.final, want);
    bmd_campaign_free(&c);
}

static void test_glob_pairs_outputs(void **state) {
    (void)state;
    char text[2048];
    snprintf(text, sizeof text,
             "units: lj\nseed: 42\nthreads: 2\n"
             "model:\n  type: morse\n  cutoff: 6\n  pairs:\n"
             "    - {species: [Ar, Ar], D0: 1, alpha: 2, r0: 1.1}\n"
             "    - {species: [Kr, Ar], D0: 3, alpha: 4, r0: 1.2, cutoff: 7}\n"
             "input: [\"in/b*.extxyz\", in/a.extxyz]\n%s"
             "output: {final: out/f.extxyz, log: {file: out/log.csv, every: 3}, trajectory: t.h5, ordered: true}\n",
             STAGES);
    bmd_campaign c;
    load(text, &c);
    assert_int_equal(c.units, BMD_UNITS_LJ);
    assert_true(c.seed == 42);
    assert_int_equal(c.threads, 2);
    assert_true(c.model.opt.skin == 0.3); /* lj units default */
    assert_int_equal(c.model.n_pairs, 2);
    assert_int_equal(c.model.opt.has_default, 0);
    assert_int_equal(c.model.pairs[1].z1, 36);
    assert_int_equal(c.model.pairs[1].z2, 18);
    assert_true(c.model.pairs[0].cutoff == 6 && c.model.pairs[1].cutoff == 7);
    assert_true(c.model.pairs[1].p[0] == 3 && c.model.pairs[1].p[1] == 4 && c.model.pairs[1].p[2] == 1.2);
    assert_int_equal(c.n_inputs, 2);
    assert_non_null(strstr(c.inputs[0], "in/b.extxyz"));
    assert_non_null(strstr(c.inputs[1], "in/a.extxyz"));
    assert_int_equal(c.output.log.every, 3);
    assert_int_equal(c.output.trajectory.every, 100);
    assert_int_equal(c.output.ordered, 1);
    assert_non_null(strstr(c.output.log.file, "out/log.csv"));
    bmd_campaign_free(&c);
}

/* No stages, or stages: {}: refused by bmd_campaign_load (run), accepted
 * with BMD_CAMPAIGN_STAGES_OPTIONAL (eval) as one empty stage group. */
static void test_stages_optional(void **state) {
    (void)state;
    static const char *const texts[] = {"model: {type: lj, epsilon: 1, sigma: 1}\ninput: in\n"
                                        "output: {eval: e/single.extxyz}\n",
                                        "model: {type: lj, epsilon: 1, sigma: 1}\ninput: in\nstages: {}\n"
                                        "output: {eval: e/single.extxyz}\n"};
    static const char *const refusals[] = {"c.yaml:1:1: missing 'stages'", "c.yaml:3:9: stages: expected at least one"};
    char p[512], want[512];
    snprintf(p, sizeof p, "%s/c.yaml", dir);
    snprintf(want, sizeof want, "%s/e/single.extxyz", dir);
    for (int i = 0; i < 2; i++) {
        write_file("c.yaml", texts[i]);
        bmd_campaign c;
        assert_int_equal(bmd_campaign_load(p, &c), BMD_ERR_PARSE);
        if (!strstr(bmd_last_error(), refusals[i])) fail_msg("message: %s", bmd_last_error());
        assert_int_equal(bmd_campaign_load_flags(p, BMD_CAMPAIGN_STAGES_OPTIONAL, &c), BMD_OK);
        assert_int_equal(c.n_stages, 0);
        assert_int_equal(c.n_groups, 1);
        assert_int_equal(c.group_size[0], 0);
        assert_string_equal(c.output.eval, want);
        bmd_campaign_free(&c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_groups),
        cmocka_unit_test(test_defaults_and_paths),
        cmocka_unit_test(test_glob_pairs_outputs),
        cmocka_unit_test(test_stages_optional),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
