/* test_eam_file.c — reading EAM potential files (model_eam.h): the three
 * formats on tiny hand-written files (values spread over lines as DYNAMO
 * writes them, blank lines and comments), and every error a user can meet,
 * with its "FILE:LINE: ..." message: a missing file, a truncated table, a
 * value that is not a number, a bad grid line, an unknown element, too few
 * element names, an unknown style or file name; several funcfl files (one
 * per element, two for one element refused); check_system naming the
 * elements the file lacks; atoms of such elements left out of compute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batchmd/batch.h"
#include "batchmd/model.h"
#include "batchmd/model_eam.h"

static char dir[64];
static char paths[16][160];
static int n_paths;

static const char *write_file(const char *name, const char *text) {
    char *p = paths[n_paths++];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bmd_eam_file_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < n_paths; i++) unlink(paths[i]);
    rmdir(dir);
    return 0;
}

/* 6 points per function; r grid 0.9 Å, cutoff 4.5 Å */
#define FUNCFL_HEAD "tiny Cu\n29 63.546 3.615 FCC\n6 0.5 6 0.9 4.5\n"
#define F6 "0 -1.0 -1.8 -2.4 -2.8 -3.0\n"
#define Z6 "3.0 2.0 1.2 0.6 0.2\n0.0\n"
#define R6 "0.9 0.7 0.4\n0.2 0.05 0.0\n"

static void expect_error(bmd_status want, const char *path, const char *style, const char *needle1,
                         const char *needle2) {
    bmd_model *m = (bmd_model *)0x1;
    bmd_status st = bmd_model_eam_create(path, style, 0.5, &m);
    const char *msg = bmd_last_error();
    if (st != want || !strstr(msg, needle1) || (needle2 && !strstr(msg, needle2)))
        fail_msg("expected %s with '%s'%s%s, got %s: %s", bmd_status_name(want), needle1, needle2 ? " and " : "",
                 needle2 ? needle2 : "", bmd_status_name(st), msg);
    assert_null(m);
}

static void test_funcfl_reads(void **state) {
    (void)state;
    const char *p = write_file("Cu_tiny.eam", FUNCFL_HEAD F6 Z6 R6);
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_eam_create(p, NULL, 0.5, &m), BMD_OK);
    bmd_eam_info info;
    assert_int_equal(bmd_model_eam_info(m, &info), BMD_OK);
    assert_string_equal(info.style, "eam");
    assert_int_equal(info.n_elements, 1);
    assert_int_equal(info.z[0], 29);
    assert_true(info.mass[0] == 63.546);
    assert_true(info.cutoff == 4.5);
    /* a dimer has a finite, nonzero energy */
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 2), BMD_OK);
    s.Z[0] = s.Z[1] = 29;
    s.pos[3] = 2.3;
    assert_int_equal(bmd_model_check_system(m, &s), BMD_OK);
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    double E = 0;
    bmd_compute_request req = {NULL, &E, b->force, NULL, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    assert_true(isfinite(E) && E != 0.0);
    assert_true(b->force[0] == -b->force[3]);
    bmd_batch_destroy(b);
    bmd_system_free(&s);
    bmd_model_destroy(m);
}

