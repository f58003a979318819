/**
 * The cluster recipes for data-parallel training (deploy/, docs/cluster.md) checked
 * structurally: the MPIJob is a Kubeflow v2beta1 MPIJob for the MPICH ABI whose launcher runs
 * `mpiexec -n <every worker slot> biggan train` with flags the CLI has, on the same
 * ReadWriteMany claim as the queue's manifests; the image every manifest names is the one
 * deploy/Dockerfile builds (Node 20, MPICH, `biggan` on PATH); the Slurm script is valid bash
 * that starts the ranks with srun's PMI; docs/cluster.md names only files that exist.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { biggan } from './cli-helpers.js';
import { manifests, type Doc } from './deploy-manifests.js';
import { REPO_ROOT } from './fixture-paths.js';

const read = (file: string): string => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
const K8S = 'deploy/k8s';

/** `biggan train --help`, once. */
let trainHelp: string | undefined;
function trainFlagsMissing(args: string[]): string[] {
  if (trainHelp === undefined) {
    const r = biggan(['train', '--help']);
    assert.equal(r.status, 0, r.stderr);
    trainHelp = r.stdout;
  }
  const help = trainHelp;
  return args.filter((a) => a.startsWith('--') && !new RegExp(`(^|[\\s,])${a}([\\s,]|$)`, 'm').test(help));
}

/** The words of a shell command from `biggan train` on (quotes dropped, line continuations joined, comments skipped). */
function trainArgs(script: string): string[] {
  const joined = script.replace(/\\\n/g, ' ');
  const line = joined.split('\n').find((l) => !l.trim().startsWith('#') && /\bbiggan train\b/.test(l));
  assert.ok(line, 'a `biggan train` command');
  const words = line.trim().split(/\s+/).map((w) => w.replace(/^"|"$/g, ''));
  return words.slice(words.indexOf('train') + 1);
}

const valueOf = (args: string[], flag: string): string => {
  const i = args.indexOf(flag);
  assert.ok(i >= 0 && i + 1 < args.length, `${flag} is given`);
  return args[i + 1];
};

/** A file's `docker build ... -t IMAGE` line's image. */
function builtImage(text: string): string {
  const m = /docker build -f deploy\/Dockerfile -t (\S+) \./.exec(text);
  assert.ok(m, 'a `docker build -f deploy/Dockerfile -t IMAGE .` line');
  return m[1];
}

test('k8s: the MPIJob runs `mpiexec -n <slots> biggan train` for the MPICH ABI on the shared claim', () => {
  const [job] = manifests(`${K8S}/mpijob-train.yaml`);
  assert.equal(job.apiVersion, 'kubeflow.org/v2beta1');
  assert.equal(job.kind, 'MPIJob');
  // the v2beta1 MPIJobSpec's fields only, and the implementation the image installs (MPICH's ABI)
  const specFields = ['slotsPerWorker', 'runLauncherAsWorker', 'runPolicy', 'mpiReplicaSpecs', 'sshAuthMountPath', 'launcherCreationPolicy', 'mpiImplementation'];
  for (const k of Object.keys(job.spec)) assert.ok(specFields.includes(k), `MPIJob spec has no field ${k}`);
  for (const k of Object.keys(job.spec.runPolicy ?? {})) {
    assert.ok(['cleanPodPolicy', 'ttlSecondsAfterFinished', 'activeDeadlineSeconds', 'backoffLimit', 'schedulingPolicy', 'suspend', 'managedBy'].includes(k), `runPolicy has no field ${k}`);
  }
  assert.ok(['MPICH', 'Intel'].includes(job.spec.mpiImplementation), 'the image has MPICH, not Open MPI (the operator default)');
  assert.ok([undefined, 'AtStartup', 'WaitForWorkersReady'].includes(job.spec.launcherCreationPolicy));
  assert.deepEqual(Object.keys(job.spec.mpiReplicaSpecs).sort(), ['Launcher', 'Worker']);
  const { Launcher: launcher, Worker: worker } = job.spec.mpiReplicaSpecs;
  assert.equal(launcher.replicas, 1);
  const slots = job.spec.slotsPerWorker ?? 1;
  const lc = launcher.template.spec.containers[0];
  const wc = worker.template.spec.containers[0];

  // the launcher's command: valid bash, mpiexec over every slot, flags `biggan train` has
  const script: string = lc.command[lc.command.length - 1];
  assert.deepEqual(lc.command.slice(0, 2), ['bash', '-c']);
  const syntax = spawnSync('bash', ['-n', '-c', script], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  const n = /\bmpiexec -n (\d+) biggan train\b/.exec(script);
  assert.ok(n, 'mpiexec -n N biggan train');
  assert.equal(Number(n[1]), worker.replicas * slots, 'one rank per worker slot');
  const args = trainArgs(script);
  assert.deepEqual(trainFlagsMissing(args), [], 'flags `biggan train` has');
  assert.equal(Number(valueOf(args, '--threads')) * slots, Number(wc.resources.limits.cpu), "--threads: a worker's CPUs per rank");
  // resumes when the run directory holds a checkpoint, as the same command
  assert.match(script, /checkpoint\.safetensors"? \]; then RESUME=--resume/);
  // workers run sshd (the launcher's Hydra starts the ranks over ssh) and are ready when it answers
  assert.equal(path.basename(wc.command[0]), 'sshd');
  assert.equal(wc.readinessProbe.tcpSocket.port, 22);

  // every pod: the queue manifests' ReadWriteMany claim at the working directory
  const pvc = manifests(`${K8S}/worker-deployment.yaml`).find((d) => d.kind === 'PersistentVolumeClaim')!;
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
  for (const spec of [launcher, worker]) {
    const pod = spec.template.spec;
    const c = pod.containers[0];
    const mount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === c.workingDir);
    assert.ok(mount, 'the working directory is the shared volume');
    assert.equal(pod.volumes.find((v: { name: string }) => v.name === mount.name).persistentVolumeClaim.claimName, pvc.metadata.name);
  }
  // rank 0 writes the run and every rank reads the data and the prepared cache on that volume
  assert.equal(valueOf(args, '--out'), '$OUT');
  assert.match(script, new RegExp(`^OUT=${lc.workingDir}/`, 'm'));
  assert.ok(valueOf(args, '--data').startsWith(`${lc.workingDir}/`), '--data is on the shared volume');
  assert.ok(lc.env.find((e: { name: string; value: string }) => e.name === 'BIGGAN_CACHE_DIR').value.startsWith(`${lc.workingDir}/`));
});

test('the image: every manifest names the one deploy/Dockerfile builds (Node 20, MPICH, biggan on PATH)', () => {
  const dockerfile = read('deploy/Dockerfile');
  const image = builtImage(dockerfile);
  assert.equal(builtImage(read('docs/cluster.md')), image);
  const containers = (d: Doc): { name: string; image: string }[] => {
    const pods = d.kind === 'MPIJob' ? Object.values(d.spec.mpiReplicaSpecs).map((r: any) => r.template.spec) : [d.spec?.template?.spec].filter(Boolean);
    return pods.flatMap((p: any) => p.containers);
  };
  let ours = 0;
  for (const file of fs.readdirSync(path.join(REPO_ROOT, K8S)).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of manifests(`${K8S}/${file}`)) {
      for (const c of containers(doc)) {
        if (c.image.startsWith('redis:')) continue;
        assert.equal(c.image, image, `${file}: ${c.name}`);
        ours++;
      }
    }
  }
  assert.ok(ours >= 4, 'the worker, the sweep coordinator and the MPIJob launcher and worker');
  // Debian (apt) with Node 20, MPICH and not Open MPI, the locked install, the build, the CLI on PATH
  assert.match(dockerfile, /^FROM node:20-[a-z]+$/m);
  const apt = /apt-get install -y --no-install-recommends ([^\n]+)/.exec(dockerfile);
  assert.ok(apt, 'apt-get install');
  assert.ok(apt[1].split(/\s+/).includes('mpich'));
  assert.doesNotMatch(dockerfile, /openmpi/i);
  assert.match(dockerfile, /npm ci\b/);
  assert.match(dockerfile, /npm run build\b/);
  const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin.biggan;
  assert.match(dockerfile, new RegExp(`ln -s /opt/biggan-ts/${bin.replace(/\./g, '\\.')} /usr/local/bin/biggan`));
  // its working directory is where the manifests mount the shared volume
  const workdirs = [...dockerfile.matchAll(/^WORKDIR (\S+)$/gm)].map((m) => m[1]);
  assert.equal(workdirs[workdirs.length - 1], '/work');
  // the build context leaves out what the image builds itself
  const ignore = read('.dockerignore').split('\n');
  for (const p of ['node_modules', 'dist']) assert.ok(ignore.includes(p), `.dockerignore: ${p}`);
});

