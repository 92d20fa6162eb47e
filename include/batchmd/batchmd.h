/* batchmd.h — the umbrella header of libbatchmd: include this one.
 * batchmd advances many atomistic systems of different sizes at once:
 * a live batch (batch.h), models (model.h), dynamics, stages and hooks
 * (dynamics.h), neighbor edges for graph models (edges.h), extended XYZ
 * input and output (extxyz.h), and pipelines of stages across MPI ranks
 * (pipeline.h). */
#ifndef BATCHMD_H
#define BATCHMD_H

#define BMD_VERSION_MAJOR 0
#define BMD_VERSION_MINOR 1
#define BMD_VERSION_PATCH 0
#define BMD_VERSION_STRING "0.1.0"

#include "batch.h"
#include "campaign.h"
#include "cuda.h"
#include "checkpoint.h"
#include "dynamics.h"
#include "edges.h"
#include "elements.h"
#include "extxyz.h"
#include "flow.h"
#include "h5md.h"
#include "hooks.h"
#include "model.h"
#include "model_eam.h"
#include "model_kim.h"
#include "model_plugin.h"
#include "model_python.h"
#include "pipeline.h"
#include "rng.h"
#include "status.h"
#include "system.h"
#include "timers.h"
#include "units.h"

/* The library's version string, e.g. "0.1.0" (may differ from the header's
 * when linked against another build). */
const char *bmd_version(void);

#endif
