#!/usr/bin/env python3
"""PyTorch 1.13 side of `npm run bench -- landscape`: seconds per D step of the GAN-landscape
networks (Kurach et al. 2019; ../shared/paper/LANDSCAPE.md tables), the same networks and the
same D step as biggan-ts's trainer:

  fakes = G(z) in train mode without grad (BN batch statistics), z ~ U(-1, 1)
  logits = D(cat(fakes, reals)) in one call (SN: one power iteration per weight, train mode)
  loss = the study's non-saturating loss  mean softplus(-l_real) + mean softplus(l_fake)
  + 10 * penalty (double backprop):  wgan-gp at x + a (fake - x), a ~ U[0,1) per sample;
    dragan at clip(x + std(x) (u - 0.5), -1, 1), u ~ U[0,1) per element;
    penalty = mean (sqrt(1e-4 + |dD/dx|^2) - 1)^2
  Adam step on D (foreach, zero_grad(set_to_none)).

Images in [-1, 1] as in biggan-ts: SNDCGAN G ends in tanh, the ResNets' G in 2 sigmoid - 1 and
their D maps its input back to [0, 1]. Spectral norm: u on the output side, one power iteration
per train-mode forward (torch.nn.utils.parametrizations.spectral_norm, eps 1e-6 as the study's runs).

PyTorch at its best: runtime choices are tried (threads, channels_last), and the resampling
convolutions take either the plain form (zero-insertion + 3x3 conv in G; 3x3 conv + 2x2 average
pool in D) or the fused one (a transposed 3x3 stride-2 conv in G; one 4x4 stride-2 conv whose
kernel is built from the 3x3 one in D): the same functions with the same parameters.
`--pick` times one step of every combination in this process and prints the fastest;
a timed run then uses the given one in a fresh process (its peak RSS is that run's alone).

Usage:
  python3 landscape.py --arch sndcgan|resnet19 --resolution R --batch B --d-norm none|spectral
         --penalty none|wgan-gp|dragan [--threads 2] [--channels-last 0|1] [--form plain|fused]
         [--warmup 1] [--steps 3] [--pick [--pick-threads 1,2]]
Prints one JSON line (step seconds, parameter counts, peak RSS, the settings used).
"""
import argparse
import itertools
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

Z_DIM = 128
SN_EPS = 1e-6


def sn(module, on):
    # the parametrization computes W / sigma on each access of .weight (one power iteration in
    # train mode, u and v held constant in the gradient: BigGAN-PyTorch's and our trainer's form)
    return nn.utils.parametrizations.spectral_norm(module, eps=SN_EPS) if on else module


def unpool(x):
    """Zero insertion: x[i, j] -> out[2i, 2j], the rest 0 (compare_gan's unpool)."""
    n, c, h, w = x.shape
    nhwc = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    out = torch.empty((n, c, 2 * h, 2 * w), memory_format=torch.channels_last if nhwc else torch.contiguous_format).zero_()
    out[:, :, ::2, ::2] = x
    return out


class UpConv(nn.Module):
    """unpool then 3x3 conv ("plain"), or the same map as one transposed conv ("fused"):
    y = conv3x3(unpool(x)) = conv_transpose(x, flip(W)^T, stride 2, padding 1, output_padding 1)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1)
        self.form = "plain"

    def forward(self, x):
        if self.form == "plain":
            return self.conv(unpool(x))
        w = self.conv.weight.flip(2, 3).transpose(0, 1)
        return F.conv_transpose2d(x, w, self.conv.bias, stride=2, padding=1, output_padding=1)


class PoolConv(nn.Module):
    """3x3 conv then 2x2 average pool ("plain"), or one 4x4 stride-2 conv ("fused") whose
    kernel is the 3x3 one averaged over the pool's four shifts (same function, same parameters)."""

    def __init__(self, cin, cout, spectral):
        super().__init__()
        self.conv = sn(nn.Conv2d(cin, cout, 3, 1, 1), spectral)
        self.form = "plain"

    def forward(self, x):
        if self.form == "plain":
            return F.avg_pool2d(self.conv(x), 2)
        w = self.conv.weight  # with SN: normalised on this access (one power iteration), as conv(x) would
        k = 0.25 * (F.pad(w, (0, 1, 0, 1)) + F.pad(w, (1, 0, 0, 1)) + F.pad(w, (0, 1, 1, 0)) + F.pad(w, (1, 0, 1, 0)))
        return F.conv2d(x, k, self.conv.bias, stride=2, padding=1)


