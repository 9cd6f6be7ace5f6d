import { formatJobsStatus, jobsStatus } from '@kdasr/jobs';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr jobs status --redis URL [--queue NAME] [--limit N] [--json]

Lists the queue's active, waiting, delayed, failed and completed jobs: attempts, stalls recovered (a worker died
under the job), time taken, and for failed jobs the reason.`;

export const command: Command = {
  name: 'jobs',
  summary: 'the BullMQ queue: waiting, active, failed and completed jobs with failure reasons (jobs status)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs('jobs', argv, { redis: { type: 'string' }, queue: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, HELP);
    if (values.help) return (console.log(HELP), 0);
    if (positionals[0] !== 'status' || positionals.length > 1) throw new CliError(`jobs: expected the subcommand "status"${positionals[0] ? `, got "${positionals.join(' ')}"` : ''}\n\n${HELP}`);
    if (!values.redis) throw new CliError(`jobs status: --redis URL is required\n\n${HELP}`);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new CliError(`jobs status: --limit must be a positive integer, got "${values.limit}"\n\n${HELP}`);
    const s = await jobsStatus({ redis: values.redis, queue: values.queue, limit });
    console.log(values.json ? JSON.stringify(s, null, 2) : formatJobsStatus(s));
    return 0;
  },
};
