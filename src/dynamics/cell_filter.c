/* cell_filter.c — owns the generalized coordinates of cell_filter.h:
 * without a filter, the atoms' positions and forces as they are. */
#include "dynamics/cell_filter.h"

#include <string.h>

void bmd__cellf_enter(const double *cellpar, const bmd_batch *b, int s,
                      double *state) {
  (void)cellpar;
  memset(state, 0, BMD__CELLF_STATE_WIDTH * sizeof(double));
  memcpy(state, b->cell + 9 * (size_t)s, 9 * sizeof(double));
}

void bmd__cellf_get_positions(const double *cellpar, const double *state,
                              const bmd_batch *b, int s, double *x) {
  (void)cellpar;
  (void)state;
  memcpy(x, b->pos + 3 * (size_t)b->atom_start[s],
         3 * (size_t)b->atom_count[s] * sizeof(double));
}

void bmd__cellf_get_forces(const double *cellpar, const double *state,
                           const bmd_batch *b, int s, const bmd_units *u,
                           double *f) {
  (void)cellpar;
  (void)state;
  (void)u;
  memcpy(f, b->force + 3 * (size_t)b->atom_start[s],
         3 * (size_t)b->atom_count[s] * sizeof(double));
}

void bmd__cellf_set_positions(const double *cellpar, const double *state,
                              bmd_batch *b, int s, const double *x) {
  (void)cellpar;
  (void)state;
  memcpy(b->pos + 3 * (size_t)b->atom_start[s], x,
         3 * (size_t)b->atom_count[s] * sizeof(double));
}
