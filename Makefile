# Beibao — one entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
# Debian/Ubuntu packages the build and tests need (grows as the app, the server and the UI arrive).
# postgresql: the server's PostgreSQL backend; tests start throwaway clusters of their own.
# libwebkit2gtk-4.1-dev libsoup-3.0-dev librsvg2-dev: the Tauri app; xvfb webkit2gtk-driver: its
# end-to-end tests (with tauri-driver, installed by cargo); fonts-noto-cjk: Chinese on screen and
# in the printed agreement (beibao-print embeds a subset); poppler-utils: its tests read the PDF back;
# fonts-dejavu-core: the Latin-only font its tests refuse; chromium: the console's browser tests
# (driven by playwright-core from ui/, which never downloads a browser of its own); python3-venv:
# schemathesis, the API fuzzer of make test, in .cache/schemathesis.
APT_PACKAGES := build-essential pkg-config libssl-dev postgresql \
	libwebkit2gtk-4.1-dev libsoup-3.0-dev librsvg2-dev xvfb webkit2gtk-driver fonts-noto-cjk \
	poppler-utils fonts-dejavu-core chromium python3-venv

.PHONY: help deps ui build test lint fmt demo demo-cli demo-en bench bench-app bench-core bench-store bench-sync bench-server bench-export crash-long faults-long fixtures clean

help:
	@echo "make deps      install system packages (Debian/Ubuntu; prints the list elsewhere)"
	@echo "make test      run every test of the repository"
	@echo "make demo      the tablet app against a real server (headless: screenshots of the day in target/demo/)"
	@echo "make demo-cli  the district and catalog, then a day of one officer's tablet through the beibao CLI"
	@echo "make lint      rustfmt check and clippy with warnings as errors"
	@echo "make bench     run every benchmark (prints figures): bench-core bench-store bench-sync bench-server"
	@echo "make bench-export  a county-year on SQLite and PostgreSQL: totals by village, XLSX, CSV (prints export_bench: …)"
	@echo "make bench-app the release app through WebDriver on a 500-household village (prints app_bench: …)"
	@echo "make faults-long  the seeded sync fault loop: 10,000 scenarios on SQLite, 1,000 on PostgreSQL, 1,000 on two instances (make test: 200, 40, 20)"
	@echo "make fixtures  regenerate fixtures/geo and fixtures/registry from the fixed seed"

deps:
	@if command -v apt-get >/dev/null 2>&1; then \
		missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "installing: $$missing"; \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
		else echo "system packages present: $(APT_PACKAGES)"; fi; \
	else \
		echo "not a Debian/Ubuntu system: install the equivalents of: $(APT_PACKAGES)"; \
		echo "and a Rust toolchain (rustup) with rustfmt and clippy; cargo-nextest is optional"; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
	@command -v npm >/dev/null || { \
		if command -v apt-get >/dev/null 2>&1; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; \
		else echo "npm not found: install Node.js 20+"; exit 1; fi; }
	cd ui && npm ci --no-audit --no-fund
	@command -v tauri-driver >/dev/null || [ -x "$$HOME/.cargo/bin/tauri-driver" ] || $(CARGO) install tauri-driver --locked
	@# Schemathesis (PyPI, pinned with its dependencies) for the API fuzz test of make test.
	[ -x .cache/schemathesis/bin/pip ] || python3 -m venv .cache/schemathesis
	.cache/schemathesis/bin/pip install -q --disable-pip-version-check -r tests/schemathesis/requirements.txt

# The app's UI, built into ui/dist (the Tauri shell embeds it at compile time).
ui:
	cd ui && npm run build

build: ui
	$(CARGO) build --workspace --locked

# nextest when present (one summary line for the whole run), cargo test otherwise.
test: ui
	cd ui && npm test
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --locked --no-fail-fast; \
	else \
		$(CARGO) test --workspace --locked --no-fail-fast; \
	fi

lint: ui
	cd ui && npm run check
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

# The app against a real server: opened on a display; without one, driven under Xvfb with the
# screenshots of the day written to target/demo/.
demo: ui
	@bash scripts/demo.sh

# The district and catalog, then a day of one officer's tablet through the beibao CLI.
demo-cli:
	@bash scripts/demo-cli.sh

demo-en:
	@$(CARGO) run -q --locked -p beibao-fixtures -- summary --lang en

bench: bench-core bench-store bench-sync bench-server

# The release app driven through WebDriver under Xvfb (needs `make deps`); not part of `make bench`,
# which measures the engine.
bench-app: ui
	$(CARGO) bench --locked -p beibao-app --bench app --profile dist

bench-core:
	$(CARGO) bench --locked -p beibao-core --bench rules

bench-store:
	$(CARGO) bench --locked -p beibao-store --bench store

# 1,000 visits through an emulated 100 kbit/s, 300 ms RTT link, batched vs one per request.
bench-sync:
	$(CARGO) run --release --locked -p beibao-tests --bin bench-sync

# 200 devices pushing concurrently on loopback, SQLite and PostgreSQL.
bench-server:
	$(CARGO) run --release --locked -p beibao-tests --bin bench-server

# A county-year (1,000,000 visits, 100,000 service requests, 5,000 mediations) on SQLite and
# PostgreSQL: the district's year by village through the API, its XLSX and CSV (export_bench: …).
bench-export:
	$(CARGO) run --release --locked -p beibao-tests --bin bench-export

# The sync fault loop with 10,000 seeded scenarios on SQLite and 1,000 on PostgreSQL (make test: 200 and 40).
faults-long:
	BEIBAO_FAULT_RUNS=10000 BEIBAO_FAULT_RUNS_PG=1000 BEIBAO_FAULT_RUNS_PG2=1000 $(CARGO) test --release --locked -p beibao-tests --test it faults:: -- --nocapture --test-threads 1

# The crash test with 2,000 kills instead of 200.
crash-long:
	BEIBAO_CRASH_ITERATIONS=2000 $(CARGO) test --locked -p beibao-store --test crash -- --nocapture

fixtures:
	$(CARGO) run -q --locked -p beibao-fixtures -- generate

clean:
	$(CARGO) clean
