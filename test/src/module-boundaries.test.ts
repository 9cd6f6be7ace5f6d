import { mkdirSync, mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkProject, importsOf } from '../../tools/check-boundaries.mjs';

const repoRoot = resolve(import.meta.dirname, '..', '..');

/** A throwaway workspace with two libraries and an app, tagged like the real one. */
function fakeWorkspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kdasr-boundaries-'));
  writeFileSync(join(root, 'nx.json'), '{}');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'ws', devDependencies: { vitest: '*' } }));
  mkdirSync(join(root, 'tools'));
  copyFileSync(join(repoRoot, 'tools', 'module-boundaries.json'), join(root, 'tools', 'module-boundaries.json'));
  const pkgs: Record<string, { tags: string[]; deps: string[] }> = {
    core: { tags: ['scope:core', 'type:lib'], deps: [] },
    distillation: { tags: ['scope:distillation', 'type:lib'], deps: ['@kdasr/core'] },
    'audio-features': { tags: ['scope:audio', 'type:lib'], deps: ['@kdasr/core'] },
    cli: { tags: ['scope:cli', 'type:app'], deps: ['@kdasr/core', '@kdasr/distillation'] },
  };
  for (const [name, { tags, deps }] of Object.entries(pkgs)) {
    const dir = join(root, 'packages', name, 'src');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(root, 'packages', name, 'package.json'),
      JSON.stringify({ name: `@kdasr/${name}`, nx: { tags }, dependencies: Object.fromEntries(deps.map((d) => [d, '*'])) }),
    );
    writeFileSync(join(dir, 'index.ts'), 'export const x = 1;\n');
  }
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  return root;
}

describe('module boundaries lint', () => {
  it('accepts allowed imports', () => {
    const root = fakeWorkspace({
      'packages/distillation/src/a.ts': "import { x } from '@kdasr/core';\nimport { readFileSync } from 'node:fs';\n",
    });
    expect(checkProject(join(root, 'packages', 'distillation'), root)).toEqual([]);
  });

  it('rejects a library importing a library its scope may not use', () => {
    const root = fakeWorkspace({
      'packages/distillation/package.json': JSON.stringify({
        name: '@kdasr/distillation',
        nx: { tags: ['scope:distillation', 'type:lib'] },
        dependencies: { '@kdasr/core': '*', '@kdasr/audio-features': '*' },
      }),
      'packages/distillation/src/a.ts': "import { x } from '@kdasr/audio-features';\n",
    });
    const problems = checkProject(join(root, 'packages', 'distillation'), root);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/a\.ts:1: import of "@kdasr\/audio-features".*forbidden/);
  });

  it('rejects a library importing the app, deep imports, undeclared packages and escaping relative paths', () => {
    const root = fakeWorkspace({
      'packages/core/src/a.ts': [
        "import { x } from '@kdasr/cli';",
        "import { y } from '@kdasr/core/src/index.js';",
        "import lodash from 'lodash';",
        "import { z } from '../../distillation/src/index.js';",
        '// import { w } from "@kdasr/cli"; (a comment is not an import)',
      ].join('\n'),
    });
    const problems: string[] = checkProject(join(root, 'packages', 'core'), root);
    expect(problems.some((p) => /a\.ts:1: import of "@kdasr\/cli".*forbidden/.test(p))).toBe(true);
    expect(problems.some((p) => /a\.ts:2: deep import/.test(p))).toBe(true);
    expect(problems.some((p) => /a\.ts:3: "lodash" is imported but not declared/.test(p))).toBe(true);
    expect(problems.some((p) => /a\.ts:4: relative import .* leaves the project/.test(p))).toBe(true);
    expect(problems.some((p) => /:5:/.test(p))).toBe(false);
  });

  it('fails the lint command with exit code 1 and names the file', () => {
    const root = fakeWorkspace({ 'packages/core/src/bad.ts': "export { x } from '@kdasr/distillation';\n" });
    const r = spawnSync(process.execPath, [join(repoRoot, 'tools', 'check-boundaries.mjs'), join(root, 'packages', 'core')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.ts:1/);
  });

  it('finds static, dynamic, side-effect and re-export imports', () => {
    const specs = importsOf(
      "import a from 'a';\nimport 'b';\nconst c = await import('c');\nexport * from 'd';\nimport type { E } from 'e';\n",
    ).map((i: { spec: string }) => i.spec);
    expect(specs).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
