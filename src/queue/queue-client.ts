/**
 * The coordinator's side of the queue: adds a job and waits for its result. Job ids are
 * deterministic (the sweep or evaluation + the trial or shard), so a coordinator run again
 * attaches to a job still waiting or running instead of adding a second copy; a job that
 * already failed or completed under that id is replaced.
 */
import { Queue, QueueEvents } from 'bullmq';
import { UserError } from '../errors.js';
import { connected, parseQueueUrl } from './connection.js';
import { QUEUE_NAME, USER_ERROR_PREFIX, jobOptions, queueSettings, type QueueJobData, type QueueJobResult, type QueueSettings } from './jobs.js';

export type Submitted<T> = { status: 'done'; result: T } | { status: 'aborted' };

export class QueueClient {
  private constructor(
    private readonly queue: Queue<QueueJobData, QueueJobResult>,
    private readonly events: QueueEvents,
    private readonly settings: QueueSettings,
  ) {}

  static async open(url: string): Promise<QueueClient> {
    const connection = parseQueueUrl(url);
    const settings = queueSettings();
    const queue = await connected(new Queue<QueueJobData, QueueJobResult>(QUEUE_NAME, { connection }), url);
    try {
      const events = await connected(new QueueEvents(QUEUE_NAME, { connection }), url);
      return new QueueClient(queue, events, settings);
    } catch (err) {
      await queue.close();
      throw err;
    }
  }

  /**
   * Runs `data` as job `name` with id `jobId`; `what` names it in errors. Abort stops the
   * waiting: a job not yet started is withdrawn, a running one finishes on its worker.
   */
  async submit<T extends QueueJobResult>(name: string, data: QueueJobData, jobId: string, what: string, signal: AbortSignal): Promise<Submitted<T>> {
    const old = await this.queue.getJob(jobId);
    if (old) {
      const state = await old.getState();
      if (state === 'completed' || state === 'failed') await old.remove();
    }
    const job = await this.queue.add(name, data, jobOptions(jobId, this.settings));
    if (signal.aborted) return this.withdraw(jobId);
    let onAbort = (): void => {};
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const r = await Promise.race([job.waitUntilFinished(this.events), aborted]);
      if (r === 'aborted') return this.withdraw(jobId);
      return { status: 'done', result: r as T };
    } catch (err) {
      const reason = (err as Error).message;
      if (reason.startsWith(USER_ERROR_PREFIX)) throw new UserError(reason.slice(USER_ERROR_PREFIX.length));
      throw new Error(`${what}: failed on the queue (${this.settings.attempts} attempts at most): ${reason}`);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async withdraw(jobId: string): Promise<{ status: 'aborted' }> {
    const job = await this.queue.getJob(jobId);
    const state = job ? await job.getState() : 'unknown';
    // a running job holds its worker's lock and cannot be removed: it finishes there
    if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) await job.remove().catch(() => {});
    return { status: 'aborted' };
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}
