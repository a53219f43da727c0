# tinycdn — the two commands a newcomer needs are `make run` and `make test`.
# Every target installs what it needs first (npm packages, Debian packages), so they work
# on a fresh machine. Node 24 comes from the `node` devDependency: node_modules/.bin goes
# first on PATH, so the system Node is never used.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

NODE_TEST := node --test --test-reporter=spec --test-reporter-destination=stdout
UNIT_TESTS := 'service/**/*.test.ts' 'operator/**/*.test.ts' 'cli/**/*.test.ts' 'test/helpers/*.test.ts'
INTEGRATION_TESTS := 'test/integration/**/*.test.ts'

.PHONY: differential run test deps photos exporter emulators system-deps images lint typecheck unit integration pod cluster e2e bench thumbor format clean

## deps: npm packages (and Node 24 through the `node` package), reinstalled when the lock changes.
# `npm install` rather than `npm ci`: the registry this project builds from lacks some of
# biome's optional per-platform packages (android, darwin, win32), which `npm ci` refuses as a
# lock mismatch; `npm install` installs exactly the locked versions and skips them.
deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	@node --version | grep -q '^v24\.' || { echo "expected Node 24 from node_modules/.bin, got $$(node --version)"; exit 1; }
	@touch $@

## photos: Debian's mate-backgrounds JPEG photos, the real images the tests use.
photos:
	bash test/fixtures/photos.sh

## exporter: the NGINX Prometheus exporter (the pod's `nginx-exporter`), built from its Go module,
## cached in ~/.cache/tinycdn/bin.
exporter:
	bash test/fixtures/nginx-exporter.sh

## emulators: the object-store emulators the source tests run, built from their Go modules and
## cached in ~/.cache/tinycdn/bin: SeaweedFS (S3; about 8 minutes the first time) and
## fake-gcs-server (GCS). Azurite (Azure Blob) is an npm devDependency.
emulators:
	bash test/fixtures/go-emulators.sh >/dev/null

## system-deps: Debian programs the tests and the benchmark run for real: nginx, wrk, netpbm and
## libjxl/libheif tools (independent decoders and encoders for BMP/ICO/JPEG XL/HEIC), and what
## the pod runner (test/pod) needs to give a pod its own network namespace and users.
system-deps:
	bash test/fixtures/apt.sh nginx=nginx wrk=wrk bmptopnm=netpbm djxl=libjxl-tools heif-enc=libheif-examples pdftoppm=poppler-utils ip=iproute2 setpriv=util-linux unshare=util-linux nsenter=util-linux promtool=prometheus prometheus=prometheus

## run: start the server on 127.0.0.1:8080 over the bundled sample images, printing example URLs.
run: deps
	node scripts/run-samples.ts

## images: the container images (tinycdn, the nginx cache, the nginx exporter) from the same
## Dockerfiles users build, here with buildah from Debian's and npm's packages into archives in
## ~/.cache/tinycdn/images (no Docker engine, no registry); cached, rebuilt when an input changes.
images:
	bash images/build.sh

## test: lint, type-check, then every test layer: unit, integration over real sockets, the pod
## as local processes, a real Kubernetes control plane, and end to end on a real node.
## Prints the time of each stage.
TEST_STAGES := lint typecheck unit integration pod cluster images e2e
test: deps photos system-deps
	@t0=$$(date +%s); times=""; \
	for stage in $(TEST_STAGES); do \
	  s=$$(date +%s); \
	  $(MAKE) --no-print-directory $$stage || { echo "make test: $$stage FAILED after $$(( $$(date +%s) - s ))s"; exit 1; }; \
	  times="$$times $$stage=$$(( $$(date +%s) - s ))s"; echo "make test: $$stage took $$(( $$(date +%s) - s ))s"; \
	done; \
	echo "make test: all passed in $$(( $$(date +%s) - t0 ))s:$$times"

lint: deps
	biome check .
	node operator/generate.ts --check
	node scripts/check-docs.ts

typecheck: deps
	tsc -p tsconfig.json

unit: deps system-deps
	$(NODE_TEST) $(UNIT_TESTS)

integration: deps photos system-deps exporter emulators
	$(NODE_TEST) --test-concurrency=1 $(INTEGRATION_TESTS)

## differential: imgproxy and tinycdn side by side on generated files (test/differential):
## counts of identical / ±1 px / differing answers, each difference listed with its reason.
## Needs an imgproxy binary in TINYCDN_IMGPROXY (not built here); skips without one.
differential: deps
	node test/differential/differential.ts

## pod: the rendered pod (tinycdn + nginx cache sidecar) run as local processes, in a network
## namespace of its own, with exactly the rendered env, args and config files (no kubelet here).
## test/monitoring: the alert rules under promtool, and the dashboard and rules on a real Prometheus.
pod: deps photos system-deps exporter
	$(NODE_TEST) --test-concurrency=1 'test/pod/*.test.ts' 'test/monitoring/*.test.ts'

## cluster: etcd, kube-apiserver and kube-controller-manager built from their Go modules
## (about 15 minutes the first time, cached in ~/.cache/tinycdn afterwards) and the tests that
## run against them, on API objects (no node: pods are not started; `make e2e` runs them).
cluster: deps system-deps
	bash test/cluster/build.sh
	$(NODE_TEST) --test-concurrency=1 'test/cluster/*.test.ts' 'test/chart/*.test.ts' 'test/k8s/*.test.ts' 'test/operator/*.test.ts' 'test/monitoring/cluster/*.test.ts'

## e2e: a real node joins the test control plane (containerd + runc, kubelet, kube-scheduler,
## kube-proxy; test/cluster/up.sh --node) with the images of `make images` loaded; the chart is
## helm-installed and the examples applied as a user would (test/e2e/run.sh).
e2e: deps photos system-deps
	bash test/e2e/run.sh

## bench: throughput and memory figures, measured side by side in one run (not a test); then
## tinycdn against imgproxy (TINYCDN_IMGPROXY, not built here) and thumbor (bench/peers.ts), the
## imaging libraries alone beside the whole servers (bench/floor.ts), and each format's cost.
bench: deps photos system-deps emulators thumbor
	node bench/run.ts
	node bench/codecs.ts

## thumbor: thumbor 7.8.0 and its dependencies, pinned (bench/thumbor-requirements.txt), from
## PyPI into a venv under ~/.cache/tinycdn/bench, for the benchmark's side-by-side runs.
thumbor:
	bash bench/thumbor.sh >/dev/null

format: deps
	biome check --write .

clean:
	rm -rf node_modules
