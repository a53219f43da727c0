import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CLUSTER_RULES,
  LEASE_NAME,
  NAMESPACE_RULES,
  OPERATOR_NAMESPACE,
  type Rule,
  rbacObjects,
} from './rbac.ts';

const grants = (rules: readonly Rule[], group: string, resource: string, verb: string): boolean =>
  rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));

describe('operator RBAC rules', () => {
  test('name no wildcard group, resource or verb', () => {
    for (const rule of [...CLUSTER_RULES, ...NAMESPACE_RULES]) {
      for (const list of [rule.apiGroups, rule.resources, rule.verbs])
        assert.ok(!list.includes('*'), rule.why);
    }
  });

  test('say why each rule exists', () => {
    for (const rule of [...CLUSTER_RULES, ...NAMESPACE_RULES])
      assert.ok(rule.why.length > 10, JSON.stringify(rule));
  });

  const never: Array<[string, string, string]> = [
    ['', 'secrets', 'create'],
    ['', 'secrets', 'update'],
    ['', 'secrets', 'patch'],
    ['', 'secrets', 'delete'],
    ['tinycdn.dev', 'imageproxies', 'update'],
    ['tinycdn.dev', 'imageproxies', 'delete'],
    ['', 'pods', 'get'],
    ['', 'serviceaccounts', 'create'],
    ['rbac.authorization.k8s.io', 'roles', 'create'],
    ['rbac.authorization.k8s.io', 'rolebindings', 'create'],
    ['apiextensions.k8s.io', 'customresourcedefinitions', 'get'],
    ['coordination.k8s.io', 'leases', 'get'],
  ];
  for (const [group, resource, verb] of never) {
    test(`never grant cluster-wide ${verb} ${resource}${group ? `.${group}` : ''}`, () => {
      assert.equal(grants(CLUSTER_RULES, group, resource, verb), false);
    });
  }

  test('limit reading and renewing leases to the leader-election Lease', () => {
    for (const rule of NAMESPACE_RULES) {
      if (rule.verbs.some((v) => v !== 'create')) assert.deepEqual(rule.resourceNames, [LEASE_NAME]);
    }
    assert.ok(grants(NAMESPACE_RULES, 'coordination.k8s.io', 'leases', 'create'));
    assert.ok(grants(NAMESPACE_RULES, 'coordination.k8s.io', 'leases', 'update'));
  });

  test('bind the ClusterRole cluster-wide and the Role in the operator namespace to one ServiceAccount', () => {
    const objects = rbacObjects();
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`),
      [
        'ServiceAccount/tinycdn-system/tinycdn-operator',
        'ClusterRole//tinycdn-operator',
        'ClusterRoleBinding//tinycdn-operator',
        'Role/tinycdn-system/tinycdn-operator-leader-election',
        'RoleBinding/tinycdn-system/tinycdn-operator-leader-election',
      ],
    );
    for (const binding of objects.filter(
      (o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding',
    )) {
      assert.deepEqual(binding.subjects, [
        { kind: 'ServiceAccount', name: 'tinycdn-operator', namespace: OPERATOR_NAMESPACE },
      ]);
    }
  });
});
