"""PyTorch side of `npm run bench -- inception`: the FID Inception-v3 (pytorch-fid's
variant: 1008-way fc, FID blocks A/C/E_1/E_2, BN eps 1e-3, count_include_pad=False
average pools, a max pool in Mixed_7c's pool branch) written here from the layer
table, loading the same weights the TypeScript side uses (an .npz of the published
file's key names), at its best for CPU inference: BatchNorm folded into the convs,
channels_last, inference_mode, and with --jit 1 traced, torch.jit.freeze'd and
torch.jit.optimize_for_inference'd (the bench keeps whichever is faster). Preprocessing is pytorch-fid's (x/255, bilinear
resize to 299 with align_corners=False, 2x-1).

Usage: python3 inception_fid.py --weights W.npz --images X.npy --batch B [--repeat R]
       [--threads T] [--jit 0|1] [--out pool3.npy]
X.npy: uint8 [N, 3, H, W]. Prints one JSON line: load_s, first_batch_s,
steady_batch_s (median over repeats of one batch), images_per_s, all_s (every image once).
"""
import argparse, json, time
import numpy as np
import torch
import torch.nn.functional as F

BN_EPS = 1e-3

# Convs that are not "same"-padded: name -> (stride, padding)
VALID_CONVS = {
    'Conv2d_1a_3x3': (2, (0, 0)),
    'Conv2d_2a_3x3': (1, (0, 0)),
    'Conv2d_4a_3x3': (1, (0, 0)),
    'Mixed_6a.branch3x3': (2, (0, 0)),
    'Mixed_6a.branch3x3dbl_3': (2, (0, 0)),
    'Mixed_7a.branch3x3_2': (2, (0, 0)),
    'Mixed_7a.branch7x7x3_4': (2, (0, 0)),
}


