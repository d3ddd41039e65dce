# Sentinel. `make help` lists the targets.
GO ?= go
SENTINEL_TEST_POSTGRES_URL ?=

.PHONY: help run test generate lint check build docker

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## serve with demo data on the embedded database (http://127.0.0.1:8080)
	$(GO) run . serve

test: ## run every test (PostgreSQL too when SENTINEL_TEST_POSTGRES_URL is set)
	$(GO) test -race -count=1 ./...

generate: ## regenerate templ components
	$(GO) tool templ generate

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

check: generate ## generate, fail on a diff, lint, test
	git diff --exit-code
	$(MAKE) lint test

build: ## build a static binary ./sentinel
	CGO_ENABLED=0 $(GO) build -trimpath -o sentinel .

docker: ## build the container image
	docker build -t sentinel .
