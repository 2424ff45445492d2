/**
 * The module graph keeps DESIGN.md's layering where it can be checked mechanically: src/ reaches the engine only
 * through its public entry points, and the only import cycle is the op table with dispatch, which is one by nature
 * (VJP rules are written with ops that dispatch through the table). In particular autograd is in no cycle with the
 * op table (the backward pass reads the table's rules; op rules never reach back into autograd), and nn/optim are
 * built on engine/core.ts, not on the index that re-exports them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), '..'));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports and re-exports that exist at run time (`import type` and `export type` are erased). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'/gms)) {
    if (m[1]) continue;
    found.push(normalize(join(dirname(file), m[2]!)).replace(/\.js$/, '.ts'));
  }
  // imports for their side effects only (a backend registering itself)
  for (const m of text.matchAll(/^import\s+'(\.[^']+)'/gm)) found.push(normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
  return found;
}

const files = [...sourceFiles('engine'), ...sourceFiles('src')];
const graph = new Map(files.map((f) => [f, runtimeImports(f).filter((t) => files.includes(t))]));

/** Strongly connected components with more than one file (Tarjan, iterative enough for this graph's depth). */
function cycles(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe('module graph', () => {
  it('finds the files and their imports (the parser is not vacuous)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get(join('engine', 'autograd', 'backward.ts'))).toContain(join('engine', 'ops', 'table.ts'));
    expect(graph.get(join('src', 'eitp', 'objective.ts'))?.length ?? 0).toBeGreaterThan(0);
    expect(graph.get(join('engine', 'core.ts'))).toContain(join('engine', 'backends', 'register.ts'));
  });

  it('src/ imports the engine only through its public entry points', () => {
    const publicEntries = new Set([join('engine', 'index.ts'), join('engine', 'nn', 'index.ts')]);
    const offenders = files
      .filter((f) => f.startsWith('src'))
      .flatMap((f) => graph.get(f)!.filter((t) => t.startsWith('engine') && !publicEntries.has(t)).map((t) => `${f} -> ${t}`));
    expect(offenders).toEqual([]);
  });

  it('the only import cycle is the op table with dispatch', () => {
    const opTableCycle = (f: string) => f === join('engine', 'dispatch.ts') || dirname(f) === join('engine', 'ops');
    const found = cycles();
    expect(found.filter((c) => !c.every(opTableCycle)).map((c) => c.join(', '))).toEqual([]);
    expect(found.length).toBeLessThanOrEqual(1);
  });
});
