import { CoyotesError } from '@coyotes/protocol';
import type { TaskSpec } from '@coyotes/protocol';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** A producer id's cross-channel index entry outlives the task's delay and retention by this much. */
const PRODUCER_ID_TTL_MARGIN_MS = 24 * 3_600_000;
/**
 * A producer id's claim lives this long until its channel has accepted the task: a claim this
 * young whose task is not there yet belongs to a push still on its way (taking it over would let
 * both pushes in, one task in each channel); one left by a push that died expires on its own.
 */
const PRODUCER_ID_PENDING_MS = 60_000;

/**
 * The cross-channel index of producer-chosen task ids: an id names one task across every channel.
 * A key per id of its own (channels live in different Cluster slots, so no channel script can
 * touch it), claimed before the channel's enqueue script runs and given back when it refuses.
 */
export class ProducerIds {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly options: { resultRetentionAgeMs: number },
  ) {}

  /**
   * Takes a producer id for a channel: true when this call took it, null when the channel already
   * held it (its own script then decides), or the error refusing it because another channel's
   * task has that id. An index entry whose task is gone (forgotten by retention, or a push that
   * crashed half-way) is taken over.
   */
  async claim(channel: string, spec: TaskSpec): Promise<true | null | Error> {
    const { id } = spec;
    const key = this.keys.producerId(id);
    const ttl = PRODUCER_ID_PENDING_MS;
    const claim = await this.redis.claimProducerId(key, channel, ttl, '', 'claim');
    let [took, owner] = claim;
    if (took === 0 && !(await this.redis.hexists(this.keys.channel(owner).tasks, id))) {
      const ownerTtl = claim[2] ?? -1;
      if (ownerTtl >= 0 && ownerTtl <= PRODUCER_ID_PENDING_MS) {
        return new CoyotesError('COY_ERR_TASK_ID_EXISTS', `task id ${id} is being pushed in channel ${owner}`, {
          hint: 'ids are unique across channels: push it again in a minute if that push failed',
        });
      }
      [took, owner] = await this.redis.claimProducerId(key, channel, ttl, owner, 'claim');
    }
    if (took === 1 && owner === '') {
      // a free index entry: the id may still be one a channel generated (generated ids are not
      // indexed, to keep a push one round trip); a producer may not reuse it in another channel
      const holder = await this.channelHolding(id, channel);
      if (holder !== null) {
        await this.release(channel, id);
        [took, owner] = [0, holder];
      }
    }
    if (took === 0) {
      return new CoyotesError('COY_ERR_TASK_ID_EXISTS', `task id ${id} is already taken in channel ${owner}`, {
        hint: `ids are unique across channels: channel ${owner} has a task with this one`,
      });
    }
    return owner === channel ? null : true;
  }

  /** The channel accepted the id's task: its claim lives as long as the task may (its delay, then its retention). */
  async keep(channel: string, spec: TaskSpec): Promise<void> {
    const ttl = Math.max(0, (spec.executeAt ?? 0) - Date.now()) + this.options.resultRetentionAgeMs + PRODUCER_ID_TTL_MARGIN_MS;
    await this.redis.claimProducerId(this.keys.producerId(spec.id), channel, ttl, '', 'keep');
  }

  /** Gives back an id this channel claimed (the channel then refused its task). */
  async release(channel: string, id: string): Promise<void> {
    await this.redis.claimProducerId(this.keys.producerId(id), channel, 0, '', 'release');
  }

  /** Another channel (defined, or deleted while its tasks may run) whose tasks include this id; O(channels). */
  private async channelHolding(id: string, except: string): Promise<string | null> {
    const [defined, retired] = await Promise.all([this.redis.hkeys(this.keys.channels), this.redis.hkeys(this.keys.retiredChannels)]);
    const others = [...new Set([...defined, ...retired])].filter((name) => name !== except);
    const held = await Promise.all(others.map((name) => this.redis.hexists(this.keys.channel(name).tasks, id)));
    return others.find((_, i) => held[i] === 1) ?? null;
  }
}
