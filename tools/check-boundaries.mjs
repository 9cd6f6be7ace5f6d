#!/usr/bin/env node
// Module-boundary lint for the kdasr workspace (the role @nx/enforce-module-boundaries plays elsewhere;
// no @nx/* plugin matches nx 24 on the registry). Run from a project directory (its `lint` target) or with
// project directories as arguments. Rules:
//   1. @kdasr/<pkg> only through its public entry: no deep imports (@kdasr/core/src/...).
//   2. the imported project's tags must satisfy tools/module-boundaries.json for every tag of the importer.
//   3. every imported package (workspace or npm) is declared in the importer's package.json.
//   4. relative imports stay inside the project.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';


export function findWorkspaceRoot(start) {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`check-boundaries: no nx.json above ${start}`);
    dir = up;
  }
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`check-boundaries: cannot read ${path}: ${e.message}`);
  }
}

/** Every workspace project: name -> { dir, tags, pkg }. */
export function loadProjects(root) {
  const projects = new Map();
  for (const base of ['packages', 'test']) {
    const baseDir = join(root, base);
    if (!existsSync(baseDir)) continue;
    const dirs = base === 'test' ? [baseDir] : readdirSync(baseDir).map((d) => join(baseDir, d));
    for (const dir of dirs) {
      const pj = join(dir, 'package.json');
      if (!existsSync(pj)) continue;
      const pkg = readJson(pj);
      projects.set(pkg.name, { dir, tags: pkg.nx?.tags ?? [], pkg });
    }
  }
  return projects;
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    const st = statSync(path);
    if (st.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(entry) && !entry.endsWith('.d.ts')) yield path;
  }
}

/**
 * Imports of a source file, found by TypeScript's own pre-processor: static, dynamic, side-effect, re-export
 * and `import type`, but not text that only looks like an import inside a string or a comment.
 */
export function importsOf(text) {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => ({ spec: f.fileName, line: lineOf(text, f.pos) }));
}

function lineOf(text, pos) {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

function packageNameOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function allowedBy(constraints, sourceTags, targetTags) {
  for (const c of constraints) {
    if (!sourceTags.includes(c.sourceTag)) continue;
    if (c.onlyDependOnLibsWithTags && !c.onlyDependOnLibsWithTags.some((t) => targetTags.includes(t)))
      return `a project tagged "${c.sourceTag}" may only import projects tagged ${JSON.stringify(c.onlyDependOnLibsWithTags)}`;
    if (c.notDependOnLibsWithTags && c.notDependOnLibsWithTags.some((t) => targetTags.includes(t)))
      return `a project tagged "${c.sourceTag}" may not import projects tagged ${JSON.stringify(c.notDependOnLibsWithTags)}`;
  }
  return null;
}

/** Returns a list of human-readable violations for one project directory. */
export function checkProject(projectDir, root = findWorkspaceRoot(projectDir)) {
  const projects = loadProjects(root);
  const { depConstraints } = readJson(join(root, 'tools', 'module-boundaries.json'));
  const pkg = readJson(join(projectDir, 'package.json'));
  const rootPkg = readJson(join(root, 'package.json'));
  const tags = pkg.nx?.tags ?? [];
  const declared = new Set([
    pkg.name,
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.devDependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...Object.keys(rootPkg.devDependencies ?? {}),
    ...Object.keys(rootPkg.optionalDependencies ?? {}),
  ]);
  const problems = [];
  if (tags.length === 0) problems.push(`${join(projectDir, 'package.json')}: no nx.tags; add a scope:* and a type:* tag`);
  for (const file of sourceFiles(projectDir)) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    for (const { spec, line } of importsOf(text)) {
      const where = `${rel}:${line}`;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        // Workspace tooling (tools/, the shared vitest config) is not a package and may be imported by tests.
        const tooling = target.startsWith(join(root, 'tools') + sep) || /vitest\.shared(\.ts|\.js)?$/.test(spec);
        if (target !== projectDir && !target.startsWith(projectDir + sep) && !tooling)
          problems.push(`${where}: relative import "${spec}" leaves the project; import the other package by its @kdasr name`);
        continue;
      }
      if (builtins.has(spec) || builtins.has(spec.split('/')[0])) continue;
      const name = packageNameOf(spec);
      if (name.startsWith('@kdasr/')) {
        if (spec !== name) problems.push(`${where}: deep import "${spec}"; import from "${name}" (its src/index.ts) instead`);
        const target = projects.get(name);
        if (!target) {
          problems.push(`${where}: "${name}" is not a workspace project`);
          continue;
        }
        if (name === pkg.name) {
          problems.push(`${where}: a project imports itself by name; use a relative import`);
          continue;
        }
        const why = allowedBy(depConstraints, tags, target.tags);
        if (why) problems.push(`${where}: import of "${name}" (tags ${JSON.stringify(target.tags)}) is forbidden: ${why} (tools/module-boundaries.json)`);
      }
      if (!declared.has(name) && !name.startsWith('vitest') && !name.startsWith('@vitest'))
        problems.push(`${where}: "${name}" is imported but not declared in ${relative(root, join(projectDir, 'package.json'))} dependencies`);
    }
  }
  return problems;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const dirs = process.argv.slice(2).length ? process.argv.slice(2) : [process.cwd()];
  let total = 0;
  for (const d of dirs) {
    const problems = checkProject(resolve(d));
    for (const p of problems) console.error(p);
    total += problems.length;
  }
  if (total > 0) {
    console.error(`check-boundaries: ${total} problem(s)`);
    process.exit(1);
  }
  console.log(`check-boundaries: ${dirs.length} project(s) clean`);
}
