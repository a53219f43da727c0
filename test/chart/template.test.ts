// The chart rendered by `helm lint` / `helm template`, without a cluster.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseOperatorArgs } from '../../cli/operator.ts';
import { CLUSTER_RULES, LEASE_NAME, NAMESPACE_RULES, policyRule } from '../../operator/rbac.ts';
import { BUILD_MS, CHART, type Helm, localHelm, type Manifest, one, parseManifests, ROOT } from './helm.ts';

let helm: Helm;
before(
  async () => {
    helm = await localHelm();
  },
  { timeout: BUILD_MS },
);
after(() => helm?.close());

// The Grafana dashboard's ConfigMap (dashboards.enabled) has tests of its own: left out here.
const kinds = (manifests: readonly Manifest[]) =>
  manifests
    .filter((m) => m.kind !== 'ConfigMap')
    .map((m) => m.kind)
    .sort();

/** The parts of Pod Security "restricted" that a pod template can get wrong. */
function assertRestricted(deployment: Manifest) {
  const pod = deployment.spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(pod.hostNetwork ?? false, false);
  assert.equal(pod.hostPID ?? false, false);
  for (const volume of pod.volumes ?? []) assert.deepEqual(Object.keys(volume).sort(), ['emptyDir', 'name']);
  for (const container of pod.containers) {
    const sc = container.securityContext;
    assert.equal(sc.allowPrivilegeEscalation, false, container.name);
    assert.deepEqual(sc.capabilities, { drop: ['ALL'] }, container.name);
    assert.equal(sc.readOnlyRootFilesystem, true, container.name);
    assert.equal(sc.privileged ?? false, false, container.name);
  }
}

