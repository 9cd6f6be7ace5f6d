#!/usr/bin/env node
// Sums vitest JSON reports (one per project) into the plain closing line CI reads: `N passed, N failed`.
// Exits 1 when a project that was expected to report did not, so a crashed runner cannot pass silently.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
if (!dir || !existsSync(dir)) {
  console.error(`count-tests: report directory ${dir} missing`);
  process.exit(1);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const expected = [...readdirSync(join(root, 'packages')), 'test'];
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const project of expected) {
  const file = join(dir, `${project}.json`);
  if (!existsSync(file)) {
    missing.push(project);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A suite that failed to load counts as a failure even with no failed test inside.
  failed += (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0).length;
}
if (missing.length) console.error(`count-tests: no report from ${missing.join(', ')} (did its tests run?)`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || missing.length > 0 ? 1 : 0);