class Net:
    """The network as folded conv layers looked up by name."""

    def __init__(self, sd):
        self.convs = {}
        for key in sd:
            if not key.endswith('.conv.weight'):
                continue
            name = key[: -len('.conv.weight')]
            w = sd[key]
            gamma, beta = sd[name + '.bn.weight'], sd[name + '.bn.bias']
            mean, var = sd[name + '.bn.running_mean'], sd[name + '.bn.running_var']
            scale = gamma / torch.sqrt(var + BN_EPS)
            kh, kw = w.shape[2], w.shape[3]
            stride, pad = VALID_CONVS.get(name, (1, (kh // 2, kw // 2)))
            conv = torch.nn.Conv2d(w.shape[1], w.shape[0], (kh, kw), stride=stride, padding=pad, bias=True)
            conv.weight.data = (w * scale[:, None, None, None]).contiguous(memory_format=torch.channels_last)
            conv.bias.data = beta - mean * scale
            conv.eval()
            self.convs[name] = conv
        self.fc_w, self.fc_b = sd['fc.weight'], sd['fc.bias']

    def c(self, name, x):
        return F.relu(self.convs[name](x))

    def chain(self, x, *names):
        for n in names:
            x = self.c(n, x)
        return x

    @staticmethod
    def avg3(x):
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)

    def block_a(self, p, x):
        return torch.cat([
            self.c(p + '.branch1x1', x),
            self.chain(x, p + '.branch5x5_1', p + '.branch5x5_2'),
            self.chain(x, p + '.branch3x3dbl_1', p + '.branch3x3dbl_2', p + '.branch3x3dbl_3'),
            self.c(p + '.branch_pool', self.avg3(x)),
        ], 1)

    def block_b(self, p, x):
        return torch.cat([
            self.c(p + '.branch3x3', x),
            self.chain(x, p + '.branch3x3dbl_1', p + '.branch3x3dbl_2', p + '.branch3x3dbl_3'),
            F.max_pool2d(x, 3, stride=2),
        ], 1)

    def block_c(self, p, x):
        return torch.cat([
            self.c(p + '.branch1x1', x),
            self.chain(x, *[f'{p}.branch7x7_{i}' for i in (1, 2, 3)]),
            self.chain(x, *[f'{p}.branch7x7dbl_{i}' for i in (1, 2, 3, 4, 5)]),
            self.c(p + '.branch_pool', self.avg3(x)),
        ], 1)

    def block_d(self, p, x):
        return torch.cat([
            self.chain(x, p + '.branch3x3_1', p + '.branch3x3_2'),
            self.chain(x, *[f'{p}.branch7x7x3_{i}' for i in (1, 2, 3, 4)]),
            F.max_pool2d(x, 3, stride=2),
        ], 1)

    def block_e(self, p, x, max_pool):
        a = self.c(p + '.branch3x3_1', x)
        d = self.chain(x, p + '.branch3x3dbl_1', p + '.branch3x3dbl_2')
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if max_pool else self.avg3(x)
        return torch.cat([
            self.c(p + '.branch1x1', x),
            self.c(p + '.branch3x3_2a', a), self.c(p + '.branch3x3_2b', a),
            self.c(p + '.branch3x3dbl_3a', d), self.c(p + '.branch3x3dbl_3b', d),
            self.c(p + '.branch_pool', pooled),
        ], 1)

    def __call__(self, x):
        x = self.chain(x, 'Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3')
        x = F.max_pool2d(x, 3, stride=2)
        x = self.chain(x, 'Conv2d_3b_1x1', 'Conv2d_4a_3x3')
        x = F.max_pool2d(x, 3, stride=2)
        for p in ('Mixed_5b', 'Mixed_5c', 'Mixed_5d'):
            x = self.block_a(p, x)
        x = self.block_b('Mixed_6a', x)
        for p in ('Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e'):
            x = self.block_c(p, x)
        x = self.block_d('Mixed_7a', x)
        x = self.block_e('Mixed_7b', x, max_pool=False)
        x = self.block_e('Mixed_7c', x, max_pool=True)
        pool3 = x.mean(dim=(2, 3))
        logits_unbiased = pool3 @ self.fc_w.t()
        return pool3, logits_unbiased


class Module(torch.nn.Module):
    """Net as an nn.Module (its convs registered), so it can be traced and frozen."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.convs = torch.nn.ModuleDict({k.replace('.', '__'): v for k, v in net.convs.items()})

    def forward(self, x):
        return self.net(x)


def jit_optimized(net, example):
    with torch.no_grad():
        traced = torch.jit.trace(Module(net).eval(), example, check_trace=False)
        frozen = torch.jit.freeze(traced)
        return torch.jit.optimize_for_inference(frozen) if hasattr(torch.jit, 'optimize_for_inference') else frozen


def preprocess(u8):
    x = torch.from_numpy(u8).float() / 255.0
    x = F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False)
    return (2 * x - 1).contiguous(memory_format=torch.channels_last)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--weights', required=True)
    ap.add_argument('--images', required=True)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--jit', type=int, default=0)
    ap.add_argument('--out')
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    with np.load(a.weights) as z:
        sd = {k: torch.from_numpy(z[k].copy()) for k in z.files}
    net = Net(sd)
    images = np.load(a.images)
    if a.jit:
        net = jit_optimized(net, preprocess(images[:a.batch]))
    load_s = time.perf_counter() - t0
    n, b = images.shape[0], a.batch
    with torch.inference_mode():
        t = time.perf_counter()
        net(preprocess(images[:b]))
        first = time.perf_counter() - t
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            net(preprocess(images[:b]))
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        pool3 = [net(preprocess(images[s:s + b]))[0].numpy() for s in range(0, n, b)]
        all_s = time.perf_counter() - t
    if a.out:
        np.save(a.out, np.concatenate(pool3).astype(np.float32))
    steady = sorted(times)[len(times) // 2]
    print(json.dumps({'load_s': load_s, 'first_batch_s': first, 'steady_batch_s': steady, 'images_per_s': b / steady, 'all_s': all_s,
                      'threads': torch.get_num_threads(), 'jit': a.jit}))


if __name__ == '__main__':
    main()
