// Rules 5 and 6 of tools/check-boundaries.mjs on small fixture trees: an import cycle between files of a package
// fails the lint (also through `import type`), a dynamic import() does not; in @kdasr/cli a command file that
// imports another command fails, a command importing a shared cli module or the registry does not.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkProject, staticImportsOf } from '../../tools/check-boundaries.mjs';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** A workspace with one library (@kdasr/lib) and the cli app, holding the given files (paths under packages/). */
function workspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kdasr-cycles-'));
  roots.push(root);
  writeFileSync(join(root, 'nx.json'), '{}');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'ws' }));
  mkdirSync(join(root, 'tools'));
  copyFileSync(join(repoRoot, 'tools', 'module-boundaries.json'), join(root, 'tools', 'module-boundaries.json'));
  for (const [name, tags] of [
    ['lib', ['scope:core', 'type:lib']],
    ['cli', ['scope:cli', 'type:app']],
  ] as const) {
    mkdirSync(join(root, 'packages', name, 'src'), { recursive: true });
    writeFileSync(join(root, 'packages', name, 'package.json'), JSON.stringify({ name: `@kdasr/${name}`, nx: { tags } }));
    writeFileSync(join(root, 'packages', name, 'src', 'index.ts'), 'export const x = 1;\n');
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'packages', path)), { recursive: true });
    writeFileSync(join(root, 'packages', path), text);
  }
  return root;
}
const lint = (root: string, pkg: string): string[] => checkProject(join(root, 'packages', pkg), root);

describe('import-cycle lint', () => {
  it('fails on a cycle of two files and names both, with the line', () => {
    const root = workspace({ 'lib/src/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n", 'lib/src/b.ts': "\nimport { a } from './a.js';\nexport const b = 1;\nexport const c = a;\n" });
    expect(lint(root, 'lib')).toEqual([expect.stringMatching(/packages\/lib\/src\/a\.ts:1: import cycle src\/a\.ts -> src\/b\.ts -> src\/a\.ts; move what they share/)]);
  });

  it('passes the same files without the back edge, and with the back edge as a dynamic import()', () => {
    expect(lint(workspace({ 'lib/src/a.ts': "import { b } from './b.js';\nexport const a = b;\n", 'lib/src/b.ts': 'export const b = 1;\n' }), 'lib')).toEqual([]);
    const lazy = workspace({ 'lib/src/a.ts': "import { b } from './b.js';\nexport const a = b;\n", 'lib/src/b.ts': "export const b = 1;\nexport const later = () => import('./a.js');\n" });
    expect(lint(lazy, 'lib')).toEqual([]);
  });

  it('finds a longer cycle through re-exports and index.ts, and counts import type (saying so)', () => {
    const root = workspace({
      'lib/src/index.ts': "export { a } from './a.js';\n",
      'lib/src/a.ts': "import { b } from './util/b.js';\nexport const a = b;\n",
      'lib/src/util/b.ts': "import { c } from './c.js';\nexport const b = c;\n",
      'lib/src/util/c.ts': "import type { A } from '../index.js';\nexport const c = 1;\nexport type C = A;\n",
    });
    const p = lint(root, 'lib');
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/import cycle src\/a\.ts -> src\/util\/b\.ts -> src\/util\/c\.ts -> src\/index\.ts -> src\/a\.ts/);
    expect(p[0]).toMatch(/src\/util\/c\.ts imports only types along it/);
  });

  it('cli: a command importing another command fails; importing a shared module, the registry, or its own test subject passes', () => {
    const command = (name: string, extra = '') => `import type { Command } from './registry.js';\n${extra}export const command: Command = { name: '${name}', summary: '', run: async () => 0 };\n`;
    const ok = {
      'cli/src/commands/registry.ts': "export interface Command { name: string; summary: string; run(a: string[]): Promise<number> }\nexport const load = { train: () => import('./train.js'), decode: () => import('./decode.js') };\n",
      'cli/src/shared.ts': 'export const helper = 1;\n',
      'cli/src/commands/train.ts': command('train', "import { helper } from '../shared.js';\n"),
      'cli/src/commands/train.test.ts': "import { command } from './train.js';\nexport const t = command;\n",
    };
    expect(lint(workspace({ ...ok, 'cli/src/commands/decode.ts': command('decode', "import { helper } from '../shared.js';\n") }), 'cli')).toEqual([]);
    const bad = lint(workspace({ ...ok, 'cli/src/commands/decode.ts': command('decode', "import { command as train } from './train.js';\n") }), 'cli');
    expect(bad).toEqual([expect.stringMatching(/packages\/cli\/src\/commands\/decode\.ts:2: command file imports another command \("\.\/train\.js"\)/)]);
  });

  it('the lint command exits 1 on a cycle', () => {
    const root = workspace({ 'lib/src/a.ts': "import './b.js';\n", 'lib/src/b.ts': "import './a.js';\n" });
    const r = spawnSync(process.execPath, [join(repoRoot, 'tools', 'check-boundaries.mjs'), join(root, 'packages', 'lib')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/import cycle src\/a\.ts -> src\/b\.ts -> src\/a\.ts/);
  });

  it('marks type-only imports', () => {
    const got = staticImportsOf("import type { A } from './a.js';\nimport { type B } from './b.js';\nimport { type C, d } from './c.js';\nexport type { E } from './e.js';\nexport * from './f.js';\nconst g = import('./g.js');\n");
    expect(got.map((i) => [i.spec, i.typeOnly])).toEqual([['./a.js', true], ['./b.js', true], ['./c.js', false], ['./e.js', true], ['./f.js', false]]);
  });
});
