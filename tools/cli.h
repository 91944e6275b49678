/* tools/cli.h — subcommands of build/probador; each returns the process exit code
   (0 success, 1 failure, 2 usage error) and prints compiler-style errors. */
#ifndef PROBADOR_TOOLS_CLI_H
#define PROBADOR_TOOLS_CLI_H

int bench_main(int argc, char **argv);
int report_main(int argc, char **argv);
int run_main(int argc, char **argv);
int plan_main(int argc, char **argv);
int record_main(int argc, char **argv);
int bench_train_main(int argc, char **argv);   /* bench --train */

/* The processes `run` trains on together (models/dist.h): set by the MPI build's
   main (tools/mpi/dist_mpi.c); NULL, the default, is this process alone. */
struct model_dist;
extern const struct model_dist *run_dist;

#endif
