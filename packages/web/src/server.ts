/**
 * The demo server: the page, its bundle, tfjs' wasm binaries and one model's files, each at a fixed URL path, with
 * the headers that make the page cross-origin isolated (SharedArrayBuffer, so wasm threads). Any other path, a
 * `..` segment in any spelling, or an absolute-form request URL is a 404.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { RECOGNIZER_FILE } from './recognizer.js';
import { bundleFiles, type ModelSite } from './site.js';

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export interface DemoServer {
  url: string;
  host: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * The file map key of a request path, or null. Only origin-form paths (`/a/b`) made of plain segments count: a
 * `..` or `.` segment (also percent-encoded, e.g. `%2e%2e`), a backslash, an encoded slash or a NUL never matches.
 */
export function routeOf(rawUrl: string | undefined): string | null {
  if (!rawUrl || !rawUrl.startsWith('/') || rawUrl.startsWith('//')) return null;
  const path = rawUrl.split(/[?#]/)[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  if (/%2f|%5c/i.test(path) || decoded.includes('\\') || decoded.includes('\0')) return null;
  const segs = decoded.slice(1).split('/');
  if (segs.some((s) => s === '..' || s === '.')) return null;
  const key = segs.join('/');
  return key === '' ? 'index.html' : key;
}

export async function startDemoServer(o: { site: ModelSite; bundleDir: string; host?: string; port?: number }): Promise<DemoServer> {
  const files = new Map([...bundleFiles(o.bundleDir), ...o.site.files]);
  const manifest = JSON.stringify(o.site.manifest, null, 2) + '\n';
  const host = o.host ?? '127.0.0.1';
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const key = req.method === 'GET' || req.method === 'HEAD' ? routeOf(req.url) : null;
    const send = (status: number, body: string | Buffer, type: string) => {
      res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (key === RECOGNIZER_FILE) return send(200, manifest, TYPES['.json']);
    const file = key === null ? undefined : files.get(key);
    if (!file) return send(404, 'not found\n', TYPES['.txt']);
    try {
      send(200, await readFile(file), TYPES[extname(file)] ?? 'application/octet-stream');
    } catch {
      send(404, 'not found\n', TYPES['.txt']);
    }
  };
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port ?? 0, host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 0);
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${port}/`, host, port, server, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
