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

.PHONY: run test deps photos exporter system-deps lint typecheck unit integration pod cluster bench format clean

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

## system-deps: Debian programs the tests and the benchmark run for real: nginx, wrk, and what
## the pod runner (test/pod) needs to give a pod its own network namespace and users.
system-deps:
	bash test/fixtures/apt.sh nginx=nginx wrk=wrk ip=iproute2 setpriv=util-linux unshare=util-linux nsenter=util-linux promtool=prometheus prometheus=prometheus

## run: start the server on 127.0.0.1:8080 over the bundled sample images, printing example URLs.
run: deps
	node scripts/run-samples.ts

## test: lint, type-check, then every test (unit, integration over real sockets, then
## against a real Kubernetes control plane).
test: deps photos system-deps lint typecheck unit integration pod cluster

lint: deps
	biome check .
	node operator/api/generate.ts --check
	node operator/rbac-generate.ts --check
	node operator/monitoring/generate.ts --check

typecheck: deps
	tsc -p tsconfig.json

unit: deps system-deps
	$(NODE_TEST) $(UNIT_TESTS)

integration: deps photos system-deps exporter
	$(NODE_TEST) --test-concurrency=1 $(INTEGRATION_TESTS)

## pod: the rendered pod (tinycdn + nginx cache sidecar) run as local processes, in a network
## namespace of its own, with exactly the rendered env, args and config files (no kubelet here).
## test/monitoring: the alert rules under promtool, and the dashboard and rules on a real Prometheus.
pod: deps photos system-deps exporter
	$(NODE_TEST) --test-concurrency=1 'test/pod/*.test.ts' 'test/monitoring/*.test.ts'

## cluster: etcd, kube-apiserver and kube-controller-manager built from their Go modules
## (about 15 minutes the first time, cached in ~/.cache/tinycdn afterwards) and the tests that
## run against them. No kubelet runs here: pods are never started.
cluster: deps system-deps
	bash test/cluster/build.sh
	$(NODE_TEST) --test-concurrency=1 'test/cluster/*.test.ts' 'test/chart/*.test.ts' 'test/k8s/*.test.ts' 'test/operator/*.test.ts' 'test/monitoring/cluster/*.test.ts'

## bench: throughput and memory figures, measured side by side in one run (not a test).
bench: deps photos system-deps
	node bench/run.ts

format: deps
	biome check --write .

clean:
	rm -rf node_modules
