/* extxyz.h — extended XYZ, compatible with ASE's ase.io.extxyz.
 *
 * Reading: a file is indexed once (byte offset, line number and atom count of
 * every frame) so any frame and its size are available without parsing the
 * others. Frames carry Lattice, pbc, Properties (species or Z, pos, masses,
 * momenta or velocities, forces, move_mask: ASE's FixAtoms, or FixCartesian
 * fixing whole atoms), energy, stress and free info keys (kept).
 * Malformed input fails with a message "FILE:LINE: what was wrong (expected
 * ...)" and BMD_ERR_PARSE.
 *
 * Units: positions Å; `velocities` column in Å/fs (lj: σ/τ); `momenta`
 * column in ASE's units (p = m v / ase_time, see units.h); the system's vel
 * is always in Å/fs. Masses default to ASE's standard masses (metal) or 1 (lj).
 *
 * Writing: ASE-readable frames with 17 significant digits (round trip);
 * a structure with fixed atoms gets a move_mask:L:1 column (F: fixed),
 * which ase.io.read turns back into FixAtoms. */
#ifndef BATCHMD_EXTXYZ_H
#define BATCHMD_EXTXYZ_H

#include <stdint.h>
#include <stdio.h>
#include "status.h"
#include "system.h"
#include "units.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmd_extxyz_index bmd_extxyz_index;

/* Scans `path` once and records every frame. Fails (BMD_ERR_IO / PARSE, with
 * file:line) on an unreadable file, a bad atom-count line or a truncated
 * frame. An empty file gives an index with 0 frames. */
bmd_status bmd_extxyz_index_open(const char *path, bmd_extxyz_index **out);
void bmd_extxyz_index_close(bmd_extxyz_index *ix); /* NULL is a no-op */
long bmd_extxyz_index_frames(const bmd_extxyz_index *ix);
int bmd_extxyz_index_atoms(const bmd_extxyz_index *ix, long frame);  /* -1 if out of range */
long bmd_extxyz_index_line(const bmd_extxyz_index *ix, long frame);  /* 1-based line of its count line */
const char *bmd_extxyz_index_path(const bmd_extxyz_index *ix);

/* Parses frame `frame` into *out (overwritten). out->source/line are set;
 * out->system_id is left -1 (the dataset assigns it). */
bmd_status bmd_extxyz_read_frame(const bmd_extxyz_index *ix, long frame, bmd_units_kind units,
                                 bmd_system *out);

/* Convenience: reads every frame of a file. *frames is a malloc'd array of
 * *n systems, each to be freed with bmd_system_free, then free(*frames). */
bmd_status bmd_extxyz_read_all(const char *path, bmd_units_kind units, bmd_system **frames, long *n);

/* What to write besides species, positions and cell. */
typedef struct bmd_extxyz_write_opts {
    int forces;     /* per-atom forces, if sys->forces */
    int momenta;    /* per-atom momenta (ASE units), if sys->vel */
    int masses;     /* per-atom masses column */
    int energy;     /* energy=, if has_energy */
    int stress;     /* stress="..." (9 values, as ASE), if has_stress */
    int system_id;  /* system_id=, if >= 0 */
    int info;       /* the free info keys */
} bmd_extxyz_write_opts;

/* Appends one frame to f. */
bmd_status bmd_extxyz_write_frame(FILE *f, const bmd_system *sys, bmd_units_kind units,
                                  const bmd_extxyz_write_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
