# One command per job. `make run` and `make test` set everything up first (venv + install).
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= quick
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml binder/requirements.txt 2>/dev/null | sha256sum | cut -c1-12)
# The torch pair `make setup` installs (binder/README.md tabulates every launcher's pins).
TORCH        := torch==2.14.1
TORCHVISION  := torchvision==0.29.1
# auto: from this machine's disk where the pair lies there, else the CPU build from
# https://download.pytorch.org/whl/cpu; local | cpu | pypi (the CUDA build) choose.
TORCH_SOURCE ?= auto
# `make seeds`: which seeds; REUSE=1 keeps a seed's results files already written
SEEDS   ?= 0 1 2
REUSE   ?=

.PHONY: seeds setup run test unit paper-smoke lint format notebooks strip check-stripped student pack bench lab assets clean-cache help

help:
	@echo "make run    - set up, execute every notebook headless (PROFILE=$(PROFILE)), write output/ and results/"
	@echo "make test   - set up, run the whole test suite (unit tests, papermill run of every notebook, nbval)"
	@echo "make unit   - unit tests only (fast: no notebook, no training)"
	@echo "make paper-smoke - every notebook's paper branch on CPU, offline (stand-in weights)"
	@echo "make seeds  - run every notebook on SEED 0, 1 and 2 -> results/quick/seeds.json, output/SEEDS.md (SEEDS=..., REUSE=1)"
	@echo "make notebooks - rebuild notebooks/*.ipynb from their sources notebooks/*.py (and student/)"
	@echo "make format - ruff format the library, tests, scripts and notebook sources"
	@echo "make bench  - benchmarks -> benchmarks/RESULTS.md"
	@echo "make student- write the student versions to student/ (what the README's badges open)"
	@echo "make pack   - write docs/instructors/what_to_expect.md from results/ (run after make run)"
	@echo "make lab    - install JupyterLab in the venv, register its kernel, say how to start it"
	@echo "make assets - rebuild the README's figures (assets/) from library code"
	@echo "make lint / strip / check-stripped"

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first: the pinned pair from this machine's disk if it lies there, else its CPU
	# build (scripts/torch_source.py; TORCH_SOURCE chooses). Colab keeps its own torch.
	$(PY) -m pip install -q $$(TORCH_SOURCE=$(TORCH_SOURCE) $(PY) scripts/torch_source.py $(TORCH) $(TORCHVISION))
	$(PY) -m pip install -q -e ".[dev,paper]"
	# facenet-pytorch pins torch<2.3, numpy<2, Pillow<10.3; its code runs fine without them
	$(PY) -m pip install -q --no-deps "facenet-pytorch==2.6.0"
	rm -f $(VENV)/.installed-*
	touch $@

run: setup
	$(PY) -m facecure_lib.run_all --profile $(PROFILE)
	$(PY) scripts/instructor_pack.py --profile $(PROFILE)

seeds: setup
	$(PY) -m facecure_lib.run_all --profile $(PROFILE) --seeds $(SEEDS) $(if $(REUSE),--reuse)
	$(PY) scripts/instructor_pack.py --profile $(PROFILE)

# The instructor page of what to expect per notebook, generated from results/$(PROFILE)/.
pack: setup
	$(PY) scripts/instructor_pack.py --profile $(PROFILE)

# Stage 1: unit tests, then every notebook once with papermill (its results file checked).
# Stage 2: the paper smoke (`make paper-smoke`).
# Stage 3: nbval runs the student versions (every exercise left undone): every cell must run
# with the exercise fallbacks. `--nbval-lax`: outputs are not compared with stage 1's yet
# (notebook 06's table differed between two runs on 2026-11-30: to be made deterministic).
test: setup lint
	$(PY) -m pytest tests -m "not paper_smoke"
	$(PY) -m pytest tests/test_paper_smoke.py -m paper_smoke
	$(PY) -m facecure_lib.student notebooks output/student-test --reference output/test-results
	TQDM_DISABLE=1 $(PY) -m pytest --nbval-lax -p no:cacheprovider \
		--nbval-sanitize-with tests/nbval_sanitize.cfg output/student-test

unit: setup
	$(PY) -m pytest tests -m "not slow"

# Every notebook's paper branch on CPU and offline: a small face folder in LFW's layout and
# stand-in weights with the real architectures, served through FACECURE_MIRROR
# (tests/paper_fixtures.py); tiny sizes, one step per loop. A few minutes.
paper-smoke: setup
	$(PY) -m pytest tests/test_paper_smoke.py -m paper_smoke

LINTED := facecure_lib tests benchmarks scripts notebooks

lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(PY) scripts/build_notebooks.py --check

format: setup
	$(VENV)/bin/ruff format $(LINTED)

notebooks: setup
	$(PY) scripts/build_notebooks.py

strip: setup
	$(VENV)/bin/nbstripout notebooks/*.ipynb

check-stripped: setup
	$(PY) scripts/check_stripped.py notebooks

# The published student versions: committed in student/, their Colab badges open themselves
# (`make notebooks` rewrites them too, and `make lint` fails when they are stale).
student: setup
	$(PY) -m facecure_lib.student notebooks student --badges student

lab: setup
	$(PY) -m pip install -q -e ".[lab]"
	$(PY) -m ipykernel install --user --name facecure --display-name "FaceCure (venv)"
	@echo
	@echo "JupyterLab is installed in $(VENV); the kernel 'FaceCure (venv)' is registered."
	@echo "Start it with:  $(VENV)/bin/jupyter lab notebooks/"

assets: setup
	$(PY) scripts/make_assets.py

bench: setup
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/run_all.py

clean-cache:
	rm -rf $${FACECURE_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/facecure}
