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

.PHONY: app test lint clean-venv browser

$(PY):
	$(PYTHON) -m venv $(VENV)

# The app needs only the base install (the ONNX runtime and Gradio; no torch).
$(VENV)/.stamp-base: pyproject.toml | $(PY)
	$(PY) -m pip install -e .
	touch $@

# The tests need everything: training (torch), eval, and the optional OpenVINO backend (its
# outputs must equal onnxruntime's); the dev extra brings them.
$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-base
	$(PY) -m pip install $(TORCH_SPEC)
	$(PY) -m pip install -e ".[dev]"
	touch $@

app: $(VENV)/.stamp-base
	$(VENV)/bin/translate app --host $(HOST) --port $(PORT)

# The app's browser test drives Debian's Chromium (never a Playwright browser download). Installed
# here when missing and we may (root or passwordless sudo); otherwise that one test is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  S=; [ "$$(id -u)" -eq 0 ] || S="sudo -n"; \
	  ( $$S apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -qq chromium ) \
	  || echo "note: could not install chromium; the browser test will be skipped"; }

test: $(VENV)/.stamp-dev browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check translate tests apps bench examples scripts
	$(VENV)/bin/ruff format --check translate tests apps bench examples scripts

clean-venv:
	rm -rf $(VENV)
