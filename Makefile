# cramp-cds: everything a fresh machine needs is installed by these targets,
# pinned, from the Go module proxy. Two commands matter: `make run`, `make test`.

GO      ?= go
BIN     := bin
# -race needs cgo; gcc is on the Go machine image.
export CGO_ENABLED ?= 1

.PHONY: all build run demo version test test-go vet bench load fuzz population-demo bench-population clean

all: build

## build: bin/cramp-cds, saying what it compiles: the first build compiles about 600 packages
## (the standard library's and 380 of modules; see the README for the time); later ones take seconds. `go build -v` names each
## package as it is compiled; the counter shows them on one line, and a compile error in full.
build:
	@echo "building bin/cramp-cds (first build: a few minutes; later builds: seconds)"
	@{ $(GO) build -v -trimpath -o $(BIN)/cramp-cds ./cmd/cramp-cds 2>&1; echo "::exit $$?"; } | awk ' \
		/^::exit / { if (n) printf "\n"; if ($$2 == 0) print "built bin/cramp-cds" (n ? "" : " (up to date)"); exit $$2 } \
		/ / { if (n) printf "\n"; print; n = 0; next } \
		{ n++; printf "\r  compiled %4d packages: %-58.58s", n, $$0; fflush() }'

## run: serve on 127.0.0.1:8080 (this machine only: RUN_ADDR=:8080 to share it), trusting the local development key (.cramp-cds-dev/, generated the first
## time; `make demo` and `cramp-cds token` sign with it) and the public CDS Hooks sandbox (never for
## production), remembering feedback in ./cramp-cds.db (its key generated beside it, ./cramp-cds.key).
## The sandbox signs each JWT for the URL you gave it, so both local names are accepted.
RUN_PUBLIC_URL ?= http://localhost:8080,http://127.0.0.1:8080
RUN_ADDR ?= 127.0.0.1:8080
DEV_DIR := .cramp-cds-dev
run: build
	@$(BIN)/cramp-cds token --dir $(DEV_DIR) --trust-out $(DEV_DIR)/run-trust.yaml --trust-also deploy/trust/sandbox.yaml
	$(BIN)/cramp-cds serve --addr $(RUN_ADDR) --trust $(DEV_DIR)/run-trust.yaml --public-url $(RUN_PUBLIC_URL) --store sqlite:./cramp-cds.db

## demo: send every example, dated as of today, to the server on :8080 (started for the demo when
## none runs) with tokens signed by the local development key, and print the cards as text.
DEMO_SERVER ?= http://localhost:8080
demo: build
	$(BIN)/cramp-cds demo --server $(DEMO_SERVER) --dir $(DEV_DIR)

version: build
	@$(BIN)/cramp-cds version

## test: the whole suite, with the race detector.
test: vet test-go test-deploy

vet:
	$(GO) vet ./...

# The store's PostgreSQL tests need CRAMP_CDS_TEST_POSTGRES (a postgres:// URL);
# .ci/run starts a throwaway cluster and sets it. Without it they skip.
test-go: chromium
	@if [ -z "$$CRAMP_CDS_TEST_POSTGRES" ]; then \
		echo "note: CRAMP_CDS_TEST_POSTGRES is not set: the PostgreSQL tests are skipped (.ci/run runs them against a throwaway cluster)"; \
	fi
	$(GO) test -race -count=1 ./...

## chromium: Debian's Chromium for the browser tests (tools/testkit/browser), pinned to the version they were
## written against. Debian's security archive keeps only its latest build, so when the pin is gone the
## current build is installed instead (as far as Debian allows pinning). When it cannot be installed at
## all (not root, no apt), the browser tests skip and say so.
CHROMIUM_VERSION := 156.0.8078.114-1~deb12u1
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian chromium $(CHROMIUM_VERSION)"; \
		{ apt-get update -qq && { $(APT_INSTALL) chromium=$(CHROMIUM_VERSION) || $(APT_INSTALL) chromium; }; } \
			|| echo "chromium could not be installed: the browser tests will skip"; \
	}

