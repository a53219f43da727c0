/**
 * For config tests: the problems a loader reports for `env` (each naming its variable), failing
 * the test when it loads without one.
 */
import assert from 'node:assert/strict';
import { ConfigError, type Env } from '../../service/env.ts';

export function configProblems(load: (env: Env) => unknown, env: Env): string[] {
  try {
    load(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}