static void test_setfl_and_fs_read(void **state) {
    (void)state;
    /* setfl: element names in another order than Z; a blank line and a
     * comment inside the data */
    const char *p = write_file("NiCu.eam.alloy", "c1\nc2\nc3\n2 Ni Cu\n6 0.5 6 0.9 4.5\n"
                                                 "28 58.69 3.52 fcc\n" F6 R6 "\n"
                                                 "29 63.546 3.615 fcc\n" F6 "# a comment\n" R6 Z6 Z6 Z6);
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_eam_create(p, NULL, 0.5, &m), BMD_OK);
    bmd_eam_info info;
    assert_int_equal(bmd_model_eam_info(m, &info), BMD_OK);
    assert_string_equal(info.style, "eam/alloy");
    assert_int_equal(info.n_elements, 2);
    assert_int_equal(info.z[0], 28);
    assert_int_equal(info.z[1], 29);
    bmd_model_destroy(m);
    /* fs: N*N densities; an element named by its Z only */
    p = write_file("NiX.eam.fs", "c1\nc2\nc3\n2 Ni Foo\n6 0.5 6 0.9 4.5\n"
                                 "28 58.69 3.52 fcc\n" F6 R6 R6 "13 26.98 4.05 fcc\n" F6 R6 R6 Z6 Z6 Z6);
    assert_int_equal(bmd_model_eam_create(p, "eam/fs", 0.5, &m), BMD_OK);
    assert_int_equal(bmd_model_eam_info(m, &info), BMD_OK);
    assert_string_equal(info.style, "eam/fs");
    assert_int_equal(info.z[1], 13);
    bmd_model_destroy(m);
}

static void test_errors(void **state) {
    (void)state;
    char want[256];
    /* missing file */
    snprintf(want, sizeof want, "%s/none.eam", dir);
    expect_error(BMD_ERR_IO, want, NULL, "cannot open EAM potential file", want);
    /* truncated: the ρ(r) table ends early (7 lines) */
    const char *p = write_file("short.eam", FUNCFL_HEAD F6 Z6 "0.9 0.7 0.4\n");
    snprintf(want, sizeof want, "%s:8: unexpected end of file", p);
    expect_error(BMD_ERR_PARSE, p, NULL, want, "6 values of rho(r), found 3");
    /* not a number, line 5 */
    p = write_file("nan.eam", FUNCFL_HEAD "0 -1.0 abc -2.4 -2.8 -3.0\n" Z6 R6);
    snprintf(want, sizeof want, "%s:4: 'abc' is not a finite number", p);
    expect_error(BMD_ERR_PARSE, p, NULL, want, "F(rho)");
    /* bad grid line */
    p = write_file("grid.eam", "tiny\n29 63.5\n6 0.5 6 0.9\n" F6 Z6 R6);
    snprintf(want, sizeof want, "%s:3: expected 'Nrho dRho Nr dR cutoff'", p);
    expect_error(BMD_ERR_PARSE, p, NULL, want, NULL);
    p = write_file("grid2.eam", "tiny\n29 63.5\n3 0.5 6 0.9 4.5\n" F6 Z6 R6);
    snprintf(want, sizeof want, "%s:3: Nrho and Nr must be", p);
    expect_error(BMD_ERR_PARSE, p, NULL, want, NULL);
    /* funcfl atomic number */
    p = write_file("z.eam", "tiny\n0 63.5\n6 0.5 6 0.9 4.5\n" F6 Z6 R6);
    snprintf(want, sizeof want, "%s:2: atomic number 0", p);
    expect_error(BMD_ERR_PARSE, p, NULL, want, NULL);
    /* setfl: unknown element without a usable Z */
    p = write_file("bad.eam.alloy", "c1\nc2\nc3\n1 Qq\n6 0.5 6 0.9 4.5\n0 1.0 1 fcc\n" F6 R6 Z6);
    snprintf(want, sizeof want, "%s:4: element 'Qq'", p);
    expect_error(BMD_ERR_PARSE, p, NULL, want, NULL);
    /* setfl: too few names */
    p = write_file("few.eam.alloy", "c1\nc2\nc3\n3 Cu Ni\n6 0.5 6 0.9 4.5\n");
    snprintf(want, sizeof want, "%s:4: 3 elements announced, 2 named", p);
    expect_error(BMD_ERR_PARSE, p, NULL, want, NULL);
    /* setfl: missing pair table at the end */
    p = write_file("nopair.eam.alloy", "c1\nc2\nc3\n2 Ni Cu\n6 0.5 6 0.9 4.5\n28 58.69 3.52 fcc\n" F6 R6
                                       "29 63.546 3.615 fcc\n" F6 R6 Z6 Z6);
    expect_error(BMD_ERR_PARSE, p, NULL, "unexpected end of file", "r*phi(r) of Cu-Cu");
    /* element line malformed */
    p = write_file("el.eam.fs", "c1\nc2\nc3\n1 Cu\n6 0.5 6 0.9 4.5\nfcc 29\n");
    snprintf(want, sizeof want, "%s:6: expected the line 'Z mass [a lattice]' of element Cu", p);
    expect_error(BMD_ERR_PARSE, p, NULL, want, NULL);
    /* styles and names */
    p = write_file("Cu_tiny.txt", FUNCFL_HEAD F6 Z6 R6);
    expect_error(BMD_ERR_INVALID, p, NULL, "cannot tell the format", "give the style");
    expect_error(BMD_ERR_INVALID, p, "eam/cd", "unknown style 'eam/cd'", NULL);
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_eam_create(p, "eam", 0.5, &m), BMD_OK);
    bmd_model_destroy(m);
    m = (bmd_model *)0x1;
    assert_int_equal(bmd_model_eam_create(p, "eam", -1.0, &m), BMD_ERR_INVALID);
    assert_null(m);
}

