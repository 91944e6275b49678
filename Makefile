# probador — build, test, benchmark and reproduce.  See README.md.
#
# Knobs (override on the command line):  make CC=clang TUNE=znver3
# Tests (make test):  T=conv,winograd  F='*tolerance*'  SAN=0  (see the test section)
.DELETE_ON_ERROR:
.SUFFIXES:

ifeq ($(origin CC),default)
CC := gcc
endif
ARCH    ?= x86-64-v3
TUNE    ?= generic
BUILD   ?= build
CFLAGS  ?= -O3 -g

# The build target, fixed so that every machine we run on computes the same
# bits (docs/DETERMINISM.md).  ARCH picks the instruction set: x86-64-v3 (AVX2
# + FMA), which every one of our CPUs runs -- one of our AMD EPYC machines has
# no AVX-512.  One set, not the host's: `native` would give each CPU its own
# code.  ARCH=x86-64-v4 (AVX-512) is an opt-in build with bits of its own.  The
# compiler's tuning (TUNE, or an -mtune in CFLAGS) may change scheduling but
# not results: the two tuning choices that decide floating-point results --
# the vector width the auto-vectoriser prefers and whether it avoids FMA
# chains -- are pinned after CFLAGS, as is FMA contraction itself.
ifneq ($(filter native,$(ARCH) $(TUNE)),)
$(warning ARCH/TUNE=native: results will differ from the committed ones on another CPU)
endif
PINNED_FLAGS := -ffp-contract=fast -mprefer-vector-width=512
ifeq ($(findstring clang,$(CC)),)
PINNED_FLAGS += --param=avoid-fma-max-bits=0
endif
TARGET_FLAGS  = -march=$(ARCH) -mtune=$(TUNE)

# The kernels compiled a second time for AVX-512 in the default build and picked
# at run time by the CPU (kernels/isa.h): written lane for lane, so that both
# copies compute the same bits (tests/test_isa.c; the max-pool's rows:
# tests/test_model.c; batch norm's lanes: tests/test_gradients.c).  The x86-64-v4
# build has one.
ISA_SRC := kernels/conv_winograd.c kernels/winograd_bw.c kernels/conv_direct.c models/layer_pool.c \
           models/bn_lanes.c
ifeq ($(ARCH),x86-64-v3)
ISA_FLAGS := -DPROBADOR_ISA_DISPATCH
ISA_OBJ   := $(ISA_SRC:%.c=%.avx512.o)
endif

# BLIS: Debian's OpenMP build, linked statically by full path so that no
# update-alternatives setting can swap in another flavour.  OpenMP because our
# own kernels use OpenMP too: one runtime, one thread pool, no oversubscription
# (see README.md, "Why BLIS's OpenMP build").
BLIS_INC := /usr/include/x86_64-linux-gnu/blis-openmp
BLIS_LIB := /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.a

WARN      := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(TARGET_FLAGS) -fopenmp \
             $(WARN) -MMD -MP -I. -isystem $(BLIS_INC) $(ISA_FLAGS) $(CFLAGS) $(PINNED_FLAGS)
# oneDNN (libdnnl-dev), the benchmark's peer: Debian's build, shared, on the
# same OpenMP runtime (libgomp) as BLIS and our kernels.
LDLIBS    := $(BLIS_LIB) -ldnnl -lcmocka -lyaml -lz -lm -lpthread
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

