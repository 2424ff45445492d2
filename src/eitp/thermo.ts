/**
 * The thermodynamic term (EITP-SPEC "Thermodynamic term (Landauer)"). Two different things:
 * - the Landauer metric E_min^J = k_B·T_phys·Σ n_W H_W in joules: the minimum energy to erase the weights'
 *   information. For any real network it is ~1e-12 J, so for any real energy E, |E − E_min| ≈ E;
 * - the loss L_thermo = |Ê − Ê_min| on a dimensionless energy proxy Ê: the FLOP-weighted smooth activation
 *   density (dense activations cost switching energy on real hardware). Ê_min is E_min^J priced at 1e-12 J/FLOP
 *   over the dense FLOPs, ~1e-9: inert, kept so the loss is the spec's formula.
 * Measured energy (RAPL, NVML) is reported elsewhere and is never inferred from Ê.
 */
import { describeArg, tensorArg } from '../args.js';
import * as et from '../../engine/index.js';
import type { ActivationTap } from '../models/eitp-model.js';
import { weightedSum } from './weighted-sum.js';

type Tensor = et.Tensor;

export const BOLTZMANN_J_PER_K = 1.380649e-23;
export const PHYSICAL_TEMPERATURE_K = 300;
export const JOULES_PER_FLOP = 1e-12;
/** τ_l = 0.1·RMS(a_l): activations well below a tenth of the layer's RMS count as "off". */
export const DENSITY_THRESHOLD = 0.1;

/** E_min^J = k_B·T_phys·Σ n_W H_W (H in nats, so no ln 2). */
export function landauerEnergy(totalNats: Tensor, tPhys = PHYSICAL_TEMPERATURE_K): Tensor {
  tensorArg(totalNats, 'landauerEnergy', 'totalNats');
  return totalNats.mul(BOLTZMANN_J_PER_K * tPhys);
}

/** The same in plain numbers, for reports. */
export function landauerEnergyJoules(totalNats: number, tPhys = PHYSICAL_TEMPERATURE_K): number {
  return BOLTZMANN_J_PER_K * tPhys * totalNats;
}

/** τ_l = 0.1·RMS(a), a constant of the step (stop-gradient). */
export function densityScale(a: Tensor): Tensor {
  tensorArg(a, 'thermo', 'a');
  // RMS(a) = ‖a‖₂/√n: one norm kernel instead of square, mean and sqrt over the whole activation
  return et.noGrad(() => a.norm().mul(DENSITY_THRESHOLD / Math.sqrt(Math.max(a.size, 1)))).stopGradient();
}

/**
 * ρ = mean(a²/(a² + τ²)): a smooth count of the non-zero activations, in [0, 1]. One fused reduction forward and one
 * elementwise pass backward (et.activationDensity) instead of ~14 full-size passes of square, add, divide and mean.
 */
export function activationDensity(a: Tensor, tau: Tensor = densityScale(tensorArg(a, 'thermo', 'a')), kernels: ThermoKernels = 'fused'): Tensor {
  tensorArg(a, 'thermo', 'a');
  // 1e-30 keeps an all-zero activation at density 0 instead of 0/0; it is below any f32 activation's τ².
  const attrs = { eps: 1e-30 };
  return kernels === 'fused' ? et.activationDensity(a, tau, attrs) : et.opTable().activationDensity.composite!([a, tau], attrs);
}

/** 'fused' (default): the engine's activationDensity op; 'composite': the same math from primitive ops. */
export type ThermoKernels = 'fused' | 'composite';

export interface ThermoResult {
  /** L_thermo = |Ê − Ê_min| */
  readonly loss: Tensor;
  /** Ê = Σ F_l ρ_l / Σ F_l */
  readonly energy: Tensor;
  /** Ê_min = E_min^J / (1e-12 J/FLOP · F_dense), stop-gradient */
  readonly energyMin: Tensor | null;
  /** F_dense = Σ F_l */
  readonly denseFlops: number;
}

/** Ê and L_thermo from the model's activation taps; eMinJoules is E_min^J (or null to take Ê_min = 0). */
export function thermoLoss(taps: readonly ActivationTap[], eMinJoules: Tensor | null, kernels: ThermoKernels = 'fused'): ThermoResult {
  const op = 'thermo';
  if (!Array.isArray(taps)) throw new et.ArgumentError(`taps must be an array of activation taps, got ${describeArg(taps)}`, { op });
  if (taps.length === 0) throw new et.ArgumentError('the model reported no activation taps; L_thermo needs at least one', { op });
  for (const t of taps) {
    if (!Number.isFinite(t.flops) || t.flops <= 0) throw new et.ArgumentError(`tap "${t.name}" has FLOPs ${t.flops}; F_l must be a positive number`, { op });
  }
  const denseFlops = taps.reduce((s, t) => s + t.flops, 0);
  const densities = taps.map((t) => activationDensity(t.activation, densityScale(t.activation), kernels));
  const energy = weightedSum(densities, taps.map((t) => t.flops / denseFlops));
  const energyMin = eMinJoules ? eMinJoules.stopGradient().div(JOULES_PER_FLOP * denseFlops) : null;
  const loss = (energyMin ? energy.sub(energyMin) : energy).abs();
  return { loss, energy, energyMin, denseFlops };
}
