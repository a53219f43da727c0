import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CACHE_CONTAINER, EXPORTER_CONTAINER } from '../api/pod.ts';
import type { ImageProxy } from '../api/v1alpha1.ts';
import {
  buildChildren,
  CONFIG_HASH_ANNOTATION,
  childLabels,
  MANAGED_KINDS,
  ownerReference,
  selectorLabels,
} from './index.ts';
import {
  buildInput,
  containerOf,
  example,
  imageProxy,
  MAXIMAL_SPEC,
  MINIMAL_SPEC,
  objectOf,
  podOf,
  withSpec,
} from './testing.ts';

const CASES: Array<[string, () => ImageProxy]> = [
  ['the seed example', () => example('seed')],
  ['the production example', () => example('production')],
  ['a minimal spec', () => imageProxy(MINIMAL_SPEC)],
  ['a maximal spec', () => imageProxy(MAXIMAL_SPEC)],
  ['a spec without the cache', () => imageProxy(MINIMAL_SPEC, withSpec({ cache: { enabled: false } }))],
];

const ALL_CRDS = { serviceMonitor: true, prometheusRule: true };
const kinds = (ip: ImageProxy, monitoring = ALL_CRDS) =>
  buildChildren(buildInput(ip, { monitoring })).objects.map((o) => o.kind);

