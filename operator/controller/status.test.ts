import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageProxy } from '../builders/testing.ts';
import { computeStatus, type DeploymentLike, formatSelector, type StatusInput } from './status.ts';

const now = new Date('2025-03-04T05:06:07Z');
const ip = { ...imageProxy(), metadata: { ...imageProxy().metadata, generation: 3 } };
const dep = (status: DeploymentLike['status'], generation = 1, replicas = 2): DeploymentLike => ({
  metadata: { name: 'imgs', namespace: 'web', generation },
  spec: { replicas },
  status,
});
const available = { type: 'Available', status: 'True' };
const unavailable = { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' };
const base: StatusInput = {
  ip,
  errors: [],
  skipped: [],
  warnings: [],
  deployment: undefined,
  url: 'http://imgs.web.svc',
  selector: 'app.kubernetes.io/instance=imgs,app.kubernetes.io/name=tinycdn',
  now,
};
const summary = (input: Partial<StatusInput>) => {
  const s = computeStatus({ ...base, ...input });
  return Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));
};

test('conditions follow the Deployment rollout (table)', () => {
  const cases: Array<{ name: string; input: Partial<StatusInput>; want: Record<string, string> }> = [
    {
      name: 'no Deployment yet',
      input: {},
      want: { Ready: 'False DeploymentMissing', Progressing: 'True Creating', Degraded: 'False AsExpected' },
    },
    {
      name: 'pods never run (no kubelet)',
      input: {
        deployment: dep({
          observedGeneration: 1,
          replicas: 2,
          updatedReplicas: 2,
          conditions: [unavailable],
        }),
      },
      want: {
        Ready: 'False DeploymentNotAvailable',
        Progressing: 'True RollingOut',
        Degraded: 'False AsExpected',
      },
    },
    {
      name: 'rolled out and available',
      input: {
        deployment: dep({
          observedGeneration: 1,
          replicas: 2,
          updatedReplicas: 2,
          readyReplicas: 2,
          availableReplicas: 2,
          conditions: [available],
        }),
      },
      want: { Ready: 'True Available', Progressing: 'False RolloutComplete', Degraded: 'False AsExpected' },
    },
    {
      name: 'new spec not yet seen by the Deployment controller',
      input: {
        deployment: dep(
          {
            observedGeneration: 1,
            replicas: 2,
            updatedReplicas: 2,
            availableReplicas: 2,
            conditions: [available],
          },
          2,
        ),
      },
      want: {
        Ready: 'False DeploymentNotAvailable',
        Progressing: 'True RollingOut',
        Degraded: 'False AsExpected',
      },
    },
    {
      name: 'stuck rollout',
      input: {
        deployment: dep({
          observedGeneration: 1,
          replicas: 3,
          updatedReplicas: 1,
          conditions: [
            unavailable,
            { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' },
          ],
        }),
      },
      want: {
        Ready: 'False DeploymentNotAvailable',
        Progressing: 'False ProgressDeadlineExceeded',
        Degraded: 'True ProgressDeadlineExceeded',
      },
    },
    {
      name: 'signing Secret missing',
      input: { blocked: { reason: 'SigningSecretMissing', message: 'Secret web/s does not exist' } },
      want: {
        Ready: 'False SigningSecretMissing',
        Progressing: 'False SigningSecretMissing',
        Degraded: 'True SigningSecretMissing',
      },
    },
    {
      name: 'an apply failed',
      input: { errors: ['Service web/imgs: boom'] },
      want: { Ready: 'False DeploymentMissing', Progressing: 'True Creating', Degraded: 'True ApplyFailed' },
    },
    {
      name: 'monitoring skipped',
      input: { skipped: [{ kind: 'ServiceMonitor', reason: 'no CRD' }] },
      want: {
        Ready: 'False DeploymentMissing',
        Progressing: 'True Creating',
        Degraded: 'False MonitoringSkipped',
      },
    },
  ];
  for (const c of cases) assert.deepEqual(summary(c.input), c.want, c.name);
});

test('the status carries generation, replicas, URL and selector, and messages name what to look at', () => {
  const s = computeStatus({
    ...base,
    skipped: [{ kind: 'ServiceMonitor', reason: 'the cluster has no ServiceMonitor CRD' }],
    warnings: ['S3 sources are not supported yet'],
    deployment: dep({
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 1,
      conditions: [unavailable],
    }),
  });
  assert.equal(s.observedGeneration, 3);
  assert.equal(s.replicas, 2);
  assert.equal(s.readyReplicas, 1);
  assert.equal(s.url, 'http://imgs.web.svc');
  assert.equal(s.selector, base.selector);
  const byType = Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
  assert.ok(
    s.conditions?.every((c) => c.observedGeneration === 3 && c.lastTransitionTime === '2025-03-04T05:06:07Z'),
  );
  assert.match(byType.Ready!.message, /Deployment web\/imgs has 0 of 2 pods available/);
  assert.match(byType.Degraded!.message, /ServiceMonitor skipped: the cluster has no ServiceMonitor CRD\./);
  assert.match(byType.Degraded!.message, /Warning: S3 sources are not supported yet/);
});

test('recomputing an unchanged state gives an identical status (no write)', () => {
  const input = {
    ...base,
    deployment: dep({ observedGeneration: 1, replicas: 2, conditions: [unavailable] }),
  };
  const first = computeStatus(input);
  const later = computeStatus({
    ...input,
    ip: { ...ip, status: first },
    now: new Date('2030-01-01T00:00:00Z'),
  });
  assert.deepEqual(later, first);
});

test('the selector string is sorted by key, as kubectl prints it', () => {
  assert.equal(
    formatSelector({ 'app.kubernetes.io/name': 'tinycdn', 'app.kubernetes.io/instance': 'imgs' }),
    'app.kubernetes.io/instance=imgs,app.kubernetes.io/name=tinycdn',
  );
});
