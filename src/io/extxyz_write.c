/* extxyz_write.c — owns writing a bmd_system as one extxyz frame that ASE
 * reads back bit for bit: numbers as "%.17g", Lattice as the cell's rows,
 * stress as ASE's 3x3 matrix, momenta in ASE's units, fixed atoms as ASE's
 * move_mask:L:1 column (read back by ase.io.read as FixAtoms), free info
 * keys quoted and escaped as ase.io.extxyz expects. */
#include <errno.h>
#include <string.h>

#include "batchmd/elements.h"
#include "io/extxyz_internal.h"

/* Info keys that the frame itself writes: a free key of the same name is
 * dropped rather than written twice. */
static int written_by_frame(const char *key, const bmd_system *sys, const bmd_extxyz_write_opts *o) {
    static const char *const always[] = {"Lattice", "Properties", "pbc"};
    for (size_t k = 0; k < sizeof always / sizeof always[0]; k++)
        if (strcmp(key, always[k]) == 0) return 1;
    if (strcmp(key, "energy") == 0) return o->energy && sys->has_energy;
    if (strcmp(key, "stress") == 0) return o->stress && sys->has_stress;
    if (strcmp(key, "system_id") == 0) return o->system_id && sys->system_id >= 0;
    return 0;
}

static void put_vec(FILE *f, const double *v, int n) {
    for (int k = 0; k < n; k++) fprintf(f, k ? " %.17g" : "%.17g", v[k]);
}

/* A number of the info line: "%.17g", with ".0" added to an integral value
 * so that ASE reads a float (as it wrote it), not an int. */
static void put_info_real(FILE *f, double v) {
    char b[40];
    snprintf(b, sizeof b, "%.17g", v);
    fputs(b, f);
    if (strspn(b, "-0123456789") == strlen(b)) fputs(".0", f);
}

static void put_info_vec(FILE *f, const double *v, int n) {
    for (int k = 0; k < n; k++) {
        if (k) fputc(' ', f);
        put_info_real(f, v[k]);
    }
}

bmd_status bmd_extxyz_write_frame(FILE *f, const bmd_system *sys, bmd_units_kind units,
                                  const bmd_extxyz_write_opts *opts) {
    if (!f || !sys) return bmd__fail(BMD_ERR_INVALID, "bmd_extxyz_write_frame: NULL argument");
    bmd_extxyz_write_opts none;
    memset(&none, 0, sizeof none);
    const bmd_extxyz_write_opts *o = opts ? opts : &none;
    int n = sys->n_atoms;
    for (int i = 0; i < n; i++)
        if (sys->Z[i] < 1 || sys->Z[i] >= BMD_N_ELEMENTS)
            return bmd__fail(BMD_ERR_INVALID, "extxyz writer: atom %d has atomic number %d", i, sys->Z[i]);
    int masses = o->masses && sys->mass;
    int momenta = o->momenta && sys->vel;
    int forces = o->forces && sys->forces;
    int move_mask = bmd_system_n_fixed(sys) > 0; /* a property of the structure: always */
    double ase_time = bmd_units_get(units).ase_time;

    fprintf(f, "%d\n", n);
    int any_pbc = sys->pbc[0] || sys->pbc[1] || sys->pbc[2], any_cell = 0;
    for (int k = 0; k < 9; k++) any_cell |= sys->cell[k] != 0.0;
    if (any_pbc || any_cell) {
        fputs("Lattice=\"", f);
        put_info_vec(f, sys->cell, 9);
        fputs("\" ", f);
    }
    fprintf(f, "Properties=species:S:1:pos:R:3%s%s%s%s", masses ? ":masses:R:1" : "",
            momenta ? ":momenta:R:3" : "", move_mask ? ":move_mask:L:1" : "", forces ? ":forces:R:3" : "");
    if (o->energy && sys->has_energy) {
        fputs(" energy=", f);
        put_info_real(f, sys->energy);
    }
    if (o->stress && sys->has_stress) {
        /* ASE writes [[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]] in Fortran order. */
        const double *s = sys->stress;
        double m[9] = {s[0], s[5], s[4], s[5], s[1], s[3], s[4], s[3], s[2]};
        fputs(" stress=\"", f);
        put_info_vec(f, m, 9);
        fputc('"', f);
    }
    fprintf(f, " pbc=\"%c %c %c\"", sys->pbc[0] ? 'T' : 'F', sys->pbc[1] ? 'T' : 'F',
            sys->pbc[2] ? 'T' : 'F');
    if (o->system_id && sys->system_id >= 0) fprintf(f, " system_id=%lld", (long long)sys->system_id);
    if (o->info) {
        for (int k = 0; k < sys->info.n; k++) {
            const char *key = sys->info.keys[k];
            if (!*key || written_by_frame(key, sys, o)) continue;
            fputc(' ', f);
            bmd__xyz_put_token(f, key);
            fputc('=', f);
            bmd__xyz_put_token(f, sys->info.values[k]);
        }
    }
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        fputs(bmd_element_symbol(sys->Z[i]), f);
        fputc(' ', f);
        put_vec(f, sys->pos + 3 * i, 3);
        if (masses) fprintf(f, " %.17g", sys->mass[i]);
        if (momenta) {
            /* ASE's momenta: p = m v / ase_time (v in Å/fs). */
            double p[3];
            for (int d = 0; d < 3; d++) p[d] = sys->mass[i] * sys->vel[3 * i + d] / ase_time;
            fputc(' ', f);
            put_vec(f, p, 3);
        }
        if (move_mask) fputs(sys->fixed[i] ? " F" : " T", f); /* T: free to move */
        if (forces) {
            fputc(' ', f);
            put_vec(f, sys->forces + 3 * i, 3);
        }
        fputc('\n', f);
    }
    if (ferror(f)) return bmd__fail(BMD_ERR_IO, "extxyz writer: write error: %s", strerror(errno));
    return BMD_OK;
}
