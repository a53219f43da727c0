import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../service/server/serve.ts';
import type { ImageProxy } from '../api/v1alpha1.ts';
import { buildEnv, type EnvVar, PRESETS_PATH, presetsFile } from './env.ts';
import { buildChildren } from './index.ts';
import {
  buildInput,
  example,
  imageProxy,
  MAXIMAL_SPEC,
  MINIMAL_SPEC,
  objectOf,
  withSpec,
} from './testing.ts';

const envOf = (ip: ImageProxy): EnvVar[] => buildEnv(ip).env;
const envValue = (ip: ImageProxy, name: string) => envOf(ip).find((e) => e.name === name)?.value;

describe('env', () => {
  it('maps each spec field to its IMGPROXY_* variable', () => {
    const table: Array<[Record<string, unknown>, string, string | undefined]> = [
      [{}, 'IMGPROXY_BIND', ':8081'],
      [{}, 'IMGPROXY_PROMETHEUS_BIND', ':9090'],
      [{}, 'IMGPROXY_PROMETHEUS_NAMESPACE', 'tinycdn'],
      [
        { sources: { allowedPrefixes: ['https://a.example/', 'https://b.example/x/'] } },
        'IMGPROXY_ALLOWED_SOURCES',
        'https://a.example/,https://b.example/x/',
      ],
      [{}, 'IMGPROXY_ALLOWED_SOURCES', undefined],
      [{ sources: { baseUrl: 'https://a.example/img/' } }, 'IMGPROXY_BASE_URL', 'https://a.example/img/'],
      [{ sources: { http: { downloadTimeoutSeconds: 12 } } }, 'IMGPROXY_DOWNLOAD_TIMEOUT', '12'],
      [{ sources: { http: { maxRedirects: 2 } } }, 'IMGPROXY_MAX_REDIRECTS', '2'],
      [
        { sources: { http: { allowPrivateAddresses: false } } },
        'IMGPROXY_ALLOW_PRIVATE_SOURCE_ADDRESSES',
        'false',
      ],
      [
        { sources: { http: { allowLoopbackAddresses: true } } },
        'IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES',
        'true',
      ],
      [
        { sources: { http: { allowLinkLocalAddresses: true } } },
        'IMGPROXY_ALLOW_LINK_LOCAL_SOURCE_ADDRESSES',
        'true',
      ],
      [{ sources: { local: { volume: { emptyDir: {} } } } }, 'IMGPROXY_LOCAL_FILESYSTEM_ROOT', '/srv/images'],
      [{}, 'IMGPROXY_LOCAL_FILESYSTEM_ROOT', undefined],
      [{ limits: { maxSrcResolution: 100 } }, 'IMGPROXY_MAX_SRC_RESOLUTION', '100'],
      [{ limits: { maxSrcResolution: 0.5 } }, 'IMGPROXY_MAX_SRC_RESOLUTION', '0.5'],
      [{ limits: { maxSrcFileSize: 1000 } }, 'IMGPROXY_MAX_SRC_FILE_SIZE', '1000'],
      [{ limits: { maxAnimationFrames: 9 } }, 'IMGPROXY_MAX_ANIMATION_FRAMES', '9'],
      [{ limits: { maxResultDimension: 2048 } }, 'IMGPROXY_MAX_RESULT_DIMENSION', '2048'],
      [{ formats: { autoWebp: true } }, 'IMGPROXY_AUTO_WEBP', 'true'],
      [{ formats: { enforceWebp: true } }, 'IMGPROXY_ENFORCE_WEBP', 'true'],
      [{ formats: { autoAvif: true } }, 'IMGPROXY_AUTO_AVIF', 'true'],
      [{ formats: { enforceAvif: true } }, 'IMGPROXY_ENFORCE_AVIF', 'true'],
      [{}, 'IMGPROXY_ENFORCE_AVIF', 'false'],
      [{ formats: { quality: 65 } }, 'IMGPROXY_QUALITY', '65'],
      [{ formats: { formatQuality: { webp: 70, avif: 50 } } }, 'IMGPROXY_FORMAT_QUALITY', 'avif=50,webp=70'],
      [{}, 'IMGPROXY_FORMAT_QUALITY', undefined],
      [{ formats: { preferredFormats: ['webp', 'png'] } }, 'IMGPROXY_PREFERRED_FORMATS', 'webp,png'],
      [{ presets: { sm: 'size:10:10' } }, 'IMGPROXY_PRESETS_PATH', '/etc/tinycdn/presets'],
      [{}, 'IMGPROXY_PRESETS_PATH', undefined],
      [{ presets: { sm: 'size:10:10' }, onlyPresets: true }, 'IMGPROXY_ONLY_PRESETS', 'true'],
      [{}, 'IMGPROXY_ONLY_PRESETS', 'false'],
      [{ ttl: 3600 }, 'IMGPROXY_TTL', '3600'],
      [{}, 'IMGPROXY_GRACEFUL_STOP_TIMEOUT', '20'],
      [{ env: [{ name: 'IMGPROXY_TIMEOUT', value: '7' }] }, 'IMGPROXY_GRACEFUL_STOP_TIMEOUT', '14'],
      [{ tracing: { endpoint: 'http://otel:4318' } }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'http://otel:4318'],
      [{ tracing: { endpoint: 'http://otel:4318' } }, 'OTEL_TRACES_SAMPLER', 'parentbased_traceidratio'],
      [{ tracing: { endpoint: 'http://otel:4318', samplingRatio: 0.3 } }, 'OTEL_TRACES_SAMPLER_ARG', '0.3'],
      [{ tracing: { endpoint: 'http://otel:4318' } }, 'OTEL_TRACES_SAMPLER_ARG', '0.1'],
      [{ tracing: { samplingRatio: 0.3 } }, 'OTEL_EXPORTER_OTLP_ENDPOINT', undefined],
      [{ sources: { s3: { endpoint: 'https://minio:9000', region: 'eu' } } }, 'IMGPROXY_USE_S3', 'true'],
      [{ sources: { s3: { endpoint: 'https://minio:9000' } } }, 'IMGPROXY_S3_ENDPOINT', 'https://minio:9000'],
      [{ sources: { s3: { region: 'eu' } } }, 'IMGPROXY_S3_REGION', 'eu'],
      [{ sources: { gcs: {} } }, 'IMGPROXY_USE_GCS', 'true'],
      [{ sources: { azure: { accountName: 'acct' } } }, 'IMGPROXY_USE_ABS', 'true'],
      [{ sources: { azure: { accountName: 'acct' } } }, 'IMGPROXY_ABS_NAME', 'acct'],
      [{ sources: { azure: { accountName: 'acct' } } }, 'IMGPROXY_ABS_ENDPOINT', undefined],
      [
        { sources: { azure: { endpoint: 'http://azurite:10000/acct' } } },
        'IMGPROXY_ABS_ENDPOINT',
        'http://azurite:10000/acct',
      ],
      [{ sources: { s3: {} } }, 'IMGPROXY_S3_ENDPOINT_USE_PATH_STYLE', 'true'],
      [{ sources: { s3: { pathStyle: false } } }, 'IMGPROXY_S3_ENDPOINT_USE_PATH_STYLE', 'false'],
      [{ sources: { s3: {} } }, 'IMGPROXY_S3_MULTI_REGION', 'false'],
      [{ sources: { s3: { multiRegion: true } } }, 'IMGPROXY_S3_MULTI_REGION', 'true'],
      [{ sources: { s3: {} } }, 'IMGPROXY_S3_ASSUME_ROLE_ARN', undefined],
      [
        { sources: { s3: { assumeRole: { arn: 'arn:aws:iam::123456789012:role/images' } } } },
        'IMGPROXY_S3_ASSUME_ROLE_ARN',
        'arn:aws:iam::123456789012:role/images',
      ],
      [
        {
          sources: { s3: { assumeRole: { arn: 'arn:aws:iam::123456789012:role/images', externalId: 'x1' } } },
        },
        'IMGPROXY_S3_ASSUME_ROLE_EXTERNAL_ID',
        'x1',
      ],
      [
        { sources: { gcs: { endpoint: 'http://fake-gcs:4443' } } },
        'IMGPROXY_GCS_ENDPOINT',
        'http://fake-gcs:4443',
      ],
      [{}, 'IMGPROXY_USE_S3', undefined],
    ];
    for (const [patch, name, want] of table) {
      const got = envValue(imageProxy(MINIMAL_SPEC, withSpec(patch)), name);
      assert.equal(got, want, `${name} for ${JSON.stringify(patch)}`);
    }
  });

  it('reads the signing key and salt from the Secret by reference, never by value', () => {
    const env = envOf(imageProxy({ signing: { secretRef: { name: 'web-signing' } } }));
    for (const [name, key] of [
      ['IMGPROXY_KEY', 'key'],
      ['IMGPROXY_SALT', 'salt'],
    ]) {
      assert.deepEqual(
        env.find((e) => e.name === name),
        { name, valueFrom: { secretKeyRef: { name: 'web-signing', key, optional: false } } },
      );
    }
  });

  it('sets no key or salt when signing is insecure', () => {
    const names = envOf(example('seed')).map((e) => e.name);
    assert.equal(names.includes('IMGPROXY_KEY'), false);
    assert.equal(names.includes('IMGPROXY_SALT'), false);
  });

  it('takes object store credentials from their Secrets, with no warning: the schemes are served', () => {
    const { env, warnings } = buildEnv(imageProxy(MAXIMAL_SPEC));
    const ref = (name: string) => env.find((e) => e.name === name)?.valueFrom;
    assert.deepEqual(ref('AWS_ACCESS_KEY_ID'), {
      secretKeyRef: { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID', optional: false },
    });
    assert.deepEqual(ref('AWS_SECRET_ACCESS_KEY'), {
      secretKeyRef: { name: 's3-creds', key: 'AWS_SECRET_ACCESS_KEY', optional: false },
    });
    assert.deepEqual(ref('IMGPROXY_GCS_KEY'), {
      secretKeyRef: { name: 'gcs-creds', key: 'key.json', optional: false },
    });
    assert.deepEqual(ref('IMGPROXY_ABS_KEY'), {
      secretKeyRef: { name: 'abs-creds', key: 'accountKey', optional: false },
    });
    for (const scheme of ['s3', 'gs', 'abs', 'gcs', 'azure']) {
      assert.ok(
        !warnings.some((w) => w.includes(scheme)),
        `no warning about ${scheme}: ${warnings.join('; ')}`,
      );
    }
    assert.deepEqual(buildEnv(imageProxy()).warnings, []);
  });

  it('sets no store credentials without a Secret: the SDKs find the pod identity', () => {
    const ip = imageProxy(
      MINIMAL_SPEC,
      withSpec({
        serviceAccountName: 'images-reader',
        sources: { s3: {}, gcs: {}, azure: { accountName: 'acct' } },
      }),
    );
    const names = envOf(ip).map((e) => e.name);
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'IMGPROXY_GCS_KEY',
      'IMGPROXY_ABS_KEY',
    ]) {
      assert.equal(names.includes(name), false, name);
    }
    for (const name of ['IMGPROXY_USE_S3', 'IMGPROXY_USE_GCS', 'IMGPROXY_USE_ABS'])
      assert.ok(names.includes(name), name);
  });

  it('the object store examples enable their store, with the pod identity and no warning', () => {
    const table: Array<['s3' | 'gcs' | 'azure', string, string]> = [
      ['s3', 'IMGPROXY_USE_S3', 'images-s3'],
      ['gcs', 'IMGPROXY_USE_GCS', 'images-gcs'],
      ['azure', 'IMGPROXY_USE_ABS', 'images-abs'],
    ];
    for (const [name, variable, serviceAccount] of table) {
      const ip = example(name);
      const { env, warnings } = buildEnv(ip);
      assert.deepEqual(warnings, [], name);
      assert.equal(env.find((e) => e.name === variable)?.value, 'true', name);
      assert.equal(
        env.some((e) => e.valueFrom !== undefined),
        false,
        `${name}: no Secret`,
      );
      const pod = objectOf(buildChildren(buildInput(ip)), 'Deployment').spec;
      assert.equal(pod.template.spec.serviceAccountName, serviceAccount, name);
      assert.equal(pod.template.spec.automountServiceAccountToken, false, name);
    }
  });

  it('renders env that the server loads and that enables the stores', () => {
    const ip = imageProxy(
      MINIMAL_SPEC,
      withSpec({
        sources: {
          s3: { endpoint: 'https://s3.internal:8333', region: 'eu-west-1', pathStyle: false },
          gcs: { endpoint: 'https://gcs.internal' },
          azure: { accountName: 'acct', endpoint: 'https://abs.internal/acct' },
        },
      }),
    );
    const vars = Object.fromEntries(envOf(ip).map((e) => [e.name, e.value ?? '']));
    const { sources } = loadConfig(vars);
    assert.deepEqual(sources.stores.s3, {
      enabled: true,
      region: 'eu-west-1',
      endpoint: 'https://s3.internal:8333',
      pathStyle: false,
      assumeRoleArn: '',
      assumeRoleExternalId: '',
      multiRegion: false,
    });
    assert.deepEqual(sources.stores.gcs, { enabled: true, key: '', endpoint: 'https://gcs.internal' });
    assert.deepEqual(sources.stores.abs, {
      enabled: true,
      accountName: 'acct',
      accountKey: '',
      endpoint: 'https://abs.internal/acct',
    });
  });

  it('turns http.enabled: false into an allow-list without http(s) prefixes', () => {
    const table: Array<[string, Record<string, unknown>, string, number]> = [
      [
        'http prefixes dropped, local kept',
        {
          sources: {
            http: { enabled: false },
            allowedPrefixes: ['https://a.example/', 'local:///pics/'],
            local: { volume: { emptyDir: {} } },
          },
        },
        'local:///pics/',
        1,
      ],
      [
        'no prefixes, local volume',
        { sources: { http: { enabled: false }, local: { volume: { emptyDir: {} } } } },
        'local:///',
        0,
      ],
      ['nothing enabled at all', { sources: { http: { enabled: false } } }, 'local:///', 1],
    ];
    for (const [name, patch, allowed, warningCount] of table) {
      const ip = imageProxy(MINIMAL_SPEC, withSpec(patch));
      assert.equal(envValue(ip, 'IMGPROXY_ALLOWED_SOURCES'), allowed, name);
      assert.equal(buildEnv(ip).warnings.length, warningCount, name);
    }
  });

  it('appends spec.env after every derived variable, in its order', () => {
    const extra = [
      { name: 'IMGPROXY_WORKERS', value: '3' },
      { name: 'IMGPROXY_AVIF_SPEED', value: '5' },
    ];
    const env = envOf(example('seed', withSpec({ env: extra, tracing: { endpoint: 'http://otel:4318' } })));
    assert.deepEqual(env.slice(-2), extra);
    assert.equal(new Set(env.map((e) => e.name)).size, env.length, 'no name twice');
  });

  it('lets spec.env win over a derived variable the operator does not own, once, with a warning', () => {
    const ip = imageProxy(
      MINIMAL_SPEC,
      withSpec({
        sources: { s3: { endpoint: 'https://a:9000' } },
        env: [{ name: 'IMGPROXY_S3_ENDPOINT', value: 'https://b:9000' }],
      }),
    );
    const { env, warnings } = buildEnv(ip);
    assert.deepEqual(
      env.filter((e) => e.name === 'IMGPROXY_S3_ENDPOINT'),
      [{ name: 'IMGPROXY_S3_ENDPOINT', value: 'https://b:9000' }],
    );
    assert.ok(warnings.some((w) => w.includes('IMGPROXY_S3_ENDPOINT') && w.includes('spec.env wins')));
  });

  it('writes the presets file sorted by name, one name=options per line, into the ConfigMap', () => {
    const seed = example('seed');
    const want = 'default=resizing_type:fit\nlg=size:1000:1000\nmd=size:500:500\nsm=size:250:250\n';
    assert.equal(presetsFile(seed.spec), want);
    const cm = objectOf(buildChildren(buildInput(seed)), 'ConfigMap');
    assert.equal(cm.data?.presets, want);
    assert.equal(PRESETS_PATH, '/etc/tinycdn/presets');
    const none = objectOf(buildChildren(buildInput(imageProxy())), 'ConfigMap');
    assert.ok(none.data !== undefined, 'a ConfigMap with data');
    assert.equal('presets' in none.data, false);
  });
});

