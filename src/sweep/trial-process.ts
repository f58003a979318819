/**
 * The child process of a trial (the local executor's, and a queue worker's): receives one
 * TrialJob over IPC, runs it through the library (runTrial) and answers with its outcome.
 * SIGINT / SIGTERM stop training after the current iteration with a checkpoint, so the
 * trial resumes later; so does the parent's death.
 */
import { serveChildJob } from '../process/child-job.js';
import { runTrial } from './run-trial.js';

serveChildJob(runTrial);
