/** Typed errors of `eitp experiment` (bad config fields use src/train's ConfigError, which names the field). */

/** The name is neither a registered experiment nor a readable config file. */
export class UnknownExperimentError extends Error {
  constructor(
    readonly experiment: string,
    readonly known: readonly string[],
  ) {
    super(`unknown experiment '${experiment}': expected one of ${known.join(', ')}, or the path of an experiment config file (.json)`);
    this.name = 'UnknownExperimentError';
  }
}

/** results.jsonl exists but a line of it is not a run record of this experiment (not a torn last line). */
export class ResultsFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot use results file '${path}': ${reason}`);
    this.name = 'ResultsFileError';
  }
}
