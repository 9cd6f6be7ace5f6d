// @kdasr/base must load no tfjs, directly or transitively: that is what makes a job worker or an artifact
// reader start in a fraction of core's time. The check runs a fresh node with a resolve hook that logs every
// module it resolves, and also looks at the CommonJS cache (tfjs' Node bundles are CommonJS). @kdasr/core is the
// control: the same check must find tfjs there, or the check itself is broken.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'kdasr-no-tfjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hook = join(dir, 'log-resolve.mjs');
writeFileSync(
  hook,
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  appendFileSync(process.env.KDASR_RESOLVE_LOG, r.url + '\\\\n');
  return r;
}\`));
`,
);

/** Modules matching @tensorflow/ that importing `pkg` loads in a fresh process (resolve hook + CommonJS cache). */
function tensorflowModulesLoadedBy(pkg: string): string[] {
  const log = join(dir, `${pkg.replace(/\W/g, '_')}.log`);
  writeFileSync(log, '');
  const script = `
    const m = await import(${JSON.stringify(pkg)});
    if (Object.keys(m).length === 0) throw new Error('no exports');
    const { createRequire } = await import('node:module');
    const cache = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify(cache));`;
  const r = spawnSync(
    process.execPath,
    ['--conditions=@kdasr/source', '--import', 'tsx', '--import', hook, '--input-type=module', '-e', script],
    { cwd: process.cwd(), env: { ...process.env, KDASR_RESOLVE_LOG: log }, encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`node importing ${pkg} exited ${r.status}: ${r.stderr}`);
  const resolved = readFileSync(log, 'utf8').split('\n');
  const cached = JSON.parse(r.stdout) as string[];
  return [...resolved, ...cached].filter((u) => u.includes('@tensorflow/'));
}

describe('@kdasr/base is tensor-free', () => {
  it('importing @kdasr/base loads no @tensorflow/* module', () => {
    expect(tensorflowModulesLoadedBy('@kdasr/base')).toEqual([]);
  });

  it('the same check finds tfjs when importing @kdasr/core (control)', () => {
    expect(tensorflowModulesLoadedBy('@kdasr/core').length).toBeGreaterThan(0);
  });
});
