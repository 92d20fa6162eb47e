/* pipeline.h — stages on MPI ranks: the `|` of a campaign's pipeline.
 *
 * A pipeline maps one (fused) stage to each MPI rank and links the ranks:
 * each rank names its prior rank (which hands it systems; -1: it reads the
 * dataset) and its next rank (to which it hands the systems that leave its
 * stage; -1: it writes `final` and `failed`). A chain 0 -> 1 -> ... -> n-1
 * is the campaign's "a | b | c"; several chains in one job (0 -> 1 and
 * 2 -> 3) are independent sub-pipelines, each with its own dataset and
 * sinks. This header is MPI-free: all of MPI lives in src/flow/pipeline_mpi.c
 * (a build without MPI runs one-rank pipelines only).
 *
 * Each rank runs the inflight loop of bmd_run_inflight on its own batch and
 * budget (max_atoms, max_systems, refill_every). One round = one refill
 * cycle:
 *   1. systems that left the stage (done, or taken out) leave the batch: on
 *      the last rank to the sinks; otherwise packed into the hand-over
 *      buffer while it has room — the excess stays in the batch as no-ops
 *      (status = exit code, never stepped) until a later round;
 *   2. the buffer goes to the next rank: exactly ONE message per link per
 *      round, empty if nothing left, flagged `done` on the last one (the
 *      source is exhausted and the batch empty);
 *   3. the message of the prior rank is received into the rank's park (see
 *      the modes below); the park's systems enter the batch first come,
 *      first served, while they fit its budget, the rest waits in the park;
 *      the first rank admits from the dataset with the size-aware sampler;
 *   4. refill_every steps of the stage.
 * A rank ends after sending (or, last, receiving) the `done` message, so a
 * rank whose input is empty (0 structures, or fewer than ranks) still ends.
 *
 * Back-pressure: a message that carries systems is sent synchronously (it
 * completes only when the next rank has posted the matching receive), and
 * a rank posts its next receive only while its park holds fewer than two
 * messages with systems (sync mode: only once its park is empty): a slow
 * consumer holds its producer, whose graduates wait as no-ops in its batch,
 * which then admits nothing new. Nothing is dropped or duplicated: a system
 * is in exactly one batch, buffer or park at any time. (In the async modes
 * an empty message is sent in standard mode: tiny, it completes at once, so
 * a producer never waits for its consumer's current step just to say that
 * nothing left this round.)
 *
 * Comm modes (bmd_comm_mode):
 *   SYNC         blocking receive before the round's steps whenever the
 *                park is empty; blocking send;
 *   ASYNC_RECV   the receive is posted early (while the park has room, see
 *                above), tested after every step, and completed (waited
 *                for) only when the systems are needed: the park is empty
 *                and nothing in the batch is live (the rank would idle);
 *                blocking send (the default);
 *   FULLY_ASYNC  as ASYNC_RECV, and the send is non-blocking too: it is
 *                tested after every step and completed at the next round,
 *                before the buffer is packed again.
 * synchronized != 0 (debugging): every rank receives every round (its park
 * may then hold more than one message), all ranks meet at a barrier after
 * every step (refill_every barriers a round, stepping or not) and agree
 * after each round's exchange (all-reduce) whether all are done, so the
 * ranks move in lockstep and end in the same round.
 * Waiting is polite in every mode: a rank blocked on a neighbour tests
 * its request and sleeps in between (10 µs to 0.1 ms), leaving the core to
 * the ranks that compute.
 * debug != 0, or env BATCHMD_PIPELINE_DEBUG=1 (campaign: batch.debug): one
 * line per round and rank on stderr ("bmd-pipe[rank] round R: ...":
 * systems that left the stage, packed, held back; the buffer's fill sent
 * (systems/atoms of its capacity, bytes, the done flag); messages, systems
 * and atoms received; the park; admitted; the batch), a line for each
 * step in which systems left the stage, and at the end of the run one line
 * per rank ("bmd-pipe[rank] waits: ...") with the seconds it spent blocked
 * in sends and in receives, and its stepping time. (campaign:
 * batch.synchronized for the synchronized mode.)
 *
 * Hand-over buffer: a fixed capacity, the same on both sides of a link
 * (checked at setup), computed from (buffer_systems, buffer_atoms) by
 * bmd_pipeline_buffer_bytes:
 *   header and a column table (names, widths) of at most
 *   BMD_HANDOVER_MAX_COLUMNS per-system columns;
 *   per system: system_id, atom count, status (enters the next stage, or
 *   taken out), cell, pbc, energy, stress and their valid flags, then
 *   positions, velocities, forces, masses, atomic numbers and fixed flags
 *   (batch.h's BMD_FIXED_COLUMN) of its atoms,
 *   its column values, and its free info keys as text;
 *   per system at most BMD_HANDOVER_COLUMN_DOUBLES doubles of column
 *   values (every system of a message carries the same columns), and a
 *   pool of BMD_HANDOVER_INFO_BYTES bytes of info text per buffer system,
 *   shared by the buffer's systems (64 systems may carry 64 KiB of info in
 *   all; a system whose info alone exceeds the pool can never be handed
 *   over: the run fails naming it).
 * Columns that travel: every per-system column except a sub-stage's private
 * state, which the next stage re-creates on entry ("stage.*" and the
 * dynamics' "<type>.<index>.<what>"): steps.S and converged.S among them,
 * so the last rank writes steps_S / converged_S for every stage. Per-atom
 * columns (private state too) do not travel.
 * Only the used part of the buffer is sent; the receive side always has
 * the full capacity.
 *
 * Failed systems (taken out on any rank) travel down the chain with their
 * status and reason, so the last rank writes every system exactly once to
 * `final` or `failed`. */
