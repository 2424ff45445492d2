/**
 * GPU limits: the published f32 (non-tensor-core) peak and memory bandwidth of known devices, looked up by name.
 * A WebGPU adapter that is a CPU implementation (lavapipe / llvmpipe / SwiftShader) gets the CPU's limits, because
 * that is the hardware doing the work. An unknown GPU gets a measured copy bandwidth only (no FLOP limit).
 */
import { execFileSync } from 'node:child_process';
import { errorMessage } from './peers/peer.js';

interface Published {
  match: RegExp;
  name: string;
  gflops: number;
  gbps: number;
}

// Vendor datasheets: f32 CUDA-core peak (boost clock) and peak memory bandwidth. More specific patterns first.
export const PUBLISHED_GPUS: readonly Published[] = [
  { match: /H200/i, name: 'NVIDIA H200 SXM', gflops: 66_900, gbps: 4_800 },
  { match: /H100.*NVL/i, name: 'NVIDIA H100 NVL', gflops: 60_000, gbps: 3_900 },
  { match: /H100.*PCIe/i, name: 'NVIDIA H100 PCIe', gflops: 51_200, gbps: 2_000 },
  { match: /H100/i, name: 'NVIDIA H100 SXM', gflops: 66_900, gbps: 3_350 },
  { match: /GH200/i, name: 'NVIDIA GH200', gflops: 66_900, gbps: 4_000 },
  { match: /A100.*80/i, name: 'NVIDIA A100 80GB', gflops: 19_500, gbps: 2_039 },
  { match: /A100/i, name: 'NVIDIA A100 40GB', gflops: 19_500, gbps: 1_555 },
  { match: /L40S/i, name: 'NVIDIA L40S', gflops: 91_600, gbps: 864 },
  { match: /L40/i, name: 'NVIDIA L40', gflops: 90_500, gbps: 864 },
  { match: /\bL4\b/i, name: 'NVIDIA L4', gflops: 30_300, gbps: 300 },
  { match: /A10G/i, name: 'NVIDIA A10G', gflops: 31_200, gbps: 600 },
  { match: /\bA10\b/i, name: 'NVIDIA A10', gflops: 31_200, gbps: 600 },
  { match: /\bT4\b/i, name: 'NVIDIA T4', gflops: 8_100, gbps: 320 },
  { match: /V100/i, name: 'NVIDIA V100', gflops: 15_700, gbps: 900 },
  { match: /RTX 4090/i, name: 'NVIDIA GeForce RTX 4090', gflops: 82_600, gbps: 1_008 },
  { match: /RTX 3090/i, name: 'NVIDIA GeForce RTX 3090', gflops: 35_600, gbps: 936 },
];

export function publishedPeak(deviceName: string): Published | undefined {
  return PUBLISHED_GPUS.find((g) => g.match.test(deviceName));
}

/** The first NVIDIA GPU's name from nvidia-smi, or why there is none. */
export function nvidiaDeviceName(): { name?: string; reason?: string } {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const name = out.split('\n')[0]?.trim();
    return name ? { name } : { reason: 'nvidia-smi listed no GPU' };
  } catch (e) {
    return { reason: `nvidia-smi: ${errorMessage(e)}` };
  }
}

export interface AdapterDescription {
  description: string;
  isCpu: boolean;
}

/** The Dawn adapter the webgpu package gives (what both the engine's webgpu backend and tfjs-webgpu run on). */
export async function dawnAdapter(): Promise<AdapterDescription | { reason: string }> {
  try {
    const { create } = (await import('webgpu')) as unknown as { create(flags: string[]): { requestAdapter(): Promise<unknown> } };
    const adapter = (await create([]).requestAdapter()) as { info?: Record<string, string>; isFallbackAdapter?: boolean } | null;
    if (!adapter) return { reason: 'no WebGPU adapter (for CPU-only machines: Mesa lavapipe, see GPU-WITHOUT-GPU.md)' };
    const info = adapter.info ?? {};
    const description = info.description || ['vendor', 'architecture', 'device'].map((k) => info[k]).filter((v) => v).join(' ') || 'unknown adapter';
    const isCpu = adapter.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|\bcpu\b/i.test(description);
    return { description, isCpu };
  } catch (e) {
    return { reason: `webgpu package: ${errorMessage(e)}` };
  }
}
