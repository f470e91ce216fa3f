# The two commands of the README: `make demo` and `make test`. Each bootstraps everything it
# needs (uv, the locked dependencies, Chromium for browser tests) on a fresh machine.
PYTHON ?= python3
UV := $(PYTHON) -m uv

.PHONY: demo test install lint ci

install:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

demo: install
	$(UV) run otodoke demo

test: install
	@bash scripts/ensure-browser
	$(UV) run pytest

# mypy's Django plugin loads the settings, which need keys: throwaway ones unless set.
lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	SECRET_KEY=$${SECRET_KEY:-lint} OTODOKE_ENCRYPTION_KEYS=$${OTODOKE_ENCRYPTION_KEYS:-dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=} $(UV) run mypy

ci:
	bash .ci/run
