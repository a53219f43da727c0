// The chart installed, upgraded and uninstalled with helm on a real kube-apiserver (test/cluster).
// There is no kubelet: the operator's pods are created by the ReplicaSet controller but never run,
// so these tests check objects and permissions, not a running operator.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLUSTER_RULES, LEASE_NAME, NAMESPACE_RULES, policyRule, type Rule } from '../../operator/rbac.ts';
import { helm, kubectl, mintUser, startCluster, stopCluster, type TestCluster } from '../cluster/cluster.ts';
import { eventually as waitFor } from '../helpers/eventually.ts';
import { installMonitoringStandIns } from '../helpers/monitoring-crds.ts';
import { BUILD_MS, CHART } from './helm.ts';

const NS = 'tinycdn-system';
const SA_USER = `system:serviceaccount:${NS}:tinycdn-operator`;
const SA_GROUPS = ['system:serviceaccounts', `system:serviceaccounts:${NS}`];
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const CONVERGE_MS = 60_000;

let cluster: TestCluster;
before(
  async () => {
    cluster = await startCluster();
  },
  { timeout: BUILD_MS },
);
after(async () => {
  if (cluster) await stopCluster(cluster, true);
});

const getJson = async (args: string[]) =>
  JSON.parse((await kubectl(cluster, ['get', ...args, '-o', 'json'])).stdout);
const exists = async (args: string[]) =>
  (await kubectl(cluster, ['get', ...args, '-o', 'name'], { allowFailure: true })).code === 0;

/** Polls until `probe` is true (objects deleted in the background, controllers catching up). */
const eventually = (what: string, probe: () => Promise<boolean>) =>
  waitFor(what, async () => ((await probe()) ? true : undefined), CONVERGE_MS, 250);

/** One `kubectl auth can-i` question, asked as the operator's ServiceAccount. */
interface Question {
  verb: string;
  /** resource[.group][/name] as kubectl takes it. */
  resource: string;
  subresource?: string;
  /** Namespace, or 'all' for --all-namespaces; cluster-scoped resources ignore it. */
  namespace: string;
  allowed: boolean;
}

const describeQuestion = (q: Question) =>
  `${q.allowed ? 'can' : 'cannot'} ${q.verb} ${q.resource}${q.subresource ? `/${q.subresource}` : ''} in ${q.namespace}`;

