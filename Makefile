# probador — build, test, benchmark and reproduce.  See README.md.
#
# Knobs (override on the command line):  make CC=clang THREADS=1 ARCH=x86-64-v3
.DELETE_ON_ERROR:
.SUFFIXES:

ifeq ($(origin CC),default)
CC := gcc
endif
THREADS ?= 2
ARCH    ?= native
BUILD   ?= build
CFLAGS  ?= -O3 -g

ifeq ($(filter-out 1 2 3 4 5 6 7 8,$(THREADS)),)
else
$(error THREADS must be a number of threads from 1 to 8, got '$(THREADS)')
endif

# BLIS: Debian's OpenMP build, linked statically by full path so that no
# update-alternatives setting can swap in another flavour.  OpenMP because our
# own kernels use OpenMP too: one runtime, one thread pool, no oversubscription
# (see README.md, "Why BLIS's OpenMP build").
BLIS_INC := /usr/include/x86_64-linux-gnu/blis-openmp
BLIS_LIB := /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.a

WARN      := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -march=$(ARCH) -fopenmp -ffp-contract=fast \
             $(WARN) -MMD -MP -I. -isystem $(BLIS_INC) $(CFLAGS)
LDLIBS    := $(BLIS_LIB) -lcmocka -lyaml -lz -lm -lpthread
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

LIB_SRC  := $(sort $(wildcard kernels/*.c data/*.c models/*.c))
CLI_MAIN := tools/probador.c
CLI_SRC  := $(filter-out $(CLI_MAIN),$(sort $(wildcard tools/*.c)))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_LIB := $(sort $(filter-out $(TEST_SRC),$(wildcard tests/*.c)))

LIB      := $(BUILD)/libprobador.a
LIB_SAN  := $(BUILD)/san/libprobador.a
TOOLS    := $(BUILD)/libprobador_tools.a
TOOLS_SAN:= $(BUILD)/san/libprobador_tools.a
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TESTS_SAN:= $(TEST_SRC:tests/%.c=$(BUILD)/san/tests/%)

.PHONY: all deps test test-build test-run bench reproduce report clean format
all: $(BUILD)/probador

# ---- objects ---------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@
$(BUILD)/san/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(EXTRA_CFLAGS) -c $< -o $@

$(LIB): $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
$(LIB_SAN): $(LIB_SRC:%.c=$(BUILD)/san/obj/%.o)
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
	$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIB:%.c=$(BUILD)/obj/%.o) $(TOOLS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/san/tests/%: $(BUILD)/san/obj/tests/%.o $(TEST_LIB:%.c=$(BUILD)/san/obj/%.o) $(TOOLS_SAN) $(LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $^ $(LDLIBS) -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Results record the flags they were built with.
$(BUILD)/obj/tools/env.o $(BUILD)/san/obj/tools/env.o: EXTRA_CFLAGS = -DPROBADOR_CFLAGS='"$(CC) -std=c11 -march=$(ARCH) -fopenmp -ffp-contract=fast $(CFLAGS)"'

# ---- set-up ----------------------------------------------------------------
deps:
	@sh tools/deps.sh

# ---- tests: the suite twice, optimised and under ASan/UBSan ------------------
test: deps
	@$(MAKE) --no-print-directory test-build
	@$(MAKE) --no-print-directory test-run
test-build: $(TESTS) $(TESTS_SAN) $(BUILD)/probador
test-run:
	@sh tools/run_tests.sh $(TESTS) $(TESTS_SAN)

# ---- benchmarks, experiments and reports ------------------------------------
EXPERIMENTS := $(sort $(wildcard experiments/*.yaml))

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/probador
	$(BUILD)/probador bench --out reports/data/kernels.csv
	$(BUILD)/probador bench --train --out reports/data/train.csv

# Benchmarks rerun when the code changed since their CSV; an experiment reruns
# when its resolved configuration differs from the one saved with its results
# (`run --if-stale` compares contents, so a fresh clone is not stale).
reproduce: deps
	@$(MAKE) --no-print-directory $(BUILD)/probador
	@$(MAKE) --no-print-directory reports/kernels.md reports/data/train.csv
	@for e in $(EXPERIMENTS); do $(BUILD)/probador run $$e --if-stale || exit 1; done

report: $(BUILD)/probador
	$(BUILD)/probador report kernels

reports/data/kernels.csv: $(LIB) $(BUILD)/probador
	$(BUILD)/probador bench --out $@
reports/data/train.csv: $(LIB) $(BUILD)/probador
	$(BUILD)/probador bench --train --out $@
reports/kernels.md: reports/data/kernels.csv tools/kernels.md.in $(wildcard tools/*.gp) $(BUILD)/probador
	$(BUILD)/probador report kernels

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) $(TEST_LIB) $(wildcard */*.h)
clean:
	rm -rf $(BUILD)
