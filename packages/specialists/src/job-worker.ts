// Child-process entry for runSpecialistJobsInChildProcesses: node job-worker.js <job.json>.
import { initRuntime, type BackendRequest } from '@kdasr/core';
import { runSpecialistJobFile } from './jobs.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: job-worker <job.json>\n');
  process.exit(2);
}
try {
  await runSpecialistJobFile(file, (backend) => initRuntime({ backend: backend as BackendRequest }));
} catch (e) {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
