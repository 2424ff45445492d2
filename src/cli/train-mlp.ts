/**
 * The starter job: an MLP learns interleaved spirals with AdamW and a cosine schedule, printing the loss as it goes
 * and the held-out accuracy at the end.
 */
import * as et from '../../engine/index.js';
import { describeArg, objectArg } from '../args.js';
import { type ClassificationData, spirals } from '../data/spirals.js';

export interface MlpJobOptions {
  steps: number;
  batch: number;
  hidden: number;
  lr: number;
  seed: number;
  logEvery: number;
}

export const MLP_JOB_DEFAULTS: MlpJobOptions = { steps: 1500, batch: 128, hidden: 64, lr: 0.01, seed: 0, logEvery: 100 };

export interface MlpJobResult {
  finalLoss: number;
  testAccuracy: number;
  steps: number;
  seconds: number;
}

function toTensors(d: ClassificationData) {
  return { x: et.tensor(d.x, { shape: [d.n, 2] }), y: et.tensor(d.y, { shape: [d.n] }) };
}

/** A random minibatch, gathered on the host (the data set is tiny) and uploaded. */
function sampleBatch(d: ClassificationData, size: number, rng: et.Rng) {
  const x = new Float32Array(size * 2);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const j = rng.int(0, d.n);
    x[2 * i] = d.x[2 * j]!;
    x[2 * i + 1] = d.x[2 * j + 1]!;
    y[i] = d.y[j]!;
  }
  return { x: et.tensor(x, { shape: [size, 2] }), y: et.tensor(y) };
}

export async function trainMlp(opts: MlpJobOptions, log: (line: string) => void = console.log): Promise<MlpJobResult> {
  objectArg(opts, 'trainMlp', 'options');
  if (typeof log !== 'function') throw new et.ArgumentError(`log must be a function (line => void), got ${describeArg(log)}`, { op: 'trainMlp' });
  const classes = 3;
  const train = spirals(3000, classes, { seed: opts.seed });
  const test = toTensors(spirals(900, classes, { seed: opts.seed + 1 }));
  const model = new et.nn.MLP([2, opts.hidden, opts.hidden, classes], { activation: 'tanh', seed: opts.seed });
  const optimizer = new et.optim.AdamW(model.parameters(), { lr: opts.lr, weightDecay: 1e-4 });
  const schedule = new et.optim.LrScheduler(optimizer, et.optim.cosine(opts.steps, { warmupSteps: Math.min(50, Math.floor(opts.steps / 10)), minLr: 0.05 }));
  const rng = new et.Rng(opts.seed + 2);
  const started = performance.now();
  let finalLoss = NaN;
  log(`training an MLP 2-${opts.hidden}-${opts.hidden}-${classes} on spirals (backend ${et.getBackend()}, ${opts.steps} steps, batch ${opts.batch})`);
  for (let step = 1; step <= opts.steps; step++) {
    const loss = et.tidy(() => {
      const batch = sampleBatch(train, opts.batch, rng);
      const l = et.crossEntropy(model.forward(batch.x), batch.y);
      l.backward();
      optimizer.step();
      optimizer.zeroGrad();
      schedule.step();
      return l;
    });
    if (step % opts.logEvery === 0 || step === opts.steps) {
      finalLoss = await loss.item();
      log(`step ${String(step).padStart(5)}  loss ${finalLoss.toFixed(4)}  lr ${optimizer.lr.toExponential(2)}`);
    }
    loss.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  model.eval();
  const predictions = et.tidy(() => et.argmax(model.forward(test.x), -1));
  const [pred, truth] = await Promise.all([predictions.data(), test.y.data()]);
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (pred[i] === truth[i]) correct++;
  const testAccuracy = correct / truth.length;
  et.dispose([predictions, test, model.parameters()]);
  optimizer.dispose();
  log(`done in ${seconds.toFixed(1)} s: final loss ${finalLoss.toFixed(4)}, held-out accuracy ${(100 * testAccuracy).toFixed(1)} %`);
  return { finalLoss, testAccuracy, steps: opts.steps, seconds };
}
