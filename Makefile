# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test lint format install install-dev install-peers install-abc install-cxx clean

$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, pinned: the CPU wheel on local disk; a bare `torch` would pull CUDA.
	$(PIP) install -q torch==2.13.0
	touch $@

$(VENV)/.installed: $(VENV)/.torch setup.py
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.torch setup.py
	$(PIP) install -q -e ".[dev]"
	$(MAKE) install-peers
	$(MAKE) install-abc
	$(MAKE) install-cxx
	touch $@

# ABC (Debian package berkeley-abc) evaluates the logic-synthesis tasks live. Installed with
# apt-get where we are root; elsewhere the message says what is missing, and the EDA tests
# fail with the package's name rather than skip.
install-abc:
	@command -v berkeley-abc >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq berkeley-abc; \
	  else echo "berkeley-abc missing: sudo apt-get install berkeley-abc"; fi; }

# torch.compile's CPU backend writes C++ and builds it (NAPAcquisition(compile=True) and
# its tests): a C++ compiler, installed with apt-get where we are root.
install-cxx:
	@command -v g++ >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++; \
	  else echo "g++ missing (torch.compile needs it): sudo apt-get install g++"; fi; }

# HEBO 0.3.6 pins numpy<1.25 (and pymoo==0.6.0 wants cma==3.2.2); pip would downgrade the
# whole stack. Installed without those pins it runs on numpy 2 (botorch_nap.benchmark.peers).
install-peers: $(VENV)/.torch
	$(PIP) install -q --no-deps hebo==0.3.6 pymoo==0.6.0 disjoint-set
	$(PIP) install -q autograd cma alive-progress Deprecated pandas scikit-learn

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(VENV)/bin/botorch-nap demo

# One torch thread: the tests use tiny networks, and on a busy 2-core machine two OpenMP
# threads per process slow them down many times over.
test: $(VENV)/.installed-dev
	OMP_NUM_THREADS=1 $(PY) -m pytest -q test

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check botorch_nap ax_integration test benchmarks tutorials setup.py
	$(VENV)/bin/ruff format --check botorch_nap ax_integration test benchmarks tutorials

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix botorch_nap ax_integration test benchmarks tutorials
	$(VENV)/bin/ruff format botorch_nap ax_integration test benchmarks tutorials

clean:
	rm -rf $(VENV) build *.egg-info
