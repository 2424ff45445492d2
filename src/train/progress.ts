/**
 * A progress bar on stderr: step, loss, tokens/s and ETA. On a TTY one line is redrawn in place (at most ~10 times
 * a second); otherwise a plain line is printed at each log step, so logs stay readable in files and CI.
 */
import * as et from '../../engine/index.js';
import { describeArg } from '../args.js';
export interface ProgressInfo {
  step: number;
  total: number;
  loss?: number;
  tokensPerSec?: number;
  /** Seconds since this session started (ETA extrapolates from it). */
  elapsed: number;
  /** The step this session started from (resumed runs). */
  startStep: number;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function fmtRate(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '-';
  return r >= 1e4 ? `${(r / 1000).toFixed(1)}k` : r.toFixed(0);
}

export class Progress {
  private lastDraw = 0;
  private drawn = false;
  readonly tty: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean } = process.stderr,
    private readonly enabled = true,
  ) {
    if (stream === null || typeof stream !== 'object' || typeof stream.write !== 'function') {
      throw new et.ArgumentError(`stream must be a writable stream (an object with write()), got ${describeArg(stream)}`, { op: 'Progress' });
    }
    this.tty = Boolean(stream.isTTY);
  }

  line(p: ProgressInfo): string {
    const done = p.step - p.startStep;
    const eta = done > 0 ? ((p.total - p.step) * p.elapsed) / done : NaN;
    const loss = p.loss === undefined ? '-' : p.loss.toFixed(4);
    return `step ${p.step}/${p.total}  loss ${loss}  ${fmtRate(p.tokensPerSec)} tok/s  ETA ${formatDuration(eta)}`;
  }

  /** Called every step; `logStep` marks the steps a non-TTY stream prints. */
  update(p: ProgressInfo, logStep: boolean): void {
    if (!this.enabled) return;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && p.step !== p.total) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round((width * p.step) / Math.max(1, p.total));
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      this.stream.write(`\r\x1b[2K[${bar}] ${this.line(p)}`);
      this.drawn = true;
    } else if (logStep) {
      this.stream.write(this.line(p) + '\n');
    }
  }

  /** Prints a message on its own line (clearing the bar first). */
  message(s: string): void {
    if (!this.enabled) return;
    this.clear();
    this.stream.write(s + '\n');
  }

  clear(): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
