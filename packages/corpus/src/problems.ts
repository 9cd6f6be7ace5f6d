/** Problems found in manifests or imported data, each with the file and line (1-based) it comes from. */
export interface Problem {
  file: string;
  line?: number;
  field?: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}` : p.file;
  return `${where}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/** Thrown when validation or import finds problems; the message lists every one, not just the first. */
export class CorpusError extends Error {
  readonly problems: Problem[];
  constructor(what: string, problems: Problem[]) {
    const shown = problems.slice(0, 200).map((p) => `  ${formatProblem(p)}`);
    if (problems.length > 200) shown.push(`  ... and ${problems.length - 200} more`);
    super(`${what}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${shown.join('\n')}`);
    this.problems = problems;
  }
}
