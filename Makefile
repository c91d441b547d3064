# The two set-up commands of the README: `make serve` and `make test`.
# Each installs everything it needs into .venv first (llama-cpp-python compiles from source).
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?= qwen2.5-coder-0.5b-instruct
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)

.PHONY: install model serve test bench

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
