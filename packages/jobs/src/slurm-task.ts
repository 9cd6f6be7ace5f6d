/** One Slurm array task: runs job SLURM_ARRAY_TASK_ID of a batch file and writes its status file, then exits. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { writeJsonAtomic } from '@kdasr/core';
import { executeJob, loadRegistry } from './execute.js';
import type { SlurmBatchFile, SlurmTaskStatus } from './slurm.js';

const [batchFile, indexArg] = process.argv.slice(2);
const index = Number(indexArg);
const statusFile = join(dirname(batchFile), 'status', `${index}.json`);
const write = (s: Omit<SlurmTaskStatus, 'index' | 'host'>) => writeJsonAtomic(statusFile, { index, host: hostname(), ...s });
try {
  const batch = JSON.parse(readFileSync(batchFile, 'utf8')) as SlurmBatchFile;
  const spec = batch.jobs[index];
  if (!spec) throw new Error(`slurm task ${indexArg}: ${batchFile} has ${batch.jobs.length} jobs`);
  const registry = await loadRegistry(batch.kindsModule);
  console.log(`# ${new Date().toISOString()} task ${index} on ${hostname()}: ${spec.kind}`);
  const outcome = await executeJob(registry, batch.root, spec, { log: (l) => console.log(l) });
  console.log(`# ${outcome.id}: ${outcome.status} in ${outcome.seconds.toFixed(1)} s`);
  write({ exitCode: 0, outcome });
  process.exit(0);
} catch (e) {
  console.error((e as Error).stack ?? String(e));
  write({ exitCode: 1, error: `${(e as Error).name}: ${(e as Error).message}` });
  process.exit(1);
}