## Performance and robustness (BENCHMARKS.md holds the figures and how to read them).
## bench: the whole patient-view path on the typical and heavy fixtures beside its floors
## (json.Valid, golang-fhir-models decoding) with the whole/decode ratio, JWT verification,
## and the costliest hostile bodies.
BENCHTIME ?= 2s
bench:
	$(GO) test -run '^$$' -bench 'WholePath|HostileElements' -benchmem -benchtime $(BENCHTIME) ./cdshooks/legcramps/
	$(GO) test -run '^$$' -bench 'Authenticate' -benchmem -benchtime $(BENCHTIME) ./cdshooks/auth/

## bench-store: what the feedback store adds to a service call at 200 calls/s (SQLite, and
## PostgreSQL when CRAMP_CDS_TEST_POSTGRES is set), against the same calls without a store.
.PHONY: bench-store
bench-store:
	$(GO) test -run '^$$' -bench 'RequestPath' -benchtime 10x -count 3 ./cdshooks/feedback/

## load: start bin/cramp-cds with JWT verification on and drive it with cmd/cramp-load (vegeta)
## on loopback: fixed rates, saturation, the heavy request, the FHIR fallback and FHIR faults
## (about 90 s). LOADFLAGS passes options, e.g. LOADFLAGS='--duration 30s --rates 50,200,400'.
LOADFLAGS ?=
load: build
	$(GO) build -o $(BIN)/cramp-load ./cmd/cramp-load
	$(BIN)/cramp-load --server $(BIN)/cramp-cds $(LOADFLAGS)

## population-demo: a silent-mode population run over the Synthea fixtures (screening mode, as of
## a date near their last encounters); prints where the report is.
POPULATION_DEMO := $(BIN)/population-demo
population-demo:
	$(GO) run ./cmd/cramp-cds population --in testdata/synthea --out $(POPULATION_DEMO) \
		--now 2021-04-01 --trigger=always --ids plain

## bench-population: the real binary over generated exports of 2,000 and 20,000 patients
## (patients/s/core, peak RSS; fails if RSS grows >20%). POPULATION_SIZES=200,2000 for a quick run.
POPULATION_SIZES ?= 2000,20000
bench-population:
	BENCH_POPULATION_SIZES=$(POPULATION_SIZES) $(GO) test -run '^$$' -bench Population -benchtime 1x -timeout 3h ./cmd/cramp-cds/

## fuzz: run each fuzz target for FUZZTIME (make test runs their seed corpora only).
FUZZTIME ?= 30s
FUZZ_TARGETS := cdshooks/legcramps:FuzzServiceCall cdshooks:FuzzDecodeRequest cdshooks/auth:FuzzAuthenticate cdshooks/auth:FuzzParseTrust \
	fhir:FuzzGatherPrefetch fhir:FuzzReadBundle fhir:FuzzDecodeEquivalence internal/jsonscan:FuzzReader \
	knowledge:FuzzToCanonical
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name in ./$$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./$$pkg/; \
	done

## Deployment. The Helm chart is validated offline, without a cluster: helm lint, then Go tests
## (deploy/chart_test.go) that render it with helm and decode every object strictly into the
## k8s.io/api types, in deploy's own module so k8s.io stays out of the service's go.mod.
.PHONY: test-deploy manifests
HELM_VERSION := v3.22.0
# One directory per version, so changing HELM_VERSION installs that version.
HELM  := tools/bin/helm-$(HELM_VERSION)/helm
CHART := deploy/helm/cramp-cds

$(HELM):
	GOBIN=$(CURDIR)/$(dir $(HELM)) CGO_ENABLED=0 $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

## test-deploy: lint the chart and check its renderings with default and production values, the
## compose file, the Dockerfile, and the SBOM against go.mod.
test-deploy: $(HELM) sbom
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) -f $(CHART)/ci/production-values.yaml
	cd deploy && $(GO) vet ./...
	cd deploy && HELM=$(CURDIR)/$(HELM) CRAMP_CDS_SBOM=$(CURDIR)/$(SBOM) $(GO) test -count=1 ./...

## Image supply chain. The version is written once, in internal/version/VERSION.
.PHONY: image sbom vuln
VERSION := $(shell cat internal/version/VERSION)
IMAGE   ?= ghcr.io/cramp-cds/cramp-cds

