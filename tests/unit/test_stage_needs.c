/* test_stage_needs.c — what a dynamics may ask of the stage (dynamics.h):
 * the virial every step (BMD_NEEDS_VIRIAL), a cell re-check after an update
 * that moved it (BMD_MOVES_CELL: a degenerate cell quarantines that system
 * alone), a per-system failure or a run-stopping error from pre_update, an
 * optimizer's generalized forces deciding fmax convergence
 * (force_residual); and the catalogue's ranges and kinds
 * (bmd_param_out_of_range, per-structure overrides). The model is the
 * analytic harmonic one (tests/support/harmonic_model.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka needs the four above first) */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support/harmonic_model.h"

static const bmd_units *metal(void) {
  static bmd_units u;
  u = bmd_units_get(BMD_UNITS_METAL);
  return &u;
}

/* n atoms 2 Å apart along x in a periodic 10 x 11 x 12 Å box. */
static void add_system(bmd_batch *b, int n, long id) {
  double x[3 * 8], x0[3 * 8];
  for (int i = 0; i < n; i++)
    for (int d = 0; d < 3; d++) {
      x0[3 * i + d] = d == 0 ? 2.0 * i : 1.0;
      x[3 * i + d] =
          x0[3 * i + d] + 0.1 * sin(1.0 + 3.0 * i + d + 0.37 * (double)id);
    }
  int s = harmonic_append(b, n, 39.948, x, x0, NULL, id);
  double cell[9] = {10, 0, 0, 0, 11, 0, 0, 0, 12};
  memcpy(b->cell + 9 * (size_t)s, cell, sizeof cell);
  b->pbc[3 * s] = b->pbc[3 * s + 1] = b->pbc[3 * s + 2] = 1;
}

/* ---- a probe dynamics whose behaviour the test sets ---- */
typedef struct probe {
  long collapse_id; /* system_id whose cell it flattens in pre_update (-1: none)
                     */
  long fail_id;     /* system_id it takes out in pre_update (-1: none) */
  bmd_status error; /* what pre_update returns */
  double residual2; /* force_residual: this for every system */
  int saw_stress;   /* pre_update saw stress_valid for every masked system */
} probe;

static bmd_status probe_enter(void *self, bmd_batch *b,
                              const unsigned char *enter,
                              const bmd_step_info *si) {
  (void)self, (void)b, (void)enter, (void)si;
  return BMD_OK;
}
static bmd_status probe_pre(void *self, bmd_batch *b, const unsigned char *mask,
                            const bmd_step_info *si) {
  (void)si;
  probe *p = self;
  p->saw_stress = 1;
  for (int s = 0; s < b->n_systems; s++) {
    if (!mask[s])
      continue;
    p->saw_stress &= b->stress_valid[s];
    b->pos[3 * b->atom_start[s]] += 1e-3;
    if (b->system_id[s] == p->collapse_id)
      memset(b->cell + 9 * (size_t)s + 3, 0, 3 * sizeof(double));
    if (b->system_id[s] == p->fail_id)
      bmd_stage_fail(b, s, "probe_failed");
  }
  return p->error;
}
static bmd_status probe_residual(void *self, bmd_batch *b,
                                 const unsigned char *mask, double *fmax2,
                                 const bmd_step_info *si) {
  (void)si;
  probe *p = self;
  for (int s = 0; s < b->n_systems; s++)
    if (mask[s])
      fmax2[s] = p->residual2;
  return BMD_OK;
}
static void probe_destroy(void *self) { (void)self; }

static const bmd_dynamics_ops probe_ops = {.type = "probe",
                                           .enter = probe_enter,
                                           .pre_update = probe_pre,
                                           .destroy = probe_destroy};
static const bmd_dynamics_ops probe_opt_ops = {.type = "probe",
                                               .enter = probe_enter,
                                               .pre_update = probe_pre,
                                               .destroy = probe_destroy,
                                               .force_residual =
                                                   probe_residual};

static bmd_dynamics *probe_new(probe *p, const bmd_dynamics_ops *ops,
                               unsigned needs) {
  bmd_dynamics *d = calloc(1, sizeof *d);
  d->ops = ops;
  d->self = p;
  d->needs = needs;
  return d;
}

