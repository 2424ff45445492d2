/**
 * Timing several tasks side by side: tinybench runs its tasks one after the other, so a change in the machine's load
 * during a run lands on whichever task ran then. Here the tasks take turns in `rounds` rounds (each task `time /
 * rounds` per round, warm-up in the first round only) and every task's samples are pooled over the rounds.
 */
import { Bench } from 'tinybench';

export interface InterleaveOptions {
  /** total time per task, ms */
  time: number;
  rounds: number;
  /** minimum iterations per task per round */
  iterations: number;
  warmupTime: number;
  warmupIterations: number;
}

/** Per task (in the order given), its per-iteration times in ms, pooled over the rounds. */
export async function timeInterleaved(tasks: readonly { name: string; run: () => Promise<void> }[], o: InterleaveOptions): Promise<number[][]> {
  const samples: number[][] = tasks.map(() => []);
  for (let round = 0; round < o.rounds; round++) {
    const bench = new Bench({
      retainSamples: true,
      time: o.time / o.rounds,
      iterations: o.iterations,
      warmup: round === 0,
      warmupTime: o.warmupTime,
      warmupIterations: o.warmupIterations,
    });
    for (const t of tasks) bench.add(t.name, t.run);
    await bench.run();
    bench.tasks.forEach((t, i) => {
      const r = t.result as { error?: unknown; latency?: { samples?: readonly number[] } } | undefined;
      if (r?.error) throw new Error(`${t.name} failed: ${String(r.error)}`);
      samples[i]!.push(...(r?.latency?.samples ?? []));
    });
  }
  samples.forEach((s, i) => {
    if (!s.length) throw new Error(`${tasks[i]!.name}: no samples`);
  });
  return samples;
}
