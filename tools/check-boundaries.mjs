#!/usr/bin/env node
// Module-boundary lint for the kdasr workspace (the role @nx/enforce-module-boundaries plays elsewhere;
// no @nx/* plugin matches nx 24 on the registry). Run from a project directory (its `lint` target) or with
// project directories as arguments. Rules:
//   1. @kdasr/<pkg> only through its public entry: no deep imports (@kdasr/core/src/...).
//   2. the imported project's tags must satisfy tools/module-boundaries.json for every tag of the importer.
//   3. every imported package (workspace or npm) is declared in the importer's package.json.
//   4. relative imports stay inside the project.
//   5. no import cycle between the project's files (static imports, `import type` included: files that import each
//      other's types are still entangled; a dynamic import() is deferred and does not count).
//   6. in @kdasr/cli, no file in src/commands/ imports another command file (one exporting `command`).
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
  problems.push(...checkImportGraph(projectDir, root, pkg.name));
  return problems;
}

/**
 * Static imports of a source file (import, export ... from, import x = require) with their lines, each marked
 * typeOnly when erased at run time (`import type`, `export type`, or every named binding `type`). Dynamic import()
 * is not included: it is deferred, the usual way to break a cycle on purpose.
 */
export function staticImportsOf(text, fileName = 'file.ts') {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out = [];
  const allTypes = (named) => named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
  const push = (spec, typeOnly) =>
    ts.isStringLiteral(spec) && out.push({ spec: spec.text, line: sf.getLineAndCharacterOfPosition(spec.getStart(sf)).line + 1, typeOnly: Boolean(typeOnly) });
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const c = st.importClause;
      push(st.moduleSpecifier, c && (c.isTypeOnly || (!c.name && c.namedBindings && ts.isNamedImports(c.namedBindings) && allTypes(c.namedBindings))));
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier) {
      push(st.moduleSpecifier, st.isTypeOnly || (st.exportClause && ts.isNamedExports(st.exportClause) && allTypes(st.exportClause)));
    } else if (ts.isImportEqualsDeclaration(st) && ts.isExternalModuleReference(st.moduleReference)) {
      push(st.moduleReference.expression, st.isTypeOnly);
    }
  }
  return out;
}

/** The project file a relative specifier names (NodeNext style: ./x.js is ./x.ts on disk), or null. */
function resolveRelative(fromFile, spec, files) {
  const base = resolve(dirname(fromFile), spec);
  const stem = base.replace(/\.(m|c)?js$/, '');
  for (const c of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.cts`, `${stem}.tsx`, join(base, 'index.ts')]) if (files.has(c)) return c;
  return null;
}

/** Rules 5 and 6: import cycles between a project's files, and command files importing each other. */
export function checkImportGraph(projectDir, root, pkgName) {
  const files = new Set(sourceFiles(projectDir));
  const texts = new Map([...files].map((f) => [f, readFileSync(f, 'utf8')]));
  const rel = (f) => relative(root, f);
  const problems = [];
  // Value-import graph, with the line of each edge for the message.
  const edges = new Map();
  for (const f of files) {
    const out = new Map();
    for (const { spec, line, typeOnly } of staticImportsOf(texts.get(f), f)) {
      if (!spec.startsWith('.')) continue;
      const t = resolveRelative(f, spec, files);
      if (t && (!out.has(t) || out.get(t).typeOnly)) out.set(t, { line, typeOnly });
    }
    edges.set(f, out);
  }
  // Tarjan's strongly connected components; each component with a cycle is reported once, by one cycle through it.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const sccs = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v).keys()) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges.get(v).has(v)) sccs.push(comp);
    }
  };
  for (const f of [...files].sort()) if (!idx.has(f)) strong(f);
  for (const comp of sccs) {
    const inComp = new Set(comp);
    const start = [...comp].sort()[0];
    // Shortest cycle back to start inside the component (BFS), so the message names as few files as possible.
    const prev = new Map();
    const queue = [start];
    let end = null;
    while (queue.length && !end) {
      const v = queue.shift();
      for (const w of [...edges.get(v).keys()].sort()) {
        if (!inComp.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end; v !== start; v = prev.get(v)) path.splice(1, 0, v);
    path.push(start);
    const chain = path.map((f) => relative(projectDir, f)).join(' -> ');
    const typeEdges = path.slice(0, -1).filter((f, i) => edges.get(f).get(path[i + 1]).typeOnly);
    problems.push(
      `${rel(start)}:${edges.get(start).get(path[1]).line}: import cycle ${chain}` +
        (comp.length > path.length - 1 ? ` (one of ${comp.length} files importing each other)` : '') +
        '; move what they share into a module that imports neither' +
        (typeEdges.length ? ` (${typeEdges.map((f) => relative(projectDir, f)).join(', ')} import${typeEdges.length === 1 ? 's' : ''} only types along it: moving those types is enough)` : ''),
    );
  }
  // Rule 6: commands stay thin and independent; what they share lives outside src/commands/.
  if (pkgName === '@kdasr/cli') {
    const commandsDir = join(projectDir, 'src', 'commands') + sep;
    const isCommand = (f) => f.startsWith(commandsDir) && !/\.test\.ts$/.test(f) && /^export const command\b/m.test(texts.get(f));
    for (const f of files) {
      // registry.ts is where commands are registered: it imports them all by design.
      if (!f.startsWith(commandsDir) || f === join(commandsDir, 'registry.ts')) continue;
      const subject = f.replace(/\.test\.ts$/, '.ts');
      for (const { spec, line } of importsOf(texts.get(f))) {
        if (!spec.startsWith('.')) continue;
        const t = resolveRelative(f, spec, files);
        if (t && t !== f && t !== subject && isCommand(t))
          problems.push(`${rel(f)}:${line}: command file imports another command ("${spec}"); move what they share into a cli module outside src/commands/ or into the library that owns it`);
      }
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
