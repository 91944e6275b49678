/* tools/probador.c — the command-line program: `probador SUBCOMMAND [options]`. */
#include <stdio.h>
#include <string.h>

#include "kernels/conv.h"
#include "kernels/isa.h"
#include "tools/cli.h"
#ifdef PROBADOR_MPI
#include "tools/mpi/dist_mpi.h"
#endif

typedef struct subcommand {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
} subcommand;

static const subcommand subcommands[] = {
    { "bench", "time the convolution kernels on the layers of the registered models", bench_main },
    { "run", "train and evaluate one experiment (one variant, one seed)", run_main },
    { "plan", "print the command line of every run of experiments, for make, GNU parallel or Slurm", plan_main },
    { "record", "write the summary.csv rows of finished run folders copied in from elsewhere", record_main },
    { "report", "render a Markdown report with gnuplot charts from result CSVs", report_main },
};
enum { NUM_SUBCOMMANDS = sizeof subcommands / sizeof subcommands[0] };

static void usage(FILE *f)
{
    fprintf(f, "usage: probador SUBCOMMAND [options]   (probador SUBCOMMAND --help for its options)\n\n");
    for (int i = 0; i < NUM_SUBCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    char err[256];
    if (conv_cpu_check(err, sizeof err) || isa_check_env(err, sizeof err)) {
        /* a clear word rather than an illegal instruction */
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (int i = 0; i < NUM_SUBCOMMANDS; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "probador: error: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

/* The MPI build (make mpi: build/mpi/probador) trains one run over every process
   mpirun started (models/dist.h); its other subcommands run as in each process alone. */
int main(int argc, char **argv)
{
#ifdef PROBADOR_MPI
    run_dist = dist_mpi_start(&argc, &argv);
    const int rc = dispatch(argc, argv);
    dist_mpi_stop(rc);
    return rc;
#else
    return dispatch(argc, argv);
#endif
}
