/**
 * The contract every experiment implements. An experiment is a list of arms (configurations) run once per seed;
 * the runner (runner.ts) gives each (arm, seed) a run id from a hash of the arm's resolved config and the seed,
 * skips runs already in results.jsonl, appends one RunRecord per finished run, and the report (report.ts) tables
 * every metric per arm (mean ± std) with the paired difference against the baseline arm and its 95 % CI.
 *
 * Adding an experiment: write a file that exports an `Experiment` and add one line to registry.ts. Experiments that
 * train reuse train-run.ts (the trainer called programmatically, curves and evaluation collected).
 */

/** A JSON value: what settings, configs and records hold (results.jsonl must round-trip). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** One configuration of an experiment. */
export interface Arm {
  /** Short, unique within the experiment ("baseline", "chaos", "full", "int8"): the table's row label. */
  readonly name: string;
  /**
   * Everything that determines the run's result apart from the seed (for training arms: the resolved TrainConfig
   * without `seed` and `out`). Hashed into the run id, so changing any of it (more steps, another width) makes new
   * runs instead of reusing old ones.
   */
  readonly config: JsonObject;
  /** One line for the report ("λ2 = 0.1 only"). */
  readonly description?: string;
}

/** The options of one `eitp experiment` invocation, shared by every experiment. */
export interface ExperimentOptions {
  /** Seeds are 0 .. seeds-1 (the same seed in two arms gives the same data stream and initialisation: pairs). */
  readonly seeds: number;
  /** Training steps per run; undefined: the experiment's default. */
  readonly steps?: number;
  /** Backend for every run: auto (honours EITP_BACKEND), cpu, native, webgpu, cuda. */
  readonly backend: string;
  /** A text corpus (char-level experiments). */
  readonly data?: string;
  /** Dotted TrainConfig paths applied to every arm ("model.width": 64), from --set or a config file's "base". */
  readonly overrides: Readonly<Record<string, Json>>;
  /** Where other experiments' outputs live (the claims table reads them): the parent of each experiment's directory. */
  readonly resultsRoot: string;
}

export interface CurvePoint {
  readonly step: number;
  readonly value: number;
}

/** What a report needs to say about how a run was made. */
export interface RunInfo {
  /** Trainable parameters of the model. */
  readonly params: number;
  readonly steps: number;
  /** Training tokens seen (batch · seqLen · steps); 0 for runs that do not train. */
  readonly tokens: number;
  readonly backend: string;
  /** Wall time of the run. */
  readonly seconds: number;
  /** One line each: "char-GPT (2 blocks, width 32, 2 heads, 27.1k parameters)", "multi-key retrieval: ...". */
  readonly model?: string;
  readonly task?: string;
}

/** What `Experiment.run` returns for one (arm, seed). */
export interface RunOutcome {
  /** Scalar results (the table's columns); a value that could not be measured is omitted, not NaN. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Quantities over training, keyed like Experiment.curves (e.g. loss, entropy, lyapunov, coherence, fidelity, temperature). */
  readonly curves: Readonly<Record<string, readonly CurvePoint[]>>;
  readonly info: RunInfo;
  /** Anything else worth keeping (e.g. how energy was obtained: "rapl" or "estimate"). */
  readonly notes?: JsonObject;
}

/** One line of results.jsonl. */
export interface RunRecord extends RunOutcome {
  readonly id: string;
  readonly experiment: string;
  readonly arm: string;
  readonly config: JsonObject;
  readonly seed: number;
  readonly finishedAt: string;
}

/** A table column: how to read, print and compare one metric. */
export interface MetricSpec {
  readonly key: string;
  readonly label: string;
  /** Which direction is an improvement (the report marks the paired difference accordingly). */
  readonly better: 'lower' | 'higher' | 'none';
  /** Decimal places in the table (default 4). */
  readonly digits?: number;
  /** Show as a percentage (values are fractions). */
  readonly percent?: boolean;
}

/** A plotted quantity over training. */
export interface CurveSpec {
  readonly key: string;
  /** Axis title, e.g. "Ĥ (normalised parameter entropy)". */
  readonly label: string;
}

/** An extra plot of an experiment's results (a Vega-Lite spec, rendered to plots/<name>.svg). */
export interface Figure {
  /** File stem: letters, digits and dashes. */
  readonly name: string;
  readonly title: string;
  readonly spec: JsonObject;
}

/** One row of the claims table: a headline number of the papers beside what was measured here. */
export interface ClaimRow {
  /** "-15 % perplexity" */
  readonly claim: string;
  /** What was compared, e.g. "full EIT-P vs λ = 0 baseline, held-out perplexity, 3 paired seeds". */
  readonly comparison: string;
  /** The measured figure with its CI, e.g. "+0.8 % [-1.2 %, +2.9 %]", or "not run". */
  readonly measured: string;
  /** Model size, steps, seeds, backend of the runs behind the figure. */
  readonly setup: string;
}

export interface ExperimentContext {
  readonly options: ExperimentOptions;
  /** This experiment's output directory (results.jsonl, report.md, plots/). */
  readonly outDir: string;
  /** A scratch directory for one run (checkpoints, metrics.jsonl); created by the runner. */
  readonly runDir: string;
  /** Every registered experiment (the claims table asks each for its rows). */
  readonly experiments: () => readonly Experiment[];
  /** Progress messages (stderr; silent in tests). */
  readonly log: (message: string) => void;
}

export interface Experiment {
  /** The registry key and default output directory name: "perplexity", "long-range", "compression". */
  readonly name: string;
  readonly title: string;
  /** A paragraph for the report: what is measured and why. */
  readonly description: string;
  /** Seeds and steps when the command line gives none (sized for minutes on 2 CPU cores with native). */
  readonly defaults: { readonly seeds: number; readonly steps: number };
  /** The arms for these options; throws a typed error (ConfigError, DataFileError) on bad settings before any run. */
  plan(options: ExperimentOptions): Arm[];
  /** The arm the paired differences are taken against (null: no comparison column). */
  readonly baseline: string | null;
  /** Table columns; may depend on the results (e.g. one column per distance bucket). */
  metrics(records: readonly RunRecord[]): MetricSpec[];
  /** Plots over training (one SVG each); empty for experiments that do not train. */
  readonly curves: readonly CurveSpec[];
  run(arm: Arm, seed: number, ctx: ExperimentContext): Promise<RunOutcome>;
  /** Rows this experiment's results contribute to the claims table (given its own records from results.jsonl). */
  claims?(records: readonly RunRecord[]): ClaimRow[];
  /** Extra plots from the results (e.g. accuracy by distance bucket, compression ratio against accuracy). */
  figures?(records: readonly RunRecord[]): Figure[];
  /** Extra Markdown sections after the main table (the claims table itself is one). */
  sections?(records: readonly RunRecord[], ctx: ExperimentContext): string[];
}
