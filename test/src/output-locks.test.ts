// Two runs into one --out: the second fails at once with the lock message while the first carries on, for real
// `kdasr features` processes; and every command that writes into an output directory takes the lock before
// reading its inputs (a lock held by another process makes it fail with the message, touching nothing).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const kdasr = join(repoRoot, 'packages', 'cli', 'bin', 'kdasr.mjs');
const root = mkdtempSync(join(tmpdir(), 'kdasr-output-locks-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** A 16-bit mono PCM WAV of a 440 Hz tone. */
function toneWav(path: string, seconds: number, rateHz = 16000): void {
  const n = Math.round(seconds * rateHz);
  const b = Buffer.alloc(44 + 2 * n);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + 2 * n, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rateHz, 24);
  b.writeUInt32LE(2 * rateHz, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rateHz)), 44 + 2 * i);
  writeFileSync(path, b);
}

function run(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = Date.now();
  const c = spawn(process.execPath, [kdasr, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  let stderr = '';
  c.stderr!.on('data', (d) => (stderr += d));
  c.stdout!.resume();
  return new Promise((res) => c.on('exit', (code) => res({ code, stderr, ms: Date.now() - t0 })));
}

async function waitFor(cond: () => boolean, what: string, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('output directory locks', () => {
  it('two concurrent `kdasr features` into one --out: the second fails at once with the lock message', async () => {
    const wav = join(root, 'tone.wav');
    toneWav(wav, 2);
    const list = join(root, 'wav.scp');
    writeFileSync(list, Array.from({ length: 400 }, (_, i) => `utt${String(i).padStart(4, '0')} ${wav}`).join('\n') + '\n');
    const out = join(root, 'feats');
    const lockFile = join(out, '.kdasr.lock');
    const first = run(['features', '--input', list, '--out', out, '--jobs', '1']);
    await waitFor(() => existsSync(lockFile), 'the first run to take the lock');
    const holder = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number; command: string };
    expect(holder.command).toBe(`kdasr features --input ${list} --out ${out} --jobs 1`);
    const second = await run(['features', '--input', list, '--out', out, '--jobs', '1']);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(new RegExp(`${out} is in use by pid ${holder.pid} \\(command kdasr features --input ${list} --out ${out} --jobs 1\\) since \\d{4}-`));
    expect(second.stderr).not.toMatch(/utterances computed/);
    expect(existsSync(lockFile)).toBe(true); // the first is still running: the second did not wait for it
    // Interrupt the first (features commits what it has on SIGINT): its lock goes when it exits.
    process.kill(holder.pid, 'SIGINT');
    const r = await first;
    expect(r.stderr).toMatch(/interrupted/);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('features, train, align, decode, eval and corpus take the lock before reading their inputs', async () => {
    const dir = join(root, 'held');
    const hold = spawn(process.execPath, ['--conditions=@kdasr/source', '--import', 'tsx', '--input-type=module', '-e',
      `const { lockDirectory } = await import('@kdasr/core'); lockDirectory(${JSON.stringify(dir)}, { command: 'held by the test' }); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(hold);
    await new Promise<void>((res, rej) => {
      hold.stdout!.on('data', (d) => String(d).includes('locked') && res());
      hold.on('exit', (c) => rej(new Error(`lock holder exited ${c}`)));
    });
    const missing = join(root, 'does-not-exist');
    const commands = [
      ['features', '--input', missing, '--out', dir],
      ['train', '--corpus', missing, '--feats', missing, '--exp', dir],
      ...['align', 'decode', 'eval'].map((c) => [c, '--model', missing, '--corpus', missing, '--feats', missing, '--out', dir]),
      ['corpus', 'kaldi', '--src', missing, '--out', dir],
    ];
    const results = await Promise.all(commands.map((c) => run(c)));
    for (const [i, r] of results.entries()) {
      expect(r.code, commands[i][0]).not.toBe(0);
      expect(r.stderr, commands[i][0]).toMatch(new RegExp(`${dir} is in use by pid ${hold.pid} \\(command held by the test\\)`));
    }
    hold.kill('SIGTERM');
    await new Promise((r) => hold.once('exit', r));
  });
});
