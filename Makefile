# Tandem's tasks. `make` lists them.
.DEFAULT_GOAL := help
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help build run test bench lint

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

build: ## build bin/tandem (pure Go, no cgo)
	CGO_ENABLED=0 go build -o bin/tandem ./cmd/tandem

run: ## run tandem serve on SQLite (data/tandem.db)
	go run ./cmd/tandem serve

test: ## run every test with the race detector (Postgres tests skip if it is unreachable)
	go test -race -count=1 ./...

bench: ## every benchmark, each figure next to its target (about 10 minutes)
	go test ./cmd/tandem -run '^$$' -bench 'BenchmarkCreateCustomer|BenchmarkStripe|BenchmarkSalesforce' -benchtime 1x -count 1 -timeout 30m

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo "gofmt: the files above need formatting" && exit 1)
	go vet ./...
	go run $(STATICCHECK) ./...