describe('helm lint and template', () => {
  test('helm lint --strict passes', async () => {
    const { stdout } = await helm.run(['lint', '--strict', CHART]);
    assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test('the defaults render the CRD, the RBAC, the operator Deployment and its metrics Service', async () => {
    const manifests = await helm.template();
    assert.deepEqual(kinds(manifests), [
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'Deployment',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    for (const m of manifests) {
      if (m.kind !== 'CustomResourceDefinition' && !m.kind.startsWith('Cluster')) {
        assert.equal(m.metadata.namespace, 'tinycdn-system', `${m.kind} namespace`);
      }
    }
    assert.equal(one(manifests, 'ServiceAccount').metadata.name, 'tinycdn-operator');
  });

  test('the CRD is the one in crds/, kept on uninstall', async () => {
    const crd = one(await helm.template(), 'CustomResourceDefinition');
    const generated = parse(readFileSync(join(ROOT, 'crds', 'imageproxies.tinycdn.dev.yaml'), 'utf8'));
    assert.deepEqual(crd.spec, generated.spec);
    assert.equal(crd.metadata.name, generated.metadata.name);
    assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    assert.equal(crd.metadata.labels?.['app.kubernetes.io/instance'], 'tinycdn');
  });

  test('the roles carry exactly the rules of operator/rbac.ts', async () => {
    const manifests = await helm.template();
    assert.deepEqual(one(manifests, 'ClusterRole').rules, CLUSTER_RULES.map(policyRule));
    const role = one(manifests, 'Role');
    assert.equal(role.metadata.name, 'tinycdn-operator-leader-election');
    assert.deepEqual(role.rules, NAMESPACE_RULES.map(policyRule));
    assert.ok(role.rules.some((r: { resourceNames?: string[] }) => r.resourceNames?.includes(LEASE_NAME)));
    const subject = { kind: 'ServiceAccount', name: 'tinycdn-operator', namespace: 'tinycdn-system' };
    assert.deepEqual(one(manifests, 'ClusterRoleBinding').subjects, [subject]);
    assert.deepEqual(one(manifests, 'RoleBinding').subjects, [subject]);
  });

  test('the operator runs `tinycdn operator` from the tinycdn image under a restricted security context', async () => {
    const deployment = one(await helm.template(), 'Deployment');
    assert.equal(deployment.metadata.name, 'tinycdn-operator');
    assertRestricted(deployment);
    const pod = deployment.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'tinycdn-operator');
    const [container] = pod.containers;
    assert.equal(pod.containers.length, 1);
    assert.equal(container.image, 'ghcr.io/tinycdn/tinycdn:0.1.0');
    assert.deepEqual(container.args, [
      'operator',
      '--leader-elect=true',
      '--log-level=info',
      '--metrics-bind-address=:8383',
    ]);
    assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: 8383, protocol: 'TCP' }]);
    assert.deepEqual(
      container.env.map((e: { name: string; valueFrom: { fieldRef: { fieldPath: string } } }) => [
        e.name,
        e.valueFrom.fieldRef.fieldPath,
      ]),
      [
        ['POD_NAMESPACE', 'metadata.namespace'],
        ['POD_NAME', 'metadata.name'],
      ],
    );
    assert.deepEqual(container.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
    // No probes until the operator serves a health endpoint.
    assert.equal(container.livenessProbe, undefined);
    assert.equal(container.readinessProbe, undefined);
  });

  test("the operator's pods cannot be selected by an ImageProxy's selector", async () => {
    const deployment = one(await helm.template(), 'Deployment');
    // An ImageProxy named like the release selects {name: tinycdn, instance: tinycdn}.
    assert.equal(deployment.spec.selector.matchLabels['app.kubernetes.io/name'], 'tinycdn-operator');
    assert.equal(deployment.spec.template.metadata.labels['app.kubernetes.io/name'], 'tinycdn-operator');
  });

  const variants: Array<{ name: string; set: string[]; check: (m: Manifest[]) => void }> = [
    {
      name: 'crds.enabled=false leaves the CRD out',
      set: ['crds.enabled=false'],
      check: (m) => assert.ok(!kinds(m).includes('CustomResourceDefinition')),
    },
    {
      name: 'crds.keep=false drops the keep annotation',
      set: ['crds.keep=false'],
      check: (m) => assert.equal(one(m, 'CustomResourceDefinition').metadata.annotations, undefined),
    },
    {
      name: 'rbac.create=false leaves out every role and binding',
      set: ['rbac.create=false'],
      check: (m) =>
        assert.deepEqual(kinds(m), ['CustomResourceDefinition', 'Deployment', 'Service', 'ServiceAccount']),
    },
    {
      name: 'serviceAccount.create=false runs the pods as the named ServiceAccount',
      set: ['serviceAccount.create=false', 'serviceAccount.name=existing'],
      check: (m) => {
        assert.ok(!kinds(m).includes('ServiceAccount'));
        assert.equal(one(m, 'Deployment').spec.template.spec.serviceAccountName, 'existing');
        assert.equal(one(m, 'ClusterRoleBinding').subjects[0].name, 'existing');
      },
    },
    {
      name: 'watchNamespace binds the ClusterRole in that namespace only and passes the flag',
      set: ['watchNamespace=web'],
      check: (m) => {
        assert.ok(!kinds(m).includes('ClusterRoleBinding'));
        const binding = one(m, 'RoleBinding', 'tinycdn-operator');
        assert.equal(binding.metadata.namespace, 'web');
        assert.deepEqual(binding.roleRef, {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'tinycdn-operator',
        });
        assert.ok(one(m, 'Deployment').spec.template.spec.containers[0].args.includes('--namespace=web'));
      },
    },
    {
      name: 'image, replicas, log level and leader election reach the Deployment',
      set: [
        'image.repository=registry.example/tinycdn',
        'image.tag=1.2.3',
        'image.pullPolicy=Always',
        'replicaCount=1',
        'leaderElection.enabled=false',
        'logLevel=debug',
      ],
      check: (m) => {
        const deployment = one(m, 'Deployment');
        const [container] = deployment.spec.template.spec.containers;
        assert.equal(container.image, 'registry.example/tinycdn:1.2.3');
        assert.equal(container.imagePullPolicy, 'Always');
        assert.deepEqual(container.args, [
          'operator',
          '--leader-elect=false',
          '--log-level=debug',
          '--metrics-bind-address=:8383',
        ]);
      },
    },
    {
      name: 'scheduling values reach the pod',
      set: [
        'nodeSelector.kubernetes\\.io/os=linux',
        'tolerations[0].key=dedicated',
        'tolerations[0].operator=Exists',
        'imagePullSecrets[0].name=registry',
        'replicaCount=3',
      ],
      check: (m) => {
        const deployment = one(m, 'Deployment');
        const pod = deployment.spec.template.spec;
        assert.equal(deployment.spec.replicas, 3);
        assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
        assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Exists' }]);
        assert.deepEqual(pod.imagePullSecrets, [{ name: 'registry' }]);
      },
    },
    {
      name: 'the metrics Service reaches every operator pod on the `metrics` port',
      set: [],
      check: (m) => {
        const svc = one(m, 'Service');
        assert.equal(svc.metadata.name, 'tinycdn-operator-metrics');
        assert.equal(svc.metadata.namespace, 'tinycdn-system');
        assert.deepEqual(svc.spec.selector, one(m, 'Deployment').spec.selector.matchLabels);
        assert.deepEqual(svc.spec.ports, [
          { name: 'metrics', port: 8383, targetPort: 'metrics', protocol: 'TCP' },
        ]);
      },
    },
    {
      name: 'metrics.port moves the flag, the container port and the Service port together',
      set: ['metrics.port=9443'],
      check: (m) => {
        const [container] = one(m, 'Deployment').spec.template.spec.containers;
        assert.ok(container.args.includes('--metrics-bind-address=:9443'));
        assert.equal(container.ports[0].containerPort, 9443);
        assert.equal(one(m, 'Service').spec.ports[0].port, 9443);
      },
    },
    {
      name: 'metrics.enabled=false turns the server off: flag 0, no port, no Service',
      set: ['metrics.enabled=false'],
      check: (m) => {
        const [container] = one(m, 'Deployment').spec.template.spec.containers;
        assert.ok(container.args.includes('--metrics-bind-address=0'));
        assert.equal(container.ports, undefined);
        assert.ok(!kinds(m).includes('Service'));
      },
    },
    {
      name: "metrics.serviceMonitor.enabled adds a ServiceMonitor that selects the metrics Service, and the operator's PrometheusRule",
      set: [
        'metrics.serviceMonitor.enabled=true',
        'metrics.serviceMonitor.interval=15s',
        'metrics.serviceMonitor.labels.release=kube-prometheus-stack',
      ],
      check: (m) => {
        const sm = one(m, 'ServiceMonitor');
        const svc = one(m, 'Service');
        assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
        assert.equal(sm.metadata.namespace, 'tinycdn-system');
        assert.equal(sm.metadata.labels?.release, 'kube-prometheus-stack');
        // What prometheus-operator does: the selector matches the Service's labels, in its namespace.
        for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) {
          assert.equal(svc.metadata.labels?.[k], v, k);
        }
        assert.deepEqual(sm.spec.namespaceSelector, { matchNames: ['tinycdn-system'] });
        assert.deepEqual(sm.spec.endpoints, [
          { port: 'metrics', path: '/metrics', interval: '15s', honorLabels: true },
        ]);
        assert.equal(svc.spec.ports[0].name, 'metrics');
        // The operator-wide alerts, with the same labels (test/monitoring/cluster/chart.test.ts
        // checks their content under promtool); the default test above shows both are off by default.
        const rule = one(m, 'PrometheusRule');
        assert.equal(rule.metadata.namespace, 'tinycdn-system');
        assert.deepEqual(rule.metadata.labels, sm.metadata.labels);
      },
    },
  ];
  for (const { name, set, check } of variants) {
    test(name, async () => check(await helm.template(set.flatMap((s) => ['--set', s]))));
  }

  test('a release not named tinycdn prefixes its objects with the release name', async () => {
    const { stdout } = await helm.run(['template', 'images', CHART, '-n', 'ops']);
    const deployment = one(parseManifests(stdout), 'Deployment');
    assert.equal(deployment.metadata.name, 'images-tinycdn-operator');
  });

  const rejected: Array<[string, string[], RegExp]> = [
    ['an unknown top-level key', ['foo=bar'], /additional properties 'foo' not allowed/],
    ['an unknown nested key', ['image.foo=bar'], /additional properties 'foo' not allowed/],
    ['a misspelt resources key', ['resources.request.cpu=1'], /additional properties 'request' not allowed/],
    ['a log level that does not exist', ['logLevel=loud'], /logLevel/],
    ['a pull policy that does not exist', ['image.pullPolicy=Sometimes'], /pullPolicy/],
    ['zero replicas', ['replicaCount=0'], /replicaCount/],
    ['an invalid namespace name', ['watchNamespace=Not_A_Namespace'], /watchNamespace/],
    ['a string where a boolean belongs', ['crds.keep=maybe'], /keep/],
    ['a metrics port out of range', ['metrics.port=70000'], /port/],
    ['a scrape interval Prometheus cannot read', ['metrics.serviceMonitor.interval=often'], /interval/],
    ['an invalid dashboards namespace', ['dashboards.namespace=Not_A_Namespace'], /namespace/],
    ['an unknown metrics key', ['metrics.foo=bar'], /additional properties 'foo' not allowed/],
    [
      'a ServiceMonitor without metrics',
      ['metrics.enabled=false', 'metrics.serviceMonitor.enabled=true'],
      /metrics\.serviceMonitor\.enabled needs metrics\.enabled/,
    ],
    [
      'several replicas without leader election',
      ['leaderElection.enabled=false', 'replicaCount=2'],
      /replicaCount > 1 needs leaderElection\.enabled/,
    ],
  ];
  for (const [name, set, error] of rejected) {
    test(`helm template refuses ${name}`, async () => {
      const result = await helm.run(['template', 'tinycdn', CHART, ...set.flatMap((s) => ['--set', s])], {
        allowFailure: true,
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, error);
    });
  }
});

describe("the chart's operator arguments are ones the operator accepts", () => {
  // No kubelet runs here, so a flag the CLI does not know would only show up as a crash-looping
  // pod in a real cluster: parse what the chart renders with the operator's own parser.
  const on = { host: '', port: 8383 };
  const cases: Array<
    [
      string,
      string[],
      {
        namespace: string | undefined;
        leaderElect: boolean;
        logLevel: string;
        metricsBindAddress: { host: string; port: number } | null;
      },
    ]
  > = [
    ['defaults', [], { namespace: undefined, leaderElect: true, logLevel: 'info', metricsBindAddress: on }],
    [
      'one watched namespace, debug logs',
      ['--set', 'watchNamespace=web', '--set', 'logLevel=debug'],
      { namespace: 'web', leaderElect: true, logLevel: 'debug', metricsBindAddress: on },
    ],
    [
      'leader election off',
      ['--set', 'leaderElection.enabled=false'],
      { namespace: undefined, leaderElect: false, logLevel: 'info', metricsBindAddress: on },
    ],
    [
      'metrics off',
      ['--set', 'metrics.enabled=false'],
      { namespace: undefined, leaderElect: true, logLevel: 'info', metricsBindAddress: null },
    ],
    [
      'metrics on another port',
      ['--set', 'metrics.port=9000'],
      {
        namespace: undefined,
        leaderElect: true,
        logLevel: 'info',
        metricsBindAddress: { host: '', port: 9000 },
      },
    ],
  ];
  for (const [name, values, expected] of cases) {
    test(name, async () => {
      const container = one(await helm.template(values), 'Deployment').spec.template.spec.containers[0];
      const [command, ...args] = container.args as string[];
      assert.equal(command, 'operator');
      const parsed = parseOperatorArgs(args, { POD_NAMESPACE: 'tinycdn-system' });
      assert.deepEqual(
        {
          namespace: parsed.namespace,
          leaderElect: parsed.leaderElect,
          logLevel: parsed.logLevel,
          metricsBindAddress: parsed.metricsBindAddress,
        },
        expected,
      );
      assert.equal(parsed.leaderElectionNamespace, 'tinycdn-system');
    });
  }
});
