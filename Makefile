# Two commands on a fresh machine: `make run` (every figure of the embedded default) and
# `make test` (the test suite). Each creates or reuses .venv and installs pinned dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 8
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | md5sum | cut -c1-8)

.PHONY: run unlock layer test test-float32 test-fast bench lint dry-run report clean-results system-deps

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# regl-scatterplot bundled from the npm registry: the explorer benchmark's library baseline
BUNDLE := tools/explorer_bundle/dist/regl-scatterplot.js
$(BUNDLE): tools/explorer_bundle/package.json tools/explorer_bundle/package-lock.json tools/explorer_bundle/build.sh
	bash tools/explorer_bundle/build.sh

venv: $(STAMP)

# where Snakemake keeps its locks; a failed run that leaves one behind was killed (README: Interrupted runs)
LOCKS ?= .snakemake/locks
UNLOCK_HINT = { status=$$?; if [ -n "$$(ls -A $(LOCKS) 2>/dev/null)" ]; then \
	echo "cellscape: a lock is left in $(LOCKS). If no other snakemake runs in this directory, an earlier" >&2; \
	echo "run was killed: recover with 'make unlock$(if $(CONFIG), CONFIG=$(CONFIG))', then run the same command again." >&2; \
	fi; exit $$status; }

## run: regenerate every figure of the embedded default configuration ([CONFIG=configs/x.yaml])
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default $(if $(CONFIG),--configfile $(CONFIG)) $(ARGS) || $(UNLOCK_HINT)

## unlock: remove the lock a killed run left behind ([CONFIG=configs/x.yaml]: the run's config), then rerun
unlock: $(STAMP)
	$(BIN)/snakemake --unlock $(if $(CONFIG),--configfile $(CONFIG)) $(ARGS)

## layer: rebuild one layer's jobs and the figures that show it: make layer LAYER=conv3 [CONFIG=configs/x.yaml]
layer: $(STAMP)
	@test -n "$(LAYER)" || { echo "usage: make layer LAYER=conv3 [CONFIG=configs/x.yaml] [ARGS=-n]" >&2; exit 2; }
	$(BIN)/python tools/rebuild_layer.py $(LAYER) --cores $(CORES) --profile profiles/default \
		$(if $(CONFIG),--configfile config.yaml $(CONFIG)) $(ARGS)

## system-deps: Debian packages the tests drive for real (headless Chromium, SLURM, munge)
system-deps:
	bash tests/install_system_deps.sh

# pytest-xdist workers: the long runs wait on processes (cluster jobs, the browser, job starts), so two
# workers keep a 2-core machine busy; a test file, and every file that reads the shared tiny run, stays in one
TEST_WORKERS ?= 2

# the instruction cap under which a bfloat16 CPU computes as an AVX2-only one does (float32)
FLOAT32_ONLY := ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2

## test: the whole suite, end-to-end tiny run, browser and SLURM tests included; on a CPU with
## native bfloat16 the unit tests that train run once more with it switched off, as on most CPUs
## (the end-to-end runs assert nothing that depends on the precision: make test-float32 runs them too)
test: $(STAMP) system-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --no-loadscope-reorder -ra --durations=25 tests
	@if PYTHONPATH=scripts $(BIN)/python -c "import sys; from cellscape.model.precision import resolve_precision; \
		sys.exit(resolve_precision('auto', 'cpu') != 'bfloat16')"; then \
		echo "bfloat16 CPU: the unit tests that train, again in float32 ($(FLOAT32_ONLY))"; \
		$(FLOAT32_ONLY) $(BIN)/python -m pytest -ra -m "trains and not slow" tests; fi

## test-float32: the tests that train, with bfloat16 switched off
test-float32: $(STAMP)
	$(FLOAT32_ONLY) $(BIN)/python -m pytest -ra -m trains tests

## test-fast: unit tests only (no end-to-end, browser or cluster)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -ra -m "not slow" tests

## bench: every benchmark; writes results/bench/summary.{md,csv} (BENCH_MODE=full for full mode; BENCH_MODE=smoke: tiny sizes, the code paths only, as tests/bench runs them)
bench: $(STAMP) $(BUNDLE)
	PYTHONPATH=scripts $(BIN)/python bench/run_all.py --mode $${BENCH_MODE:-quick}

lint: $(STAMP)
	$(BIN)/snakemake --lint

dry-run: $(STAMP)
	$(BIN)/snakemake -n --quiet rules

report: $(STAMP)
	$(BIN)/snakemake --report results/report.html
