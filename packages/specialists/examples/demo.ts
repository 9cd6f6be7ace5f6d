// Runs the generalist + specialists demo and prints its results.
//   node --conditions=@kdasr/source --import tsx examples/demo.ts [smoke|quick] [--backend=cpu|wasm|auto] [--json=FILE]
import { writeFileSync } from 'node:fs';
import { initRuntime, type BackendRequest } from '@kdasr/core';
import { runSpecialistsDemo, type DemoPreset } from '../src/index.js';

const args = process.argv.slice(2);
const preset = (args.find((a) => !a.startsWith('--')) ?? 'smoke') as DemoPreset;
const backend = (args.find((a) => a.startsWith('--backend='))?.slice(10) ?? 'auto') as BackendRequest;
const json = args.find((a) => a.startsWith('--json='))?.slice(7);
const info = await initRuntime({ backend });
console.log(`backend ${info.backend}`);
const r = await runSpecialistsDemo({ preset, log: (l) => console.log(l) });
for (const t of r.clusterTables) console.log(`\n${t.method}${t.purity !== undefined ? ` (purity ${t.purity.toFixed(3)})` : ''}\n${t.table}`);
console.log(`\n${r.task}: ${r.numClasses} classes, ${r.trainExamples} train / ${r.testExamples} test, ${r.specialists.length} specialists`);
console.log('| method | test accuracy | conditional accuracy (n) |\n| --- | --- | --- |');
console.log(`| generalist | ${(100 * r.generalistAccuracy).toFixed(2)}% | ${(100 * r.combined.eq5.conditional.generalistAccuracy).toFixed(2)}% (${r.combined.eq5.conditional.examples}) |`);
for (const [m, v] of Object.entries(r.combined))
  console.log(`| + specialists, ${m} | ${(100 * v.combinedAccuracy).toFixed(2)}% | ${(100 * v.conditional.combinedAccuracy).toFixed(2)}% |`);
console.log(`\nTable 4 (eq5):\n${r.table4}`);
console.log(`\neq5: mean iterations ${r.eq5.meanIterations.toFixed(1)}, not converged ${r.eq5.notConverged}, mean active specialists ${r.eq5.meanActive.toFixed(2)}`);
console.log('seconds', JSON.stringify(r.seconds));
if (json) writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
