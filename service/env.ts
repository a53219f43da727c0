/**
 * Reading configuration from environment variables the way imgproxy does: every module
 * declares its variables and defaults in its own `config.ts` and reads them through one
 * EnvReader, which collects every problem (each message names the variable) instead of
 * stopping at the first, so a user fixes their configuration in one go.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const TRUE = new Set(['1', 't', 'true', 'y', 'yes', 'on']);
const FALSE = new Set(['0', 'f', 'false', 'n', 'no', 'off']);

export class EnvReader {
  readonly env: Env;
  readonly problems: string[] = [];

  constructor(env: Env) {
    this.env = env;
  }

  /** The raw value, or undefined when unset or empty (imgproxy treats empty as unset). */
  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  problem(name: string, message: string): void {
    this.problems.push(`${name}: ${message}`);
  }

  string(name: string, def: string): string {
    return this.raw(name) ?? def;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return def;
    const lower = v.toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    this.problem(name, `expected a boolean (true/false), got ${JSON.stringify(v)}`);
    return def;
  }

  int(name: string, def: number, range: { min?: number; max?: number } = {}): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!/^[-+]?\d+$/.test(v)) {
      this.problem(name, `expected an integer, got ${JSON.stringify(v)}`);
      return def;
    }
    return this.checkRange(name, Number(v), def, range);
  }

  float(name: string, def: number, range: { min?: number; max?: number } = {}): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n)) {
      this.problem(name, `expected a number, got ${JSON.stringify(v)}`);
      return def;
    }
    return this.checkRange(name, n, def, range);
  }

  /** Comma-separated list; empty entries dropped. */
  list(name: string, def: string[] = []): string[] {
    const v = this.raw(name);
    if (v === undefined) return def;
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  /** One of a fixed set of values. */
  oneOf<T extends string>(name: string, def: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problem(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return def;
  }

  /** imgproxy's `[host]:port` listen addresses (IMGPROXY_BIND, IMGPROXY_PROMETHEUS_BIND):
   *  `:8080` (all interfaces), `127.0.0.1:8080`, `[::1]:8080`. */
  bind(name: string, def: string): { host: string; port: number } {
    const bind = this.string(name, def);
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(bind);
    const port = Number(m?.[3]);
    if (!m || port > 65535) {
      this.problem(name, `expected [host]:port such as :8080 or 127.0.0.1:8080, got ${JSON.stringify(bind)}`);
      return { host: '0.0.0.0', port: 8080 };
    }
    const host = m[1] ?? m[2] ?? '';
    return { host: host === '' ? '0.0.0.0' : host, port };
  }

  /** Throws a ConfigError listing every problem found so far. */
  finish(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }

  private checkRange(name: string, n: number, def: number, range: { min?: number; max?: number }): number {
    if (range.min !== undefined && n < range.min) {
      this.problem(name, `must be at least ${range.min}, got ${n}`);
      return def;
    }
    if (range.max !== undefined && n > range.max) {
      this.problem(name, `must be at most ${range.max}, got ${n}`);
      return def;
    }
    return n;
  }
}