class ResBlockG(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.shortcut = UpConv(cin, cout)
        self.bn1 = nn.BatchNorm2d(cin, eps=1e-5)
        self.conv1 = UpConv(cin, cout)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)

    def forward(self, x):
        h = self.conv1(F.relu(self.bn1(x)))
        h = self.conv2(F.relu(self.bn2(h)))
        return h + self.shortcut(x)


class ResBlockD(nn.Module):
    def __init__(self, cin, cout, spectral):
        super().__init__()
        self.shortcut = PoolConv(cin, cout, spectral)
        self.conv1 = sn(nn.Conv2d(cin, cout, 3, 1, 1), spectral)
        self.conv2 = PoolConv(cout, cout, spectral)

    def forward(self, x):
        h = self.conv1(F.relu(x))
        h = self.conv2(F.relu(h))
        return h + self.shortcut(x)


class SndcganG(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.s8 = size // 8
        f = self.s8 * self.s8 * 512
        self.fc = nn.Linear(Z_DIM, f)
        self.bn1 = nn.BatchNorm1d(f, eps=2e-5)
        self.dc2 = nn.ConvTranspose2d(512, 256, 4, 2, 1)
        self.bn2 = nn.BatchNorm2d(256, eps=2e-5)
        self.dc3 = nn.ConvTranspose2d(256, 128, 4, 2, 1)
        self.bn3 = nn.BatchNorm2d(128, eps=2e-5)
        self.dc4 = nn.ConvTranspose2d(128, 64, 4, 2, 1)
        self.bn4 = nn.BatchNorm2d(64, eps=2e-5)
        self.dc5 = nn.ConvTranspose2d(64, 3, 3, 1, 1)

    def forward(self, z):
        h = F.relu(self.bn1(self.fc(z)))
        h = h.view(-1, self.s8, self.s8, 512).permute(0, 3, 1, 2)  # TF's NHWC reshape
        h = F.relu(self.bn2(self.dc2(h)))
        h = F.relu(self.bn3(self.dc3(h)))
        h = F.relu(self.bn4(self.dc4(h)))
        return torch.tanh(self.dc5(h))


class SndcganD(nn.Module):
    def __init__(self, size, spectral):
        super().__init__()
        spec = [(3, 64, 3, 1), (64, 128, 4, 2), (128, 128, 3, 1), (128, 256, 4, 2), (256, 256, 3, 1), (256, 512, 4, 2), (512, 512, 3, 1)]
        self.convs = nn.ModuleList(sn(nn.Conv2d(i, o, k, s, 1), spectral) for i, o, k, s in spec)
        self.fc = sn(nn.Linear(512 * (size // 8) ** 2, 1), spectral)

    def forward(self, x):
        h = x
        for c in self.convs:
            h = F.leaky_relu(c(h), 0.1)
        return self.fc(h.permute(0, 2, 3, 1).reshape(x.shape[0], -1))  # NHWC flatten


class ResNet19G(nn.Module):
    def __init__(self, ch=64, mult=(8, 8, 4, 4, 2, 1)):
        super().__init__()
        self.c0 = ch * mult[0]
        self.fc = nn.Linear(Z_DIM, 16 * self.c0)
        self.blocks = nn.ModuleList(ResBlockG(ch * mult[i], ch * mult[i + 1]) for i in range(5))
        self.bn = nn.BatchNorm2d(ch * mult[-1], eps=1e-5)
        self.out = nn.Conv2d(ch * mult[-1], 3, 3, 1, 1)

    def forward(self, z):
        h = self.fc(z).view(-1, 4, 4, self.c0).permute(0, 3, 1, 2)
        for b in self.blocks:
            h = b(h)
        return 2 * torch.sigmoid(self.out(F.relu(self.bn(h)))) - 1


class ResNet19D(nn.Module):
    def __init__(self, spectral, ch=64, mult=(1, 2, 4, 4, 8, 8)):
        super().__init__()
        blocks = [ResBlockD(3, ch, spectral)] + [ResBlockD(ch * mult[i], ch * mult[i + 1], spectral) for i in range(5)]
        self.blocks = nn.ModuleList(blocks)
        self.fc = sn(nn.Linear(ch * mult[-1], 1), spectral)

    def forward(self, x):
        h = (x + 1) / 2
        for b in self.blocks:
            h = b(h)
        return self.fc(F.relu(h).mean(dim=(2, 3)))


def build(arch, size, spectral):
    if arch == "sndcgan":
        return SndcganG(size), SndcganD(size, spectral)
    if arch == "resnet19":
        assert size == 128, "ResNet19 is 128x128"
        return ResNet19G(), ResNet19D(spectral)
    raise SystemExit(f"unknown arch {arch}")


def init_study(m):
    """N(0, 0.02) kernels, zero biases (LANDSCAPE.md; the values do not change the timing)."""
    with torch.no_grad():
        for name, p in m.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.02)
            elif name.endswith("bias"):
                p.zero_()


def n_params(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def slope_penalty(D, points):
    points.requires_grad_(True)
    logits = D(points)
    (g,) = torch.autograd.grad(logits.sum(), points, create_graph=True)
    slope = torch.sqrt(g.pow(2).sum(dim=(1, 2, 3)) + 1e-4)
    return (slope - 1).pow(2).mean()


class Step:
    def __init__(self, a):
        self.a = a
        torch.manual_seed(0)
        self.G, self.D = build(a.arch, a.resolution, a.d_norm == "spectral")
        init_study(self.G)
        init_study(self.D)
        self.G.train()
        self.D.train()
        self.opt = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8, foreach=True)
        self.configure(a.channels_last, a.form)

    def configure(self, channels_last, form):
        self.mf = torch.channels_last if channels_last else torch.contiguous_format
        for m in itertools.chain(self.G.modules(), self.D.modules()):
            if isinstance(m, (UpConv, PoolConv)):
                m.form = form
        self.G.to(memory_format=self.mf)
        self.D.to(memory_format=self.mf)

    def __call__(self):
        a, B, R = self.a, self.a.batch, self.a.resolution
        real = (torch.rand(B, 3, R, R) * 2 - 1).contiguous(memory_format=self.mf)
        z = torch.rand(B, Z_DIM) * 2 - 1
        with torch.inference_mode():
            fake = self.G(z).contiguous(memory_format=self.mf)
        logits = self.D(torch.cat([fake, real]))
        l_fake, l_real = logits[:B], logits[B:]
        loss = F.softplus(-l_real).mean() + F.softplus(l_fake).mean()
        if a.penalty == "wgan-gp":
            alpha = torch.rand(B, 1, 1, 1)
            loss = loss + 10 * slope_penalty(self.D, real + alpha * (fake - real))
        elif a.penalty == "dragan":
            std = real.std(unbiased=False)
            loss = loss + 10 * slope_penalty(self.D, (real + std * (torch.rand_like(real) - 0.5)).clamp(-1, 1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss)


def timed(step, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        loss = step()
        out.append(time.perf_counter() - t)
        if loss != loss:
            raise SystemExit("non-finite loss")
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True)
    p.add_argument("--resolution", type=int, required=True)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--d-norm", choices=["none", "spectral"], required=True)
    p.add_argument("--penalty", choices=["none", "wgan-gp", "dragan"], default="none")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--channels-last", type=int, default=0)
    p.add_argument("--form", choices=["plain", "fused"], default="plain")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--pick", action="store_true")
    p.add_argument("--pick-threads", default="1,2", help="thread counts --pick tries")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    step = Step(a)
    res = {"G_params": n_params(step.G), "D_params": n_params(step.D)}
    if a.pick:
        tried = []
        forms = ["plain", "fused"] if a.arch == "resnet19" else ["plain"]  # SNDCGAN has no resampling convs
        for threads, cl, form in itertools.product([int(t) for t in a.pick_threads.split(",")], [0, 1], forms):
            torch.set_num_threads(threads)
            step.configure(cl, form)
            t = timed(step, a.warmup + 1)[-1]
            tried.append({"threads": threads, "channels_last": cl, "form": form, "s": t})
        best = min(tried, key=lambda r: r["s"])
        res.update(tried=tried, best=best)
    else:
        s = timed(step, a.warmup + a.steps)[a.warmup:]
        res.update(step_seconds=s, threads=a.threads, channels_last=a.channels_last, form=a.form)
    res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


if __name__ == "__main__":
    main()
