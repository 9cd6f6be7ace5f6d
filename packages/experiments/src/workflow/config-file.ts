/**
 * Config files for everything that runs: a JSON or YAML file read as plain data (no custom tags: a config is
 * data, never code), `--set key.path=value` overrides, then validation by the zod schema that already exists.
 * Unknown keys are errors that name their key path (with the closest allowed key), whether or not the schema
 * itself is strict, and invalid values name the path and the allowed values.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';

/** A bad config file or override: the message names the file, the key path and the fix. */
export class ConfigError extends Error {}

/** Read FILE as plain data: `.json` as JSON, `.yaml`/`.yml` as YAML (core schema, no custom tags), else whichever parses. */
export function readConfigFile(file: string): unknown {
  if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`);
  const text = readFileSync(file, 'utf8');
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return parseJson(text, file);
  if (ext === '.yaml' || ext === '.yml') return parseYaml(text, file);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return parseYaml(text, file);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ConfigError(`config file ${file}: not valid JSON (${(e as Error).message})`);
  }
}

function parseYaml(text: string, file: string): unknown {
  // The core schema resolves only plain scalars, maps and sequences; a tag such as !!js/function or !include is
  // reported as an error instead of being run or kept as a string.
  const doc = parseDocument(text, { schema: 'core', uniqueKeys: true, merge: false, prettyErrors: false });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) throw new ConfigError(`config file ${file}: ${problems.map((p) => p.message.split('\n')[0]).join('; ')} (a config is plain YAML: maps, lists and scalars, no tags)`);
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

/** Parse `key.path=value` (value as JSON when it parses, else the raw string). */
export function parseOverride(spec: string): { path: string[]; value: unknown } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${spec}: expected key.path=value (e.g. --set model.epochs=3)`);
  const path = spec.slice(0, eq).split('.');
  if (path.some((p) => p.length === 0)) throw new ConfigError(`--set ${spec}: empty segment in the key path "${spec.slice(0, eq)}"`);
  const raw = spec.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw) as unknown;
  } catch {
    // Not JSON: a plain string (e.g. --set engine=tfjs).
  }
  return { path, value };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy of `data` with every `key.path=value` applied in order; missing objects on the path are created. */
