/* campaign_internal.h — the pieces of the campaign reader shared between its
 * files (model section, input resolution, paths). Internal to src/io. */
#ifndef BATCHMD_CAMPAIGN_INTERNAL_H
#define BATCHMD_CAMPAIGN_INTERNAL_H

#include "batchmd/campaign.h"
#include "core/paths.h" /* bmd__path_suffixed: the default failed path */
#include "io/campaign_read.h"

/* dir + "/" + rel, or a copy of rel when it is absolute. NULL on no memory. */
char *bmd__campaign_path(const char *dir, const char *rel);
bmd_status bmd__campaign_read_model(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c);
bmd_status bmd__campaign_read_input(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c);
/* NULL when x is a value stage parameter `name` of dynamics `type` accepts,
 * otherwise what is expected ("a time step > 0"); the one table that both
 * the campaign's stages and the inputs' per-structure overrides obey. */
const char *bmd__campaign_param_out_of_range(const char *type, const char *name, double x);

#endif