describe('buildChildren', () => {
  it('builds the children in apply order, HPA and monitoring only when the spec asks', () => {
    const table: Array<[string, ImageProxy, string[]]> = [
      ['minimal', imageProxy(), ['ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget']],
      [
        'autoscaling on',
        imageProxy(MINIMAL_SPEC, withSpec({ autoscaling: { enabled: true } })),
        ['ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler'],
      ],
      [
        'monitoring on',
        imageProxy(MINIMAL_SPEC, withSpec({ monitoring: { enabled: true } })),
        ['ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule'],
      ],
      [
        'maximal',
        imageProxy(MAXIMAL_SPEC),
        [
          'ConfigMap',
          'Deployment',
          'Service',
          'PodDisruptionBudget',
          'HorizontalPodAutoscaler',
          'ServiceMonitor',
          'PrometheusRule',
        ],
      ],
    ];
    for (const [name, ip, want] of table) assert.deepEqual(kinds(ip), want, name);
  });

  it('skips monitoring objects whose CRD the cluster lacks, with a reason naming the CRD and the way out', () => {
    const ip = imageProxy(MINIMAL_SPEC, withSpec({ monitoring: { enabled: true } }));
    const table: Array<[BuildInputMonitoring, string[], string[]]> = [
      [{ serviceMonitor: false, prometheusRule: false }, [], ['ServiceMonitor', 'PrometheusRule']],
      [{ serviceMonitor: true, prometheusRule: false }, ['ServiceMonitor'], ['PrometheusRule']],
      [{ serviceMonitor: false, prometheusRule: true }, ['PrometheusRule'], ['ServiceMonitor']],
      [ALL_CRDS, ['ServiceMonitor', 'PrometheusRule'], []],
    ];
    for (const [monitoring, built, skipped] of table) {
      const r = buildChildren(buildInput(ip, { monitoring }));
      const monitoringKinds = r.objects
        .map((o) => o.kind)
        .filter((k) => k.endsWith('Monitor') || k.endsWith('Rule'));
      assert.deepEqual(monitoringKinds, built, JSON.stringify(monitoring));
      assert.deepEqual(
        r.skipped.map((s) => s.kind),
        skipped,
      );
      for (const s of r.skipped) {
        assert.match(s.reason, new RegExp(`no ${s.kind} CRD \\(monitoring\\.coreos\\.com/v1\\)`));
        assert.match(s.reason, /spec\.monitoring\.enabled/);
      }
    }
  });

  it('skips nothing when monitoring is off, even without the CRDs', () => {
    const r = buildChildren(buildInput(imageProxy()));
    assert.deepEqual(r.skipped, []);
  });

  it('names children NAME and NAME-config, in the ImageProxy namespace, with the child labels', () => {
    for (const [name, make] of CASES) {
      const ip = make();
      for (const o of buildChildren(buildInput(ip, { monitoring: ALL_CRDS })).objects) {
        const want = o.kind === 'ConfigMap' ? `${ip.metadata.name}-config` : ip.metadata.name;
        assert.equal(o.metadata.name, want, `${name}: ${o.kind}`);
        assert.equal(o.metadata.namespace, ip.metadata.namespace, `${name}: ${o.kind}`);
        assert.deepEqual(o.metadata.labels, childLabels(ip), `${name}: ${o.kind}`);
      }
    }
  });

  it('labels every child with name, instance, managed-by and the ImageProxy', () => {
    const ip = imageProxy(MINIMAL_SPEC, { name: 'photos' });
    assert.deepEqual(childLabels(ip), {
      'app.kubernetes.io/name': 'tinycdn',
      'app.kubernetes.io/instance': 'photos',
      'app.kubernetes.io/managed-by': 'tinycdn-operator',
      'tinycdn.dev/imageproxy': 'photos',
    });
    assert.deepEqual(selectorLabels(ip), {
      'app.kubernetes.io/name': 'tinycdn',
      'app.kubernetes.io/instance': 'photos',
    });
  });

  it('selects the pods by the selector labels everywhere, and spec.podLabels cannot override them', () => {
    const ip = imageProxy(MAXIMAL_SPEC, { name: 'max' });
    const r = buildChildren(buildInput(ip, { monitoring: ALL_CRDS }));
    const selector = selectorLabels(ip);
    const deployment = objectOf(r, 'Deployment');
    assert.deepEqual(deployment.spec.selector, { matchLabels: selector });
    const pod = podOf(deployment);
    assert.equal(pod.metadata.labels?.['app.kubernetes.io/instance'], 'max', 'podLabels tried to hijack it');
    assert.equal(pod.metadata.labels?.['example.com/tier'], 'edge', 'other podLabels kept');
    for (const [k, v] of Object.entries(childLabels(ip))) assert.equal(pod.metadata.labels?.[k], v, k);
    assert.deepEqual(objectOf(r, 'Service').spec.selector, selector);
    assert.deepEqual(objectOf(r, 'PodDisruptionBudget').spec.selector, {
      matchLabels: selector,
    });
    assert.deepEqual(objectOf(r, 'ServiceMonitor').spec.selector, {
      matchLabels: selector,
    });
  });

  it('sets a controller owner reference on every child only when the ImageProxy has a uid', () => {
    for (const [uid, want] of [
      ['6f1c7c9e-0000-4000-8000-000000000001', 1],
      [undefined, 0],
      ['', 0],
    ] as const) {
      const ip = imageProxy(MAXIMAL_SPEC, uid === undefined ? {} : { uid });
      const r = buildChildren(buildInput(ip, { monitoring: ALL_CRDS }));
      for (const o of r.objects) {
        assert.equal(o.metadata.ownerReferences?.length ?? 0, want, `${o.kind} with uid ${uid}`);
        if (want === 1) {
          assert.deepEqual(o.metadata.ownerReferences, [
            {
              apiVersion: 'tinycdn.dev/v1alpha1',
              kind: 'ImageProxy',
              name: 'imgs',
              uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ]);
        } else {
          assert.equal('ownerReferences' in o.metadata, false, `${o.kind}: no empty ownerReferences key`);
        }
      }
      assert.equal(ownerReference(ip)?.uid, want === 1 ? uid : undefined);
    }
  });

  it('lists every kind it builds in MANAGED_KINDS, the monitoring ones as optional', () => {
    const built = buildChildren(buildInput(imageProxy(MAXIMAL_SPEC), { monitoring: ALL_CRDS })).objects;
    for (const o of built) {
      const k = MANAGED_KINDS.find((m) => m.kind === o.kind);
      assert.ok(k, `${o.kind} missing from MANAGED_KINDS`);
      assert.equal(k.apiVersion, o.apiVersion, o.kind);
      assert.equal(k.group, o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '', o.kind);
      assert.equal(k.optional, k.group === 'monitoring.coreos.com', o.kind);
    }
    assert.equal(MANAGED_KINDS.length, built.length, 'no kind in MANAGED_KINDS that is never built');
  });

  it('returns plain JSON data: nothing undefined, nothing a server-side apply would lose', () => {
    for (const [name, make] of CASES) {
      const r = buildChildren(buildInput(make(), { monitoring: ALL_CRDS, signingSecretChecksum: 'abc' }));
      assert.deepEqual(JSON.parse(JSON.stringify(r.objects)), r.objects, name);
    }
  });

  it('is pure: the same input gives the same output and the input is not changed', () => {
    const ip = imageProxy(MAXIMAL_SPEC);
    const before = structuredClone(ip);
    const a = buildChildren(buildInput(ip, { monitoring: ALL_CRDS }));
    const b = buildChildren(buildInput(ip, { monitoring: ALL_CRDS }));
    assert.deepEqual(a, b);
    assert.deepEqual(ip, before);
  });
});

type BuildInputMonitoring = { serviceMonitor: boolean; prometheusRule: boolean };

describe('Deployment', () => {
  const deployment = (ip: ImageProxy, checksum?: string) =>
    objectOf(
      buildChildren(buildInput(ip, checksum === undefined ? {} : { signingSecretChecksum: checksum })),
      'Deployment',
    );

  it('leaves replicas to the HPA when autoscaling is on, and sets them when off', () => {
    const off = deployment(imageProxy(MINIMAL_SPEC, withSpec({ replicas: 3 }))).spec;
    assert.equal(off.replicas, 3);
    const on = deployment(
      imageProxy(MINIMAL_SPEC, withSpec({ replicas: 3, autoscaling: { enabled: true } })),
    ).spec;
    assert.equal('replicas' in on, false);
  });

  it('rolls out without ever dropping below the wanted pods', () => {
    assert.deepEqual(deployment(imageProxy()).spec.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' },
    });
  });

  it('runs every container and the pod under the "restricted" Pod Security Standard', () => {
    for (const [name, make] of CASES) {
      const pod = podOf(deployment(make()));
      assert.equal(pod.spec.securityContext?.runAsNonRoot, true, name);
      assert.deepEqual(pod.spec.securityContext?.seccompProfile, { type: 'RuntimeDefault' }, name);
      for (const c of pod.containers) {
        const what = `${name}: container ${c.name}`;
        const sc = c.securityContext;
        assert.ok(sc, `${what}: a security context`);
        assert.equal(sc.runAsNonRoot, true, what);
        assert.equal(typeof sc.runAsUser, 'number', what);
        assert.notEqual(sc.runAsUser, 0, what);
        assert.equal(sc.allowPrivilegeEscalation, false, what);
        assert.equal(sc.readOnlyRootFilesystem, true, what);
        assert.deepEqual(sc.capabilities, { drop: ['ALL'] }, what);
        assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' }, what);
        // The exporter writes no file at all: it gets no volume.
        if (c.name === EXPORTER_CONTAINER) {
          assert.equal(c.volumeMounts, undefined, what);
          continue;
        }
        // A read-only root needs a writable /tmp on an emptyDir.
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        assert.ok(tmp, `${what}: /tmp mounted`);
        const vol = pod.spec.volumes?.find((v) => v.name === tmp.name);
        assert.ok(vol && 'emptyDir' in vol, `${what}: /tmp is an emptyDir`);
      }
    }
  });

  it('runs the service as uid 1000 and nginx as uid 101', () => {
    const d = deployment(example('seed'));
    assert.equal(containerOf(d, 'tinycdn').securityContext?.runAsUser, 1000);
    assert.equal(containerOf(d, CACHE_CONTAINER).securityContext?.runAsUser, 101);
  });

  it('runs `serve` on port 8081 with probes on /health and /ready', () => {
    const c = containerOf(deployment(example('seed')), 'tinycdn');
    assert.deepEqual(c.args, ['serve']);
    assert.deepEqual(
      c.ports?.map((p) => [p.name, p.containerPort]),
      [
        ['app', 8081],
        ['metrics', 9090],
      ],
    );
    const probe = (p: 'livenessProbe' | 'readinessProbe' | 'startupProbe') => c[p]?.httpGet;
    assert.deepEqual(probe('livenessProbe'), { path: '/health', port: 'app' });
    assert.deepEqual(probe('readinessProbe'), { path: '/ready', port: 'app' });
    assert.deepEqual(probe('startupProbe'), { path: '/health', port: 'app' });
  });

  it('puts nginx in front on port 8080, ready when /ready answers through it, config from the ConfigMap', () => {
    const d = deployment(example('seed'));
    const c = containerOf(d, CACHE_CONTAINER);
    assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/ready', port: 'http' });
    assert.deepEqual(c.command, ['nginx', '-c', '/etc/tinycdn/nginx.conf', '-e', 'stderr']);
    const config = c.volumeMounts?.find((m) => m.mountPath === '/etc/tinycdn');
    assert.equal(config?.readOnly, true);
    const vol = podOf(d).spec.volumes?.find((v) => v.name === config?.name);
    assert.deepEqual(vol?.configMap, { name: 'images-config' });
    assert.match(c.lifecycle?.preStop?.exec?.command?.join(' ') ?? '', /nginx .*-s quit/);
  });

  it('runs the NGINX exporter as a third container exactly when monitoring and the cache are both on', () => {
    const table: Array<[string, ImageProxy, string[]]> = [
      ['defaults (monitoring off)', imageProxy(), ['tinycdn', 'cache']],
      [
        'monitoring on',
        imageProxy(MINIMAL_SPEC, withSpec({ monitoring: { enabled: true } })),
        ['tinycdn', 'cache', 'nginx-exporter'],
      ],
      [
        'monitoring on, cache off: no nginx to read',
        imageProxy(MINIMAL_SPEC, withSpec({ monitoring: { enabled: true }, cache: { enabled: false } })),
        ['tinycdn'],
      ],
      ['the production example', example('production'), ['tinycdn', 'cache', 'nginx-exporter']],
    ];
    for (const [name, ip, want] of table) {
      assert.deepEqual(
        podOf(deployment(ip)).containers.map((c) => c.name),
        want,
        name,
      );
    }
  });

  it('points the exporter at stub_status on the pod loopback and serves it on 9113 `nginx-metrics`', () => {
    const c = containerOf(
      deployment(imageProxy(MINIMAL_SPEC, withSpec({ monitoring: { enabled: true } }))),
      EXPORTER_CONTAINER,
    );
    assert.equal(c.image, 'ghcr.io/tinycdn/nginx-exporter:0.1.0');
    // The image's entrypoint is the exporter: args only, in the --flag=value form 0.11 and 1.x share.
    assert.equal(c.command, undefined);
    assert.deepEqual(c.args, [
      '--nginx.scrape-uri=http://127.0.0.1:8082/nginx_status',
      '--web.listen-address=:9113',
    ]);
    assert.deepEqual(c.ports, [{ name: 'nginx-metrics', containerPort: 9113, protocol: 'TCP' }]);
    // Never part of the pod's readiness; liveness without HTTP, so probes are not nginx requests.
    assert.equal(c.readinessProbe, undefined);
    assert.equal(c.startupProbe, undefined);
    assert.deepEqual(c.livenessProbe?.tcpSocket, { port: 'nginx-metrics' });
    assert.deepEqual(c.resources, { requests: { cpu: '10m', memory: '24Mi' }, limits: { memory: '64Mi' } });
    assert.equal(c.securityContext?.runAsUser, 65534);
  });

  it('takes the exporter image and pull policy from the spec', () => {
    const c = containerOf(deployment(imageProxy(MAXIMAL_SPEC)), EXPORTER_CONTAINER);
    assert.equal(c.image, 'registry.example.com/nginx-prometheus-exporter:1.4.2');
    assert.equal(c.imagePullPolicy, (MAXIMAL_SPEC as { imagePullPolicy: string }).imagePullPolicy);
  });

  it('has no nginx container, and no nginx config, when the cache is off', () => {
    const ip = imageProxy(MINIMAL_SPEC, withSpec({ cache: { enabled: false } }));
    const r = buildChildren(buildInput(ip));
    assert.deepEqual(
      podOf(objectOf(r, 'Deployment')).containers.map((c) => c.name),
      ['tinycdn'],
    );
    assert.deepEqual(objectOf(r, 'ConfigMap').data, {});
  });

  it('gives the kubelet more time than the preStop delay plus the graceful stop', () => {
    const table: Array<[string, ImageProxy, number]> = [
      ['defaults (timeout 10 s → graceful stop 20 s)', imageProxy(), 20],
      [
        'IMGPROXY_TIMEOUT=30 → graceful stop 60 s',
        imageProxy(MINIMAL_SPEC, withSpec({ env: [{ name: 'IMGPROXY_TIMEOUT', value: '30' }] })),
        60,
      ],
      ['no cache', imageProxy(MINIMAL_SPEC, withSpec({ cache: { enabled: false } })), 20],
    ];
    for (const [name, ip, graceful] of table) {
      const d = deployment(ip);
      const pod = podOf(d);
      const app = containerOf(d, 'tinycdn');
      assert.equal(
        app.env?.find((e) => e.name === 'IMGPROXY_GRACEFUL_STOP_TIMEOUT')?.value,
        String(graceful),
        name,
      );
      const preStop = Number(app.lifecycle?.preStop?.exec?.command?.[1]);
      assert.ok(preStop > 0, `${name}: preStop sleeps`);
      assert.ok((pod.spec.terminationGracePeriodSeconds ?? 0) > preStop + graceful, `${name}: grace period`);
    }
  });

  it('sizes the cache emptyDir from cache.size plus headroom, or uses the given volume', () => {
    const cacheVolume = (ip: ImageProxy) => {
      const pod = podOf(deployment(ip));
      return {
        volume: pod.spec.volumes?.find((v) => v.name === 'cache'),
        fsGroup: pod.spec.securityContext?.fsGroup,
      };
    };
    const table: Array<[string, Record<string, unknown>, Record<string, unknown>, number | undefined]> = [
      ['default 1Gi', {}, { emptyDir: { sizeLimit: '1280Mi' } }, undefined],
      ['10Gi', { cache: { size: '10Gi' } }, { emptyDir: { sizeLimit: '12800Mi' } }, undefined],
      [
        'explicit emptyDir',
        { cache: { size: '256Mi', storage: { emptyDir: { medium: 'Memory', sizeLimit: '300Mi' } } } },
        { emptyDir: { medium: 'Memory', sizeLimit: '300Mi' } },
        undefined,
      ],
      [
        'ephemeral claim',
        { cache: { size: '5Gi', storage: { ephemeral: { storageClassName: 'ssd', size: '6Gi' } } } },
        {
          ephemeral: {
            volumeClaimTemplate: {
              metadata: { labels: childLabels(imageProxy()) },
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: 'ssd',
                resources: { requests: { storage: '6Gi' } },
              },
            },
          },
        },
        101,
      ],
    ];
    for (const [name, patch, want, fsGroup] of table) {
      const got = cacheVolume(imageProxy(MINIMAL_SPEC, withSpec(patch)));
      assert.deepEqual(got.volume, { name: 'cache', ...want }, name);
      assert.equal(got.fsGroup, fsGroup, `${name}: fsGroup`);
    }
  });

  it('refuses a cache volume or memory limit that cannot hold cache.size, naming the fields', () => {
    const memory = (size: string, limit: string | number | undefined) => ({
      cache: {
        size,
        storage: { emptyDir: { medium: 'Memory' } },
        ...(limit === undefined ? {} : { resources: { limits: { memory: limit } } }),
      },
    });
    const table: Array<[string, Record<string, unknown>, RegExp | undefined]> = [
      [
        'emptyDir sizeLimit below the cache',
        { cache: { size: '2Gi', storage: { emptyDir: { sizeLimit: '1Gi' } } } },
        /cache\.storage\.emptyDir\.sizeLimit 1Gi is below cache\.size 2Gi.*at least 2560Mi/,
      ],
      [
        'emptyDir sizeLimit equal to the cache',
        { cache: { size: '1Gi', storage: { emptyDir: { sizeLimit: '1Gi' } } } },
        undefined,
      ],
      [
        'claim below the cache',
        { cache: { size: '20Gi', storage: { ephemeral: { size: '10G' } } } },
        /cache\.storage\.ephemeral\.size 10G is below cache\.size 20Gi/,
      ],
      [
        'in memory, limit below the cache',
        memory('512Mi', '512Mi'),
        /cache\.resources\.limits\.memory 512Mi cannot hold a 512Mi cache in memory.*at least 549Mi/,
      ],
      ['in memory, limit as a plain number of bytes', memory('512Mi', 512 * 2 ** 20), /at least 549Mi/],
      ['in memory, limit in decimal units', memory('1Gi', '1.1G'), /at least 1065Mi/],
      ['in memory, limit with room', memory('512Mi', '549Mi'), undefined],
      ['in memory, no limit', memory('512Mi', undefined), undefined],
      // Only the cache container's limit counts: the files are written by nginx.
      [
        'on disk, small memory limit',
        { cache: { size: '10Gi', resources: { limits: { memory: '64Mi' } } } },
        undefined,
      ],
    ];
    for (const [name, patch, refused] of table) {
      const ip = imageProxy(MINIMAL_SPEC, withSpec(patch));
      if (refused === undefined) assert.doesNotThrow(() => deployment(ip), name);
      else assert.throws(() => deployment(ip), refused, name);
    }
  });

  it('mounts spec.sources.local.volume read-only at /srv/images', () => {
    const d = deployment(imageProxy(MAXIMAL_SPEC));
    const mount = containerOf(d, 'tinycdn').volumeMounts?.find((m) => m.mountPath === '/srv/images');
    assert.deepEqual(mount, { name: 'images', mountPath: '/srv/images', readOnly: true });
    assert.deepEqual(
      podOf(d).spec.volumes?.find((v) => v.name === 'images'),
      { name: 'images', persistentVolumeClaim: { claimName: 'originals' } },
    );
    assert.equal(
      containerOf(d, 'tinycdn').env?.find((e) => e.name === 'IMGPROXY_LOCAL_FILESYSTEM_ROOT')?.value,
      '/srv/images',
    );
  });

  it('passes scheduling fields and pod annotations through', () => {
    const pod = podOf(deployment(imageProxy(MAXIMAL_SPEC)));
    assert.deepEqual(pod.spec.nodeSelector, MAXIMAL_SPEC.nodeSelector);
    assert.deepEqual(pod.spec.tolerations, MAXIMAL_SPEC.tolerations);
    assert.deepEqual(pod.spec.affinity, MAXIMAL_SPEC.affinity);
    assert.deepEqual(pod.spec.topologySpreadConstraints, MAXIMAL_SPEC.topologySpreadConstraints);
    assert.equal(pod.metadata.annotations?.['example.com/owner'], 'media');
    assert.notEqual(
      pod.metadata.annotations?.[CONFIG_HASH_ANNOTATION],
      'forged',
      'the hash cannot be forged',
    );
    for (const key of ['nodeSelector', 'tolerations', 'affinity', 'topologySpreadConstraints']) {
      assert.equal(key in podOf(deployment(imageProxy())).spec, false, `${key} absent when unset`);
    }
  });

  it('takes container resources from the spec', () => {
    const d = deployment(imageProxy(MAXIMAL_SPEC));
    assert.deepEqual(containerOf(d, 'tinycdn').resources, MAXIMAL_SPEC.resources as object);
    assert.deepEqual(
      containerOf(d, 'cache').resources,
      (MAXIMAL_SPEC.cache as { resources: object }).resources,
    );
    // The default: the CRD's default requests (the HPA needs a CPU request).
    assert.deepEqual(containerOf(deployment(imageProxy()), 'tinycdn').resources, {
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    });
  });
});

