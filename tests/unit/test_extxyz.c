/* test_extxyz.c — the extxyz reader and writer on small hand-written files:
 * fields and ASE's defaults (pbc, Properties, masses), momenta in ASE's
 * units (checked against ASE's fs = 0.09822694788464063), stress as 6 or 9
 * values (ASE's Fortran-order 3x3), the info-line grammar, the index, and
 * every malformed case: BMD_ERR_PARSE with "FILE:LINE:" at the right line.
 * Inputs are written to mkstemp files. */
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

#include "batchmd/batchmd.h"

#define ASE_FS 0.09822694788464063 /* ase.units.fs, ASE 3.22 */

/* Writes len bytes to a new temporary file; returns its path (malloc'd). */
static char *tmp_file(const char *content, size_t len) {
    char *path = malloc(64);
    assert_non_null(path);
    strcpy(path, "/tmp/bmd_test_extxyz_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    fclose(f);
    return path;
}

static void drop_file(char *path) {
    unlink(path);
    free(path);
}

/* Reads frame `frame` of content into *s (must succeed). */
static void read_ok(const char *content, long frame, bmd_units_kind u, bmd_system *s) {
    char *path = tmp_file(content, strlen(content));
    bmd_extxyz_index *ix;
    bmd_status st = bmd_extxyz_index_open(path, &ix);
    if (st) fail_msg("index: %s", bmd_last_error());
    st = bmd_extxyz_read_frame(ix, frame, u, s);
    if (st) fail_msg("read: %s", bmd_last_error());
    assert_string_equal(s->source, path);
    assert_int_equal(s->system_id, -1);
    bmd_extxyz_index_close(ix);
    drop_file(path);
}

/* content (len bytes) must fail, at index or read time, with BMD_ERR_PARSE
 * and a message naming "FILE:line:" and containing `what`. */
static void expect_error_n(const char *content, size_t len, long line, const char *what) {
    char *path = tmp_file(content, len);
    bmd_system *frames = NULL;
    long n = -1;
    bmd_status st = bmd_extxyz_read_all(path, BMD_UNITS_METAL, &frames, &n);
    if (st != BMD_ERR_PARSE)
        fail_msg("expected BMD_ERR_PARSE for %s, got %s (%s)", what, bmd_status_name(st), bmd_last_error());
    assert_null(frames);
    char where[128];
    snprintf(where, sizeof where, "%s:%ld: ", path, line);
    const char *msg = bmd_last_error();
    if (strncmp(msg, where, strlen(where)) != 0 || !strstr(msg, what))
        fail_msg("message '%s' should start with '%s' and contain '%s'", msg, where, what);
    drop_file(path);
}

static void expect_error(const char *content, long line, const char *what) {
    expect_error_n(content, strlen(content), line, what);
}

static void test_plain_xyz_defaults(void **state) {
    (void)state;
    bmd_system s;
    read_ok("2\nwater-ish molecule\nO 0.0 0.0 0.1\nH 0.75 -0.5 0\n", 0, BMD_UNITS_METAL, &s);
    assert_int_equal(s.n_atoms, 2);
    assert_int_equal(s.Z[0], 8);
    assert_int_equal(s.Z[1], 1);
    assert_true(s.pos[2] == 0.1 && s.pos[3] == 0.75 && s.pos[4] == -0.5);
    assert_true(s.mass[0] == 15.999 && s.mass[1] == 1.008); /* ASE's masses */
    assert_true(!s.pbc[0] && !s.pbc[1] && !s.pbc[2]);
    for (int k = 0; k < 9; k++) assert_true(s.cell[k] == 0.0);
    assert_null(s.vel);
    assert_null(s.forces);
    assert_false(s.has_energy);
    assert_false(s.has_stress);
    assert_int_equal(s.line, 1);
    /* ASE reads a free comment as keys that are True */
    assert_string_equal(bmd_info_get(&s.info, "water-ish"), "T");
    assert_string_equal(bmd_info_get(&s.info, "molecule"), "T");
    bmd_system_free(&s);

    read_ok("1\n\nAr 1 2 3\n", 0, BMD_UNITS_LJ, &s); /* empty comment; lj masses are 1 */
    assert_int_equal(s.info.n, 0);
    assert_true(s.mass[0] == 1.0);
    bmd_system_free(&s);
}

static void test_lattice_and_pbc_defaults(void **state) {
    (void)state;
    bmd_system s;
    /* Lattice rows are a, b, c; pbc defaults to T T T with a Lattice */
    read_ok("1\nLattice=\"1 2 3 4 5 6 7 8 10\"\nCu 0 0 0\n", 0, BMD_UNITS_METAL, &s);
    double want[9] = {1, 2, 3, 4, 5, 6, 7, 8, 10};
    for (int k = 0; k < 9; k++) assert_true(s.cell[k] == want[k]);
    assert_true(s.pbc[0] && s.pbc[1] && s.pbc[2]);
    assert_null(bmd_info_get(&s.info, "Lattice"));
    bmd_system_free(&s);

    read_ok("1\nLattice=\"4 0 0 0 4 0 0 0 20\" pbc=\"T T F\"\nCu 0 0 0\n", 0, BMD_UNITS_METAL, &s);
    assert_true(s.pbc[0] && s.pbc[1] && !s.pbc[2]);
    assert_null(bmd_info_get(&s.info, "pbc"));
    bmd_system_free(&s);

    /* a cell without periodicity is kept; zero volume is fine when pbc is F F F */
    read_ok("1\nLattice=\"4 0 0 0 4 0 0 0 0\" pbc=\"F F F\"\nCu 0 0 0\n", 0, BMD_UNITS_METAL, &s);
    assert_true(!s.pbc[0] && !s.pbc[1] && !s.pbc[2]);
    assert_true(s.cell[0] == 4.0 && s.cell[8] == 0.0);
    bmd_system_free(&s);

    /* pbc spelled True/False, comma separated, or one value for all axes */
    read_ok("1\nLattice=[3,0,0,0,3,0,0,0,3] pbc=\"True False True\"\nCu 0 0 0\n", 0, BMD_UNITS_METAL, &s);
    assert_true(s.pbc[0] && !s.pbc[1] && s.pbc[2]);
    assert_true(s.cell[4] == 3.0);
    bmd_system_free(&s);
    read_ok("1\nLattice=\"3 0 0 0 3 0 0 0 3\" pbc=F\nCu 0 0 0\n", 0, BMD_UNITS_METAL, &s);
    assert_true(!s.pbc[0] && !s.pbc[1] && !s.pbc[2]);
    bmd_system_free(&s);
}

static void test_momenta_velocities_masses(void **state) {
    (void)state;
    bmd_system s;
    const char *in = "2\nProperties=species:S:1:pos:R:3:masses:R:1:momenta:R:3\n"
                     "Cu 0 0 0 2.5 0.1 -0.2 0.3\n"
                     "Ar 1 1 1 7.0 1e-3 0 -4\n";
    read_ok(in, 0, BMD_UNITS_METAL, &s);
    double p[6] = {0.1, -0.2, 0.3, 1e-3, 0, -4}, m[2] = {2.5, 7.0};
    assert_non_null(s.vel);
    assert_true(s.mass[0] == 2.5 && s.mass[1] == 7.0);
    for (int k = 0; k < 6; k++) {
        double want = p[k] / m[k / 3] * ASE_FS; /* v[Å/fs] = p/m * fs */
        assert_true(fabs(s.vel[k] - want) <= 1e-15 * fabs(want));
    }
    bmd_system_free(&s);

    read_ok(in, 0, BMD_UNITS_LJ, &s); /* lj: v = p/m */
    for (int k = 0; k < 6; k++) assert_true(s.vel[k] == p[k] / m[k / 3]);
    bmd_system_free(&s);

    /* momenta without masses: ASE's standard masses */
    read_ok("1\nProperties=species:S:1:pos:R:3:momenta:R:3\nCu 0 0 0 1 2 3\n", 0, BMD_UNITS_METAL, &s);
    assert_true(s.mass[0] == 63.546);
    assert_true(fabs(s.vel[1] - 2.0 / 63.546 * ASE_FS) <= 1e-15 * s.vel[1]);
    bmd_system_free(&s);

    /* velocities are Å/fs as given */
    read_ok("1\nProperties=species:S:1:pos:R:3:velocities:R:3\nCu 0 0 0 0.01 -0.02 0.03\n", 0,
            BMD_UNITS_METAL, &s);
    assert_true(s.vel[0] == 0.01 && s.vel[1] == -0.02 && s.vel[2] == 0.03);
    bmd_system_free(&s);
}

static void test_energy_stress_forces(void **state) {
    (void)state;
    bmd_system s;
    read_ok("1\nenergy=-3.25 stress=\"1 2 3 4 5 6 7 8 9\" free_energy=-3.5 "
            "Properties=species:S:1:pos:R:3:forces:R:3\nCu 0 0 0 0.5 -1.5 2e-3\n",
            0, BMD_UNITS_METAL, &s);
    assert_true(s.has_energy && s.energy == -3.25);
    /* ASE: 9 values are a 3x3 in Fortran order M[i][j] = v[i+3j];
     * Voigt xx yy zz yz xz xy = M00 M11 M22 M12 M02 M01 */
    double want[6] = {1, 5, 9, 8, 7, 4};
    assert_true(s.has_stress);
    for (int k = 0; k < 6; k++) assert_true(s.stress[k] == want[k]);
    assert_true(s.forces[0] == 0.5 && s.forces[1] == -1.5 && s.forces[2] == 2e-3);
    assert_null(bmd_info_get(&s.info, "energy"));
    assert_null(bmd_info_get(&s.info, "stress"));
    assert_string_equal(bmd_info_get(&s.info, "free_energy"), "-3.5");
    bmd_system_free(&s);

    read_ok("1\nstress=\"1 2 3 4 5 6\"\nCu 0 0 0\n", 0, BMD_UNITS_METAL, &s);
    for (int k = 0; k < 6; k++) assert_true(s.stress[k] == k + 1);
    bmd_system_free(&s);
}

static void test_info_grammar(void **state) {
    (void)state;
    bmd_system s;
    read_ok("1\nname=\"hello world\" q='say \"hi\"' esc=\"a\\\"b\\\\c\" flag key = val "
            "arr={1 2 3} br=[4, 5] system_id=17 eq=a=b Properties=species:S:1:pos:R:3 "
            "name=\"again\"\nCu 0 0 0\n",
            0, BMD_UNITS_METAL, &s);
    assert_string_equal(bmd_info_get(&s.info, "name"), "again"); /* later duplicate wins */
    assert_string_equal(bmd_info_get(&s.info, "q"), "say \"hi\"");
    assert_string_equal(bmd_info_get(&s.info, "esc"), "a\"b\\c");
    assert_string_equal(bmd_info_get(&s.info, "flag"), "T");
    assert_string_equal(bmd_info_get(&s.info, "key"), "val");
    assert_string_equal(bmd_info_get(&s.info, "arr"), "1 2 3");
    assert_string_equal(bmd_info_get(&s.info, "br"), "4, 5");
    assert_string_equal(bmd_info_get(&s.info, "eq"), "a=b");
    assert_string_equal(bmd_info_get(&s.info, "system_id"), "17"); /* kept; not read into the field */
    assert_int_equal(s.system_id, -1);
    assert_null(bmd_info_get(&s.info, "Properties"));
    assert_int_equal(s.info.n, 9);
    assert_string_equal(s.info.keys[0], "name"); /* file order */
    bmd_system_free(&s);
}

static void test_columns(void **state) {
    (void)state;
    bmd_system s;
    /* Z column; unknown columns of every type skipped; species case as ASE */
    read_ok("2\nProperties=tag:I:1:Z:I:1:name:S:2:pos:R:3:fixed:L:1:extra:R:2\n"
            "7 26 a b 1 2 3 T 0.5 0.25\n-1 8 c d 4 5 6 F 1 2\n",
            0, BMD_UNITS_METAL, &s);
    assert_int_equal(s.Z[0], 26);
    assert_int_equal(s.Z[1], 8);
    assert_true(s.pos[0] == 1 && s.pos[5] == 6);
    bmd_system_free(&s);
    read_ok("3\n\ncu 0 0 0\nCU 0 0 0\nc 0 0 0\n", 0, BMD_UNITS_METAL, &s);
    assert_int_equal(s.Z[0], 29);
    assert_int_equal(s.Z[1], 29);
    assert_int_equal(s.Z[2], 6);
    bmd_system_free(&s);
    /* CRLF line endings and tabs */
    read_ok("1\r\nLattice=\"2 0 0 0 2 0 0 0 2\"\r\nCu\t0.5\t0\t0\r\n", 0, BMD_UNITS_METAL, &s);
    assert_true(s.pos[0] == 0.5 && s.pbc[0]);
    bmd_system_free(&s);
}

static void test_index(void **state) {
    (void)state;
    const char *in = "2\nfirst\nH 0 0 0\nH 0 0 1\n0\nempty frame\n  3  \nthird\nHe 0 0 0\n"
                     "He 0 0 1\nHe 0 0 2\n\n\n   \n";
    char *path = tmp_file(in, strlen(in));
    bmd_extxyz_index *ix;
    assert_int_equal(bmd_extxyz_index_open(path, &ix), BMD_OK);
    assert_int_equal(bmd_extxyz_index_frames(ix), 3);
    assert_int_equal(bmd_extxyz_index_atoms(ix, 0), 2);
    assert_int_equal(bmd_extxyz_index_atoms(ix, 1), 0);
    assert_int_equal(bmd_extxyz_index_atoms(ix, 2), 3);
    assert_int_equal(bmd_extxyz_index_atoms(ix, 3), -1);
    assert_int_equal(bmd_extxyz_index_line(ix, 0), 1);
    assert_int_equal(bmd_extxyz_index_line(ix, 1), 5);
    assert_int_equal(bmd_extxyz_index_line(ix, 2), 7);
    assert_string_equal(bmd_extxyz_index_path(ix), path);
    bmd_system s;
    assert_int_equal(bmd_extxyz_read_frame(ix, 2, BMD_UNITS_METAL, &s), BMD_OK);
    assert_int_equal(s.n_atoms, 3);
    assert_int_equal(s.line, 7);
    assert_true(s.pos[8] == 2.0);
    bmd_system_free(&s);
    assert_int_equal(bmd_extxyz_read_frame(ix, 1, BMD_UNITS_METAL, &s), BMD_OK);
    assert_int_equal(s.n_atoms, 0);
    bmd_system_free(&s);
    assert_int_equal(bmd_extxyz_read_frame(ix, 3, BMD_UNITS_METAL, &s), BMD_ERR_INVALID);
    /* what the index takes as a count line, the reader takes too (\v, \f, CR, '+') */
    read_ok("\v+1\f\r\nx\nAr 0 0 0\n", 0, BMD_UNITS_METAL, &s);
    assert_int_equal(s.n_atoms, 1);
    bmd_system_free(&s);
    bmd_extxyz_index_close(ix);
    drop_file(path);

    /* empty file; last line without a newline */
    path = tmp_file("", 0);
    assert_int_equal(bmd_extxyz_index_open(path, &ix), BMD_OK);
    assert_int_equal(bmd_extxyz_index_frames(ix), 0);
    bmd_extxyz_index_close(ix);
    drop_file(path);
    path = tmp_file("1\nx\nAr 0 0 0", strlen("1\nx\nAr 0 0 0"));
    bmd_system *fr;
    long n;
    assert_int_equal(bmd_extxyz_read_all(path, BMD_UNITS_METAL, &fr, &n), BMD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(fr[0].Z[0], 18);
    bmd_system_free(&fr[0]);
    free(fr);
    drop_file(path);
    assert_int_equal(bmd_extxyz_index_open("/nonexistent/dir/x.extxyz", &ix), BMD_ERR_IO);
    bmd_extxyz_index_close(NULL);
}

static void test_index_errors(void **state) {
    (void)state;
    expect_error("abc\nx\n", 1, "expected an atom count (a non-negative integer), got 'abc'");
    expect_error("-1\nx\n", 1, "got '-1'");
    expect_error("3.5\nx\n", 1, "got '3.5'");
    expect_error("1\nx\nAr 0 0 0\n1 2\nx\n", 4, "got '1 2'");
    expect_error("1\nx\nAr 0 0 0\n\n1\nx\nAr 0 0 0\n", 4, "blank line");
    expect_error("3\ncomment\nCu 0 0 0\n", 1, "says 3 atoms but the file ends at line 3 after 1 atom line");
    expect_error("1\nx\nAr 0 0 0\n2\n", 4, "ends right after this atom count");
    expect_error("99999999999999999999\nx\n", 1, "expected an atom count");
    expect_error("268435457\nx\n", 1, "is too large");
}

static void test_frame_errors(void **state) {
    (void)state;
    expect_error("2\n\nCu 0 0 0\nCu 0 0\n", 4, "atom line has 3 fields (expected 4");
    expect_error("1\n\nCu 0 0 0 0\n", 3, "atom line has 5 fields");
    expect_error("2\n\nCu 0 0 0\nCu 0 abc 0\n", 4, "bad number 'abc' in field 3 (property 'pos', column 2 of 3");
    expect_error("1\n\nCu 0 0x10 0\n", 3, "bad number");
    expect_error("1\n\nQq 0 0 0\n", 3, "unknown element 'Qq'");
    expect_error("1\n\nX 0 0 0\n", 3, "unknown element 'X'");
    expect_error("1\nProperties=Z:I:1:pos:R:3\n119 0 0 0\n", 3, "bad atomic number '119'");
    expect_error("1\nProperties=Z:I:1:pos:R:3\n0 0 0 0\n", 3, "bad atomic number");
    expect_error("1\npbc=\"T T F\"\nCu 0 0 0\n", 2, "no Lattice");
    expect_error("1\nLattice=\"1 0 0 0 1 0 0 0\"\nCu 0 0 0\n", 2, "expected 9 numbers");
    expect_error("1\nLattice=\"1 0 0 0 1 0 0 0 1 1\"\nCu 0 0 0\n", 2, "expected 9 numbers");
    expect_error("1\nLattice=\"1 0 0 0 1 0 a 0 1\"\nCu 0 0 0\n", 2, "expected 9 numbers");
    expect_error("1\nLattice=\"1 0 0 2 0 0 0 0 1\" pbc=\"F F T\"\nCu 0 0 0\n", 2, "zero volume");
    expect_error("1\nname=\"unterminated\nCu 0 0 0\n", 2, "not closed");
    expect_error("1\nname={open\nCu 0 0 0\n", 2, "not closed");
    expect_error("1\n=5\nCu 0 0 0\n", 2, "no key");
    expect_error("1\n\nCu nan 0 0\n", 3, "non-finite position 'nan'");
    expect_error("1\n\nCu 0 inf 0\n", 3, "non-finite position");
    expect_error("1\n\nCu 0 0 1e999\n", 3, "non-finite position");
    expect_error("1\nProperties=species:S:1:vel:R:3\nCu 0 0 0\n", 2, "names no positions");
    expect_error("1\nProperties=pos:R:3\n0 0 0\n", 2, "names no species");
    expect_error("1\nProperties=species:S:1:pos:R\nCu 0 0 0\n", 2, "name:type:columns");
    expect_error("1\nProperties=species:S:1:pos:Q:3\nCu 0 0 0\n", 2, "bad entry");
    expect_error("1\nProperties=species:S:1:pos:R:2\nCu 0 0\n", 2, "expected pos:R:3");
    expect_error("1\nProperties=species:S:1:pos:R:3:pos:R:3\nCu 0 0 0 0 0 0\n", 2, "twice");
    expect_error("1\nProperties=species:S:1:pos:R:3:masses:R:1\nCu 0 0 0 -1\n", 3, "bad mass");
    expect_error("1\nProperties=species:S:1:pos:R:3:momenta:R:3\nCu 0 0 0 0 nan 0\n", 3, "non-finite momentum");
    expect_error("1\nProperties=species:S:1:pos:R:3:t:I:1\nCu 0 0 0 1.5\n", 3, "bad integer");
    expect_error("1\nenergy=abc\nCu 0 0 0\n", 2, "energy=");
    expect_error("1\nstress=\"1 2 3\"\nCu 0 0 0\n", 2, "stress=");
    /* the second frame's errors name its own lines */
    expect_error("1\nx\nAr 0 0 0\n1\nx\nAr 0 0 zz\n", 6, "bad number 'zz'");
}

static void test_garbage_does_not_crash(void **state) {
    (void)state;
    /* non-UTF-8 bytes and NULs: ASE reads UTF-8 text only */
    const char bin[] = "1\n\xff\xfe\x00k=\x80\nC\x00u 0 0 0\n";
    expect_error_n(bin, sizeof bin - 1, 2, "byte 0xFF at column 1 is not UTF-8");
    const char bin1[] = "1\nk=\xc3\xa9\nC\x00u 0 0 0\n"; /* é is fine */
    expect_error_n(bin1, sizeof bin1 - 1, 3, "unknown element");
    expect_error("1\nk=\xed\xa0\x80\nCu 0 0 0\n", 2, "byte 0xED at column 3"); /* a surrogate */
    expect_error("1\nProperties=species:S:1:pos:R:3:name:S:1\nCu 0 0 0 a\xe9" "b\n", 3, "not UTF-8");
    const char bin2[] = "\xff\xfe\n";
    expect_error_n(bin2, sizeof bin2 - 1, 1, "expected an atom count");
    /* a 4 MB comment line and a 4 MB atom line */
    size_t big = 4u << 20;
    char *s = malloc(big + 64);
    assert_non_null(s);
    strcpy(s, "1\nk=");
    memset(s + 4, 'a', big);
    strcpy(s + 4 + big, "\nCu 0 0 0\n");
    bmd_system sys;
    read_ok(s, 0, BMD_UNITS_METAL, &sys);
    assert_int_equal(strlen(bmd_info_get(&sys.info, "k")), big);
    bmd_system_free(&sys);
    strcpy(s, "1\n\nCu 0 0 ");
    memset(s + 10, '7', big);
    strcpy(s + 10 + big, "\n");
    expect_error(s, 3, "non-finite position"); /* 7777...: too large */
    memset(s + 10, ' ', big);
    expect_error(s, 3, "atom line has 3 fields");
    free(s);
}

static void test_write_read_back(void **state) {
    (void)state;
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 2), BMD_OK);
    s.Z[0] = 29;
    s.Z[1] = 18;
    double pos[6] = {0.1, 1.0 / 3.0, -2.5e-7, 1e10, -0.0, 3.14159265358979};
    memcpy(s.pos, pos, sizeof pos);
    s.mass[0] = 63.546;
    s.mass[1] = 39.948;
    assert_int_equal(bmd_system_ensure_vel(&s), BMD_OK);
    assert_int_equal(bmd_system_ensure_forces(&s), BMD_OK);
    for (int k = 0; k < 6; k++) {
        s.vel[k] = 0.01 * (k + 1) / 7.0;
        s.forces[k] = -1.0 / (k + 3);
    }
    double cell[9] = {5.1, 0, 0, 0.3, 5.2, 0, 0.1, 0.2, 5.3};
    memcpy(s.cell, cell, sizeof cell);
    s.pbc[0] = s.pbc[1] = 1;
    s.has_energy = 1;
    s.energy = -2.0;
    s.has_stress = 1;
    double stress[6] = {1e-3, 2e-3, 3e-3, 4e-4, 5e-4, 6e-4};
    memcpy(s.stress, stress, sizeof stress);
    s.system_id = 42;
    assert_int_equal(bmd_info_set(&s.info, "system_id", "3"), BMD_OK); /* superseded */
    assert_int_equal(bmd_info_set(&s.info, "label", "two words \"quoted\" a=b"), BMD_OK);
    assert_int_equal(bmd_info_set(&s.info, "temperature", "450"), BMD_OK);

    char path[] = "/tmp/bmd_test_extxyz_w_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    bmd_extxyz_write_opts o = {1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(bmd_extxyz_write_frame(f, &s, BMD_UNITS_METAL, &o), BMD_OK);
    bmd_extxyz_write_opts plain = {0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(bmd_extxyz_write_frame(f, &s, BMD_UNITS_METAL, &plain), BMD_OK);
    fclose(f);

    /* the text, as ASE would write it */
    f = fopen(path, "r");
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "2\n");
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "Lattice=\"5.0999999999999996 0.0 0.0 0.29999999999999999 "));
    assert_non_null(strstr(line, "Properties=species:S:1:pos:R:3:masses:R:1:momenta:R:3:forces:R:3"));
    assert_non_null(strstr(line, " energy=-2.0 "));
    assert_non_null(strstr(line, " pbc=\"T T F\""));
    assert_non_null(strstr(line, " system_id=42 "));
    assert_null(strstr(line, "system_id=3"));
    assert_non_null(strstr(line, " label=\"two words \\\"quoted\\\" a=b\""));
    assert_non_null(strstr(line, " temperature=450"));
    /* stress as ASE's [[xx xy xz] [xy yy yz] [xz yz zz]] in Fortran order */
    assert_non_null(strstr(line, "stress=\"0.001 0.00059999999999999995 0.00050000000000000001 "
                                 "0.00059999999999999995 0.002 0.00040000000000000002 "
                                 "0.00050000000000000001 0.00040000000000000002 0.0030000000000000001\""));
    assert_non_null(fgets(line, sizeof line, f));
    double p[3];
    char sym[8];
    assert_int_equal(sscanf(line, "%7s %*g %*g %*g %*g %lg %lg %lg", sym, &p[0], &p[1], &p[2]), 4);
    assert_string_equal(sym, "Cu");
    for (int k = 0; k < 3; k++) {
        double want = 63.546 * s.vel[k] / ASE_FS; /* ASE's p = m v / fs */
        assert_true(fabs(p[k] - want) <= 1e-15 * fabs(want));
    }
    fclose(f);

    bmd_system *fr;
    long n;
    assert_int_equal(bmd_extxyz_read_all(path, BMD_UNITS_METAL, &fr, &n), BMD_OK);
    assert_int_equal(n, 2);
    bmd_system *r = &fr[0];
    assert_int_equal(r->Z[1], 18);
    assert_memory_equal(r->pos, s.pos, sizeof pos);
    assert_memory_equal(r->cell, s.cell, sizeof cell);
    assert_memory_equal(r->forces, s.forces, sizeof pos);
    assert_memory_equal(r->mass, s.mass, 2 * sizeof(double));
    assert_memory_equal(r->stress, s.stress, sizeof stress);
    for (int k = 0; k < 6; k++) assert_true(fabs(r->vel[k] - s.vel[k]) <= 1e-15 * fabs(s.vel[k]));
    assert_true(r->pbc[0] && r->pbc[1] && !r->pbc[2]);
    assert_true(r->has_energy && r->energy == -2.0);
    assert_string_equal(bmd_info_get(&r->info, "label"), "two words \"quoted\" a=b");
    assert_string_equal(bmd_info_get(&r->info, "system_id"), "42");
    /* the plain frame: species, positions, cell, pbc only */
    r = &fr[1];
    assert_null(r->vel);
    assert_null(r->forces);
    assert_false(r->has_energy || r->has_stress);
    assert_int_equal(r->info.n, 0);
    assert_memory_equal(r->pos, s.pos, sizeof pos);
    for (long k = 0; k < n; k++) bmd_system_free(&fr[k]);
    free(fr);
    unlink(path);
    bmd_system_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_xyz_defaults),
        cmocka_unit_test(test_lattice_and_pbc_defaults),
        cmocka_unit_test(test_momenta_velocities_masses),
        cmocka_unit_test(test_energy_stress_forces),
        cmocka_unit_test(test_info_grammar),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_index_errors),
        cmocka_unit_test(test_frame_errors),
        cmocka_unit_test(test_garbage_does_not_crash),
        cmocka_unit_test(test_write_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
