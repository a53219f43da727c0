# syntax=docker/dockerfile:1
# tinycdn transform server and operator: `docker build -t tinycdn .` then
# `docker run --read-only --tmpfs /tmp -p 8080:8080 tinycdn` (IMGPROXY_* variables configure it);
# `docker run tinycdn operator` runs the operator. images/README.md: publishing, and how
# images/build.sh builds this very file without Docker.

# The Node 24 base. The default is the official image; images/build.sh passes a local
# equivalent (same Debian release, Node version and layout), as no registry is reachable there.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- dependencies ------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, at the versions in the lockfile. The `node` devDependency (it
# pins Node 24 for development and downloads a Node binary when installed) is dev-only: the
# image's own Node 24 runs the service. Dropping devDependencies from this stage's package.json
# first keeps `npm ci` from checking dev-only entries: a lockfile made against a registry
# without every platform build of @biomejs/cli-* lacks some of them, and `npm ci` then refuses
# the whole lockfile. sharp's native code comes prebuilt in its @img/sharp-* packages.
RUN npm pkg delete devDependencies \
  && npm ci --omit=dev --no-audit --no-fund \
  && npm cache clean --force

# ---- the code, compiled ----------------------------------------------------------------------------
# The sources' TypeScript compiled to JavaScript (scripts/build-js.ts: types erased, `.ts`
# imports renamed, tests and generators left out). Node.js could run the .ts files as they are,
# but it then loads and keeps a WebAssembly TypeScript stripper: the idle server took 119 MB
# of RSS that way, 90 MB compiled (docs/performance.md). Only the compiler is installed, at the
# lockfile's version, before package.json is here (so npm installs nothing else).
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package-lock.json /tmp/package-lock.json
RUN npm install --no-save --no-package-lock --no-audit --no-fund \
      "typescript@$(node -p "require('/tmp/package-lock.json').packages['node_modules/typescript'].version")" \
  && npm cache clean --force
COPY package.json tsconfig.json tsconfig.build.json ./
COPY scripts/build-js.ts scripts/
COPY bin bin
COPY cli cli
COPY service service
COPY operator operator
RUN node scripts/build-js.ts /app

# ---- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE}

# Memory allocator: jemalloc, preloaded. With glibc's malloc, the threads that run libvips each
# get an arena of their own and fragment it, so RSS creeps up over a long load; jemalloc hands
# freed pages back (sharp's documentation recommends it for servers). MALLOC_CONF (below) has a
# background thread give freed pages back within a second, over 2 arenas: one server running
# five transforms in turn at 16 connections peaked at 213-341 MB, against 224-435 MB with
# jemalloc's defaults and 207-379 MB with glibc's, at the same CPU per request; and each
# thread's cache keeps only blocks up to 1 kB (tcache_max; jemalloc's default 32 kB): Node.js
# and libvips run ~30 threads, whose caches held ~20 MB of freed blocks at 16 connections
# (docs/performance.md). The symlink gives LD_PRELOAD one path on amd64 (x86_64-linux-gnu) and
# arm64 (aarch64-linux-gnu).
RUN apt-get update \
  && apt-get install -y --no-install-recommends libjemalloc2 \
  && rm -rf /var/lib/apt/lists/* \
  && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2 \
  && test -e /usr/local/lib/libjemalloc.so.2

# Read-only root file system: nothing writes outside /tmp (mount an emptyDir or tmpfs there).
# TMPDIR is where libvips puts temporary files for very large images and where a fetched JPEG
# is copied (an unnamed file) to be shrunk on load at imgproxy's factor; XDG_CACHE_HOME and HOME
# catch any cache a library would write (fontconfig for SVG text).
ENV NODE_ENV=production \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2,tcache_max:1024 \
    TMPDIR=/tmp \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    IMGPROXY_BIND=:8080

WORKDIR /app
# Files stay owned by root: the service cannot change its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app ./

# The image's `node` user, by number so Kubernetes' runAsNonRoot can check it.
USER 1000:1000
EXPOSE 8080
# V8's heap kept small, for no CPU measured (docs/performance.md, "Memory settings"): the young
# generation capped at 2 MB a semi-space (V8's own cap is many times that; at 16 connections of
# small thumbnails it cost ~70 MB of RSS), and the old generation collected once it is half again
# as large as after the last full collection (V8 lets it grow up to 4 times when collections are
# quick, as they are here: another 30-40 MB of garbage). The pod tests and benchmarks read this
# line.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=50", "bin/tinycdn.js"]
CMD ["serve"]
