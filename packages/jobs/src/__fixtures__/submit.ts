/** A submitting process for the tests: `submit.ts REDIS_URL JOBS_JSON`; prints the outcomes as JSON at the end. */
import { BullRunner } from '../bullmq.js';

const [redis, jobsJson] = process.argv.slice(2);
const runner = new BullRunner({ redis, pollMs: 200 });
const out = await runner.run(JSON.parse(jobsJson), { log: (l) => console.log(l), onProgress: (p) => console.log(p.line) });
await runner.close();
console.log(`OUTCOMES ${JSON.stringify(out)}`);