#ifndef BATCHMD_PIPELINE_H
#define BATCHMD_PIPELINE_H

#include "dynamics.h"
#include "flow.h"
#include "model.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hand-over buffer budgets (see above). */
#define BMD_HANDOVER_MAX_COLUMNS 64
#define BMD_HANDOVER_COLUMN_DOUBLES 128 /* per system */
#define BMD_HANDOVER_INFO_BYTES 1024   /* per buffer system, pooled */

typedef enum bmd_comm_mode { BMD_COMM_SYNC = 0, BMD_COMM_ASYNC_RECV = 1, BMD_COMM_FULLY_ASYNC = 2 } bmd_comm_mode;

/* "sync" | "async_recv" | "fully_async" -> mode; -1 when unknown. */
int bmd_comm_mode_parse(const char *name);
const char *bmd_comm_mode_name(bmd_comm_mode mode);

/* ---- the MPI environment (no-ops without MPI) ---- */
/* 1 when this library was built with MPI. */
int bmd_pipeline_mpi_available(void);
/* 1 when the process was started by an MPI launcher (mpirun, mpiexec,
 * srun: OMPI_COMM_WORLD_SIZE, PMI_SIZE/PMI_RANK, PMIX_RANK or
 * MV2_COMM_WORLD_SIZE in the environment); env BATCHMD_MPI=1 / 0 forces it. */
int bmd_pipeline_launched(void);
/* The world size the launcher announced (1 when not launched). */
int bmd_pipeline_launched_size(void);
/* Initializes MPI unless already initialized (argc/argv may be NULL).
 * Without MPI: BMD_ERR_UNSUPPORTED with a message. */
bmd_status bmd_pipeline_init(int *argc, char ***argv);
/* Finalizes MPI if bmd_pipeline_init initialized it. */
void bmd_pipeline_finalize(void);
/* This process's rank and the world size (0 and 1 without MPI or before init). */
int bmd_pipeline_world_rank(void);
int bmd_pipeline_world_size(void);
/* Collective over the world: every rank passes its own status; returns
 * BMD_OK when all are BMD_OK, else the first failing rank's status (with a
 * message naming that rank on the ranks that did not fail; a failing rank
 * keeps its own message). *first_bad (may be NULL) receives that rank or -1. */
bmd_status bmd_pipeline_agree(bmd_status mine, int *first_bad);

/* Collective over the world: returns when every rank has called it (a
 * no-op in a world of one). A command calls it after printing its last
 * message, so that a launcher that stops the job at the first rank's
 * non-zero exit does not cut the others' messages off. */
bmd_status bmd_pipeline_barrier(void);

/* ---- the pipeline ---- */
typedef struct bmd_pipeline_node {
    int prior; /* rank handing systems to this one; -1: this rank reads the dataset */
    int next;  /* rank this one hands systems to; -1: this rank writes the sinks */
} bmd_pipeline_node;

/* nodes[0..n) for the chain 0 -> 1 -> ... -> n-1. */
void bmd_pipeline_chain(bmd_pipeline_node *nodes, int n);

typedef struct bmd_pipeline_options {
    long buffer_systems, buffer_atoms; /* hand-over buffer (>= 1 each) */
    bmd_comm_mode comm;
    int synchronized; /* lockstep with a barrier after every step (debugging) */
    int debug;        /* per-round log on stderr (also BATCHMD_PIPELINE_DEBUG=1) */
    /* Names of every stage of this rank's chain in pipeline order, for the
     * last rank's steps_S / converged_S and per-stage counts (NULL: this
     * rank's own sub-stages). Borrowed: must outlive the pipeline. */
    const char *const *stage_names;
    int n_stage_names;
} bmd_pipeline_options;

