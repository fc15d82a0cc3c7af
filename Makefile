# Every target creates the virtual environment .venv on first use (and again when
# pyproject.toml changes), so a fresh clone needs nothing but Python 3.10+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.installed

.PHONY: lab test lint site bench release clean

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(READY)

lab: $(READY)  ## JupyterLab on your own copies of the notebooks, in workspace/
	$(BIN)/python -m torchcourse lab

# Three test processes share the 2 cores: many tests wait (kernels and subprocesses starting,
# browser pages), and a third process fills those gaps (on 2 cores: 299 s with -n 2, 256 s
# with -n 3, 274 s with -n 4). One torch thread each avoids oversubscription, which made
# training about 10x slower (measured on LeNet-5: 144 vs 1,441 images/s).
test: $(READY)  ## lint, unit tests and every notebook under nbval
	$(BIN)/ruff check .
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 3 --dist loadfile

site: $(READY)  ## the course website (Sphinx, offline, from lessons.yml) in site/_build/html
	$(BIN)/python -m torchcourse.site

bench: $(READY)  ## LeNet-5 to 99% on MNIST vs the CPU's peak and pytorch/examples (BENCH_ARGS=--skip-example: quick part)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# make release VERSION=0.3.0: the version everywhere (src/torchcourse/__init__.py, every
# notebook's setup cell, the README's pin, Binder's torch pins), the tests, a commit and the
# tag v0.3.0, which starts .github/workflows/release.yml once pushed (docs/instructors.md).
release: $(READY)  ## VERSION=X.Y.Z: bump, test, commit and tag a release
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=X.Y.Z" >&2; exit 1; }
	@git diff --quiet HEAD || { echo "commit or stash your changes first: the release commit holds the bump only" >&2; exit 1; }
	$(BIN)/python -m torchcourse.release bump $(VERSION)
	$(MAKE) test
	git commit --all --message "Release $(VERSION)"
	git tag --annotate v$(VERSION) --message "torchcourse $(VERSION)"
	@echo "Tagged v$(VERSION). Publish it: git push origin HEAD v$(VERSION)"

lint: $(READY)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format src tests

clean:
	rm -rf $(VENV) .cache
