/**
 * results.jsonl: one RunRecord per line, appended as each run finishes. A process killed while appending leaves a
 * torn last line; `loadResults` drops it (that run is simply re-run) and rewrites the file without it, so the next
 * append starts on a clean line. Any other unreadable line is an error: the file is someone's results.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../train/checkpoint.js';
import { ResultsFileError } from './errors.js';
import type { RunRecord } from './types.js';
import { filePathArg } from '../args.js';

function isRecord(v: unknown): v is RunRecord {
  const r = v as RunRecord;
  return (
    r !== null &&
    typeof r === 'object' &&
    typeof r.id === 'string' &&
    typeof r.arm === 'string' &&
    typeof r.experiment === 'string' &&
    Number.isInteger(r.seed) &&
    typeof r.metrics === 'object' &&
    typeof r.curves === 'object' &&
    typeof r.info === 'object'
  );
}

export function loadResults(path: string, experiment?: string): RunRecord[] {
  filePathArg(path, 'loadResults');
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const records: RunRecord[] = [];
  let torn = false;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      // only the last line can be torn (the writer appends one line at a time)
      const last = lines.slice(i + 1).every((l) => !l.trim());
      if (last) {
        torn = true;
        return;
      }
      throw new ResultsFileError(path, `line ${i + 1} is not valid JSON`);
    }
    if (!isRecord(v)) throw new ResultsFileError(path, `line ${i + 1} is not a run record (needs id, experiment, arm, seed, metrics, curves, info)`);
    if (experiment !== undefined && v.experiment !== experiment) {
      throw new ResultsFileError(path, `line ${i + 1} belongs to experiment '${v.experiment}', not '${experiment}' (use another --out)`);
    }
    records.push(v);
  });
  if (torn || (text.length > 0 && !text.endsWith('\n'))) writeFileAtomic(path, records.map((r) => JSON.stringify(r) + '\n').join(''));
  return records;
}

export function appendResult(path: string, record: RunRecord): void {
  filePathArg(path, 'appendResult');
  appendFileSync(path, JSON.stringify(record) + '\n');
}
