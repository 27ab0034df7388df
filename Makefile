# reqresp-lab: every target bootstraps what it needs (the .venv, and the system tools as root).
# The two commands a newcomer types are `make capture` and `make test` (see README.md).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= default
OUT ?= reqresp.pcap
BACKEND ?= netns
# Options passed on as they are: `make capture ARGS="--hold 30"`, `make analyze reqresp.pcap ARGS="-C"`
# (make itself would read `-C` as its own option: hence the variable).
ARGS ?=

# `make analyze reqresp.pcap`: the capture is the second goal. Declare it a no-op target so
# make does not try to build it, and pass it on as FILE.
# `make analyze a.pcap b.pcap` (or a folder): all of them, each into reports/<name>/.
ifeq (analyze,$(firstword $(MAKECMDGOALS)))
  ANALYZE_ARGS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
  ifneq ($(ANALYZE_ARGS),)
    FILE := $(firstword $(ANALYZE_ARGS))
    $(eval .PHONY: $(ANALYZE_ARGS))
    $(eval $(ANALYZE_ARGS):;@:)
  endif
endif
FILE ?= reqresp.pcap
CAPTURE_MO := capture/locale/id/LC_MESSAGES/reqresp-capture.mo
# `make grade DIR=submissions` (FEEDBACK_LANG=id for Indonesian feedback, default the locale's, RUBRIC=my.toml, GRADES=out)
DIR ?= submissions
GRADES ?= grades
FEEDBACK_LANG ?=
RUBRIC ?=

.PHONY: lab lab-client lab-shell bench-lab-ready
.PHONY: help wireshark venv tools tools-test tools-compose image test fuzz capture analyze grade batch locale bench bench-analyzer bench-lab bench-grade notebook clean-lab clean

help:
	@echo "make capture          run the lab on a virtual network and capture it into $(OUT)"
	@echo "make capture BACKEND=compose   the same in the containers of compose/reqresp.yml (Docker)"
	@echo "make lab              your own session: type messages, see the server's lines and every frame as it is captured"
	@echo "make lab-client       (another terminal, while make lab runs) a second client on its own host"
	@echo "make lab-shell HOST=server|client   (another terminal) a shell in a host of the running lab"
	@echo "make image            build the compose backend's image reqresp-lab:latest (if its sources changed)"
	@echo "make test             run the test suite"
	@echo "make fuzz             both analyzer engines on thousands of drawn and mutated captures (FUZZ_EXAMPLES, FUZZ_MUTATIONS, FUZZ_SEED)"
	@echo "make analyze FILE     explain a capture (reports/<name>/); several files or a folder: each"
	@echo "   ... ARGS=\"-C\"      options for python -m analysis / python -m capture (make capture ARGS=\"--hold 30\")"
	@echo "make grade DIR=...    grade a class's captures (grades/: gradebook.csv, grades.html, feedback)"
	@echo "make batch DIR=...    one row per capture (batch/batch.parquet, batch/batch.csv)"
	@echo "make bench            all benchmarks: the analyzer against tshark, scapy, pyshark, dpkt; then the lab server"
	@echo "make bench-analyzer   the analyzer benchmark only"
	@echo "make bench-lab        the lab server load benchmark only"
	@echo "make bench-lab-ready  seconds from make lab to its first prompt (root)"
	@echo "make bench-grade      grading/batch of a class: serial against 2 Dask workers"
	@echo "make wireshark        install wireshark/reqresp.lua (the lab protocol's dissector) into your Lua plugins folder"
	@echo "make notebook         open the Jupyter walkthrough (in the locale's language; NOTEBOOK_LANG=id: the Indonesian one)"
	@echo "make clean-lab        remove leftovers (lab-* namespaces, links, processes) of a killed run"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench,grade]'
	$(PY) -m babel.messages.frontend compile -d analysis/locale -D reqresp
	$(PY) -m babel.messages.frontend compile -d capture/locale -D reqresp-capture
	$(PY) -m analysis.columnar.warmup
	@touch $(STAMP)

venv: $(STAMP)

# The lab protocol's Wireshark dissector, into the personal Lua plugins folder this Wireshark
# reads (tshark -G folders names it: ~/.local/lib/wireshark/plugins on Linux).
wireshark:
	@command -v tshark >/dev/null || { echo "error: tshark is not installed (make tools-test installs it)" >&2; exit 2; }
	@dir="$$(tshark -G folders 2>/dev/null | sed -n 's/^Personal Lua Plugins:[[:space:]]*//p')"; \
	test -n "$$dir" || { echo "error: tshark -G folders names no personal Lua plugins folder" >&2; exit 2; }; \
	mkdir -p "$$dir" && install -m 644 wireshark/reqresp.lua "$$dir/reqresp.lua" && \
	echo "installed $$dir/reqresp.lua (restart Wireshark or Analyze > Reload Lua Plugins; filter: reqresp)"

tools:
	@bash scripts/ensure-system-tools.sh

