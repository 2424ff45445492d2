/** Option parsers shared by the eitp subcommands: a wrong value is a commander usage error naming the flag. */
import { InvalidArgumentError } from 'commander';

export const BACKENDS = ['auto', 'cpu', 'native', 'webgpu', 'cuda'];

export function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

export function backendName(v: string): string {
  if (!BACKENDS.includes(v)) throw new InvalidArgumentError(`unknown backend '${v}'; expected one of ${BACKENDS.join(', ')}`);
  return v;
}
