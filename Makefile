# Parley: `make dev` runs the whole stack, `make test` runs every test.
.PHONY: dev test setup lint web bench clean

dev: setup
	.venv/bin/python scripts/run_stack.py

setup:
	bash scripts/setup

test:
	bash scripts/test

lint:
	.venv/bin/ruff check .

web:
	cd web && npm ci && npm run build

bench: setup
	.venv/bin/python scripts/bench_dispatch.py --quick

clean:
	rm -rf .venv web/node_modules web/dist data test-artifacts
