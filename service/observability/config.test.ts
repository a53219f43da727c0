import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEnv } from '../../operator/builders/env.ts';
import { imageProxy, MAXIMAL_SPEC, MINIMAL_SPEC } from '../../operator/builders/testing.ts';
import { configProblems } from '../../test/helpers/config-problems.ts';
import type { Env } from '../env.ts';
import { loadConfig } from '../server/serve.ts';
import { loadObservabilityConfig } from './config.ts';

describe('observability config', () => {
  it('is all off by default: no metrics listener, no tracing', () => {
    assert.deepEqual(loadObservabilityConfig({}), { metrics: undefined, tracing: undefined });
  });

  const metrics: Array<[string, Env, { host: string; port: number; namespace: string } | undefined]> = [
    ['empty bind = off', { IMGPROXY_PROMETHEUS_BIND: '' }, undefined],
    [
      'port only = all interfaces',
      { IMGPROXY_PROMETHEUS_BIND: ':9090' },
      { host: '0.0.0.0', port: 9090, namespace: 'tinycdn' },
    ],
    [
      'host, port and namespace',
      { IMGPROXY_PROMETHEUS_BIND: '127.0.0.1:9191', IMGPROXY_PROMETHEUS_NAMESPACE: 'imgproxy' },
      { host: '127.0.0.1', port: 9191, namespace: 'imgproxy' },
    ],
    ['IPv6', { IMGPROXY_PROMETHEUS_BIND: '[::1]:9090' }, { host: '::1', port: 9090, namespace: 'tinycdn' }],
  ];
  for (const [name, env, expected] of metrics) {
    it(`metrics: ${name}`, () => assert.deepEqual(loadObservabilityConfig(env).metrics, expected));
  }

  const tracingOn: Array<[string, Env, Record<string, unknown>]> = [
    [
      'the generic endpoint gets /v1/traces, parent-based always-on by default, protobuf',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' },
      {
        url: 'http://collector:4318/v1/traces',
        protocol: 'http/protobuf',
        sampler: 'parentbased_always_on',
        ratio: 1,
      },
    ],
    [
      'the traces endpoint is used as it is and wins',
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp/spans',
      },
      { url: 'https://traces.example/otlp/spans' },
    ],
    [
      'what the operator renders',
      {
        OTEL_SERVICE_NAME: 'tinycdn',
        OTEL_RESOURCE_ATTRIBUTES: 'k8s.namespace.name=media,k8s.deployment.name=images',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.monitoring:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      },
      {
        url: 'http://otel-collector.monitoring:4318/v1/traces',
        sampler: 'parentbased_traceidratio',
        ratio: 0.1,
        serviceName: 'tinycdn',
        resourceAttributes: { 'k8s.namespace.name': 'media', 'k8s.deployment.name': 'images' },
      },
    ],
    [
      'JSON protocol for traces only; service name from the resource attributes; percent-decoded values',
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_RESOURCE_ATTRIBUTES: 'service.name=cdn%20eu,team=media',
      },
      {
        protocol: 'http/json',
        serviceName: 'cdn eu',
        resourceAttributes: { 'service.name': 'cdn eu', team: 'media' },
      },
    ],
    [
      'batch settings',
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_BSP_MAX_QUEUE_SIZE: '10',
      },
      {
        batch: {
          scheduledDelayMillis: 100,
          exportTimeoutMillis: 30000,
          maxQueueSize: 10,
          maxExportBatchSize: 512,
        },
      },
    ],
  ];
  for (const [name, env, expected] of tracingOn) {
    it(`tracing on: ${name}`, () => {
      if (name === 'batch settings') {
        assert.deepEqual(configProblems(loadObservabilityConfig, env), [
          'OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must not exceed OTEL_BSP_MAX_QUEUE_SIZE (10)',
        ]);
        const ok = loadObservabilityConfig({ ...env, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '5' }).tracing;
        assert.deepEqual(ok?.batch, { ...(expected['batch'] as object), maxExportBatchSize: 5 });
        return;
      }
      const tracing = loadObservabilityConfig(env).tracing;
      assert.ok(tracing, 'tracing should be on');
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(tracing[key as keyof typeof tracing], value, key);
      }
    });
  }

  const tracingOff: Array<[string, Env]> = [
    ['no endpoint, whatever the sampler', { OTEL_TRACES_SAMPLER: 'always_on', OTEL_SERVICE_NAME: 'x' }],
    [
      'OTEL_TRACES_EXPORTER=none',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' },
    ],
    ['OTEL_SDK_DISABLED=true', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }],
    ['grpc without an endpoint (not an error while off)', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }],
  ];
  for (const [name, env] of tracingOff) {
    it(`tracing off: ${name}`, () => assert.equal(loadObservabilityConfig(env).tracing, undefined));
  }

  const bad: Array<[Env, RegExp]> = [
    [{ IMGPROXY_PROMETHEUS_BIND: '9090' }, /^IMGPROXY_PROMETHEUS_BIND: expected \[host\]:port/],
    [{ IMGPROXY_PROMETHEUS_BIND: ':70000' }, /^IMGPROXY_PROMETHEUS_BIND: expected \[host\]:port/],
    [
      { IMGPROXY_PROMETHEUS_NAMESPACE: 'tiny-cdn' },
      /^IMGPROXY_PROMETHEUS_NAMESPACE: expected letters, digits and underscores/,
    ],
    [{ IMGPROXY_PROMETHEUS_NAMESPACE: '1cdn' }, /^IMGPROXY_PROMETHEUS_NAMESPACE: /],
    [{ OTEL_TRACES_EXPORTER: 'jaeger' }, /^OTEL_TRACES_EXPORTER: expected otlp or none, got "jaeger"/],
    [
      { OTEL_TRACES_SAMPLER: 'xray' },
      /^OTEL_TRACES_SAMPLER: expected one of always_on, .*parentbased_traceidratio, got "xray"/,
    ],
    [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, /^OTEL_TRACES_SAMPLER_ARG: must be at most 1, got 1.5/],
    [{ OTEL_TRACES_SAMPLER_ARG: 'half' }, /^OTEL_TRACES_SAMPLER_ARG: expected a number/],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      /^OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported.*http\/protobuf/,
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' },
      /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: expected one of/,
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      /^OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/,
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' },
      /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http/,
    ],
    [{ OTEL_RESOURCE_ATTRIBUTES: 'team' }, /^OTEL_RESOURCE_ATTRIBUTES: expected key=value pairs/],
    [
      { OTEL_RESOURCE_ATTRIBUTES: 'a=%zz' },
      /^OTEL_RESOURCE_ATTRIBUTES: bad percent-encoding in the value of a/,
    ],
    [{ OTEL_SDK_DISABLED: 'maybe' }, /^OTEL_SDK_DISABLED: expected a boolean/],
  ];
  for (const [env, message] of bad) {
    it(`refuses ${JSON.stringify(env)} naming the variable`, () => {
      const found = configProblems(loadObservabilityConfig, env);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0] ?? '', message);
    });
  }

  it("reports observability problems with every other module's at start-up", () => {
    const found = configProblems(loadConfig, {
      IMGPROXY_WORKERS: 'many',
      IMGPROXY_PROMETHEUS_BIND: 'nine',
      OTEL_TRACES_SAMPLER: 'sometimes',
    });
    assert.equal(found.length, 3, found.join('\n'));
    assert.match(
      found.join('\n'),
      /IMGPROXY_WORKERS:.*\n.*IMGPROXY_PROMETHEUS_BIND:.*\n.*OTEL_TRACES_SAMPLER:/,
    );
  });

  it('takes what the operator renders: metrics on :9090 and, with spec.tracing, OTLP over HTTP', () => {
    const rendered = (spec: typeof MAXIMAL_SPEC): Env =>
      Object.fromEntries(buildEnv(imageProxy(spec)).env.map((e) => [e.name, e.value]));
    const minimal = loadObservabilityConfig(rendered(MINIMAL_SPEC));
    assert.deepEqual(minimal.metrics, { host: '0.0.0.0', port: 9090, namespace: 'tinycdn' });
    assert.equal(minimal.tracing, undefined);
    const maximal = loadObservabilityConfig(rendered(MAXIMAL_SPEC));
    assert.equal(maximal.tracing?.url, 'http://otel.example.com:4318/v1/traces');
    assert.equal(maximal.tracing?.protocol, 'http/protobuf');
    assert.equal(maximal.tracing?.sampler, 'parentbased_traceidratio');
    assert.equal(maximal.tracing?.ratio, 0.25);
    assert.equal(maximal.tracing?.serviceName, 'tinycdn');
    assert.deepEqual(maximal.tracing?.resourceAttributes, {
      'k8s.namespace.name': 'web',
      'k8s.deployment.name': 'imgs',
    });
  });

  it('refuses a metrics port that is also the server port', () => {
    assert.deepEqual(
      configProblems(loadConfig, { IMGPROXY_BIND: ':8080', IMGPROXY_PROMETHEUS_BIND: '127.0.0.1:8080' }),
      ["IMGPROXY_PROMETHEUS_BIND: port 8080 is also IMGPROXY_BIND's; metrics need a port of their own"],
    );
  });
});