test('slurm: the training script is valid bash that starts every rank with srun --mpi=pmi2', () => {
  const file = path.join(REPO_ROOT, 'deploy/slurm/train.sbatch');
  const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const text = fs.readFileSync(file, 'utf8');
  // #SBATCH lines come before the first command (sbatch stops reading them there)
  const firstCommand = text.split('\n').findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
  const sbatch = text.split('\n').slice(0, firstCommand).filter((l) => l.startsWith('#SBATCH'));
  for (const opt of ['--nodes', '--ntasks-per-node', '--cpus-per-task', '--time']) {
    assert.ok(sbatch.some((l) => new RegExp(`^#SBATCH ${opt}=\\S+$`).test(l)), `#SBATCH ${opt}`);
  }
  assert.ok(sbatch.some((l) => /^#SBATCH --signal=TERM@\d+$/.test(l)), 'SIGTERM before the time limit: a checkpoint');
  // srun starts the ranks itself through the PMI that Debian's MPICH speaks
  assert.match(text.replace(/\\\n/g, ' '), /^srun --mpi=pmi2 [^\n]*\bbiggan train\b/m);
  const args = trainArgs(text);
  assert.deepEqual(trainFlagsMissing(args), [], 'flags `biggan train` has');
  assert.equal(valueOf(args, '--threads'), '$SLURM_CPUS_PER_TASK');
  assert.match(text, /checkpoint\.safetensors" \]; then RESUME=--resume/);
});

test('docs/cluster.md names the recipes, and every deploy/ file it names exists', () => {
  const docs = read('docs/cluster.md');
  const named = new Set([...docs.matchAll(/\bdeploy\/[\w./-]*\w/g)].map((m) => m[0]));
  for (const f of named) assert.ok(fs.existsSync(path.join(REPO_ROOT, f)), `docs/cluster.md names ${f}, which does not exist`);
  const files = ['deploy/Dockerfile', 'deploy/slurm/train.sbatch', 'deploy/slurm/workers.sbatch', ...fs.readdirSync(path.join(REPO_ROOT, K8S)).map((f) => `${K8S}/${f}`)];
  for (const f of files) assert.ok(named.has(f), `docs/cluster.md does not mention ${f}`);
  // the commands it shows for training use the launch the manifests use
  assert.match(docs, /mpiexec -n N npx biggan train --data PATH --out DIR/);
  assert.match(docs, /sbatch deploy\/slurm\/train\.sbatch/);
  assert.match(docs, /kubectl apply -f deploy\/k8s\/mpijob-train\.yaml/);
});