typedef struct bmd_pipeline bmd_pipeline;

/* Collective over the world (every rank calls it with the same nodes,
 * indexed by rank). ds: the dataset on a first rank (prior -1), else
 * ignored; run: this rank's batch budget. Checks, with one exchange, that
 * n == the world size, that the links agree (a's next is b iff b's prior is
 * a; no cycles), that both sides of every link have the same buffer
 * (systems, atoms, bytes), that every rank uses the same comm mode and
 * synchronized setting, and that the largest structure of each chain's
 * dataset fits its buffer and every batch budget of its chain. On failure
 * every rank gets BMD_ERR_INVALID and a message saying what and where. */
bmd_status bmd_pipeline_create(const bmd_pipeline_node *nodes, int n, const bmd_pipeline_options *popt,
                               const bmd_dataset *ds, const bmd_run_options *run, bmd_pipeline **out);
void bmd_pipeline_destroy(bmd_pipeline *p); /* NULL is a no-op; not collective */
int bmd_pipeline_rank(const bmd_pipeline *p);
int bmd_pipeline_is_first(const bmd_pipeline *p);
int bmd_pipeline_is_last(const bmd_pipeline *p);

/* Runs this rank's part (collective: every rank calls it). st: this rank's
 * stage (its index offset set: bmd_stage_set_index_offset); ds: read on a
 * first rank only; final/failed: written on a last rank only (NULL drops).
 * opt: as for bmd_run_inflight (ordered applies on the last rank).
 * stats: this rank's (total = the chain's dataset size; done/failed count
 * what this rank wrote, so they are 0 except on a last rank). Ends on
 * every rank when all systems have left the last rank; an error on one
 * rank (a model error, a full disk) ends every rank within about a step:
 * the failing rank tells every other rank at once (a notice, one per rank
 * and run, checked after every step), the links drain so that no rank
 * waits forever, and the others return BMD_ERR_RUNTIME naming the failing
 * rank ("rank 1 failed (see its message); rank 0 stops"). Without
 * checkpoints (bmd_pipeline_checkpoint_setup), opt->stop set on a rank is
 * such an error there ("interrupted by a stop request"), as in
 * bmd_run_inflight. */
bmd_status bmd_pipeline_run(bmd_pipeline *p, bmd_stage *st, bmd_model *m, const bmd_dataset *ds,
                            const bmd_run_options *opt, bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats);

/* Checkpoints of a pipeline (checkpoint.h), collective: every rank passes
 * its own checkpoint object (created with the same path on every rank) and
 * the same resume flag. Each rank keeps its files of the last two
 * generations of the pipeline's consistent cuts, PATH.rankR.a and
 * PATH.rankR.b (header: rank R of N). resume: every rank reads its files,
 * all agree on the newest generation complete on every rank, load it
 * (*resuming = 1; bmd_pipeline_run then continues from it: outputs
 * truncated back to its committed lengths) and delete the other; when some
 * rank has none, the run starts from the beginning (*resuming = 0).
 * Without resume (and when starting from the beginning) every rank's files
 * are deleted. A file from another campaign, version, input, rank count
 * (or a corrupt one) on any rank: every rank gets the error (BMD_ERR_INVALID
 * or BMD_ERR_PARSE; the others' message names that rank). Not available
 * with synchronized (BMD_ERR_UNSUPPORTED). bmd_pipeline_run then writes a
 * checkpoint every every_s seconds, and when opt->stop is set on any rank:
 * a cut on every rank, after which every rank returns BMD_OK with
 * bmd_checkpoint_stopped(ck) set. */
struct bmd_checkpoint;
bmd_status bmd_pipeline_checkpoint_setup(bmd_pipeline *p, struct bmd_checkpoint *ck, int resume, int *resuming);

/* After bmd_pipeline_run: sums over all ranks (atom_steps, loop_steps, done,
 * failed, started), the largest wall time (seconds) and total. */
typedef struct bmd_pipeline_totals {
    long total, done, failed;
    double atom_steps, seconds;
    long messages; /* hand-over messages sent, all links */
    double bytes;  /* hand-over bytes sent, all links */
} bmd_pipeline_totals;
bmd_status bmd_pipeline_get_totals(const bmd_pipeline *p, bmd_pipeline_totals *out);

/* Capacity in bytes of a hand-over buffer of (systems, atoms). */
size_t bmd_pipeline_buffer_bytes(long systems, long atoms);

#ifdef __cplusplus
}
#endif

#endif