static bmd_stage *stage_with(bmd_dynamics *d, double fmax, long max_steps) {
  bmd_stage *st;
  assert_int_equal(bmd_stage_create(metal(), 1, &st), BMD_OK);
  bmd_convergence c = {fmax, 0, max_steps};
  assert_int_equal(bmd_stage_add(st, "probe", d, &c), BMD_OK);
  return st;
}

/* A dynamics that needs the virial gets the stress at every evaluation,
 * without anyone calling bmd_stage_want_stress; it stays asked for when
 * someone turns stress off. */
static void test_needs_virial(void **state) {
  (void)state;
  bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
  bmd_batch *b;
  bmd_batch_create(&b);
  for (int s = 0; s < 2; s++)
    add_system(b, 3, s);
  probe p = {-1, -1, BMD_OK, 0, 0};
  bmd_stage *st = stage_with(probe_new(&p, &probe_ops, BMD_NEEDS_VIRIAL), 0, 3);
  bmd_stage_want_stress(st, 0);
  assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
  assert_true(p.saw_stress);
  assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
  assert_true(p.saw_stress && b->stress_valid[0] && b->stress_valid[1]);
  /* the stress is the model's virial over the volume (harmonic_model.h) */
  static double w[12];
  bmd_compute_request req = {NULL, NULL, NULL, w, NULL};
  m->ops->compute(m->self, b, &req);
  for (int k = 0; k < 6; k++)
    assert_true(fabs(b->stress[6 + k] - w[6 + k] / 1320.0) <=
                1e-15 * fabs(w[6 + k]) + 1e-300);
  bmd_stage_destroy(st);
  bmd_batch_destroy(b);
  harmonic_model_free(m);
}

/* A dynamics that moves cells: the one whose cell it flattens leaves as
 * cell_degenerate before it is evaluated; the others go on. Without
 * BMD_MOVES_CELL the stage does not look (the model then refuses it). */
static void test_moved_cell_quarantine(void **state) {
  (void)state;
  harmonic_model *h;
  bmd_model *m = harmonic_model_new(1.0, 0.5, &h);
  bmd_batch *b;
  bmd_batch_create(&b);
  for (int s = 0; s < 3; s++)
    add_system(b, 3, s);
  probe p = {1, -1, BMD_OK, 0, 0};
  bmd_stage *st = stage_with(probe_new(&p, &probe_ops, BMD_MOVES_CELL), 0, 4);
  assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
  assert_int_equal(b->status[1], BMD_STATUS_FAILED);
  assert_string_equal(bmd_info_get(&b->info[1], "status"), "cell_degenerate");
  assert_false(h->last_mask[1]); /* not evaluated after the collapse */
  assert_true(h->last_mask[0] && h->last_mask[2]);
  assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
  assert_int_equal(b->status[0], 1);
  assert_int_equal(b->status[2], 1);
  bmd_stage_destroy(st);
  bmd_batch_destroy(b);
  harmonic_model_free(m);
}

/* pre_update takes one system out (the rest go on), or returns an error
 * (the step stops with it). */
static void test_pre_update_failures(void **state) {
  (void)state;
  harmonic_model *h;
  bmd_model *m = harmonic_model_new(1.0, 0.5, &h);
  bmd_batch *b;
  bmd_batch_create(&b);
  for (int s = 0; s < 3; s++)
    add_system(b, 3, s);
  probe p = {-1, 2, BMD_OK, 0, 0};
  bmd_stage *st = stage_with(probe_new(&p, &probe_ops, 0), 0, 2);
  assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
  assert_int_equal(b->status[2], BMD_STATUS_FAILED);
  assert_string_equal(bmd_info_get(&b->info[2], "status"), "probe_failed");
  assert_int_equal(b->status[0], 1);
  assert_int_equal(b->status[1], 1);
  bmd_stage_destroy(st);

  p.fail_id = -1;
  p.error = BMD_ERR_BUDGET;
  st = stage_with(probe_new(&p, &probe_ops, 0), 0, 2);
  for (int s = 0; s < 2; s++)
    b->status[s] = 0;
  assert_int_equal(bmd_stage_step(st, b, m), BMD_ERR_BUDGET);
  bmd_stage_destroy(st);
  bmd_batch_destroy(b);
  harmonic_model_free(m);
}

