/** The child process of an evaluation shard on a queue worker: runs one EvalShardJob (eval/generation-shards.ts). */
import { runEvalShard } from '../eval/generation-shards.js';
import { serveChildJob } from '../process/child-job.js';

serveChildJob(runEvalShard);
