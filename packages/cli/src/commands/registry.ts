/**
 * The CLI's commands. Each command lives in its own file under commands/ and is listed here once;
 * `kdasr help` prints the summaries in this order.
 */
export interface Command {
  name: string;
  summary: string;
  /** Runs the command with the arguments after its name; returns the exit code. */
  run(argv: string[]): Promise<number>;
}

export const commandLoaders: Record<string, { summary: string; load: () => Promise<Command> }> = {
  env: { summary: 'show the tensor backend, threads and versions (--json)', load: async () => (await import('./env.js')).command },
};