describe('config hash', () => {
  const hash = (ip: ImageProxy, checksum?: string) =>
    podOf(
      objectOf(
        buildChildren(buildInput(ip, checksum === undefined ? {} : { signingSecretChecksum: checksum })),
        'Deployment',
      ),
    ).metadata.annotations?.[CONFIG_HASH_ANNOTATION];

  const base = () => example('seed');
  const seedWith = (patch: Record<string, unknown>) => example('seed', withSpec(patch));

  it('is a sha256 on the pod template', () => {
    assert.match(hash(base()) ?? '', /^[0-9a-f]{64}$/);
  });

  it('changes when the ConfigMap, the env or the signing Secret changes', () => {
    const table: Array<[string, () => string | undefined]> = [
      ['a preset changes (presets file)', () => hash(seedWith({ presets: { sm: 'size:260:260' } }))],
      ['the cache validity changes (nginx.conf)', () => hash(seedWith({ cache: { validity: '7d' } }))],
      ['the quality changes (env)', () => hash(seedWith({ formats: { quality: 70 } }))],
      ['spec.env changes (env)', () => hash(seedWith({ env: [{ name: 'IMGPROXY_WORKERS', value: '3' }] }))],
      ['the signing Secret checksum appears', () => hash(base(), 'sum-1')],
    ];
    const original = hash(base());
    for (const [name, changed] of table) assert.notEqual(changed(), original, name);
    assert.notEqual(hash(base(), 'sum-1'), hash(base(), 'sum-2'), 'the signing Secret rotates');
  });

  it('stays the same for changes the pods do not read, and for the same maps in another order', () => {
    const original = hash(base());
    const table: Array<[string, ImageProxy]> = [
      ['replicas', seedWith({ replicas: 7 })],
      ['pod annotations', seedWith({ podAnnotations: { a: 'b' } })],
      ['service type', seedWith({ service: { type: 'NodePort' } })],
      ['autoscaling', seedWith({ autoscaling: { enabled: true } })],
      [
        'presets in another order',
        example('seed', (doc) => {
          doc.spec.presets = {
            lg: 'size:1000:1000',
            sm: 'size:250:250',
            default: 'resizing_type:fit',
            md: 'size:500:500',
          };
        }),
      ],
    ];
    for (const [name, ip] of table) assert.equal(hash(ip), original, name);
    assert.equal(hash(base(), 'same'), hash(base(), 'same'));
  });
});

