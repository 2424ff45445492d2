/** Types shared by the benchmark library: options, case specs, result rows and the JSON report. */
import type { SampleStats } from './stats.js';

export type EngineBackend = 'cpu' | 'native' | 'webgpu' | 'cuda';
export const ENGINE_BACKENDS: readonly EngineBackend[] = ['cpu', 'native', 'webgpu', 'cuda'];

export type PeerName = 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-webgpu' | 'onnxruntime' | 'numpy';
export const PEER_NAMES: readonly PeerName[] = ['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu', 'onnxruntime', 'numpy'];

export type Family = 'matmul' | 'elementwise' | 'reduction' | 'softmax-ce' | 'layernorm' | 'adamw' | 'embedding';
export const FAMILIES: readonly Family[] = ['matmul', 'elementwise', 'reduction', 'softmax-ce', 'layernorm', 'adamw', 'embedding'];

/**
 * One benchmark case, declarative so that every implementation (engine backends, tfjs, onnxruntime, and numpy in a
 * subprocess) builds the same inputs from it. Shapes are row-major; all data f32 except indices (i32).
 */
export type CaseSpec =
  | { kind: 'matmul'; a: number[]; b: number[] }
  | { kind: 'add-broadcast'; a: number[]; b: number[] }
  | { kind: 'exp'; x: number[] }
  | { kind: 'chain'; x: number[] } // tanh(x * y + z), three same-shape inputs
  | { kind: 'sum'; x: number[]; axis: number }
  | { kind: 'softmax-ce'; logits: [number, number] } // mean cross-entropy of logits[B, C] against i32 targets[B]
  | { kind: 'layernorm'; x: number[] } // over the last axis, with weight and bias
  | { kind: 'adamw'; params: number[][] } // one AdamW step over these parameter shapes, gradients given
  | { kind: 'gather'; vocab: number; dim: number; n: number } // weight[V, D][indices[N]] -> [N, D]
  | { kind: 'scatter-add'; vocab: number; dim: number; n: number }; // values[N, D] summed into rows indices[N] of [V, D]

export interface BenchCase {
  /** stable id used by --compare, e.g. 'matmul 512x512x512' */
  id: string;
  family: Family;
  /** cases of one series differ only in size ('matmul square', 'gather', ...): a quick case is a full case's pilot */
  series: string;
  spec: CaseSpec;
  /** useful floating-point work (0 where the kernel is memory-bound and reported in GB/s) */
  flops: number;
  /** minimal memory traffic in bytes: each input read once, the output written once */
  bytes: number;
  /** which metric the table shows */
  metric: 'GFLOP/s' | 'GB/s';
}

/** What ran in a row: an engine backend or a peer library. */
export interface Impl {
  kind: 'engine' | 'peer';
  name: EngineBackend | PeerName;
}

export interface BenchRow {
  caseId: string;
  family: Family;
  impl: string; // 'eitp:cpu', 'eitp:native', ... or a peer name
  implKind: 'engine' | 'peer';
  /** 'ok', or 'skipped' / 'error' with a reason */
  status: 'ok' | 'skipped' | 'error';
  reason?: string;
  stats?: SampleStats;
  metric: 'GFLOP/s' | 'GB/s';
  /** GFLOP/s or GB/s at the median time */
  throughput?: number;
  /** percent of the limit that applies to this implementation's device and this metric */
  pctOfLimit?: number;
  limitName?: string;
  /** for engine rows: peer median time / this row's median time (> 1: the engine is faster), per peer */
  vsPeers?: Record<string, number>;
}

export interface LimitInfo {
  /** 'cpu' or a GPU device description */
  device: string;
  gflops?: number;
  gbps?: number;
  /** how each number was obtained (measured by a probe, published spec, estimate) */
  source: string;
}

export interface PeerStatus {
  name: PeerName;
  available: boolean;
  version?: string;
  reason?: string;
  notes?: string;
}

export interface MachineInfo {
  node: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  cpuFlags: string[];
  /** 1-minute load average when the run started: well above `cores` means other work shared the CPU */
  loadAvg1m?: number;
  engineBackends: { name: string; available: boolean; reason?: string }[];
}

export const REPORT_VERSION = 1;

export interface BenchReport {
  /** bumped when the shape of this object changes */
  version: typeof REPORT_VERSION;
  tool: 'eitp-bench';
  startedAt: string;
  durationS: number;
  options: { quick: boolean; backends: string[]; families: string[]; peers: string[] };
  machine: MachineInfo;
  limits: Record<string, LimitInfo>;
  peers: PeerStatus[];
  /** what "spread" means in the rows */
  spread: 'p25-p75 (interquartile range) of per-iteration times; madMs is the unscaled median absolute deviation';
  timing: string;
  rows: BenchRow[];
}

export interface BenchOptions {
  /** tiny sizes and few iterations, for CI (< 30 s) */
  quick?: boolean;
  /** engine backends to run (default: every available one) */
  backends?: string[];
  /** kernel families to run (default: all) */
  families?: string[];
  /** peers to run (default: all that are installed; tfjs-webgpu only when webgpu is selected); [] or ['none'] for none */
  peers?: string[];
  /** write the report as JSON here */
  json?: string;
  /** print the change per row against this earlier report */
  compare?: string;
  /** where the table goes (default: process.stdout.write) */
  print?: (text: string) => void;
  /** progress lines (default: stderr); null for silence */
  log?: ((line: string) => void) | null;
  /** per-row time budget in ms (default 1000, quick 40) */
  timeMs?: number;
}
