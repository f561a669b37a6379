/**
 * The random loss stage of a `Link`: independent per packet (Bernoulli) or bursty (Gilbert-Elliott).
 *
 * Gilbert-Elliott loss is per packet: the two-state chain takes one step for each packet that reaches the
 * loss stage, then the packet is lost with the loss probability of the new state. The stationary loss rate
 * is (p_bg * lossInGood + p_gb * lossInBad) / (p_gb + p_bg). Both draw only from the link's `loss` stream.
 */
import { checkProbability } from './link-check.js';
import type { Rng } from './random.js';

/** Random loss: independent per packet, or bursty with a two-state Markov chain. */
export type LossModel =
  | { readonly kind: 'bernoulli'; readonly probability: number }
  | {
      readonly kind: 'gilbert-elliott';
      /** Per-packet probability of moving from the good to the bad state. */
      readonly goodToBad: number;
      /** Per-packet probability of moving from the bad to the good state. */
      readonly badToGood: number;
      /** Loss probability in the good state (default 0). */
      readonly lossInGood?: number;
      /** Loss probability in the bad state (default 1). */
      readonly lossInBad?: number;
    };

/** One packet's loss decision; the process keeps whatever state it needs between packets. */
export interface LossProcess {
  /** Whether the packet now at the loss stage is lost. */
  lose(): boolean;
}

/** Independent loss with a fixed probability: one draw per packet. */
export class BernoulliLoss implements LossProcess {
  constructor(
    private readonly probability: number,
    private readonly rng: Rng,
  ) {}

  lose(): boolean {
    return this.rng.next() < this.probability;
  }
}

/** The two-state (good / bad) Markov chain, one step per packet, then a draw at the new state's loss rate. */
export class GilbertElliottLoss implements LossProcess {
  private bad = false;

  constructor(
    private readonly goodToBad: number,
    private readonly badToGood: number,
    private readonly lossInGood: number,
    private readonly lossInBad: number,
    private readonly rng: Rng,
  ) {}

  lose(): boolean {
    const rng = this.rng;
    if (this.bad) {
      if (rng.next() < this.badToGood) this.bad = false;
    } else if (rng.next() < this.goodToBad) {
      this.bad = true;
    }
    const p = this.bad ? this.lossInBad : this.lossInGood;
    return p > 0 && rng.next() < p;
  }
}

/** The loss process for a `LinkConfig.loss` (validated), or undefined for none (undefined or 0). */
export function lossProcess(loss: number | LossModel | undefined, rng: Rng): LossProcess | undefined {
  if (loss === undefined || loss === 0) return undefined;
  if (typeof loss === 'number' || loss.kind === 'bernoulli') {
    return new BernoulliLoss(checkProbability('loss', typeof loss === 'number' ? loss : loss.probability), rng);
  }
  return new GilbertElliottLoss(
    checkProbability('loss.goodToBad', loss.goodToBad),
    checkProbability('loss.badToGood', loss.badToGood),
    checkProbability('loss.lossInGood', loss.lossInGood ?? 0),
    checkProbability('loss.lossInBad', loss.lossInBad ?? 1),
    rng,
  );
}
