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

# Each benchmark starts its own stack on loopback and ends with a RESULT line.
bench: setup
	.venv/bin/python scripts/bench_dispatch.py --quick
	.venv/bin/python scripts/bench_voice.py --quick
	.venv/bin/python scripts/bench_voice.py --quick --stub-cloud
	.venv/bin/python scripts/bench_voice.py --quick --cloud-fakes
	.venv/bin/python scripts/bench_backend.py --quick
	.venv/bin/python scripts/bench_bridge.py --quick

clean:
	rm -rf .venv web/node_modules web/dist data test-artifacts
