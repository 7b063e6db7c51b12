# Two commands a newcomer needs: `make app` and `make test`. Both create .venv on first use and
# reinstall only when pyproject.toml changes (the stamp files below are keyed on it).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Pinned so pip takes the builds that lie on this machine's disk; override for another torch.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
HOST ?= 127.0.0.1
PORT ?= 7860
PYTEST_ARGS ?=

.PHONY: app test lint bench clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-base: pyproject.toml | $(PY)
	$(PY) -m pip install $(TORCH_SPEC)
	$(PY) -m pip install -e .
	touch $@

# The tests also cover the optional OpenVINO backend (its outputs must equal onnxruntime's).
$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-base
	$(PY) -m pip install -e ".[dev,openvino]"
	touch $@

app: $(VENV)/.stamp-base
	$(VENV)/bin/translate app --host $(HOST) --port $(PORT)

test: $(VENV)/.stamp-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check translate tests apps bench examples
	$(VENV)/bin/ruff format --check translate tests apps bench examples

clean-venv:
	rm -rf $(VENV)
