# Developer commands (CI runs the same ones through .ci/run).
PY ?= python3

.PHONY: dev build test test-rust lint bench stubtest examples

# Debug build of the extension, linked into python/burner_redis for in-tree tests.
dev:
	touch src/lib.rs  # force the link: a shared build dir can hold another tree's cdylib
	cargo build --features extension-module
	cp target/debug/libburner_redis.so python/burner_redis/_engine$$($(PY) -c 'import sysconfig;print(sysconfig.get_config_var("EXT_SUFFIX"))')

# Release wheel installed into the current interpreter.
build:
	maturin build --release -o dist
	$(PY) -m pip install --force-reinstall --no-deps dist/burner_redis-*.whl

test-rust:
	cargo test

test:
	$(PY) -m pytest -q

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	ruff check python tests benchmarks examples

bench:
	$(PY) benchmarks/compare.py

# The compiled module's stub against the built extension (needs `make dev` or scripts/test.sh).
stubtest:
	bash scripts/stubtest.sh

# Every example, each asserting its result (in a venv with the wheel, pydocket and prefect).
examples:
	bash scripts/examples.sh
