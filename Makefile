# cramp-cds: everything a fresh machine needs is installed by these targets,
# pinned, from the Go module proxy. Two commands matter: `make run`, `make test`.

GO      ?= go
BIN     := bin
# -race needs cgo; gcc is on the Go machine image.
export CGO_ENABLED ?= 1

.PHONY: all build run test test-go vet bench load fuzz clean

all: build

build:
	$(GO) build -trimpath -o $(BIN)/cramp-cds ./cmd/cramp-cds

## run: serve on :8080, trusting the public CDS Hooks sandbox (never for production).
run:
	$(GO) run ./cmd/cramp-cds serve --trust deploy/trust/sandbox.yaml

## test: the whole suite, with the race detector.
test: vet test-go

vet:
	$(GO) vet ./...

test-go:
	$(GO) test -race -count=1 ./...

clean:
	rm -rf $(BIN)