/** Asks every question (a few kubectl processes at a time) and returns the ones answered wrongly. */
async function wrongAnswers(kubeconfig: string, questions: readonly Question[]): Promise<string[]> {
  const wrong: string[] = [];
  const queue = [...questions];
  const worker = async () => {
    for (let q = queue.shift(); q; q = queue.shift()) {
      const args = ['auth', 'can-i', q.verb, q.resource];
      if (q.subresource) args.push(`--subresource=${q.subresource}`);
      args.push(...(q.namespace === 'all' ? ['--all-namespaces'] : ['-n', q.namespace]));
      const { code, stdout } = await kubectl(cluster, args, { kubeconfig, allowFailure: true });
      const answer = stdout.trim();
      if (code > 1 || (answer !== 'yes' && answer !== 'no'))
        throw new Error(`kubectl ${args.join(' ')}: ${stdout}`);
      if ((answer === 'yes') !== q.allowed) wrong.push(`${describeQuestion(q)}: kubectl says ${answer}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return wrong;
}

/** Every verb on every resource a rule names: allowed exactly when some rule grants it. */
function questionsFromRules(rules: readonly Rule[], namespace: string): Question[] {
  const questions: Question[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        const [plural, subresource] = resource.split('/');
        for (const name of rule.resourceNames ?? ['']) {
          const ref = `${plural}${group ? `.${group}` : ''}${name ? `/${name}` : ''}`;
          if (seen.has(`${ref}/${subresource}`)) continue;
          seen.add(`${ref}/${subresource}`);
          for (const verb of VERBS) {
            const allowed = rules.some(
              (r) =>
                r.apiGroups.includes(group) &&
                r.resources.includes(resource) &&
                r.verbs.includes(verb) &&
                (!r.resourceNames || (name !== '' && r.resourceNames.includes(name))),
            );
            questions.push({ verb, resource: ref, subresource, namespace, allowed });
          }
        }
      }
    }
  }
  return questions;
}

describe('the chart on a real API server (no kubelet: pods are never started)', () => {
  let asOperator: string;

  test('helm install --create-namespace creates the CRD, the RBAC and the operator Deployment', async () => {
    const { stdout } = await helm(cluster, ['install', 'tinycdn', CHART, '-n', NS, '--create-namespace']);
    // NOTES.txt tells what was installed and how to look at it.
    assert.match(stdout, /reconciles ImageProxy resources in every namespace/);
    assert.match(stdout, /kubectl -n tinycdn-system logs deployment\/tinycdn-operator/);
    assert.match(stdout, /The ImageProxy CRD stays when this release is uninstalled/);
    await eventually('the ImageProxy CRD is established', async () => {
      const crd = await getJson(['crd', 'imageproxies.tinycdn.dev']);
      return crd.status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
      );
    });
    const crd = await getJson(['crd', 'imageproxies.tinycdn.dev']);
    assert.equal(crd.metadata.annotations['helm.sh/resource-policy'], 'keep');
    // The CRD serves its kind (by its short name too).
    await kubectl(cluster, ['get', 'ipx', '--all-namespaces']);

    const clusterRole = await getJson(['clusterrole', 'tinycdn-operator']);
    assert.deepEqual(clusterRole.rules, CLUSTER_RULES.map(policyRule));
    const role = await getJson(['role', 'tinycdn-operator-leader-election', '-n', NS]);
    assert.deepEqual(role.rules, NAMESPACE_RULES.map(policyRule));
    assert.ok(await exists(['clusterrolebinding', 'tinycdn-operator']));
    assert.ok(await exists(['rolebinding', 'tinycdn-operator-leader-election', '-n', NS]));
    assert.ok(await exists(['serviceaccount', 'tinycdn-operator', '-n', NS]));

    const deployment = await getJson(['deployment', 'tinycdn-operator', '-n', NS]);
    assert.equal(deployment.spec.template.spec.serviceAccountName, 'tinycdn-operator');
    assert.deepEqual(deployment.spec.template.spec.containers[0].args, [
      'operator',
      '--leader-elect=true',
      '--log-level=info',
      '--metrics-bind-address=:8383',
    ]);
    // The operator's metrics Service selects exactly the operator's pods.
    const svc = await getJson(['service', 'tinycdn-operator-metrics', '-n', NS]);
    assert.deepEqual(svc.spec.selector, deployment.spec.selector.matchLabels);
    assert.deepEqual(
      svc.spec.ports.map((p: { name: string; port: number; targetPort: string }) => [
        p.name,
        p.port,
        p.targetPort,
      ]),
      [['metrics', 8383, 'metrics']],
    );
    assert.match(stdout, /port-forward service\/tinycdn-operator-metrics 8383/);
  });

  test('the operator pod is admitted under Pod Security "restricted" (and a weakened copy is not)', async () => {
    await kubectl(cluster, ['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted']);
    const deployment = await getJson(['deployment', 'tinycdn-operator', '-n', NS]);
    const pod = (spec: unknown) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pss-check', namespace: NS },
      spec,
    });
    const template = deployment.spec.template.spec;
    const admitted = await kubectl(cluster, ['create', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(pod(template)),
      allowFailure: true,
    });
    assert.equal(admitted.code, 0, admitted.stderr);

    const weakened = structuredClone(template);
    weakened.containers[0].securityContext.allowPrivilegeEscalation = true;
    const refused = await kubectl(cluster, ['create', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(pod(weakened)),
      allowFailure: true,
    });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted/);
    await kubectl(cluster, ['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce-']);
  });

  test('the operator ServiceAccount can do exactly what operator/rbac.ts grants, and nothing else', async () => {
    // kubectl auth can-i resolves resources by discovery: the optional monitoring kinds need CRDs
    // (stand-ins for prometheus-operator's) to be asked about at all.
    await installMonitoringStandIns(cluster);
    asOperator = await mintUser(cluster, SA_USER, SA_GROUPS);
    const whoami = await kubectl(cluster, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {
      kubeconfig: asOperator,
    });
    assert.equal(whoami.stdout, SA_USER);
    const questions: Question[] = [
      // Cluster-wide rules, in some namespace and across all of them.
      ...questionsFromRules(CLUSTER_RULES, 'web'),
      ...CLUSTER_RULES.flatMap((r) =>
        r.resources
          .filter((res) => !res.includes('/'))
          .map((res) => ({
            verb: 'list',
            resource: `${res}${r.apiGroups[0] ? `.${r.apiGroups[0]}` : ''}`,
            namespace: 'all',
            allowed: r.verbs.includes('list'),
          })),
      ),
      // The leader-election Lease: its own, in its own namespace only.
      ...questionsFromRules(NAMESPACE_RULES, NS),
      { verb: 'get', resource: 'leases.coordination.k8s.io/someone-else', namespace: NS, allowed: false },
      { verb: 'update', resource: 'leases.coordination.k8s.io/someone-else', namespace: NS, allowed: false },
      { verb: 'create', resource: 'leases.coordination.k8s.io', namespace: 'web', allowed: false },
      {
        verb: 'get',
        resource: `leases.coordination.k8s.io/${LEASE_NAME}`,
        namespace: 'kube-system',
        allowed: false,
      },
      {
        verb: 'update',
        resource: `leases.coordination.k8s.io/${LEASE_NAME}`,
        namespace: 'web',
        allowed: false,
      },
      // Things it never needs.
      { verb: 'get', resource: 'pods', namespace: 'web', allowed: false },
      { verb: 'create', resource: 'pods', namespace: 'web', allowed: false },
      { verb: 'list', resource: 'replicasets.apps', namespace: 'web', allowed: false },
      { verb: 'create', resource: 'serviceaccounts', namespace: 'web', allowed: false },
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: NS, allowed: false },
      {
        verb: 'create',
        resource: 'rolebindings.rbac.authorization.k8s.io',
        namespace: 'web',
        allowed: false,
      },
      {
        verb: 'escalate',
        resource: 'clusterroles.rbac.authorization.k8s.io',
        namespace: 'all',
        allowed: false,
      },
      {
        verb: 'get',
        resource: 'customresourcedefinitions.apiextensions.k8s.io',
        namespace: 'all',
        allowed: false,
      },
      { verb: 'create', resource: 'namespaces', namespace: 'all', allowed: false },
      { verb: 'list', resource: 'nodes', namespace: 'all', allowed: false },
      { verb: 'impersonate', resource: 'users', namespace: 'all', allowed: false },
      {
        verb: 'update',
        resource: 'imageproxies.tinycdn.dev',
        subresource: 'scale',
        namespace: 'web',
        allowed: false,
      },
      { verb: 'list', resource: 'statefulsets.apps', namespace: 'web', allowed: false },
    ];
    assert.deepEqual(await wrongAnswers(asOperator, questions), []);
    // A spot check with its real identity rather than can-i: listing Secrets works, deleting one does not.
    await kubectl(cluster, ['create', 'namespace', 'web']);
    await kubectl(cluster, ['create', 'secret', 'generic', 'signing', '-n', 'web', '--from-literal=key=00']);
    await kubectl(cluster, ['get', 'secrets', '-n', 'web'], { kubeconfig: asOperator });
    const denied = await kubectl(cluster, ['delete', 'secret', 'signing', '-n', 'web'], {
      kubeconfig: asOperator,
      allowFailure: true,
    });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /forbidden/);
  });

  test('helm upgrade with watchNamespace moves the permissions into that namespace and updates the Deployment', async () => {
    if (!(await exists(['namespace', 'web']))) await kubectl(cluster, ['create', 'namespace', 'web']);
    const before = await getJson(['deployment', 'tinycdn-operator', '-n', NS]);
    await helm(cluster, [
      'upgrade',
      'tinycdn',
      CHART,
      '-n',
      NS,
      '--set',
      'watchNamespace=web',
      '--set',
      'logLevel=debug',
      // The prometheus-operator CRDs (stand-ins) were installed by the RBAC test above.
      '--set',
      'metrics.serviceMonitor.enabled=true',
    ]);
    const deployment = await getJson(['deployment', 'tinycdn-operator', '-n', NS]);
    assert.ok(deployment.metadata.generation > before.metadata.generation);
    assert.deepEqual(deployment.spec.template.spec.containers[0].args, [
      'operator',
      '--leader-elect=true',
      '--log-level=debug',
      '--namespace=web',
      '--metrics-bind-address=:8383',
    ]);
    const sm = await getJson(['servicemonitors.monitoring.coreos.com', 'tinycdn-operator', '-n', NS]);
    assert.deepEqual(sm.spec.endpoints, [
      { port: 'metrics', path: '/metrics', interval: '30s', honorLabels: true },
    ]);
    await eventually(
      'the ClusterRoleBinding is removed',
      async () => !(await exists(['clusterrolebinding', 'tinycdn-operator'])),
    );
    assert.ok(await exists(['rolebinding', 'tinycdn-operator', '-n', 'web']));
    assert.deepEqual(
      await wrongAnswers(asOperator, [
        { verb: 'list', resource: 'imageproxies.tinycdn.dev', namespace: 'web', allowed: true },
        { verb: 'patch', resource: 'deployments.apps', namespace: 'web', allowed: true },
        { verb: 'get', resource: 'secrets', namespace: 'web', allowed: true },
        { verb: 'list', resource: 'imageproxies.tinycdn.dev', namespace: 'other', allowed: false },
        { verb: 'patch', resource: 'deployments.apps', namespace: 'other', allowed: false },
        { verb: 'get', resource: 'secrets', namespace: NS, allowed: false },
        { verb: 'list', resource: 'imageproxies.tinycdn.dev', namespace: 'all', allowed: false },
        {
          verb: 'update',
          resource: `leases.coordination.k8s.io/${LEASE_NAME}`,
          namespace: NS,
          allowed: true,
        },
      ]),
      [],
    );
  });

  test('helm uninstall removes the operator and its RBAC but keeps the CRD (crds.keep)', async () => {
    await helm(cluster, ['uninstall', 'tinycdn', '-n', NS]);
    for (const args of [
      ['deployment', 'tinycdn-operator', '-n', NS],
      ['service', 'tinycdn-operator-metrics', '-n', NS],
      ['servicemonitors.monitoring.coreos.com', 'tinycdn-operator', '-n', NS],
      ['serviceaccount', 'tinycdn-operator', '-n', NS],
      ['clusterrole', 'tinycdn-operator'],
      ['rolebinding', 'tinycdn-operator', '-n', 'web'],
      ['role', 'tinycdn-operator-leader-election', '-n', NS],
    ]) {
      await eventually(`${args.join(' ')} is deleted`, async () => !(await exists(args)));
    }
    assert.ok(await exists(['crd', 'imageproxies.tinycdn.dev']));
  });

  test('a new install adopts the kept CRD, and with crds.keep=false helm uninstall deletes it', async () => {
    await helm(cluster, ['install', 'tinycdn', CHART, '-n', NS, '--set', 'crds.keep=false']);
    // Helm decides what to keep from the release's manifest (adoption leaves the live annotation).
    const { stdout: manifest } = await helm(cluster, ['get', 'manifest', 'tinycdn', '-n', NS]);
    assert.match(manifest, /kind: CustomResourceDefinition/);
    assert.doesNotMatch(manifest, /helm\.sh\/resource-policy/);
    await helm(cluster, ['uninstall', 'tinycdn', '-n', NS]);
    await eventually('the CRD is deleted', async () => !(await exists(['crd', 'imageproxies.tinycdn.dev'])));
  });
});
