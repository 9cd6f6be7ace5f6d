export function findWorkspaceRoot(start: string): string;
export function loadProjects(root: string): Map<string, { dir: string; tags: string[]; pkg: Record<string, unknown> }>;
export function importsOf(text: string): { spec: string; line: number }[];
export function checkProject(projectDir: string, root?: string): string[];