LIB_SRC  := $(sort $(wildcard kernels/*.c data/*.c models/*.c models/*/*.c))
CLI_MAIN := tools/probador.c
CLI_SRC  := $(filter-out $(CLI_MAIN) tools/mpi/%,$(sort $(wildcard tools/*.c tools/*/*.c)))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_LIB := $(sort $(filter-out $(TEST_SRC),$(wildcard tests/*.c)))

LIB      := $(BUILD)/libprobador.a
LIB_SAN  := $(BUILD)/san/libprobador.a
TOOLS    := $(BUILD)/libprobador_tools.a
TOOLS_SAN:= $(BUILD)/san/libprobador_tools.a
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TESTS_SAN:= $(TEST_SRC:tests/%.c=$(BUILD)/san/tests/%)

.PHONY: all deps san mpi bench-mpi test test-build test-run bench bench-shared peers plan test-cluster reproduce report clean format fuzz fuzz-deps fuzz-build fuzz-seeds
all: $(BUILD)/probador

# ---- objects ---------------------------------------------------------------
# Objects depend on the flags they were compiled with: changing ARCH, TUNE or
# CFLAGS rebuilds everything rather than linking objects of two targets.
FLAGS_STAMP := $(BUILD)/flags.txt
$(shell mkdir -p $(BUILD) && printf '%s\n' '$(CC) $(ALL_CFLAGS)' | cmp -s - $(FLAGS_STAMP) || \
        printf '%s\n' '$(CC) $(ALL_CFLAGS)' > $(FLAGS_STAMP))

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@
$(BUILD)/san/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(EXTRA_CFLAGS) -c $< -o $@
# the AVX-512 copies (ISA_SRC): the same flags, the instruction set last
$(BUILD)/obj/%.avx512.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -march=x86-64-v4 -DPROBADOR_ISA_AVX512 -c $< -o $@
$(BUILD)/san/obj/%.avx512.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -march=x86-64-v4 -DPROBADOR_ISA_AVX512 -c $< -o $@

$(LIB): $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(ISA_OBJ:%=$(BUILD)/obj/%)
	@rm -f $@
	ar rcs $@ $^
$(LIB_SAN): $(LIB_SRC:%.c=$(BUILD)/san/obj/%.o) $(ISA_OBJ:%=$(BUILD)/san/obj/%)
	@rm -f $@
	ar rcs $@ $^

# the subcommands, in their own library so the tests can call them
$(TOOLS): $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
$(TOOLS_SAN): $(CLI_SRC:%.c=$(BUILD)/san/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/probador: $(BUILD)/obj/$(CLI_MAIN:.c=.o) $(TOOLS) $(LIB)
	$(CC) $(ALL_CFLAGS) $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS) -o $@
# the program itself under ASan/UBSan (`make san`); the sanitised tests run it
$(BUILD)/san/probador: $(BUILD)/san/obj/$(CLI_MAIN:.c=.o) $(TOOLS_SAN) $(LIB_SAN)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS) -o $@
san: $(BUILD)/san/probador

# The MPI build (`make mpi`): the same objects, the same flags, the same bits, with
# a main that starts MPI and the exchange of models/dist.h over it.  Open MPI from
# Debian (libopenmpi-dev, openmpi-bin; installed here, never needed by the rest).
MPI_CFLAGS = $(shell mpicc --showme:compile)
MPI_LIBS   = $(shell mpicc --showme:link)
$(BUILD)/mpi/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) -DPROBADOR_MPI -c $< -o $@
$(BUILD)/mpi/probador: $(BUILD)/mpi/obj/$(CLI_MAIN:.c=.o) $(BUILD)/mpi/obj/tools/mpi/dist_mpi.o $(TOOLS) $(LIB)
	$(CC) $(ALL_CFLAGS) $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS) $(MPI_LIBS) -o $@
mpi:
	@$(MAKE) --no-print-directory deps DEPS_EXTRA="libopenmpi-dev openmpi-bin $(DEPS_EXTRA)"
	@$(MAKE) --no-print-directory $(BUILD)/mpi/probador

# objects before archives: a test may list more objects (test_fuzz_regressions, below)
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIB:%.c=$(BUILD)/obj/%.o) $(TOOLS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS) -o $@
$(BUILD)/san/tests/%: $(BUILD)/san/obj/tests/%.o $(TEST_LIB:%.c=$(BUILD)/san/obj/%.o) $(TOOLS_SAN) $(LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS) -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Results record the flags they were built with.
$(BUILD)/obj/models/train/env.o $(BUILD)/san/obj/models/train/env.o: EXTRA_CFLAGS = \
    -DPROBADOR_CFLAGS='"$(CC) -std=c11 $(TARGET_FLAGS) -fopenmp $(CFLAGS) $(PINNED_FLAGS)"' \
    -DPROBADOR_TARGET='"$(ARCH)"'

# ---- set-up ----------------------------------------------------------------
# DEPS_EXTRA: more Debian packages to install with the project's own
deps:
	@sh tools/scripts/deps.sh $(DEPS_EXTRA)

# ---- tests: the suite twice, optimised and under ASan/UBSan ------------------
# T=conv,winograd: only those binaries (tests/test_NAME.c; default: every one).
# F='*tolerance*': only the cases whose name matches (comma-separated shell
# patterns, passed as PROBADOR_TEST_FILTER; tests/testing.h).  SAN=0: the
# optimised build only.  `make test-list T=...` prints the case names.
SAN ?= 1
ifneq ($(SAN),0)
ifneq ($(SAN),1)
$(error SAN must be 1 (also run the sanitised build, the default) or 0 (skip it), got '$(SAN)')
endif
endif
comma      := ,
TEST_NAMES := $(TEST_SRC:tests/test_%.c=%)
TEST_PICK  := $(if $(T),$(patsubst test_%,%,$(subst $(comma), ,$(T))),$(TEST_NAMES))
ifneq ($(filter-out $(TEST_NAMES),$(TEST_PICK)),)
$(error T: no test named '$(filter-out $(TEST_NAMES),$(TEST_PICK))'; the tests are: $(TEST_NAMES))
endif
TESTS_PICKED     := $(filter $(TEST_PICK:%=$(BUILD)/tests/test_%),$(TESTS))
TESTS_SAN_PICKED := $(if $(filter 1,$(SAN)),$(filter $(TEST_PICK:%=$(BUILD)/san/tests/test_%),$(TESTS_SAN)))

test: deps
	@$(MAKE) --no-print-directory test-build
	@$(MAKE) --no-print-directory test-run
test-build: $(TESTS_PICKED) $(TESTS_SAN_PICKED) $(BUILD)/probador $(if $(filter 1,$(SAN)),$(BUILD)/san/probador)
# test_build_target builds the program again: with this build's ARCH and CFLAGS
test-run:
	@PROBADOR_ARCH='$(ARCH)' PROBADOR_CFLAGS='$(CFLAGS)' PROBADOR_TEST_FILTER='$(F)' \
	    sh tools/scripts/run_tests.sh $(TESTS_PICKED) $(TESTS_SAN_PICKED)
# the names of the cases `make test` would run (with F: those it picks), running none
.PHONY: test-list
test-list: $(TESTS_PICKED)
	@for t in $^; do echo "== $$t"; PROBADOR_TEST_LIST=1 PROBADOR_TEST_FILTER='$(F)' $$t || exit 1; done

# ---- benchmarks, experiments and reports ------------------------------------
# PROFILE=full (default): the committed results under reports/.  PROFILE=quick:
# the same pipeline on a small slice (probador run --quick, a small benchmark)
# into reports/quick/ and reports/results-quick/, never touching the full results.
PROFILE ?= full
ifeq ($(PROFILE),full)
RESULTS     := reports/results
REPORTS     := reports
BENCH_FLAGS :=
TRAIN_FLAGS :=
RUN_FLAGS   :=
else ifeq ($(PROFILE),quick)
RESULTS     := reports/results-quick
REPORTS     := reports/quick
BENCH_FLAGS := --batch 8 --reps 3 --warmup 1 --max-seconds 0.2 --quiet-wait 0
TRAIN_FLAGS := --batch 8 --reps 3 --quiet-wait 0
RUN_FLAGS   := --quick
else
$(error PROFILE must be full or quick, got '$(PROFILE)')
endif

EXPERIMENTS := $(sort $(wildcard experiments/*.yaml))
EXP_NAMES   := $(EXPERIMENTS:experiments/%.yaml=%)
PROBADOR    := $(BUILD)/probador

bench: deps
	@$(MAKE) --no-print-directory $(PROBADOR)
	@mkdir -p $(REPORTS)/data
	$(PROBADOR) bench $(BENCH_FLAGS) --out $(REPORTS)/data/kernels.csv
	$(PROBADOR) bench --train $(TRAIN_FLAGS) --out $(REPORTS)/data/train.csv

# One run over 2 MPI processes against one process (docs/PERFORMANCE.md, "One
# run over several processes"); on an idle machine, about 4 minutes.
bench-mpi: mpi
	@$(MAKE) --no-print-directory $(PROBADOR)
	sh tools/scripts/mpi_scaling.sh reports/data/mpi.csv

# How a training step fares beside another process (wait policies, thread
# counts, the thread governor): docs/PERFORMANCE.md, "Sharing the cores".
bench-shared: deps
	@$(MAKE) --no-print-directory $(PROBADOR)
	sh tools/scripts/shared_cores.sh $(PROBADOR) reports/data/shared_cores.csv

# Benchmarks rerun when the library changed since their CSV (make's rule); each
# experiment runs `probador run --all --if-stale`, which skips a run whose saved
# resolved configuration equals the one it would run now (contents, not times).
# Experiments are independent targets, safe under make -j (each writes its own
# folders; summary.csv updates are locked); they wait for the benchmarks so
# that nothing else competes for the cores while those are timed.
#
# LAUNCHER=slurm or parallel runs the experiments through Slurm job arrays or
# GNU parallel instead (tools/launch/; SLURM_FLAGS, PARALLEL_FLAGS pass their
# options), from the same plan (`make plan`), then renders the reports; the
# benchmarks stay `make bench`'s.
LAUNCHER ?= make
reproduce: deps
	@$(MAKE) --no-print-directory $(PROBADOR)
ifeq ($(LAUNCHER),make)
	@$(MAKE) --no-print-directory reproduce-all
else ifeq ($(LAUNCHER),slurm)
	sh tools/launch/slurm.sh --profile $(PROFILE) $(SLURM_FLAGS)
else ifeq ($(LAUNCHER),parallel)
	sh tools/launch/parallel.sh --profile $(PROFILE) $(PARALLEL_FLAGS)
else
	$(error LAUNCHER must be make, slurm or parallel, got '$(LAUNCHER)')
endif

# The launchers on real engines: a single-node Slurm cluster and GNU parallel run
# the quick profile, compared byte for byte with the committed quick results
# (tools/scripts/test_cluster.sh; root, about 12 minutes).
test-cluster: deps
	sh tools/scripts/test_cluster.sh

# The runs `make reproduce` would execute now, one self-contained command line
# each, stage by stage (a fine-tuning after its source): what the launchers run.
plan: $(PROBADOR)
	@$(PROBADOR) plan $(EXPERIMENTS) --all-stale --results $(RESULTS) $(RUN_FLAGS) 2>/dev/null

reproduce-all: $(REPORTS)/README.md

$(REPORTS)/data/kernels.csv: $(LIB) | $(PROBADOR)
	@mkdir -p $(@D)
	$(PROBADOR) bench $(BENCH_FLAGS) --out $@
$(REPORTS)/data/train.csv: $(LIB) | $(PROBADOR) $(REPORTS)/data/kernels.csv
	$(PROBADOR) bench --train $(TRAIN_FLAGS) --out $@
$(REPORTS)/kernels.md: $(REPORTS)/data/kernels.csv $(REPORTS)/data/train.csv tools/report/kernels.md.in $(wildcard tools/report/*.gp) | $(PROBADOR)
	$(PROBADOR) report kernels --csv $< --out $@

EXP_TARGETS := $(EXP_NAMES:%=experiment-%)
$(EXP_TARGETS): experiment-%: experiments/%.yaml | $(PROBADOR) $(REPORTS)/data/train.csv
	$(PROBADOR) run $< --all --if-stale --results $(RESULTS) $(RUN_FLAGS)
	$(PROBADOR) report experiment $< --results $(RESULTS) --out-dir $(REPORTS)

# fine-tuning starts from the pretraining experiment's checkpoint
experiment-transfer: experiment-pretrain
# a report that compares with another experiment (report.versus) reads its runs
experiment-resnet20: experiment-cnn

# PyTorch's accuracy on the short Adam recipe of cnn_adam and resnet20_adam
# (tools/bench/torch_accuracy.py, one seed per model, about 30 minutes on 2
# cores), which their reports set beside probador's (report.pytorch_peer).  Run
# when a result is missing, never because of a file's time (a fresh clone
# reruns nothing; delete a run's folder to rerun it).  Full profile only: the
# quick reports have no PyTorch section.
PYTHON       ?= /usr/bin/python3
PEER_MODELS  := cnn resnet20
PEER_RESULTS := $(PEER_MODELS:%=reports/results/peers/pytorch/%/seed0/result.csv)
# (under make reproduce, after the benchmarks, which want the cores to themselves)
reports/results/peers/pytorch/%/seed0/result.csv: $(if $(filter reproduce-all,$(MAKECMDGOALS)),| $(REPORTS)/data/train.csv)
	$(PYTHON) tools/bench/torch_accuracy.py --model $* --out $(@D)
peers: deps
	@$(MAKE) --no-print-directory $(PEER_RESULTS)
ifeq ($(PROFILE),full)
experiment-cnn_adam: | reports/results/peers/pytorch/cnn/seed0/result.csv
experiment-resnet20_adam: | reports/results/peers/pytorch/resnet20/seed0/result.csv
endif

# the index last: it links every report
$(REPORTS)/README.md: $(REPORTS)/kernels.md $(EXP_TARGETS) FORCE
	$(PROBADOR) report index --results $(RESULTS) --out-dir $(REPORTS)

# Re-render every report from the results already there; runs nothing.
report: $(PROBADOR)
	$(PROBADOR) report kernels --csv $(REPORTS)/data/kernels.csv --out $(REPORTS)/kernels.md
	@for e in $(EXPERIMENTS); do n=$$(basename $$e .yaml); \
	    if [ ! -d $(RESULTS)/$$n ]; then echo "report: $(RESULTS)/$$n: no results yet, so no $(REPORTS)/$$n.md; make reproduce runs them" >&2; continue; fi; \
	    $(PROBADOR) report experiment $$e --results $(RESULTS) --out-dir $(REPORTS) 2>/dev/null; rc=$$?; \
	    if [ $$rc = 3 ]; then echo "report: $$n is still under way (runs without results), so $(REPORTS)/$$n.md is left as it is; make reproduce finishes it" >&2; \
	    elif [ $$rc != 0 ]; then $(PROBADOR) report experiment $$e --results $(RESULTS) --out-dir $(REPORTS); exit 1; fi; done
	$(PROBADOR) report index --results $(RESULTS) --out-dir $(REPORTS)

# The reproducibility check: rerun the quick profile from scratch and compare its
# deterministic result files, byte for byte, with the committed quick results.
verify: deps
	@$(MAKE) --no-print-directory $(PROBADOR)
	@sh tools/scripts/verify.sh $(PROBADOR) reports/results-quick $(BUILD)/verify $(EXPERIMENTS)

FORCE:
.PHONY: reproduce-all verify FORCE $(EXP_TARGETS)

# ---- fuzzing: libFuzzer harnesses in tests/fuzz/ (see docs/FUZZING.md) -------
# Each harness runs FUZZ_SECONDS on its own working corpus build/fuzz/corpus/NAME
# (seeded from tests/fuzz/corpus/NAME); findings land in build/fuzz/crashes/NAME/.
# make -j2 fuzz runs two harnesses at once.  clang builds everything here: the
# library with -fsanitize=fuzzer-no-link, the harnesses linked with libFuzzer.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_RSS_MB  ?= 2048
FUZZ_PKGS    := clang-14 libclang-rt-14-dev libomp-14-dev
FUZZ_NAMES   := idx config checkpoint csv
FUZZ_DIR     := $(BUILD)/fuzz
# the harness functions, also compiled into tests/test_fuzz_regressions
FUZZ_SRC     := tests/fuzz/fuzz_common.c $(FUZZ_NAMES:%=tests/fuzz/fuzz_%.c)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_RUNS    := $(FUZZ_NAMES:%=fuzz-run-%)

ifeq ($(shell echo '$(FUZZ_SECONDS) $(FUZZ_TIMEOUT) $(FUZZ_RSS_MB)' | grep -Ex '[1-9][0-9]* [1-9][0-9]* [1-9][0-9]*'),)
$(error FUZZ_SECONDS, FUZZ_TIMEOUT and FUZZ_RSS_MB must be whole numbers of seconds and MB, got '$(FUZZ_SECONDS)', '$(FUZZ_TIMEOUT)', '$(FUZZ_RSS_MB)')
endif

$(BUILD)/tests/test_fuzz_regressions: $(FUZZ_SRC:%.c=$(BUILD)/obj/%.o)
$(BUILD)/san/tests/test_fuzz_regressions: $(FUZZ_SRC:%.c=$(BUILD)/san/obj/%.o)

$(FUZZ_DIR)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(filter-out --param%,$(ALL_CFLAGS)) $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(EXTRA_CFLAGS) -c $< -o $@
$(FUZZ_DIR)/obj/tests/fuzz/%.o: EXTRA_CFLAGS = -DPROBADOR_LIBFUZZER
$(FUZZ_DIR)/libprobador.a: $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(CLI_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/obj/tests/fuzz/fuzz_common.o $(FUZZ_DIR)/libprobador.a
	$(FUZZ_CC) $(filter-out --param%,$(ALL_CFLAGS)) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(filter-out -lcmocka,$(LDLIBS)) -o $@
# regenerates tests/fuzz/corpus/ (commit the result)
$(FUZZ_DIR)/gen_seeds: $(BUILD)/obj/tests/fuzz/gen_seeds.o $(BUILD)/obj/tests/fuzz/fuzz_common.o \
                       $(BUILD)/obj/tests/fuzz/fuzz_checkpoint.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

fuzz-deps:
	@sh tools/scripts/deps.sh $(FUZZ_PKGS) $(DEPS_EXTRA)
fuzz-build: $(FUZZ_BINS)
fuzz-seeds: $(FUZZ_DIR)/gen_seeds
	$(FUZZ_DIR)/gen_seeds tests/fuzz/corpus
fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-build
	@$(MAKE) --no-print-directory fuzz-campaign
fuzz-campaign: $(FUZZ_RUNS)
	@sh tools/scripts/fuzz.sh summary $(FUZZ_DIR) $(FUZZ_NAMES)
$(FUZZ_RUNS): fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@sh tools/scripts/fuzz.sh run $(FUZZ_DIR) $* $(FUZZ_SECONDS) $(FUZZ_TIMEOUT) $(FUZZ_RSS_MB)
.PHONY: fuzz-campaign $(FUZZ_RUNS)

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) $(TEST_LIB) $(wildcard */*.h */*/*.h) $(wildcard tests/fuzz/*.[ch])
clean:
	rm -rf $(BUILD)
