/**
 * The child process of the local executor: receives one TrialJob over IPC, runs it
 * through the library (runTrial) and answers with its outcome. SIGINT / SIGTERM stop
 * training after the current iteration with a checkpoint, so the trial resumes later.
 */
import { UserError } from '../errors.js';
import { runTrial, type TrialJob } from './run-trial.js';

export type ChildMessage = { kind: 'outcome'; outcome: Awaited<ReturnType<typeof runTrial>> } | { kind: 'error'; message: string; user: boolean } | { kind: 'note'; line: string };

const abort = new AbortController();
process.on('SIGINT', () => abort.abort());
process.on('SIGTERM', () => abort.abort());
// the sweep process died (killed hard): checkpoint and stop rather than train on unseen, holding the run's lock
process.on('disconnect', () => abort.abort());

process.once('message', (job: TrialJob) => {
  const send = (m: ChildMessage): Promise<void> => new Promise((resolve) => process.send!(m, () => resolve()));
  runTrial(job, abort.signal, (line) => void send({ kind: 'note', line }))
    .then((outcome) => send({ kind: 'outcome', outcome }))
    .catch((err: unknown) => send({ kind: 'error', message: err instanceof Error ? (err instanceof UserError ? err.message : err.stack ?? err.message) : String(err), user: err instanceof UserError }))
    .finally(() => process.disconnect());
});