/* fmax convergence follows the optimizer's generalized forces: with a
 * residual above fmax² nothing converges although the atoms' forces are
 * tiny; with one below it every system converges at step 0. */
static void test_force_residual(void **state) {
  (void)state;
  bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
  for (int pass = 0; pass < 2; pass++) {
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int s = 0; s < 2; s++)
      add_system(b, 3, s);
    probe p = {-1, -1, BMD_OK, pass ? 1e-6 : 4.0, 0};
    /* fmax 1 eV/Å: the harmonic forces (≈ 0.1 eV/Å) are below it */
    bmd_stage *st = stage_with(probe_new(&p, &probe_opt_ops, 0), 1.0, 3);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    int c = bmd_stage_converged_column(st, b, 0),
        k = bmd_stage_steps_column(st, b, 0);
    for (int s = 0; s < 2; s++) {
      assert_true(bmd_batch_column_data(b, c)[s] == pass);
      assert_true(bmd_batch_column_data(b, k)[s] == (pass ? 0 : 3));
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
  }
  harmonic_model_free(m);
}

/* The catalogue's ranges: what bmd_param_out_of_range accepts, and a
 * per-structure override outside them takes that system out. */
static void test_param_ranges(void **state) {
  (void)state;
  const bmd_dynamics_type *nh = bmd_dynamics_find("nvt_nose_hoover");
  const bmd_param_desc *chain = bmd_dynamics_param(nh, "chain"),
                       *T = bmd_dynamics_param(nh, "temperature");
  assert_non_null(chain);
  assert_null(bmd_param_out_of_range(chain, 3));
  assert_non_null(bmd_param_out_of_range(chain, 11));
  assert_non_null(bmd_param_out_of_range(chain, 2.5));
  assert_null(bmd_param_out_of_range(T, 300));
  assert_non_null(bmd_param_out_of_range(T, 0)); /* Nosé–Hoover needs T > 0 */
  assert_non_null(bmd_param_out_of_range(T, NAN));
  const bmd_param_desc *Tl =
      bmd_dynamics_param(bmd_dynamics_find("nvt_langevin"), "temperature");
  assert_null(bmd_param_out_of_range(Tl, 0)); /* Langevin at 0 K is fine */
  assert_null(bmd_dynamics_param(nh, "bogus"));
  int n = 0;
  const bmd_dynamics_type *const *all = bmd_dynamics_types(&n);
  for (int i = 0; i < n; i++) {
    assert_non_null(all[i]->py_name);
    for (int j = 0; j < i; j++)
      assert_string_not_equal(all[i]->type, all[j]->type);
    for (int k = 0; k < all[i]->n_params; k++)
      if (!(all[i]->params[k].optional && isnan(all[i]->params[k].def)) &&
          !isnan(all[i]->params[k].def))
        assert_null(
            bmd_param_out_of_range(&all[i]->params[k], all[i]->params[k].def));
  }

  bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
  bmd_batch *b;
  bmd_batch_create(&b);
  for (int s = 0; s < 3; s++)
    add_system(b, 3, s);
  bmd_info_set(&b->info[0], "chain", "11");
  bmd_info_set(&b->info[1], "temperature", "-5");
  const char *names[] = {"dt", "temperature"};
  double vals[] = {1.0, 300.0};
  bmd_dynamics *d = NULL;
  assert_int_equal(bmd_dynamics_create("nvt_nose_hoover", names, vals, 2, &d),
                   BMD_OK);
  bmd_stage *st = stage_with(d, 0, 2);
  assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
  assert_string_equal(bmd_info_get(&b->info[0], "status"),
                      "invalid_param_chain");
  assert_string_equal(bmd_info_get(&b->info[1], "status"),
                      "invalid_param_temperature");
  assert_int_equal(b->status[2], 1);
  bmd_stage_destroy(st);
  bmd_batch_destroy(b);
  harmonic_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_needs_virial),
      cmocka_unit_test(test_moved_cell_quarantine),
      cmocka_unit_test(test_pre_update_failures),
      cmocka_unit_test(test_force_residual),
      cmocka_unit_test(test_param_ranges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
