/* STUB */
#include "tools/cli.h"
int bench_main(int argc, char **argv) { return 1; }
int report_main(int argc, char **argv) { return 1; }
