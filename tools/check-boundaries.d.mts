export function findWorkspaceRoot(start: string): string;
export function loadProjects(root: string): Map<string, { dir: string; tags: string[]; pkg: Record<string, unknown> }>;
export function importsOf(text: string): { spec: string; line: number }[];
export function checkProject(projectDir: string, root?: string): string[];
export function staticImportsOf(text: string, fileName?: string): { spec: string; line: number; typeOnly: boolean }[];
export function checkImportGraph(projectDir: string, root: string, pkgName: string): string[];
