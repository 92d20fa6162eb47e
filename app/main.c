/* main.c — the batchmd command (placeholder until the app lands). */
#include <stdio.h>
#include "batchmd/batchmd.h"
int main(void) { printf("batchmd %s\n", bmd_version()); return 0; }
