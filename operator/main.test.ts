// runOperator's start-up against a stand-in API server that answers only the Lease calls: a
// Lease namespace that does not exist stops it at once; a refusal that may pass is retried.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isNamespaceNotFound, LeaseNamespaceNotFoundError, runOperator } from './main.ts';
import { ApiError } from './runtime/client.ts';
import { silentLogger } from './runtime/log.ts';
import { type StandInApiServer, standInApiServer } from './runtime/testing.ts';

/** A metav1.Status as the API server sends it. */
const status = (code: number, reason: string, message: string, details: Record<string, string>) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  details,
  code,
});

const leaseNotFound = status(404, 'NotFound', 'leases.coordination.k8s.io "tinycdn-operator" not found', {
  name: 'tinycdn-operator',
  group: 'coordination.k8s.io',
  kind: 'leases',
});
const namespaceNotFound = (ns: string) =>
  status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
const forbidden = (ns: string) =>
  status(
    403,
    'Forbidden',
    `leases.coordination.k8s.io is forbidden: User "dev" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "${ns}"`,
    { group: 'coordination.k8s.io', kind: 'leases' },
  );

const apiError = (body: ReturnType<typeof status>) =>
  new ApiError(body.code, `POST /apis/...: ${body.message}`, body.reason, body);

describe('isNamespaceNotFound', () => {
  it('is true only for the 404 that names the namespace', () => {
    const cases: Array<[string, unknown, boolean]> = [
      ['the namespace does not exist', apiError(namespaceNotFound('ops')), true],
      ['another namespace does not exist', apiError(namespaceNotFound('other')), false],
      ['the Lease does not exist (yet)', apiError(leaseNotFound), false],
      ['forbidden by RBAC', apiError(forbidden('ops')), false],
      [
        'a 404 with no Status (the Lease API missing)',
        new ApiError(404, '404 page not found', undefined, '404 page not found'),
        false,
      ],
      ['not an API error', new Error('socket hang up'), false],
    ];
    for (const [name, err, want] of cases) assert.equal(isNamespaceNotFound(err, 'ops'), want, name);
  });
});

describe('runOperator: leader election at start-up', () => {
  /** What the stand-in answers to a POST of the Lease. */
  let answerCreate: () => ReturnType<typeof status>;
  let api: StandInApiServer;
  let requests: string[];

  before(async () => {
    api = await standInApiServer((req, res) => {
      const body = req.method === 'POST' ? answerCreate() : leaseNotFound;
      res.writeHead(body.code, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    });
    requests = api.requests;
  });

  after(() => api.close());

  const start = (namespace: string, signal: AbortSignal) =>
    runOperator({
      kubeConfig: api.kubeConfig,
      leaderElect: true,
      leaderElectionNamespace: namespace,
      resyncPeriodMs: 0,
      retryPeriodMs: 10,
      log: silentLogger,
      signal,
    });

  it('stops with LeaseNamespaceNotFoundError, after one attempt, when the namespace does not exist', async () => {
    requests.length = 0;
    answerCreate = () => namespaceNotFound('missing');
    await assert.rejects(
      start('missing', AbortSignal.timeout(30_000)), // aborted: resolves, and the test fails
      (err: unknown) => err instanceof LeaseNamespaceNotFoundError && err.namespace === 'missing',
    );
    assert.deepEqual(requests, [
      'GET /apis/coordination.k8s.io/v1/namespaces/missing/leases/tinycdn-operator',
      'POST /apis/coordination.k8s.io/v1/namespaces/missing/leases',
    ]);
  });

  it('keeps trying when creating the Lease is forbidden (RBAC may still be on its way)', async () => {
    requests.length = 0;
    answerCreate = () => forbidden('ops');
    const stop = new AbortController();
    const running = start('ops', stop.signal);
    const deadline = Date.now() + 30_000;
    while (requests.filter((r) => r.startsWith('POST')).length < 3) {
      assert.ok(Date.now() < deadline, `three attempts, saw ${requests.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    stop.abort();
    await running; // resolves: a clean stop, no error
  });
});
