# spikelens: `make serve` runs the dashboard, `make test` runs every test (browser ones too).
VENV    := .venv
PY      := $(VENV)/bin/python
PORT    ?= 5006
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: serve test venv chromium benchmark clean

venv: $(STAMP)

# uv installs the stack in ~20 s where pip takes ~3 min; fall back to pip if uv is unavailable.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv || true
	if $(VENV)/bin/uv --version >/dev/null 2>&1; then \
	  $(VENV)/bin/uv pip install -q --python $(PY) -e ".[test]"; \
	else \
	  $(PY) -m pip install -q -e ".[test]"; \
	fi
	touch $(STAMP)

# Browser tests drive Debian's Chromium (playwright cannot download its own browser here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium (apt-get)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

serve: venv
	$(VENV)/bin/spikelens serve --port $(PORT)

# pytest exits 5 when it collects no test: that is a failure too (any non-zero code fails make).
test: venv chromium
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$rc

benchmark: venv
	for f in benchmarks/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