describe('Service, PDB, HPA, monitoring', () => {
  const build = (ip: ImageProxy) => buildChildren(buildInput(ip, { monitoring: ALL_CRDS }));

  it('targets nginx (`http`) when the cache is on and the service (`app`) when it is off', () => {
    for (const [enabled, target] of [
      [true, 'http'],
      [false, 'app'],
    ] as const) {
      const svc = objectOf(build(imageProxy(MINIMAL_SPEC, withSpec({ cache: { enabled } }))), 'Service');
      assert.deepEqual(svc.spec.ports?.[0], { name: 'http', port: 80, targetPort: target, protocol: 'TCP' });
    }
  });

  it('takes the Service type, port and annotations from the spec, and exposes metrics only with monitoring', () => {
    const max = objectOf(build(imageProxy(MAXIMAL_SPEC)), 'Service');
    assert.equal(max.spec.type, 'LoadBalancer');
    assert.deepEqual(
      max.spec.ports?.map((p) => [p.name, p.port]),
      [
        ['http', 8443],
        ['metrics', 9090],
        ['nginx-metrics', 9113],
      ],
    );
    // No exporter without the cache, so no port for it.
    const noCache = objectOf(
      build(imageProxy(MINIMAL_SPEC, withSpec({ monitoring: { enabled: true }, cache: { enabled: false } }))),
      'Service',
    );
    assert.deepEqual(
      noCache.spec.ports?.map((p) => [p.name, p.targetPort]),
      [
        ['http', 'app'],
        ['metrics', 'metrics'],
      ],
    );
    assert.deepEqual(max.metadata.annotations, { 'lb.example.com/internal': 'true' });
    const min = objectOf(build(imageProxy()), 'Service');
    assert.deepEqual(
      min.spec.ports?.map((p) => p.name),
      ['http'],
    );
    assert.equal('annotations' in min.metadata, false);
  });

  it('lets voluntary disruptions take one pod at a time', () => {
    const pdb = objectOf(build(imageProxy()), 'PodDisruptionBudget');
    assert.equal(pdb.spec.maxUnavailable, 1);
  });

  it('scales the Deployment on the transform container CPU within the spec bounds', () => {
    const hpa = objectOf(build(imageProxy(MAXIMAL_SPEC)), 'HorizontalPodAutoscaler');
    assert.deepEqual(hpa.spec, {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'imgs' },
      minReplicas: 3,
      maxReplicas: 30,
      metrics: [
        {
          type: 'ContainerResource',
          containerResource: {
            name: 'cpu',
            container: 'tinycdn',
            target: { type: 'Utilization', averageUtilization: 60 },
          },
        },
      ],
    });
  });

  it("sets the HPA's scale-down stabilisation only when the spec asks (else Kubernetes' 300 s)", () => {
    const hpaOf = (autoscaling: Record<string, unknown>) =>
      objectOf(build(imageProxy(MINIMAL_SPEC, withSpec({ autoscaling }))), 'HorizontalPodAutoscaler').spec;
    assert.equal(hpaOf({ enabled: true }).behavior, undefined);
    assert.deepEqual(hpaOf({ enabled: true, scaleDownStabilizationSeconds: 60 }).behavior, {
      scaleDown: { stabilizationWindowSeconds: 60 },
    });
    assert.deepEqual(hpaOf({ enabled: true, scaleDownStabilizationSeconds: 0 }).behavior, {
      scaleDown: { stabilizationWindowSeconds: 0 },
    });
  });

  it('scrapes the `metrics` and `nginx-metrics` ports and renders the alerts (details: monitoring.test.ts)', () => {
    const r = build(imageProxy(MAXIMAL_SPEC));
    const sm = objectOf(r, 'ServiceMonitor');
    assert.deepEqual(
      sm.spec.endpoints.map((e) => e.port),
      ['metrics', 'nginx-metrics'],
    );
    const rules = objectOf(r, 'PrometheusRule').spec.groups[0]?.rules;
    assert.ok(rules?.some((x) => x.alert === 'ImageProxyDown'));
    assert.ok(rules?.some((x) => x.alert === 'ImageProxyHigh5xxRatio'));
  });
});
