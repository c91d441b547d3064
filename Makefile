# The two set-up commands of the README: `make serve` and `make test`.
# Each installs everything it needs into .venv first (llama-cpp-python compiles from source).
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?= qwen2.5-coder-0.5b-instruct
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)

.PHONY: install model serve test bench bench-gateway

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar off -e '.[test]'
	touch $@

install: $(VENV)/.installed

model: install
	$(VENV)/bin/hearth models pull $(MODEL)

serve: model
	$(VENV)/bin/hearth serve --model $(MODEL)

test: model
	$(PY) -m pytest -q

bench: model
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(VENV)/bin/hearth bench engine

# LiteLLM's proxy goes into a venv of its own (see the gateway extra); wrk comes from Debian.
LITELLM_VENV ?= .venv-litellm
$(LITELLM_VENV)/.installed: pyproject.toml
	python3 -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install --quiet --upgrade pip
	# the pin of the gateway extra, without hearth's own (heavy) dependencies
	$(LITELLM_VENV)/bin/pip install --progress-bar off "$$(sed -n 's/^ *"\(litellm\[proxy\][^"]*\)",/\1/p' pyproject.toml)"
	touch $@

bench-gateway: install $(LITELLM_VENV)/.installed
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	$(VENV)/bin/hearth bench gateway --litellm $(LITELLM_VENV)/bin/litellm
