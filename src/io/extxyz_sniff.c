/* extxyz_sniff.c — owns telling a file that is not (extended) XYZ at all
 * from a broken extended XYZ file, so that a POSCAR, a LAMMPS data file, a
 * CIF, an ASE trajectory... is named as such, with the ASE call that
 * converts it, instead of being reported as a bad atom count. Judged on the
 * file's first lines (its magic bytes, or key words and shapes of the
 * format), then on well-known names (POSCAR, CONTCAR; .data .lmp .cif
 * .vasp .pdb .traj ...). A file whose first line is an atom count is XYZ
 * (plain XYZ is extended XYZ without a Lattice, as ASE reads it), unless
 * its next lines have a POSCAR's shape. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "io/extxyz_internal.h"

#define SNIFF_LINES 40
#define SNIFF_WIDTH 256
#define SNIFF_BYTES (1L << 20)

typedef struct {
    const char *what; /* "a LAMMPS data file" */
    const char *read; /* arguments of ase.io.read after the path */
    const char *note; /* what to adapt in that call, or NULL */
} format;

static const format VASP = {"a VASP POSCAR/CONTCAR file", "format=\"vasp\"", NULL},
                    LAMMPS_DATA = {"a LAMMPS data file", "format=\"lammps-data\", style=\"atomic\", Z_of_type={1: 29}",
                                   "Z_of_type maps each atom type to its atomic number, here type 1 to Cu; "
                                   "without it ASE reads type 1 as hydrogen"},
                    LAMMPS_DUMP = {"a LAMMPS dump file", "\":\", format=\"lammps-dump-text\"", NULL},
                    CIF = {"a CIF file", "\":\", format=\"cif\"", NULL},
                    PDB = {"a PDB file", "\":\", format=\"proteindatabank\"", NULL},
                    TRAJ = {"an ASE trajectory (.traj)", "\":\"", NULL},
                    JSON = {"a JSON file (an ASE database?)", "\":\"", NULL},
                    ASE_DB = {"an ASE database", "\":\"", NULL},
                    CFG = {"an AtomEye CFG file", "format=\"cfg\"", NULL},
                    ESPRESSO = {"a Quantum ESPRESSO input file", "format=\"espresso-in\"", NULL},
                    XSF = {"an XCrySDen XSF file", "format=\"xsf\"", NULL},
                    HDF5 = {"an HDF5 file (an H5MD trajectory?)", "\":\", format=\"h5md\"", NULL},
                    NETCDF = {"a NetCDF file (an AMBER trajectory?)", "\":\", format=\"netcdftrajectory\"", NULL},
                    GZIP = {"a gzip-compressed file", NULL, NULL}, BZIP2 = {"a bzip2-compressed file", NULL, NULL},
                    XZ = {"an xz-compressed file", NULL, NULL}, ZIP = {"a zip archive", NULL, NULL};

typedef struct {
    char line[SNIFF_LINES][SNIFF_WIDTH];
    int n;
    unsigned char head[8]; /* the first bytes */
    size_t n_head;
} sniffed;

static void read_head(FILE *f, sniffed *s) {
    memset(s, 0, sizeof *s);
    s->n_head = fread(s->head, 1, sizeof s->head, f);
    rewind(f);
    char buf[SNIFF_WIDTH];
    long budget = SNIFF_BYTES; /* a binary file may have no newline for gigabytes */
    while (s->n < SNIFF_LINES && budget > 0 && fgets(buf, sizeof buf, f)) {
        size_t len = strlen(buf);
        int whole = len > 0 && buf[len - 1] == '\n';
        budget -= (long)len;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
        memcpy(s->line[s->n++], buf, len + 1);
        if (!whole) { /* a longer line (an info line): skip its rest */
            int c;
            while (budget-- > 0 && (c = fgetc(f)) != EOF && c != '\n') {
            }
        }
    }
    rewind(f);
}

static const char *skip_space(const char *p) {
    while (*p && isspace((unsigned char)*p)) p++;
    return p;
}

static int starts(const char *line, const char *word) { return strncmp(skip_space(line), word, strlen(word)) == 0; }

static int starts_nocase(const char *line, const char *word) {
    return strncasecmp(skip_space(line), word, strlen(word)) == 0;
}

/* Number of reals on the line; -1 when something else is on it. */
static int reals(const char *line) {
    double v[4];
    return bmd__xyz_reals(line, v, 4);
}

static int is_count(const char *line) {
    const char *p = skip_space(line), *e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1])) e--;
    long n;
    return e > p && bmd__xyz_int(p, (size_t)(e - p), 0, BMD__XYZ_MAX_ATOMS, &n);
}

/* A POSCAR after its comment line: a scale (one real, or three), then the
 * three cell vectors. */
static int poscar_shape(const sniffed *s) {
    if (s->n < 5) return 0;
    int scale = reals(s->line[1]);
    return (scale == 1 || scale == 3) && reals(s->line[2]) == 3 && reals(s->line[3]) == 3 &&
           reals(s->line[4]) == 3;
}

