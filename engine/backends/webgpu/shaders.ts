/**
 * WGSL sources from kernels/*.wgsl and the pipeline cache. Kernels are real files; a kernel is specialised by
 * (1) replacing `alias X = …;` / `const X = …;` lines (WGSL overrides cannot be types or array sizes) and
 * (2) pipeline-overridable constants. Shader modules are cached by their final source text and pipelines by
 * module + entry point + override constants, so one specialisation compiles once per device.
 */
/// <reference types="@webgpu/types" />
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendError } from '../../errors.js';

/** kernels/ sits at the package root: two levels above this file in the sources, three in dist/. */
function findKernelsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'kernels');
    if (existsSync(join(candidate, 'common.wgsl'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new BackendError(`cannot find kernels/common.wgsl above ${fileURLToPath(import.meta.url)}`, { backend: 'webgpu' });
}

let kernelsDir: string | null = null;
const rawSources = new Map<string, string>();

/** A kernel file with its `// #include other.wgsl` lines replaced by those files (each included once). */
function rawSource(file: string, seen = new Set<string>()): string {
  const cached = rawSources.get(file);
  if (cached !== undefined && seen.size === 0) return cached;
  kernelsDir ??= findKernelsDir();
  const text = readFileSync(join(kernelsDir, file), 'utf8');
  seen.add(file);
  const out = text.replace(/^\/\/ #include (\S+)\s*$/gm, (_m, inc: string) => (seen.has(inc) ? '' : rawSource(inc, seen)));
  if (seen.size === 1 || !rawSources.has(file)) rawSources.set(file, out);
  return out;
}

export type Defines = Readonly<Record<string, string>>;

/** The final WGSL of `file` with the given alias / const lines replaced. */
export function kernelSource(file: string, defines: Defines = {}): string {
  let src = rawSource(file, new Set());
  for (const [name, value] of Object.entries(defines)) {
    const re = new RegExp(`^(alias|const) ${name} = [^;]+;`, 'm');
    if (!re.test(src)) throw new BackendError(`kernels/${file} has no 'alias ${name}' or 'const ${name}' line to specialise`, { backend: 'webgpu' });
    src = src.replace(re, `$1 ${name} = ${value};`);
  }
  return src;
}

export interface KernelSpec {
  readonly file: string;
  readonly entry?: string;
  readonly defines?: Defines;
  readonly constants?: Readonly<Record<string, number | boolean>>;
}

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly label: string;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, CachedPipeline>();
  /** Cheap per-dispatch key -> pipeline (the source is a pure function of file + defines). */
  private readonly byVariant = new Map<string, CachedPipeline>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  get(spec: KernelSpec): CachedPipeline {
    // called once per dispatch: a flat key without JSON (call sites pass their fields in a fixed order)
    let variant = `${spec.file}|${spec.entry ?? 'main'}`;
    for (const k in spec.defines) variant += `|${k}=${spec.defines[k]}`;
    for (const k in spec.constants) variant += `|${k}:${spec.constants[k]}`;
    const hit = this.byVariant.get(variant);
    if (hit) return hit;
    const source = kernelSource(spec.file, spec.defines);
    let module = this.modules.get(source);
    if (!module) {
      module = this.device.createShaderModule({ code: source, label: spec.file });
      this.modules.set(source, module);
    }
    const constants: Record<string, number> = {};
    for (const [k, v] of Object.entries(spec.constants ?? {})) constants[k] = typeof v === 'boolean' ? Number(v) : v;
    const key = `${source}\u0000${spec.entry ?? 'main'}\u0000${JSON.stringify(constants)}`;
    let entry = this.pipelines.get(key);
    if (!entry) {
      const label = `${spec.file.replace(/\.wgsl$/, '')}${spec.entry && spec.entry !== 'main' ? `:${spec.entry}` : ''}`;
      const pipeline = this.device.createComputePipeline({
        layout: 'auto',
        label,
        compute: { module, entryPoint: spec.entry ?? 'main', constants },
      });
      entry = { pipeline, layout: pipeline.getBindGroupLayout(0), label };
      this.pipelines.set(key, entry);
    }
    this.byVariant.set(variant, entry);
    return entry;
  }
}