tools-test:
	@TEST_TOOLS=1 bash scripts/ensure-system-tools.sh

tools-compose:
	@COMPOSE_TOOLS=1 bash scripts/ensure-system-tools.sh

# The compose backend's image: python:3.11-slim when it can be pulled, else a local Debian base.
image: tools-compose
	@bash scripts/build-image.sh

test: venv tools-test locale
	$(PY) -m pytest -q tests

# The CI suite runs the same fuzz tests with 200 drawn and 300 mutated captures and a fixed seed;
# this runs many more (about 10 minutes at the defaults), then prints how each engine fared.
# FUZZ_SEED=N draws another sequence than CI's.
FUZZ_EXAMPLES ?= 3000
FUZZ_MUTATIONS ?= 3352
fuzz: venv tools-test
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_MUTATIONS=$(FUZZ_MUTATIONS) FUZZ_SEED=$(FUZZ_SEED) \
		$(PY) -m pytest -q -o timeout=3600 tests/analysis/test_fuzz_engines.py
	$(PY) -m tests.analysis.support.fuzz_run --properties $(FUZZ_EXAMPLES) --mutations $(FUZZ_MUTATIONS) \
		$(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) --keep reports/fuzz

capture: venv tools $(CAPTURE_MO) $(if $(filter compose,$(BACKEND)),image)
	$(PY) -m capture --scenario $(SCENARIO) --out $(OUT) --backend $(BACKEND) $(ARGS)

# The student's own session (BACKEND=compose too); OUT names the pcap. The joins need no set-up:
# they run inside the lab that `make lab` built.
HOST ?= server
lab: venv tools $(CAPTURE_MO) $(if $(filter compose,$(BACKEND)),image)
	@$(PY) -m capture lab --out $(OUT) --backend $(BACKEND) $(ARGS)

lab-client: $(CAPTURE_MO)
	@$(PY) -m capture lab-client

lab-shell: $(CAPTURE_MO)
	@$(PY) -m capture lab-shell --host $(HOST)

analyze: venv
ifeq ($(words $(ANALYZE_ARGS)),$(filter 0 1,$(words $(ANALYZE_ARGS))))
	$(PY) -m analysis "$(FILE)" --out reports/$(basename $(notdir $(FILE))) $(ARGS)
else
	$(PY) -m analysis $(ANALYZE_ARGS) --out reports $(ARGS)
endif

# the message catalogs (analysis/locale/*/LC_MESSAGES/reqresp.po and capture/locale/*/LC_MESSAGES/
# reqresp-capture.po -> .mo); make venv runs it too
locale: venv
	$(PY) -m babel.messages.frontend compile -d analysis/locale -D reqresp
	$(PY) -m babel.messages.frontend compile -d capture/locale -D reqresp-capture

# the capture tool's catalog, recompiled (quietly) for make capture / make lab when its .po changed
$(CAPTURE_MO): $(CAPTURE_MO:.mo=.po) | $(STAMP)
	@$(PY) -m babel.messages.frontend -q compile -i $< -o $@ -l id

grade: venv locale
	$(PY) -m analysis grade $(DIR) --out $(GRADES) $(if $(FEEDBACK_LANG),--lang $(FEEDBACK_LANG)) $(if $(RUBRIC),--rubric $(RUBRIC))

batch: venv
	$(PY) -m analysis batch $(DIR) --out batch

bench: bench-analyzer bench-lab bench-grade bench-lab-ready

# seconds from `make lab` to its first prompt (root, netns): bench/lab/ready-results.md
bench-lab-ready: venv tools
	$(PY) -m bench.lab.ready

bench-analyzer: venv tools
	$(PY) -m bench.analyzer

bench-lab: venv
	$(PY) -m bench.lab

bench-grade: venv
	$(PY) -m bench.grade

# `make notebook`: the walkthrough in the locale's language (LANG=id_ID.UTF-8: the Indonesian one,
# notebooks/walkthrough.id.ipynb), or as NOTEBOOK_LANG=id|en says.
NOTEBOOK_LANG ?=
notebook: venv
	@case "$(NOTEBOOK_LANG)" in ""|en|id) ;; *) echo "error: NOTEBOOK_LANG=$(NOTEBOOK_LANG): the walkthrough is in en or id" >&2; exit 2;; esac
	$(PY) -m pip install -q -e '.[notebook]'
	@lang="$$($(PY) -c 'import sys; from analysis.i18n import resolve_lang; print(resolve_lang(sys.argv[1] or None))' '$(NOTEBOOK_LANG)')" || exit 2; \
	if [ "$$lang" = id ]; then nb=notebooks/walkthrough.id.ipynb; else nb=notebooks/walkthrough.ipynb; fi; \
	echo "$(VENV)/bin/jupyter lab $$nb"; exec $(VENV)/bin/jupyter lab "$$nb"

clean-lab: venv
	$(PY) -m capture clean

clean:
	rm -rf reports build *.egg-info .pytest_cache
