# The app's everyday commands. `make run` starts the whole app in sandbox mode
# with SQLite; `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: run build test test-postgres generate check-generated check-imports lint fmt fuzz bench seed

run:
	$(GO) run ./cmd/checkout

# Fills a test-mode database with made-up orders, attempts and events, for
# benchmarks and demos: `make seed` (1,000,000 orders into CHECKOUT_DB, else
# checkout.db), `make seed ORDERS=50000 DB=/tmp/demo.db`. A live-mode
# database is refused.
ORDERS ?= 1000000
seed:
	$(GO) run ./cmd/checkout seed -orders $(ORDERS) $(if $(DB),-db $(DB))

build:
	$(GO) build -o bin/checkout ./cmd/checkout

# templ's Go code, and the static assets' precompressed copies (.br, .gz)
# and fingerprinted names (static/assets_gen.go), all committed; static's
# tests fail when the assets' copies are stale.
generate:
	$(GO) tool templ generate -path templates
	$(GO) generate ./static

# Fails when the committed *_templ.go files differ from what templ makes of
# the .templ sources.
check-generated:
	@tmp=$$(mktemp -d); cp -r templates "$$tmp/"; \
	$(GO) tool templ generate -path "$$tmp/templates" >/dev/null 2>&1 || { echo "templ generate failed"; rm -rf "$$tmp"; exit 1; }; \
	if ! diff -r --exclude='*.templ' templates "$$tmp/templates" >/dev/null; then \
		echo "generated templ code is stale: run 'make generate' and commit"; rm -rf "$$tmp"; exit 1; fi; \
	rm -rf "$$tmp"

# Fails, naming the package and the import, when a package imports one of ours
# that design.md "Layout" forbids (handlers importing store, gateway importing
# payments, ...).
check-imports:
	@GO=$(GO) .ci/imports

lint: check-generated check-imports
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# The whole suite on SQLite, then the store's and payments' tests again on
# PostgreSQL when CHECKOUT_TEST_POSTGRES names a database (each test makes
# its own schema there and drops it). Under CI=true the PostgreSQL run is
# required: without CHECKOUT_TEST_POSTGRES the target fails (.ci/run sets it).
PG_PKGS := ./store/... ./payments/...
test: lint
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	@$(MAKE) --no-print-directory test-postgres

test-postgres:
	@if [ -n "$$CHECKOUT_TEST_POSTGRES" ]; then \
		echo "store and payments tests on PostgreSQL"; \
		CHECKOUT_TEST_DB=postgres $(GO) test -race -count=1 -timeout 15m $(PG_PKGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true and CHECKOUT_TEST_POSTGRES is not set: the PostgreSQL tests must run (see .ci/run)"; exit 1; \
	else \
		echo "CHECKOUT_TEST_POSTGRES is not set: the store and payments tests ran on SQLite only"; \
	fi

# A short run of every fuzz target, one after the other (longer runs:
# FUZZTIME=5m make fuzz). `make test` runs their seed corpora (the
# providers' document examples among them) on every run.
FUZZTIME ?= 20s
FUZZ_TARGETS := \
	./gateway/pesapal:FuzzParseNotification \
	./gateway/pesapal:FuzzTransactionStatus \
	./gateway/pokeapay:FuzzParseIPN \
	./gateway/pokeapay:FuzzParseReturn \
	./gateway/pokeapay:FuzzParseSTKCallback \
	./gateway/pokeapay:FuzzVerificationAnswer \
	./gateway/pokeapay:FuzzSTKQueryAnswer \
	./gateway/pochipay:FuzzParseCallback \
	./gateway/pochipay:FuzzStatusAnswer \
	./payments:FuzzCreateRequest \
	./payments:FuzzNormalizePhone \
	./money:FuzzParse
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

# The performance budget (issue 11), measured and printed as a Markdown table
# beside its baselines (a bare Gin server, raw SQLite writes) from the same
# run. A benchmark, not a test: nothing gates on its numbers. Knobs:
# BENCH_DURATION (page load window, default 5s), BENCH_ORDERS (orders seeded
# for the admin figures, default 1000000; 0 skips them), BENCH_IPNS,
# BENCH_IPN_CLIENTS; BENCH_KEEP=1 keeps the databases and the app's logs.
bench:
	$(GO) build -o bin/checkout ./cmd/checkout
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench -app bin/checkout
