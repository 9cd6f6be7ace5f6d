/**
 * Every path a job touches is relative to the artifact root and must stay inside it, also after symlinks are
 * followed: a payload is data from a queue, and must not be able to read or overwrite anything else.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export class JobPathError extends Error {
  override name = 'JobPathError';
}

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}

/** The deepest existing ancestor's real path joined with the rest (what the path will be once created). */
function realish(p: string): string {
  let head = p;
  const tail: string[] = [];
  while (!existsSync(head)) {
    const up = dirname(head);
    if (up === head) break;
    tail.unshift(head.slice(up.length + (up.endsWith(sep) ? 0 : 1)));
    head = up;
  }
  return join(realpathSync(head), ...tail);
}

/**
 * Resolves `rel` under `root`. Rejects absolute paths, `..` that climbs out, and symlinks whose target is outside
 * the root, with an error naming the field, the path and the fix.
 */
export function resolveInRoot(root: string, rel: string, field = 'path'): string {
  const fix = `give paths relative to the artifact root (--artifacts ${root}) that stay inside it`;
  if (typeof rel !== 'string' || rel.length === 0) throw new JobPathError(`job payload ${field}: empty path; ${fix}`);
  if (isAbsolute(rel)) throw new JobPathError(`job payload ${field}: "${rel}" is absolute; ${fix}`);
  if (rel.includes('\0')) throw new JobPathError(`job payload ${field}: "${rel}" contains a NUL byte; ${fix}`);
  const absRoot = resolve(root);
  const p = resolve(absRoot, rel);
  if (!inside(absRoot, p)) throw new JobPathError(`job payload ${field}: "${rel}" resolves to ${p}, outside the artifact root ${absRoot}; ${fix}`);
  const realRoot = realpathSync(absRoot);
  const real = realish(p);
  if (!inside(realRoot, real)) throw new JobPathError(`job payload ${field}: "${rel}" follows a symlink to ${real}, outside the artifact root ${realRoot}; ${fix}`);
  return p;
}

/** `abs` as a path relative to the root, or an error when it is not inside. */
export function relativeToRoot(root: string, abs: string, what = 'path'): string {
  const absRoot = resolve(root);
  const p = resolve(abs);
  if (!inside(absRoot, p)) throw new JobPathError(`${what} ${p} is outside the artifact root ${absRoot}; put it under --artifacts or pass --artifacts a directory that holds it`);
  return relative(absRoot, p) || '.';
}
