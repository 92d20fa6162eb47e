/* entry.c — main() of the batchmd executable (the command itself is
 * app_main, main.c, which the Python package runs too). */
#include "app.h"

int main(int argc, char **argv) { return app_main(argc, argv); }
