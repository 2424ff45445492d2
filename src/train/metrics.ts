/** Metrics as JSON lines: one record per log step, appended and flushed as training goes. */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './checkpoint.js';

export interface MetricsRecord {
  step: number;
  [k: string]: unknown;
}

export class MetricsLog {
  constructor(readonly path: string) {}

  /** Starts an empty log (a fresh run). */
  reset(): void {
    writeFileAtomic(this.path, '');
  }

  /**
   * Keeps only the records of steps <= step (a resumed run rewrites the steps after its checkpoint, so the log
   * reads as one uninterrupted run). A torn last line of a killed run is dropped.
   */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return this.reset();
    const kept = readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((line) => {
        if (!line.trim()) return false;
        try {
          return (JSON.parse(line) as MetricsRecord).step <= step;
        } catch {
          return false;
        }
      });
    writeFileAtomic(this.path, kept.map((l) => l + '\n').join(''));
  }

  write(rec: MetricsRecord): void {
    appendFileSync(this.path, JSON.stringify(rec) + '\n');
  }

  static read(path: string): MetricsRecord[] {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as MetricsRecord);
  }
}
