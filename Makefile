# The app's everyday commands. `make run` starts the whole app in sandbox mode
# with SQLite; `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: run build test generate check-generated check-imports lint fmt fuzz seed

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

generate:
	$(GO) tool templ generate -path templates

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

test: lint
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

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
