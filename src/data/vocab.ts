/** A character vocabulary: an ordered list of characters (id = index), saved with the model so text decodes the same way. */
import { describeArg } from '../args.js';
import * as et from '../../engine/index.js';

export class Vocab {
  readonly chars: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(chars: readonly string[]) {
    if (!Array.isArray(chars) || chars.some((c) => typeof c !== 'string')) {
      throw new et.ArgumentError(`chars must be an array of strings (the vocabulary), got ${describeArg(chars)}`, { op: 'Vocab' });
    }
    this.chars = [...chars];
    this.ids = new Map(this.chars.map((c, i) => [c, i]));
    if (this.ids.size !== this.chars.length) throw new et.ArgumentError('vocabulary has a repeated character', { op: 'Vocab' });
  }

  /** The sorted distinct characters (code points) of a text. */
  static fromText(text: string): Vocab {
    return new Vocab([...new Set(Array.from(text))].sort());
  }

  get size(): number {
    return this.chars.length;
  }

  id(c: string): number {
    const i = this.ids.get(c);
    if (i === undefined) throw new et.ArgumentError(`character ${JSON.stringify(c)} is not in the vocabulary`, { op: 'Vocab.encode' });
    return i;
  }

  has(c: string): boolean {
    return this.ids.has(c);
  }

  encode(text: string): Int32Array {
    const cs = Array.from(text);
    const out = new Int32Array(cs.length);
    cs.forEach((c, i) => (out[i] = this.id(c)));
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.chars[ids[i]!] ?? '\uFFFD';
    return s;
  }

  toJSON(): string[] {
    return [...this.chars];
  }
}
