/**
 * Typed errors. Every engine error names the op, the shapes, the dtypes and the backend involved, so a user
 * can tell from the message alone what went wrong and where.
 */
export interface ErrorContext {
  op?: string;
  shapes?: readonly (readonly number[])[];
  dtypes?: readonly string[];
  backend?: string;
}

function describe(ctx: ErrorContext): string {
  const parts: string[] = [];
  if (ctx.shapes && ctx.shapes.length) parts.push(`shapes ${ctx.shapes.map((s) => `[${s.join(', ')}]`).join(', ')}`);
  if (ctx.dtypes && ctx.dtypes.length) parts.push(`dtypes ${ctx.dtypes.join(', ')}`);
  if (ctx.backend) parts.push(`backend ${ctx.backend}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

export class EngineError extends Error {
  readonly op: string | undefined;
  readonly shapes: readonly (readonly number[])[];
  readonly dtypes: readonly string[];
  readonly backend: string | undefined;

  constructor(message: string, ctx: ErrorContext = {}) {
    super(`${ctx.op ? `${ctx.op}: ` : ''}${message}${describe(ctx)}`);
    this.name = new.target.name;
    this.op = ctx.op;
    this.shapes = ctx.shapes ?? [];
    this.dtypes = ctx.dtypes ?? [];
    this.backend = ctx.backend;
  }
}

export class ShapeError extends EngineError {}
export class DTypeError extends EngineError {}
export class AxisError extends EngineError {}
export class DisposedError extends EngineError {}
export class BackendError extends EngineError {}
export class GradError extends EngineError {}
export class ArgumentError extends EngineError {}