export function applyOverrides(data: unknown, sets: readonly string[] = []): unknown {
  let out = structuredClone(data);
  for (const spec of sets) {
    const { path, value } = parseOverride(spec);
    if (!isPlainObject(out)) out = {};
    let node = out as Record<string, unknown> | unknown[];
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i];
      const cur = (node as Record<string, unknown>)[k];
      if (Array.isArray(node) && !/^\d+$/.test(k)) throw new ConfigError(`--set ${spec}: ${path.slice(0, i).join('.')} is a list; index it with a number`);
      if (!isPlainObject(cur) && !Array.isArray(cur)) (node as Record<string, unknown>)[k] = {};
      node = (node as Record<string, unknown>)[k] as Record<string, unknown> | unknown[];
    }
    const last = path[path.length - 1];
    if (Array.isArray(node) && !/^\d+$/.test(last)) throw new ConfigError(`--set ${spec}: ${path.slice(0, -1).join('.')} is a list; index it with a number`);
    (node as Record<string, unknown>)[last] = value;
  }
  return out;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function unknownKeyMessage(path: string, key: string, allowed: string[]): string {
  const close = allowed.map((k) => [k, editDistance(key.toLowerCase(), k.toLowerCase())] as const).sort((x, y) => x[1] - y[1])[0];
  const hint = close && close[1] <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean "${path ? `${path}.` : ''}${close[0]}"?` : '';
  return `${path ? `${path}.` : ''}${key}: unknown key${hint} (allowed here: ${allowed.join(', ') || 'none'})`;
}

/**
 * Keys present in the input but absent from the parsed output: what a non-strict zod object silently drops.
 * Defaults only add keys, so every key lost on the way is one the schema does not know.
 */
function droppedKeys(input: unknown, output: unknown, path: string[] = []): string[] {
  if (Array.isArray(input) && Array.isArray(output)) return input.flatMap((v, i) => droppedKeys(v, output[i], [...path, String(i)]));
  if (!isPlainObject(input) || !isPlainObject(output)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (!Object.hasOwn(output, k)) out.push(unknownKeyMessage(path.join('.'), k, Object.keys(output)));
    else out.push(...droppedKeys(v, output[k], [...path, k]));
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

type Def = { type?: string; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown; element?: unknown; options?: unknown[]; left?: unknown; right?: unknown };
const defOf = (s: unknown): Def => ((s as { _zod?: { def?: Def } })?._zod?.def ?? {}) as Def;

/** The keys an object schema allows at `path` (best effort through optional/default/pipe/array/union wrappers). */
function allowedKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  const def = defOf(schema);
  if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type ?? '')) return allowedKeysAt(def.innerType, path);
  if (def.type === 'pipe') return allowedKeysAt(def.in, path);
  if (def.type === 'union') return [...new Set((def.options ?? []).flatMap((o) => allowedKeysAt(o, path)))];
  if (def.type === 'intersection') return [...new Set([...allowedKeysAt(def.left, path), ...allowedKeysAt(def.right, path)])];
  if (path.length === 0) return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
  const [k, ...rest] = path;
  if (def.type === 'object') return Object.hasOwn(def.shape ?? {}, String(k)) ? allowedKeysAt(def.shape![String(k)], rest) : [];
  if (def.type === 'array') return allowedKeysAt(def.element, rest);
  return [];
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown, schema: unknown): string[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(schema, issue.path);
    return issue.keys.map((k) => unknownKeyMessage(path, k, allowed));
  }
  const got = valueAt(input, issue.path);
  const shown = got === undefined ? 'missing' : JSON.stringify(got);
  if (issue.code === 'invalid_type' && got === undefined) return [`${path || '(root)'}: required (${issue.expected})`];
  if (issue.code === 'invalid_value') return [`${path || '(root)'}: ${shown} is not allowed; allowed values: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`];
  if (issue.code === 'invalid_union') {
    // Report the branch that got furthest: its first issue usually names the real problem (e.g. a corpus field).
    const branches = issue.errors.filter((b) => b.length > 0);
    const best = branches.sort((a, b) => a.length - b.length)[0];
    if (best) return best.flatMap((i) => describeIssue({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue, input, schema));
  }
  return [`${path || '(root)'}: ${issue.message} (got ${shown})`];
}

/**
 * Validate `data` with `schema`. Errors (all of them, one per key path) name the path, what is wrong and the
 * allowed values; `where` names the file or preset the data came from.
 */
/** Keys of `input` that the schema does not define, found by walking both (so a typo is named even when other fields fail). */
function unknownKeys(schema: unknown, input: unknown, path: string[] = []): string[] {
  if (Array.isArray(input)) return input.flatMap((v, i) => unknownKeys(schema, v, [...path, String(i)]));
  if (!isPlainObject(input)) return [];
  const allowed = allowedKeysAt(schema, path);
  // No object schema known here (a record, an unknown wrapper): leave it to zod.
  if (allowed.length === 0) return [];
  return Object.entries(input).flatMap(([k, v]) => (allowed.includes(k) ? unknownKeys(schema, v, [...path, k]) : [unknownKeyMessage(path.join('.'), k, allowed)]));
}

export function validateConfig<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const unknown = unknownKeys(schema, data);
  if (unknown.length > 0) throw new ConfigError(`${where}: ${unknown.join('; ')}`);
  const r = schema.safeParse(data);
  if (!r.success) throw new ConfigError(`${where}: ${r.error.issues.flatMap((i) => describeIssue(i, data, schema)).join('; ')}`);
  const dropped = droppedKeys(data, r.data);
  if (dropped.length > 0) throw new ConfigError(`${where}: ${dropped.join('; ')}`);
  return r.data as z.output<S>;
}

export interface ResolveConfigOptions {
  /** The preset (or other starting point) used when no file is given. */
  base?: unknown;
  /** A config file that replaces `base`. */
  file?: string;
  /** `key.path=value` overrides, applied in order after the file. */
  sets?: readonly string[];
  /** Names the source in errors (default: the file, else "config"). */
  where?: string;
}

/** The config a run uses: base or file, then overrides, then validation. */
export function resolveConfig<S extends z.ZodType>(schema: S, o: ResolveConfigOptions): z.output<S> {
  const data = o.file !== undefined ? readConfigFile(o.file) : o.base;
  const where = o.where ?? (o.file !== undefined ? `config file ${o.file}` : 'config');
  const withSets = applyOverrides(data, o.sets ?? []);
  return validateConfig(schema, withSets, o.sets && o.sets.length > 0 ? `${where} with --set ${o.sets.join(' --set ')}` : where);
}

/** `over` merged into `base`: plain objects key by key (recursively), anything else replaced; undefined skipped. */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? structuredClone(base) : structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) if (v !== undefined) out[k] = mergeConfig(out[k], v);
  return out;
}

/**
 * A command's config: the file (if any), then the values its flags set (flags win), then `--set`s, validated.
 * Commands build `flags` from their options, leaving unset flags undefined.
 */
export function resolveCommandConfig<S extends z.ZodType>(schema: S, o: { file?: string; flags?: unknown; sets?: readonly string[]; where: string }): z.output<S> {
  const data = mergeConfig(o.file !== undefined ? readConfigFile(o.file) : {}, o.flags ?? {});
  const where = o.file !== undefined ? `${o.where} (config file ${o.file} and flags)` : o.where;
  return validateConfig(schema, applyOverrides(data, o.sets ?? []), o.sets?.length ? `${where} with --set ${o.sets.join(' --set ')}` : where);
}
