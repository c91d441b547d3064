# The two set-up commands of the README: `make serve` and `make test`.
# Each installs everything it needs into .venv first, from the committed lock (requirements/):
# every package pinned with its hashes, so each machine gets the same set. `make lock` refreshes
# the lock on purpose (after changing a dependency in pyproject.toml). llama-cpp-python compiles
# from source.
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?= qwen2.5-coder-0.5b-instruct
PIP_VERSION := 26.0.1
UV_VERSION := 0.13.8
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)
# llama.cpp is built for x86-64-v3 (AVX2, FMA, F16C, BMI2), not for the build machine
# (-march=native): some machines here advertise AMX that their hypervisor does not enable, and a
# native build's AMX code dies with a protection fault (ldtilecfg) on the first decode. One
# portable build also gives every machine the same code and the same numbers.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install model serve test bench bench-gateway lock

# Installs a lock into a venv: the pinned packages with their hashes and nothing else (--no-deps:
# the lock already lists every transitive dependency), then hearth itself, then checks that the
# venv holds exactly the lock's set. No pip cache: a llama-cpp-python wheel that pip built
# earlier, with other CMAKE_ARGS, would be taken from it as it is.
define install_lock
	$(1)/bin/python -m pip install --quiet 'pip==$(PIP_VERSION)'
	$(1)/bin/python -m pip install --progress-bar off --no-cache-dir --require-hashes --no-deps -r $(2)
	$(if $(3),$(1)/bin/python -m pip install --quiet --no-deps -e .)
	$(1)/bin/python scripts/check_installed.py $(2)
endef

$(VENV)/.installed: requirements/test.txt pyproject.toml
	rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(call install_lock,$(VENV),requirements/test.txt,editable)
	touch $@

install: $(VENV)/.installed

model: install
	$(VENV)/bin/hearth models pull $(MODEL)

serve: model
	$(VENV)/bin/hearth serve --model $(MODEL)

test: model
	$(PY) -m pytest -q

# The bench lock is the test lock plus the bench extra (locked with the test lock as constraints),
# so it installs on top of the same venv.
$(VENV)/.installed-bench: $(VENV)/.installed requirements/bench.txt
	$(call install_lock,$(VENV),requirements/bench.txt,)
	touch $@

bench: model $(VENV)/.installed-bench
	$(VENV)/bin/hearth bench engine

# LiteLLM's proxy goes into a venv of its own (see the gateway extra); wrk comes from Debian.
LITELLM_VENV ?= .venv-litellm
$(LITELLM_VENV)/.installed: requirements/gateway.txt
	rm -rf $(LITELLM_VENV)
	python3 -m venv $(LITELLM_VENV)
	$(call install_lock,$(LITELLM_VENV),requirements/gateway.txt,)
	touch $@

bench-gateway: install $(LITELLM_VENV)/.installed
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	$(VENV)/bin/hearth bench gateway --litellm $(LITELLM_VENV)/bin/litellm

# Resolves pyproject.toml's ranges again, against this machine's package indexes (pip's own
# configuration, passed on to uv), and writes the locks. uv lives in a venv of its own so that it
# never joins the locked set.
LOCK_VENV ?= .venv-lock
lock:
	test -x $(LOCK_VENV)/bin/uv || { python3 -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet 'uv==$(UV_VERSION)'; }
	$(LOCK_VENV)/bin/python scripts/lock.py $(LOCK_VENV)/bin/uv
