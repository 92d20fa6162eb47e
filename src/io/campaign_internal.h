/* campaign_internal.h — the pieces of the campaign reader shared between its
 * files (model section, input resolution, paths). Internal to src/io. */
#ifndef BATCHMD_CAMPAIGN_INTERNAL_H
#define BATCHMD_CAMPAIGN_INTERNAL_H

#include "batchmd/campaign.h"
#include "io/campaign_read.h"

/* dir + "/" + rel, or a copy of rel when it is absolute. NULL on no memory. */
char *bmd__campaign_path(const char *dir, const char *rel);
bmd_status bmd__campaign_read_model(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c);
bmd_status bmd__campaign_read_input(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c);

#endif