## sbom: a CycloneDX SBOM of the Go module graph (every module go.mod requires, test-only ones
## included), by cyclonedx-gomod, pinned and installed from the Go module proxy (its first install
## compiles for a few minutes). deploy/sbom_test.go checks it lists go.mod's modules.
CYCLONEDX_VERSION := v1.10.0
CYCLONEDX := tools/bin/cyclonedx-gomod-$(CYCLONEDX_VERSION)/cyclonedx-gomod
SBOM := $(BIN)/cramp-cds-$(VERSION).cdx.json
$(CYCLONEDX):
	@echo "installing cyclonedx-gomod $(CYCLONEDX_VERSION) (once; it compiles for a few minutes)"
	GOBIN=$(CURDIR)/$(dir $(CYCLONEDX)) CGO_ENABLED=0 $(GO) install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$(CYCLONEDX_VERSION)
sbom: $(CYCLONEDX)
	@mkdir -p $(BIN)
	$(CYCLONEDX) mod -test -json -noserial -notimestamp -output $(SBOM) .
	@echo "SBOM: $(SBOM)"

## vuln: govulncheck's report on the code (the vulnerabilities its call graph reaches). It needs the
## Go vulnerability database online; where that cannot be reached (as on the build machines of
## this project) it says so and makes no report rather than fail the build. VULN_STRICT=1 fails then.
GOVULNCHECK_VERSION := v1.9.0
GOVULNCHECK := tools/bin/govulncheck-$(GOVULNCHECK_VERSION)/govulncheck
VULN_REPORT := $(BIN)/cramp-cds-$(VERSION).govulncheck.txt
$(GOVULNCHECK):
	GOBIN=$(CURDIR)/$(dir $(GOVULNCHECK)) CGO_ENABLED=0 $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
vuln: $(GOVULNCHECK)
	@mkdir -p $(BIN)
	@$(GOVULNCHECK) -format text ./... > $(VULN_REPORT) 2>&1; rc=$$?; \
	if [ $$rc -eq 0 ]; then echo "govulncheck: no known vulnerability reaches the code ($(VULN_REPORT))"; \
	elif grep -q "fetching vulnerabilities" $(VULN_REPORT); then \
		echo "govulncheck: the Go vulnerability database cannot be reached from here, so NO vulnerability report was made:"; \
		sed 's/^/  /' $(VULN_REPORT); \
		echo "  run 'make vuln' where it can be reached (or set GOVULNDB to a mirror) before publishing an image"; \
		[ -z "$(VULN_STRICT)" ]; \
	else cat $(VULN_REPORT); echo "govulncheck: see $(VULN_REPORT)"; exit $$rc; fi

## image: the container image, reproducibly: deploy/Dockerfile's bases are pinned by digest, and
## SOURCE_DATE_EPOCH (the last commit's time) fixes every timestamp in it, so a commit gives the
## same image. Writes the SBOM and the vulnerability report beside it first. Needs Docker with
## buildx (BuildKit >= 0.13 for rewrite-timestamp).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image: sbom vuln
	@docker buildx version >/dev/null 2>&1 || { echo "image: docker buildx is not available here: the SBOM and report are written, build the image where Docker runs"; exit 1; }
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) docker buildx build -f deploy/Dockerfile \
		--build-arg VERSION=$(VERSION) --build-arg SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
		--output type=docker,name=$(IMAGE):$(VERSION),rewrite-timestamp=true .
	@echo "image: $(IMAGE):$(VERSION) (sign and publish it: README, Image supply chain)"

## lint-dockerfile: BuildKit's Dockerfile lint rules (as `docker build --check`), offline, from the
## tools module. Not part of `make test`: its first build takes ~2 minutes on two cores.
.PHONY: lint-dockerfile
DOCKERFILELINT := tools/bin/dockerfilelint

$(DOCKERFILELINT): tools/dockerfilelint/go.mod tools/dockerfilelint/go.sum tools/dockerfilelint/main.go
	cd tools/dockerfilelint && $(GO) build -o ../bin/dockerfilelint .

lint-dockerfile: $(DOCKERFILELINT)
	$(DOCKERFILELINT) deploy/Dockerfile

## manifests: regenerate deploy/manifests/ (plain YAML for clusters without Helm) from the chart.
manifests: $(HELM)
	cd deploy && HELM=$(CURDIR)/$(HELM) $(GO) test -count=1 -run '^TestPlainManifests$$' . -update

clean:
	rm -rf $(BIN)
