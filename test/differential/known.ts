/**
 * Every difference from imgproxy the differential test may meet, with the reason it stays.
 * Keyed by configuration and case name; `*` in a case name matches anything.
 */
const KNOWN: Array<[config: string, casePattern: string, why: string]> = [];

const matches = (pattern: string, name: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name);

/** The explanation of a difference, and its key (`config\npattern`), if it is known. */
export function explain(config: string, name: string): { key: string; why: string } | undefined {
  const k = KNOWN.find(([c, p]) => c === config && matches(p, name));
  return k && { key: `${k[0]}\n${k[1]}`, why: k[2] };
}

/** `config\npattern` of every explanation, to report the ones no difference needed. */
export function knownKeys(): string[] {
  return KNOWN.map(([c, p]) => `${c}\n${p}`);
}
