/**
 * One progress, ETA and log module for every long command. On a TTY a progress bar is one redrawn line; elsewhere
 * (logs, CI) plain lines at most every ~10 % or 10 s; with `json` each event is one JSON object per line, for
 * machines. `quiet` drops info lines and progress but keeps warnings. Settings come from configureLog() or the
 * environment (KDASR_QUIET=1, KDASR_LOG_JSON=1), so worker processes inherit the parent's choice.
 */

export interface LogSettings {
  /** Drop info lines and progress; warnings still print. */
  quiet: boolean;
  /** One JSON object per line instead of text. */
  json: boolean;
}

/** Where log lines go: stderr by default (a test passes its own sink). */
export interface LogSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export const QUIET_ENV = 'KDASR_QUIET';
export const LOG_JSON_ENV = 'KDASR_LOG_JSON';

let override: Partial<LogSettings> = {};

/** Set the process-wide log settings (the CLI's --quiet / --log-json); also exported to child processes' env. */
export function configureLog(settings: Partial<LogSettings>): void {
  override = { ...override, ...settings };
  if (settings.quiet !== undefined) process.env[QUIET_ENV] = settings.quiet ? '1' : '';
  if (settings.json !== undefined) process.env[LOG_JSON_ENV] = settings.json ? '1' : '';
}

export function logSettings(): LogSettings {
  return { quiet: override.quiet ?? process.env[QUIET_ENV] === '1', json: override.json ?? process.env[LOG_JSON_ENV] === '1' };
}

/** A duration for people: `42s`, `3m05s`, `2h07m`; `?` when unknown (infinite or NaN). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface LoggerOptions extends Partial<LogSettings> {
  sink?: LogSink;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

export interface ProgressOptions {
  /** What is counted, plural (default `items`). */
  unit?: string;
  /** Short unit for the rate (default: the unit). */
  rateUnit?: string;
  /** Items done before this run (a resumed job): they count as done but not in the rate. */
  startAt?: number;
  /** Minimum ms between plain (non-TTY) lines besides the 10 % steps (default 10 000). */
  plainIntervalMs?: number;
}

/** A logger bound to a component name (`kdasr train`, `decode`, ...). */
export class Logger {
  private readonly sink: LogSink;
  private readonly now: () => number;
  private readonly fixed: Partial<LogSettings>;
  /** A TTY progress line is on screen and must be ended before another line prints. */
  private openLine = false;

  constructor(readonly name: string, options: LoggerOptions = {}) {
    this.sink = options.sink ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.fixed = { quiet: options.quiet, json: options.json };
  }

  get settings(): LogSettings {
    const env = logSettings();
    return { quiet: this.fixed.quiet ?? env.quiet, json: this.fixed.json ?? env.json };
  }

  get tty(): boolean {
    return Boolean(this.sink.isTTY) && !this.settings.json;
  }

  info(message: string, fields?: Record<string, unknown>): void {
    if (this.settings.quiet) return;
    this.emit('info', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.emit('warn', message, fields);
  }

  private emit(level: string, message: string, fields?: Record<string, unknown>): void {
    if (this.settings.json) {
      this.sink.write(JSON.stringify({ time: new Date(this.now()).toISOString(), level, name: this.name, message, ...fields }) + '\n');
      return;
    }
    this.breakLine();
    this.sink.write(`${this.name}: ${message}\n`);
  }

  /** End an open TTY progress line, so text written straight to the stream starts on its own line. */
  breakLine(): void {
    if (this.openLine) this.sink.write('\n');
    this.openLine = false;
  }

  /** A counter with rate and ETA; call update()/tick() as items finish and end() when done. */
  progress(total: number, options: ProgressOptions = {}): Progress {
    return new Progress(this, total, options, this.now, (line, final) => this.drawProgress(line, final), (fields) => this.jsonProgress(fields));
  }

  private drawProgress(line: string, final: boolean): void {
    if (this.tty) {
      // \x1b[K clears what a longer previous line left behind.
      this.sink.write(`\r${this.name}: ${line}\x1b[K${final ? '\n' : ''}`);
      this.openLine = !final;
    } else this.sink.write(`${this.name}: ${line}\n`);
  }

  private jsonProgress(fields: Record<string, unknown>): void {
    this.sink.write(JSON.stringify({ time: new Date(this.now()).toISOString(), level: 'progress', name: this.name, ...fields }) + '\n');
  }
}

export class Progress {
  private done: number;
  private failed = 0;
  private readonly start: number;
  private readonly startAt: number;
  private lastDraw = -Infinity;
  private lastDecile: number;
  private finished = false;

  constructor(
    private readonly logger: Logger,
    readonly total: number,
    private readonly options: ProgressOptions,
    private readonly now: () => number,
    private readonly draw: (line: string, final: boolean) => void,
    private readonly drawJson: (fields: Record<string, unknown>) => void,
  ) {
    this.startAt = options.startAt ?? 0;
    this.done = this.startAt;
    this.start = now();
    this.lastDecile = this.decile();
  }

  private decile(): number {
    return this.total > 0 ? Math.floor((10 * this.done) / this.total) : 10;
  }

  /** Items per second over this run (resumed items excluded). */
  rate(): number {
    const fresh = this.done - this.startAt;
    return fresh / Math.max((this.now() - this.start) / 1000, 1e-3);
  }

  /** Seconds left at the current rate (0 when done, Infinity before the first item). */
  eta(): number {
    if (this.done >= this.total) return 0;
    const r = this.rate();
    return r > 0 ? (this.total - this.done) / r : Infinity;
  }

  line(extra = ''): string {
    const unit = this.options.unit ?? 'items';
    const rateUnit = this.options.rateUnit ?? unit;
    const elapsed = (this.now() - this.start) / 1000;
    return `${this.done}/${this.total} ${unit}, ${this.rate().toFixed(1)} ${rateUnit}/s, elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(this.eta())}${this.failed ? `, ${this.failed} failed` : ''}${extra ? `, ${extra}` : ''}`;
  }

  tick(n = 1, failed = 0, extra = ''): void {
    this.update(this.done + n, this.failed + failed, extra);
  }

  /** Set the count of finished (and failed) items; draws when due. */
  update(done: number, failed = this.failed, extra = ''): void {
    this.done = done;
    this.failed = failed;
    const final = done >= this.total;
    if (final) return this.end(extra);
    const settings = this.logger.settings;
    if (settings.quiet) return;
    const t = this.now();
    const decile = this.decile();
    const due = this.logger.tty ? t - this.lastDraw >= 100 : decile > this.lastDecile || t - this.lastDraw >= (this.options.plainIntervalMs ?? 10_000);
    if (!due) return;
    this.lastDraw = t;
    this.lastDecile = decile;
    this.emit(false, extra);
  }

  private emit(final: boolean, extra: string): void {
    if (this.logger.settings.json)
      this.drawJson({ done: this.done, total: this.total, failed: this.failed, unit: this.options.unit ?? 'items', ratePerSecond: this.rate(), etaSeconds: Number.isFinite(this.eta()) ? this.eta() : null, elapsedSeconds: (this.now() - this.start) / 1000, final, ...(extra ? { extra } : {}) });
    else this.draw(this.line(extra), final);
  }

  /** The closing line (once); a TTY line is ended with a newline. */
  end(extra = ''): void {
    if (this.finished) return;
    this.finished = true;
    if (this.logger.settings.quiet) return;
    this.emit(true, extra);
  }
}
