/* cell_filter.h — internal: variable-cell relaxation for the optimizers, as
 * ASE's cell filters (ase.constraints.UnitCellFilter and ExpCellFilter of
 * ASE 3.22; FrechetCellFilter of newer ASE): an optimizer works on one
 * system's generalized coordinates of dimension
 *
 *     dim = 3N          (no filter: the positions, and the forces)
 *     dim = 3N + 9      (a filter: the filter's N + 3 rows of
 *                        get_positions() / get_forces(), row-major)
 *
 * and takes ASE's steps on them: get_positions(x), get_forces(f) at the
 * current evaluation, then set_positions(x_new), which moves the atoms and
 * the cell. Every optimizer appends the `cell:` group's parameters
 * (BMD__CELL_PARAM_DESCS) to its own, in that order, and hands the
 * filter a pointer to them in the system's parameter row.
 *
 * Per-system state (the cell at entry, ASE's orig_cell; a filter's own
 * numbers) lives in a per-system column of width BMD__CELLF_STATE_WIDTH
 * that the optimizer creates ("<type>.<substage>.cell") and passes in.
 *
 * An optimizer with a filter (fire.c, fire2.c show how): its constructor
 * calls bmd__cellf_check and, when the filter is not none, sets d->needs =
 * BMD_NEEDS_VIRIAL | BMD_MOVES_CELL; enter() calls bmd__cellf_enter per
 * system; each step gets the forces and positions, steps, and sets the
 * positions (a reason returned takes the system out with bmd_stage_fail);
 * ops.force_residual gives bmd__cellf_fmax2 of the filter's forces (ASE's
 * converged() on the filter: the atoms' rows and the cell's under fmax).
 * The formulas, per filter, are in cell_filter.c. */
#ifndef BATCHMD_DYNAMICS_CELL_FILTER_H
#define BATCHMD_DYNAMICS_CELL_FILTER_H

#include "dynamics/dynamics_internal.h"

/* the filters (the `cell.filter` parameter's value) */
enum { BMD__CELL_NONE = 0, BMD__CELL_UNIT, BMD__CELL_EXP, BMD__CELL_FRECHET };
#define BMD__CELL_FILTER_WORDS "none|unit|exp|frechet"

/* offsets of the `cell:` parameters in the block an optimizer appends */
enum {
  BMD__CELLP_FILTER,
  BMD__CELLP_PRESSURE,
  BMD__CELLP_MASK,
  BMD__CELLP_HYDROSTATIC,
  BMD__CELLP_CONSTANT_VOLUME,
  BMD__CELLP_FACTOR,
  BMD__CELLP_STRESS, /* 6: the target stress xx yy zz yz xz xy */
  BMD__CELLP_N = BMD__CELLP_STRESS + 6
};

#define BMD__CELL_STRESS_DESC(item_)                                           \
  {.name = "stress_" item_, .unit = "bar", .def = 0, .group = "cell",          \
   .kind = BMD_PARAM_ITEM, .choices = "xx|yy|zz|yz|xz|xy",                     \
   .doc = "target stress, ASE's sign (tension > 0; pressure P is −P on "       \
          "xx, yy, zz) (bar; lj: ε/σ³)"}

/* The descriptors of the `cell:` group, in BMD__CELLP_* order. */
#define BMD__CELL_PARAM_DESCS                                                  \
  {.name = "filter",                                                           \
   .unit = "",                                                                 \
   .def = BMD__CELL_NONE,                                                      \
   .group = "cell",                                                            \
   .kind = BMD_PARAM_CHOICE,                                                   \
   .choices = BMD__CELL_FILTER_WORDS,                                          \
   .doc = "relax the cell too: unit (ASE's UnitCellFilter), exp "              \
          "(ExpCellFilter), frechet (FrechetCellFilter)"},                     \
      {.name = "pressure",                                                     \
       .unit = "bar",                                                          \
       .def = 0,                                                               \
       .group = "cell",                                                        \
       .doc = "target hydrostatic pressure (bar; lj: ε/σ³)"},                  \
      {.name = "mask",                                                         \
       .unit = "",                                                             \
       .def = 63,                                                              \
       .group = "cell",                                                        \
       .kind = BMD_PARAM_MASK,                                                 \
       .choices = "xx|yy|zz|yz|xz|xy",                                         \
       .doc =                                                                  \
           "the strain components that relax (ASE's mask; default all six)"},  \
      {.name = "hydrostatic",                                                  \
       .unit = "",                                                             \
       .def = 0,                                                               \
       .group = "cell",                                                        \
       .kind = BMD_PARAM_BOOL,                                                 \
       .stage_only = 1,                                                        \
       .doc = "only hydrostatic strain (ASE's hydrostatic_strain)"},           \
      {.name = "constant_volume",                                              \
       .unit = "",                                                             \
       .def = 0,                                                               \
       .group = "cell",                                                        \
       .kind = BMD_PARAM_BOOL,                                                 \
       .stage_only = 1,                                                        \
       .doc = "keep the volume (ASE's constant_volume)"},                      \
      {.name = "cell_factor", .unit = "", .def = NAN, .optional = 1,           \
       .group = "cell", BMD__RANGE(0, INFINITY, 1, "a factor > 0"),            \
       .doc = "scale of the cell's coordinates, unit and frechet (absent: "    \
              "the number of atoms, ASE's default)"},                          \
      BMD__CELL_STRESS_DESC("xx"), BMD__CELL_STRESS_DESC("yy"),                \
      BMD__CELL_STRESS_DESC("zz"), BMD__CELL_STRESS_DESC("yz"),                \
      BMD__CELL_STRESS_DESC("xz"), BMD__CELL_STRESS_DESC("xy")