static void test_several_funcfl(void **state) {
    (void)state;
    const char *cu = write_file("Cu_a.eam", FUNCFL_HEAD F6 Z6 R6);
    const char *ni = write_file("Ni_a.eam", "tiny Ni\n28 58.69 3.52 FCC\n6 0.4 7 0.8 4.6\n" F6 Z6 "0.0\n" R6 "0.0\n");
    const char *paths[3] = {cu, ni, cu};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_eam_create_funcfl(paths, 2, 0.5, &m), BMD_OK);
    bmd_eam_info info;
    assert_int_equal(bmd_model_eam_info(m, &info), BMD_OK);
    assert_string_equal(info.style, "eam");
    assert_int_equal(info.n_elements, 2);
    assert_int_equal(info.z[0], 29);
    assert_int_equal(info.z[1], 28);
    assert_true(info.cutoff == 4.6); /* the largest */
    bmd_model_destroy(m);
    m = (bmd_model *)0x1;
    assert_int_equal(bmd_model_eam_create_funcfl(paths, 3, 0.5, &m), BMD_ERR_INVALID);
    assert_null(m);
    if (!strstr(bmd_last_error(), "are both for element Cu")) fail_msg("unexpected message: %s", bmd_last_error());
    assert_int_equal(bmd_model_eam_create_funcfl(paths, 0, 0.5, &m), BMD_ERR_INVALID);
}

static void test_missing_elements(void **state) {
    (void)state;
    const char *p = write_file("Cu_only.eam", FUNCFL_HEAD F6 Z6 R6);
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_eam_create(p, NULL, 0.5, &m), BMD_OK);
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 4), BMD_OK);
    const int Z[4] = {29, 47, 29, 79};
    for (int i = 0; i < 4; i++) {
        s.Z[i] = Z[i];
        s.pos[3 * i] = 2.2 * i;
    }
    assert_int_equal(bmd_model_check_system(m, &s), BMD_ERR_NOT_FOUND);
    const char *msg = bmd_last_error();
    if (!strstr(msg, "no parameters for elements Ag, Au") || !strstr(msg, p) || !strstr(msg, "it has Cu"))
        fail_msg("unexpected message: %s", msg);
    /* compute: Ag and Au do not interact; the two Cu atoms do (4.4 Å apart) */
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    double E = 0, W[6];
    bmd_compute_request req = {NULL, &E, b->force, W, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    assert_true(isfinite(E));
    for (int c = 0; c < 3; c++) {
        assert_true(b->force[3 + c] == 0.0);
        assert_true(b->force[9 + c] == 0.0);
    }
    bmd_batch_destroy(b);
    bmd_system_free(&s);
    bmd_model_destroy(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_funcfl_reads),
        cmocka_unit_test(test_setfl_and_fs_read),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_several_funcfl),
        cmocka_unit_test(test_missing_elements),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
