/** What every peer library provides to the runner. */
import type { TimingPolicy, Measured } from '../timing.js';
import type { BenchCase, PeerName, PeerStatus } from '../types.js';

export interface Peer {
  readonly name: PeerName;
  readonly status: PeerStatus;
  /** null when the peer has an implementation of this case, otherwise why not */
  unsupported(c: BenchCase): string | null;
  measure(c: BenchCase, policy: TimingPolicy): Promise<Measured>;
  close(): Promise<void>;
}

export function missingPeer(name: PeerName, reason: string): PeerStatus {
  return { name, available: false, reason };
}

export function errorMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 300);
}