/* "N atoms" (optionally followed by a comment), LAMMPS's header line. */
static int lammps_atoms_line(const char *line) {
    const char *p = skip_space(line);
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    if (!isspace((unsigned char)*p)) return 0;
    p = skip_space(p);
    if (strncmp(p, "atoms", 5) != 0) return 0;
    p = skip_space(p + 5);
    return *p == '\0' || *p == '#';
}

static const format *by_content(const sniffed *s) {
    const unsigned char *h = s->head;
    if (s->n_head >= 4 && memcmp(h, "\x89HDF", 4) == 0) return &HDF5;
    if (s->n_head >= 3 && memcmp(h, "CDF", 3) == 0) return &NETCDF;
    if (s->n_head >= 2 && h[0] == 0x1f && h[1] == 0x8b) return &GZIP;
    if (s->n_head >= 3 && memcmp(h, "BZh", 3) == 0) return &BZIP2;
    if (s->n_head >= 6 && memcmp(h, "\xfd" "7zXZ", 5) == 0) return &XZ;
    if (s->n_head >= 4 && memcmp(h, "PK\x03\x04", 4) == 0) return &ZIP;
    if (s->n_head >= 8 && memcmp(h, "- of Ulm", 8) == 0) return &TRAJ;
    if (s->n_head >= 6 && memcmp(h, "SQLite", 6) == 0) return &ASE_DB;
    int first = 0;
    while (first < s->n && !*skip_space(s->line[first])) first++;
    if (first == s->n) return NULL;
    if (first == 0 && is_count(s->line[0])) return poscar_shape(s) ? &VASP : NULL;
    const char *l1 = skip_space(s->line[first]);
    if (*l1 == '{' || *l1 == '[') return &JSON;
    if (starts(l1, "ITEM: TIMESTEP")) return &LAMMPS_DUMP;
    if (starts(l1, "Number of particles")) return &CFG;
    for (int i = first; i < s->n; i++) {
        const char *l = s->line[i];
        if (starts(l, "data_") || starts(l, "_cell_length") || starts(l, "loop_")) return &CIF;
        if (starts(l, "CRYST1") || starts(l, "ATOM  ") || starts(l, "HETATM") || starts(l, "HEADER")) return &PDB;
        if (starts_nocase(l, "&control") || starts(l, "ATOMIC_POSITIONS")) return &ESPRESSO;
        if (starts(l, "CRYSTAL") || starts(l, "PRIMVEC") || starts(l, "ANIMSTEPS")) return &XSF;
        if (lammps_atoms_line(l) || strstr(l, "xlo xhi")) return &LAMMPS_DATA;
    }
    return first == 0 && poscar_shape(s) ? &VASP : NULL;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static const format *by_name(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!strncmp(base, "POSCAR", 6) || !strncmp(base, "CONTCAR", 7) || ends_with(base, ".vasp") ||
        ends_with(base, ".poscar"))
        return &VASP;
    static const struct {
        const char *ext;
        const format *f;
    } ext[] = {{".data", &LAMMPS_DATA}, {".lmp", &LAMMPS_DATA}, {".lammps", &LAMMPS_DATA},
               {".lammpstrj", &LAMMPS_DUMP}, {".dump", &LAMMPS_DUMP}, {".cif", &CIF}, {".pdb", &PDB},
               {".traj", &TRAJ}, {".json", &JSON}, {".db", &ASE_DB}, {".cfg", &CFG}, {".pwi", &ESPRESSO},
               {".xsf", &XSF}, {".h5", &HDF5}, {".h5md", &HDF5}, {".nc", &NETCDF}, {".gz", &GZIP},
               {".bz2", &BZIP2}, {".xz", &XZ}, {".zip", &ZIP}};
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++)
        if (ends_with(base, ext[k].ext)) return ext[k].f;
    return NULL;
}

bmd_status bmd__xyz_sniff(const char *path, FILE *f) {
    sniffed s;
    read_head(f, &s);
    const format *fmt = by_content(&s);
    if (!fmt && s.n > 0 && !is_count(s.line[0])) fmt = by_name(path);
    if (!fmt) return BMD_OK;
    if (!fmt->read)
        return bmd__fail(BMD_ERR_UNSUPPORTED,
                         "%s: not extended XYZ (it looks like %s); batchmd reads extended XYZ: decompress it, or "
                         "convert it with ASE (ase.io.read, then ase.io.write with format=\"extxyz\")",
                         path, fmt->what);
    return bmd__fail(BMD_ERR_UNSUPPORTED,
                     "%s: not extended XYZ (it looks like %s); batchmd reads extended XYZ: convert it with ASE, "
                     "e.g. python3 -c 'import ase.io; ase.io.write(\"in.extxyz\", ase.io.read(\"%s\", %s))'%s%s%s",
                     path, fmt->what, path, fmt->read, fmt->note ? " (" : "", fmt->note ? fmt->note : "",
                     fmt->note ? ")" : "");
}
