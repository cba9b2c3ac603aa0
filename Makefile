# One command per job. `make run` and `make test` set everything up first (venv + install).
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= quick
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml binder/requirements.txt 2>/dev/null | sha256sum | cut -c1-12)

.PHONY: setup run test unit lint strip check-stripped student bench clean-cache help

help:
	@echo "make run    - set up, execute every notebook headless (PROFILE=$(PROFILE)), write output/ and results/"
	@echo "make test   - set up, run the whole test suite (unit tests, papermill run of every notebook, nbval)"
	@echo "make unit   - unit tests only (fast)"
	@echo "make bench  - benchmarks -> benchmarks/RESULTS.md"
	@echo "make student- write student versions of the notebooks to output/student/"
	@echo "make lint / strip / check-stripped"

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first, pinned to the build that lies on this machine's disk (never reinstall on Colab)
	$(PY) -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
	$(PY) -m pip install -q -e ".[dev,paper]"
	# facenet-pytorch pins torch<2.3, numpy<2, Pillow<10.3; its code runs fine without them
	$(PY) -m pip install -q --no-deps "facenet-pytorch==2.6.0"
	rm -f $(VENV)/.installed-*
	touch $@

run: setup
	$(PY) -m facecure_lib.run_all --profile $(PROFILE)

test: setup
	$(PY) -m pytest tests
	$(PY) -m pytest --nbval-lax -p no:cacheprovider notebooks

unit: setup
	$(PY) -m pytest tests -m "not notebooks"

lint: setup
	$(VENV)/bin/ruff check facecure_lib tests benchmarks scripts

strip: setup
	$(VENV)/bin/nbstripout notebooks/*.ipynb

check-stripped: setup
	$(PY) scripts/check_stripped.py notebooks

student: setup
	$(PY) -m facecure_lib.student notebooks output/student

bench: setup
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/run_all.py

clean-cache:
	rm -rf $${FACECURE_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/facecure}
