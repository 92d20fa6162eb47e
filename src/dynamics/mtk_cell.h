/* mtk_cell.h — the cell side of the Martyna–Tobias–Klein barostat
 * (npt_mtk.c): the cell in LAMMPS's orientation, tensors and velocities in
 * it, and the half-step remap of the cell and the atoms.
 *
 * LAMMPS's barostat works on an upper-triangular cell matrix (columns a, b,
 * c: a along x, b in the xy plane) h = (xprd, yprd, zprd, yz, xz, xy) and an
 * upper-triangular strain rate ω̇ in the same Voigt order, ḣ = ω̇ h. A
 * batchmd cell may point anywhere. The barostat is written in the cell's
 * own frame: the orthonormal axes e1 = a/|a|, e2 in the ab plane towards b,
 * e3 completing them (Gram–Schmidt of a, b, c: H = R U, R = [e1 e2 e3] with
 * R^T R = 1, U upper-triangular with a positive diagonal; e3 follows c, so
 * a left-handed cell has det R = −1). In that frame the cell is LAMMPS's h;
 * ω̇, the pressure tensor and the velocities it scales are taken there, and
 * every update keeps U upper-triangular, so the frame does not turn during
 * a run: the same dynamics as LAMMPS's on the cell rotated into its
 * orientation, rotated back, with no change to the structure's orientation.
 * A cell already in LAMMPS's orientation (a = (ax, 0, 0), b = (bx, by, 0),
 * ax, by, cz > 0) has R = 1 exactly, and then every transform below is the
 * identity to the bit. Voigt order everywhere: xx yy zz yz xz xy. */
#ifndef BATCHMD_DYNAMICS_MTK_CELL_H
#define BATCHMD_DYNAMICS_MTK_CELL_H

typedef struct bmd__mtk_frame {
    double R[9]; /* R[3 i + j]: lab component i of axis e_(j+1) */
    double h[6]; /* the cell in the frame: xprd, yprd, zprd, yz, xz, xy */
} bmd__mtk_frame;

/* The frame of cell (rows a, b, c). Returns 0, or 1 when a, b and c do not
 * span a volume (then f is not set). */
int bmd__mtk_frame_of(const double *cell, bmd__mtk_frame *f);

/* R^T T R of the symmetric tensor t (Voigt, lab) into out (Voigt, frame). */
void bmd__mtk_tensor_to_frame(const bmd__mtk_frame *f, const double *t, double *out);

/* The half-step velocity update of LAMMPS's FixNH::nh_v_press on n atoms'
 * velocities v[3n] (lab): in the frame, v_i ← v_i s_i, then for a triclinic
 * barostat (tri != 0) v_x −= dthalf (v_y ω̇_xy + v_z ω̇_xz), v_y −= dthalf
 * v_z ω̇_yz, then v_i ← v_i s_i again (s_i = e^{−dt/4 (ω̇_i + mtk_term2)},
 * given in s[3]). */
void bmd__mtk_scale_velocities(const bmd__mtk_frame *f, double *v, int n, const double *s, const double *omegad,
                               double dthalf, int tri);

/* LAMMPS's FixNH::remap for a time dto: the frame's h evolves by ḣ = ω̇ h
 * (tri: the tilts by LAMMPS's symmetric splitting around the scaling of the
 * diagonal, both halves reading the lengths from before that scaling, as
 * LAMMPS's do: its domain->h is refreshed only after the remap; iso and
 * aniso: the diagonal scales by e^{ω̇_i dto} and each tilt
 * with the length it belongs to, LAMMPS's scalexy/scalexz/scaleyz, which
 * keeps tilts that are zero at zero), then the cell rows cell[9] and the n
 * atoms' positions x[3n] follow: x ← H_new H_old⁻¹ x (the atoms keep their
 * fractional coordinates; the origin stays fixed). f->h is updated. */
void bmd__mtk_remap(bmd__mtk_frame *f, double *cell, double *x, int n, const double *omegad, double dto, int tri);

#endif
