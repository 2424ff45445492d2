/**
 * Crash-safe checkpoints. A checkpoint is two files in a run directory:
 *   step-000123.safetensors   the tensors (model parameters, optimizer state)
 *   checkpoint.json           the manifest: which tensor file, its sha256 and size, the JSON state (config,
 *                             optimizer meta, RNG states, step, data position) and the sha256 of that state.
 * Each file is written to a temporary name, fsynced, renamed over its final name, and the directory is fsynced.
 * The manifest's rename is the commit point: a process killed at any moment leaves the previous manifest pointing
 * at the previous tensor file, which is deleted only after the new manifest is committed. Loading verifies both
 * checksums before anything is used, so a truncated or corrupted checkpoint is refused, never half-loaded.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type HostTensor, decodeSafetensors, encodeSafetensors } from './safetensors.js';
import * as et from '../../engine/index.js';
import { describeArg, filePathArg } from '../args.js';

export const CHECKPOINT_FORMAT = 'eitp-checkpoint/1';
export const MANIFEST = 'checkpoint.json';

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  tensors: string;
  tensorsBytes: number;
  tensorsSha256: string;
  stateSha256: string;
  state: CheckpointStateBase;
}

/** The JSON half: anything serialisable, with at least the step. */
export interface CheckpointStateBase {
  step: number;
  [k: string]: unknown;
}

export interface WriteHooks {
  /** Called between chunks of a file being written ("tensors" or "manifest") and after each rename ("tensors-committed", "committed"). Tests use it to kill a writer mid-way. */
  onProgress?: (phase: string, written: number, total: number) => void;
  /** Bytes per write() call (default 4 MiB). */
  chunkBytes?: number;
}

export function sha256(data: Uint8Array | string): string {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new et.ArgumentError(`data must be a string or a Uint8Array, got ${describeArg(data)}`, { op: 'sha256' });
  return createHash('sha256').update(data).digest('hex');
}

function fsyncDir(dir: string): void {
  // Directory fsync makes the rename durable; some platforms refuse to open a directory, which we tolerate.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported here */
  }
}

/** Writes data to `path` atomically: temporary file in the same directory, fsync, rename, directory fsync. */
export function writeFileAtomic(path: string, data: Uint8Array | string, hooks: WriteHooks = {}, phase = 'file'): void {
  filePathArg(path, 'writeFileAtomic');
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new et.ArgumentError(`data must be a string or a Uint8Array, got ${describeArg(data)}`, { op: 'writeFileAtomic' });
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const chunk = hooks.chunkBytes ?? 4 * 1024 * 1024;
  const fd = openSync(tmp, 'w');
  try {
    let written = 0;
    while (written < buf.length) {
      written += writeSync(fd, buf, written, Math.min(chunk, buf.length - written));
      hooks.onProgress?.(phase, written, buf.length);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** Resolves a run directory or a manifest path to the manifest path. */
export function manifestPath(pathOrDir: string): string {
  filePathArg(pathOrDir, 'loadCheckpoint', 'the checkpoint path');
  return existsSync(pathOrDir) && statSync(pathOrDir).isDirectory() ? join(pathOrDir, MANIFEST) : pathOrDir;
}

export function hasCheckpoint(dir: string): boolean {
  filePathArg(dir, 'hasCheckpoint', 'the checkpoint directory');
  return existsSync(join(dir, MANIFEST));
}

/** Saves tensors + state into `dir` (created beforehand) as the new current checkpoint. */
export function saveCheckpoint(dir: string, tensors: Readonly<Record<string, HostTensor>>, state: CheckpointStateBase, hooks: WriteHooks = {}): string {
  filePathArg(dir, 'saveCheckpoint', 'the checkpoint directory');
  // Leftovers of a writer that was killed are never referenced by a manifest: remove them.
  for (const f of readdirSync(dir)) if (/^\..*\.tmp-\d+$/.test(f)) rmSync(join(dir, f), { force: true });
  const name = `step-${String(state.step).padStart(7, '0')}.safetensors`;
  const buf = encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, step: String(state.step) });
  writeFileAtomic(join(dir, name), buf, hooks, 'tensors');
  hooks.onProgress?.('tensors-committed', buf.length, buf.length);
  const stateJson = JSON.stringify(state);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    tensors: name,
    tensorsBytes: buf.length,
    tensorsSha256: sha256(buf),
    stateSha256: sha256(stateJson),
    state,
  };
  const path = join(dir, MANIFEST);
  writeFileAtomic(path, JSON.stringify(manifest, null, 1), hooks, 'manifest');
  hooks.onProgress?.('committed', buf.length, buf.length);
  // Only now is the previous tensor file unreferenced.
  for (const f of readdirSync(dir)) if (/^step-\d+\.safetensors$/.test(f) && f !== name) rmSync(join(dir, f), { force: true });
  return path;
}

export interface LoadedCheckpoint<S extends CheckpointStateBase = CheckpointStateBase> {
  readonly path: string;
  readonly tensors: Record<string, HostTensor>;
  readonly state: S;
}

/** Reads and verifies a checkpoint (a run directory or its checkpoint.json); throws CheckpointError on any mismatch. */
export function loadCheckpoint<S extends CheckpointStateBase = CheckpointStateBase>(pathOrDir: string): LoadedCheckpoint<S> {
  const path = manifestPath(pathOrDir);
  const refuse = (why: string): never => {
    throw new CheckpointError(`refusing checkpoint ${path}: ${why}`);
  };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return refuse((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
  let m: CheckpointManifest;
  try {
    m = JSON.parse(text) as CheckpointManifest;
  } catch {
    return refuse('the manifest is not valid JSON (truncated or corrupted)');
  }
  if (m?.format !== CHECKPOINT_FORMAT) refuse(`unknown format ${JSON.stringify(m?.format)} (expected ${CHECKPOINT_FORMAT})`);
  if (typeof m.tensors !== 'string' || basename(m.tensors) !== m.tensors) refuse('the manifest names no valid tensor file');
  if (!m.state || sha256(JSON.stringify(m.state)) !== m.stateSha256) refuse('the state does not match its sha256 (corrupted)');
  const tensorPath = join(dirname(path), m.tensors);
  let buf: Buffer;
  try {
    buf = readFileSync(tensorPath);
  } catch {
    return refuse(`its tensor file ${tensorPath} cannot be read`);
  }
  if (buf.length !== m.tensorsBytes) refuse(`${tensorPath} has ${buf.length} bytes, the manifest says ${m.tensorsBytes} (truncated?)`);
  if (sha256(buf) !== m.tensorsSha256) refuse(`${tensorPath} does not match its sha256 (corrupted)`);
  const { tensors } = decodeSafetensors(buf, tensorPath);
  return { path, tensors, state: m.state as S };
}
