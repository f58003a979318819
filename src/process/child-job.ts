/**
 * One job in a forked child process, both sides of the IPC: the parent sends the job as
 * plain JSON and gets back notes and one answer (an outcome or an error); the child runs
 * it and answers. A separate process per job gives each its own onnxruntime thread pools
 * and memory, so a crash or an out-of-memory kill loses that job alone, and SIGINT stops
 * it the way it stops `biggan train` (after the iteration, with a checkpoint).
 */
import { fork } from 'node:child_process';
import { UserError } from '../errors.js';

export type ChildMessage<T> = { kind: 'outcome'; outcome: T } | { kind: 'error'; message: string; user: boolean; name: string } | { kind: 'note'; line: string };

/** The name of the error the child threw (e.g. 'RunDirBusyError'), on the error the parent rejects with. */
export function childErrorName(err: unknown): string | undefined {
  return (err as { childName?: string } | null)?.childName;
}

/**
 * Forks `script`, sends it `job` and resolves with its outcome. `what` names the job in
 * errors ("trial ab12: ..."); abort sends the child SIGINT (it answers with what it has).
 */
export function runInChild<T>(script: string, job: unknown, what: string, signal: AbortSignal, onNote?: (line: string) => void): Promise<T> {
  const child = fork(script, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = (): void => void child.kill('SIGINT');
  if (signal.aborted) stop();
  signal.addEventListener('abort', stop, { once: true });
  return new Promise<T>((resolve, reject) => {
    let answer: ChildMessage<T> | null = null;
    child.on('message', (m: ChildMessage<T>) => {
      if (m.kind === 'note') onNote?.(m.line);
      else answer = m;
    });
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      signal.removeEventListener('abort', stop);
      const a = answer as ChildMessage<T> | null;
      if (a?.kind === 'outcome') resolve(a.outcome);
      else if (a?.kind === 'error') {
        const message = `${what}: ${a.message}`;
        reject(Object.assign(a.user ? new UserError(message) : new Error(message), { childName: a.name }));
      } else reject(new Error(`${what}: its process ended (${sig ?? `exit ${code}`}) without an answer${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`));
    });
    child.send(job as object);
  });
}

/**
 * The child side: runs the one job the parent sends with `work` and answers. SIGINT /
 * SIGTERM abort it; so does the parent's death (the IPC channel closes), so an orphan
 * stops with a checkpoint rather than working on unseen.
 */
export function serveChildJob<J, T>(work: (job: J, signal: AbortSignal, onNote: (line: string) => void) => Promise<T>): void {
  const abort = new AbortController();
  process.on('SIGINT', () => abort.abort());
  process.on('SIGTERM', () => abort.abort());
  process.on('disconnect', () => abort.abort());
  process.once('message', (job: J) => {
    const send = (m: ChildMessage<T>): Promise<void> => new Promise((resolve) => {
      if (!process.connected) return resolve();
      process.send!(m, () => resolve());
    });
    work(job, abort.signal, (line) => void send({ kind: 'note', line }))
      .then((outcome) => send({ kind: 'outcome', outcome }))
      .catch((err: unknown) => send({
        kind: 'error',
        message: err instanceof Error ? (err instanceof UserError ? err.message : err.stack ?? err.message) : String(err),
        user: err instanceof UserError,
        name: err instanceof Error ? err.name : 'Error',
      }))
      .finally(() => {
        if (process.connected) process.disconnect();
      });
  });
}