/* Per-system state: ASE's orig_cell (the cell at entry), rows a, b, c. */
#define BMD__CELLF_STATE_WIDTH 16

/* The filter of a parameter row's `cell:` block (BMD__CELL_NONE ... ). */
static inline int bmd__cellf_kind(const double *cellpar) {
  return (int)cellpar[BMD__CELLP_FILTER];
}
/* dim of a system of n atoms under that filter: 3n, or 3n + 9. */
static inline int bmd__cellf_dim(const double *cellpar, int n) {
  return 3 * n + (bmd__cellf_kind(cellpar) != BMD__CELL_NONE ? 9 : 0);
}
/* ASE's converged() on generalized forces f[dim]: the largest squared row
 * (NaN when any row is: numpy's max propagates it). */
static inline double bmd__cellf_fmax2(const double *f, int dim) {
  double m = 0;
  for (int i = 0; i + 2 < dim; i += 3) {
    double f2 = f[i] * f[i] + f[i + 1] * f[i + 1] + f[i + 2] * f[i + 2];
    if (isnan(f2)) return f2;
    if (f2 > m) m = f2;
  }
  return m;
}

/* ops.force_residual of every filtered optimizer (ASE's converged() on the
 * filter): fmax2[s], for the masked systems, = the largest squared row of
 * the filter's forces, NAN when the filter cannot give them (the next
 * pre_update takes the system out with the reason). par: the optimizer's
 * parameter column (npar per system, the `cell:` block at cell_offset);
 * state: its filter-state column (BMD__CELLF_STATE_WIDTH per system);
 * work: at least 3 N + 9 doubles for the largest masked system. */
void bmd__cellf_residuals(const bmd_batch *b, const unsigned char *mask, const double *par, int npar, int cell_offset,
                          const double *state, const bmd_units *u, double *work, double *fmax2);

/* The stage's `cell:` values of an optimizer (its constructor's check):
 * BMD_ERR_INVALID with a message naming `type` when a value cannot be
 * honoured (a `cell:` key other than filter without a filter; cell_factor
 * with exp, which has none). */
bmd_status bmd__cellf_check(const double *cellpar, const char *type);

/* A system s starting the optimizer: records ASE's orig_cell into
 * state[BMD__CELLF_STATE_WIDTH]. Returns NULL, or the reason to take the
 * system out (a per-structure value the filter cannot use, a cell without
 * stress). */
const char *bmd__cellf_enter(const double *cellpar, const bmd_batch *b, int s,
                             double *state);
/* x[dim]: the filter's get_positions() of system s. Returns NULL, or the
 * reason to take the system out ("cell_degenerate": the cell turned over,
 * or has no real logarithm of its deformation). */
const char *bmd__cellf_get_positions(const double *cellpar,
                                     const double *state, const bmd_batch *b,
                                     int s, double *x);
/* f[dim]: the filter's get_forces() of system s (the forces, and with a
 * filter the cell rows from the stress). Returns NULL, or the reason to
 * take the system out ("no_stress": the evaluation gave none;
 * "cell_degenerate" as above). */
const char *bmd__cellf_get_forces(const double *cellpar, const double *state,
                                  const bmd_batch *b, int s,
                                  const bmd_units *u, double *f);
/* The filter's set_positions(x[dim]): moves system s's atoms (and cell). */
void bmd__cellf_set_positions(const double *cellpar, const double *state,
                              bmd_batch *b, int s, const double *x);

#endif