describe('env accepted by the service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinycdn-env-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * The container's env as the kubelet would hand it over: Secret references resolved to
   * sample values, and the paths of mounted volumes mapped to a temporary folder holding the
   * ConfigMap's files.
   */
  function podEnv(ip: ImageProxy): Record<string, string> {
    const root = mkdtempSync(join(dir, 'pod-'));
    const cm = objectOf(buildChildren(buildInput(ip)), 'ConfigMap');
    mkdirSync(join(root, 'config'));
    mkdirSync(join(root, 'images'));
    for (const [k, v] of Object.entries(cm.data ?? {})) writeFileSync(join(root, 'config', k), v);
    const samples: Record<string, string> = {
      key: '736563726574',
      salt: '68656c6c6f',
      // The shape of a service account key: the service checks it is a JSON object.
      'key.json': JSON.stringify({ type: 'service_account', project_id: 'p' }),
    };
    const out: Record<string, string> = {};
    for (const e of envOf(ip)) {
      const value = e.value ?? samples[e.valueFrom?.secretKeyRef?.key ?? ''] ?? 'secret';
      out[e.name] = value
        .replace('/etc/tinycdn', join(root, 'config'))
        .replace('/srv/images', join(root, 'images'));
    }
    return out;
  }

  it('starts with the seed example: presets, enforced formats and limits as the seed had them', () => {
    const cfg = loadConfig(podEnv(example('seed')));
    assert.equal(cfg.server.port, 8081);
    assert.deepEqual([...cfg.url.presets.keys()].sort(), ['default', 'lg', 'md', 'sm']);
    assert.equal(cfg.url.onlyPresets, true);
    assert.equal(cfg.processing.enforceWebp, true);
    assert.equal(cfg.processing.enforceAvif, true);
    assert.deepEqual(cfg.sources.allowedSources, ['https://images.example.org/']);
    assert.equal(cfg.url.defaults.security.maxSrcResolution, 100);
  });

  it('accepts the env of every example and of the minimal and maximal specs', () => {
    const table: Array<[string, ImageProxy]> = [
      ['seed', example('seed')],
      ['production', example('production')],
      ['minimal', imageProxy()],
      ['maximal', imageProxy(MAXIMAL_SPEC)],
      ['s3', example('s3')],
      ['gcs', example('gcs')],
      ['azure', example('azure')],
    ];
    for (const [name, ip] of table) {
      assert.doesNotThrow(() => loadConfig(podEnv(ip)), name);
    }
  });
});
