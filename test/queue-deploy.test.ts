/**
 * The cluster recipes for the job queue (deploy/, docs/cluster.md) checked structurally: the
 * Kubernetes manifests parse, the worker runs `biggan worker` with flags the CLI has and a
 * queue URL that names the Redis Service, every pod shares one ReadWriteMany volume at its
 * working directory; the Slurm script is valid bash that starts Redis and the workers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseQueueUrl } from '../src/queue/connection.js';
import { biggan } from './cli-helpers.js';
import { manifests } from './deploy-manifests.js';
import { REPO_ROOT } from './fixture-paths.js';

test('k8s: the worker Deployment runs `biggan worker` against the Redis Service, on a shared volume', () => {
  const redis = manifests('deploy/k8s/redis.yaml');
  const service = redis.find((d) => d.kind === 'Service')!;
  const redisDeploy = redis.find((d) => d.kind === 'Deployment')!;
  assert.ok(redisDeploy.spec.template.spec.containers[0].args.join(' ').includes('noeviction'), 'BullMQ needs noeviction');
  assert.deepEqual(redisDeploy.spec.selector.matchLabels, redisDeploy.spec.template.metadata.labels);
  assert.deepEqual(service.spec.selector, redisDeploy.spec.template.metadata.labels);

  const docs = manifests('deploy/k8s/worker-deployment.yaml');
  const deploy = docs.find((d) => d.kind === 'Deployment')!;
  const pvc = docs.find((d) => d.kind === 'PersistentVolumeClaim')!;
  assert.deepEqual(deploy.spec.selector.matchLabels, deploy.spec.template.metadata.labels);
  const pod = deploy.spec.template.spec;
  assert.ok(pod.terminationGracePeriodSeconds >= 60, 'time to checkpoint after SIGTERM');
  const [c] = pod.containers;
  const cmd: string[] = c.command;
  assert.deepEqual(cmd.slice(0, 2), ['biggan', 'worker']);
  const url = cmd[cmd.indexOf('--queue') + 1];
  const conn = parseQueueUrl(url);
  assert.equal(conn.host, service.metadata.name);
  assert.equal(conn.port, service.spec.ports[0].port);
  // every flag it passes is one `biggan worker` has
  const help = biggan(['worker', '--help']);
  assert.equal(help.status, 0, help.stderr);
  for (const a of cmd.slice(2)) if (a.startsWith('--')) assert.ok(help.stdout.includes(`${a} <`), `biggan worker has no ${a}`);
  // the shared volume: mounted at the working directory, backed by a ReadWriteMany claim
  const mount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === c.workingDir);
  assert.ok(mount, 'the working directory is the shared volume');
  const vol = pod.volumes.find((v: { name: string }) => v.name === mount.name);
  assert.equal(vol.persistentVolumeClaim.claimName, pvc.metadata.name);
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);

  // the coordinator Job: `biggan sweep --queue` with the same queue URL, on the same claim at the same path
  const [job] = manifests('deploy/k8s/sweep-job.yaml');
  assert.equal(job.kind, 'Job');
  const jpod = job.spec.template.spec;
  const jc = jpod.containers[0];
  const jcmd: string[] = jc.command;
  assert.deepEqual(jcmd.slice(0, 2), ['biggan', 'sweep']);
  assert.equal(jcmd[jcmd.indexOf('--queue') + 1], url);
  assert.ok(jcmd[jcmd.indexOf('--out') + 1].startsWith(mount.mountPath + '/'), 'the sweep directory is on the shared volume');
  assert.equal(jc.volumeMounts[0].mountPath, mount.mountPath);
  assert.equal(jpod.volumes.find((v: { name: string }) => v.name === jc.volumeMounts[0].name).persistentVolumeClaim.claimName, pvc.metadata.name);
});

test('slurm: the workers script is valid bash that starts Redis and `biggan worker --queue`', () => {
  const file = path.join(REPO_ROOT, 'deploy/slurm/workers.sbatch');
  const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^#SBATCH --nodes=\d+$/m);
  assert.match(text, /redis-server .*--maxmemory-policy noeviction/);
  assert.match(text, /srun .*biggan worker --queue "redis:\/\/\$REDIS_HOST:6379"/);
  // the docs point at both recipes
  const docs = fs.readFileSync(path.join(REPO_ROOT, 'docs/cluster.md'), 'utf8');
  for (const f of ['deploy/k8s/worker-deployment.yaml', 'deploy/k8s/redis.yaml', 'deploy/k8s/sweep-job.yaml', 'deploy/slurm/workers.sbatch']) assert.ok(docs.includes(f), f);
});
