"""PyTorch side of `npm run bench -- training`: the same BigGAN (BigGAN-PyTorch structure) and
the same training iteration as `biggan train`, written here from the architecture tables:
hinge loss, 2 D steps + 1 G step, Adam (betas 0, 0.999, eps 1e-6), spectral norm with one
power iteration per training forward, class-conditional BN with batch statistics, shared
embedding and hierarchical latents, self-attention where configured, orthogonal
regularization (off-diagonal, beta 1e-4) on G, and the EMA of every G entry after the G step.
Random data (the loader is not what is measured).

Usage: python3 biggan_train_step.py --resolution R --ch C --batch B [--classes K] [--iters N]
       [--warmup W] [--threads T]
Prints one JSON line: build_s, first_iter_s, s_per_iter (median of the timed iterations).
"""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F

SN_EPS = 1e-6
BN_EPS = 1e-5
G_WIDTHS = {32: [4, 4, 4, 4], 64: [16, 16, 8, 4, 2], 128: [16, 16, 8, 4, 2, 1], 256: [16, 16, 8, 8, 4, 2, 1]}
D_ARCH = {  # widths, downsample, labels (attention matches labels)
    32: ([4, 4, 4, 4], [1, 1, 0, 0], [16, 16, 16, 16]),
    64: ([1, 2, 4, 8, 16], [1, 1, 1, 1, 0], [32, 16, 8, 4, 4]),
    128: ([1, 2, 4, 8, 16, 16], [1, 1, 1, 1, 1, 0], [64, 32, 16, 8, 4, 4]),
    256: ([1, 2, 4, 8, 8, 16, 16], [1, 1, 1, 1, 1, 1, 0], [128, 64, 32, 16, 8, 4, 4]),
}
DIM_Z = {32: 128, 64: 120, 128: 120, 256: 140}


class SN(nn.Module):
    """W / sigma(W) with BigGAN-PyTorch's one power iteration from the stored u per forward."""

    def __init__(self, shape):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(shape))
        nn.init.orthogonal_(self.weight)
        self.register_buffer('u', F.normalize(torch.randn(1, shape[0]), dim=1))

    def forward(self):
        W = self.weight.view(self.weight.shape[0], -1)
        with torch.no_grad():
            v = F.normalize(self.u @ W, dim=1, eps=SN_EPS)
            u = F.normalize(v @ W.t(), dim=1, eps=SN_EPS)
            if self.training:
                self.u.copy_(u)
        sigma = (v @ W.t() @ u.t()).squeeze()
        return self.weight / sigma


class SNConv(nn.Module):
    def __init__(self, cin, cout, k, bias=True):
        super().__init__()
        self.w = SN((cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.pad = (k - 1) // 2

    def forward(self, x):
        return F.conv2d(x, self.w(), self.bias, padding=self.pad)


class SNLinear(nn.Module):
    def __init__(self, cin, cout, bias=True):
        super().__init__()
        self.w = SN((cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x):
        return F.linear(x, self.w(), self.bias)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.k, self.v = c // 8, c // 2
        self.theta, self.phi = SNConv(c, self.k, 1, False), SNConv(c, self.k, 1, False)
        self.g, self.o = SNConv(c, self.v, 1, False), SNConv(self.v, c, 1, False)
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        n, c, h, w = x.shape
        theta = self.theta(x).view(n, self.k, h * w)
        phi = F.max_pool2d(self.phi(x), 2).view(n, self.k, h * w // 4)
        g = F.max_pool2d(self.g(x), 2).view(n, self.v, h * w // 4)
        beta = F.softmax(torch.bmm(theta.transpose(1, 2), phi), -1)
        o = self.o(torch.bmm(g, beta.transpose(1, 2)).view(n, self.v, h, w))
        return x + self.gamma * o


class CCBN(nn.Module):
    def __init__(self, c, cond):
        super().__init__()
        self.gain, self.bias = SNLinear(cond, c, False), SNLinear(cond, c, False)
        self.register_buffer('stored_mean', torch.zeros(c))
        self.register_buffer('stored_var', torch.ones(c))

    def forward(self, x, y):
        out = F.batch_norm(x, self.stored_mean, self.stored_var, None, None, self.training, 0.1, BN_EPS)
        return out * (1 + self.gain(y))[:, :, None, None] + self.bias(y)[:, :, None, None]


class GBlock(nn.Module):
    def __init__(self, cin, cout, cond):
        super().__init__()
        self.bn1, self.bn2 = CCBN(cin, cond), CCBN(cout, cond)
        self.conv1, self.conv2, self.sc = SNConv(cin, cout, 3), SNConv(cout, cout, 3), SNConv(cin, cout, 1)

    def forward(self, x, y):
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.sc(F.interpolate(x, scale_factor=2))


class Generator(nn.Module):
    def __init__(self, res, ch, classes, attn, shared_dim=128):
        super().__init__()
        w = [m * ch for m in G_WIDTHS[res]]
        self.nblocks = len(w) - 1
        self.chunk = DIM_Z[res] // (self.nblocks + 1)
        self.z_dim = self.chunk * (self.nblocks + 1)
        cond = shared_dim + self.chunk
        self.shared = nn.Embedding(classes, shared_dim)
        self.linear = SNLinear(self.chunk, w[0] * 16)
        self.blocks = nn.ModuleList([GBlock(w[i], w[i + 1], cond) for i in range(self.nblocks)])
        self.attn = nn.ModuleList([Attention(w[i + 1]) if (8 << i) in attn else nn.Identity() for i in range(self.nblocks)])
        self.out_bn = nn.BatchNorm2d(w[-1], eps=1e-5)
        self.to_rgb = SNConv(w[-1], 3, 3)
        self.w0 = w[0]

    def forward(self, z, y):
        zs = torch.split(z, self.chunk, 1)
        e = self.shared(y)
        h = self.linear(zs[0]).view(z.shape[0], self.w0, 4, 4)
        for i, (b, a) in enumerate(zip(self.blocks, self.attn)):
            h = a(b(h, torch.cat([e, zs[i + 1]], 1)))
        return torch.tanh(self.to_rgb(F.relu(self.out_bn(h))))


class DBlock(nn.Module):
    def __init__(self, cin, cout, down, pre):
        super().__init__()
        self.conv1, self.conv2 = SNConv(cin, cout, 3), SNConv(cout, cout, 3)
        self.sc = SNConv(cin, cout, 1) if (cin != cout or down) else None
        self.down, self.pre = down, pre

    def forward(self, x):
        pool = (lambda t: F.avg_pool2d(t, 2)) if self.down else (lambda t: t)
        h = F.relu(x) if self.pre else x
        h = pool(self.conv2(F.relu(self.conv1(h))))
        s = x
        if self.sc is not None:
            s = pool(self.sc(x)) if self.pre else self.sc(pool(x))
        return h + s


class Discriminator(nn.Module):
    def __init__(self, res, ch, classes, attn):
        super().__init__()
        widths, down, labels = D_ARCH[res]
        w = [3] + [m * ch for m in widths]
        self.blocks = nn.ModuleList([DBlock(w[i], w[i + 1], bool(down[i]), i > 0) for i in range(len(widths))])
        self.attn = nn.ModuleList([Attention(w[i + 1]) if labels[i] in attn else nn.Identity() for i in range(len(widths))])
        self.linear = SNLinear(w[-1], 1)
        self.embed = SN((classes, w[-1]))

    def forward(self, x, y):
        h = x
        for b, a in zip(self.blocks, self.attn):
            h = a(b(h))
        h = torch.sum(F.relu(h), [2, 3])
        return self.linear(h) + torch.sum(F.embedding(y, self.embed()) * h, 1, keepdim=True)


def ortho_(G, beta):
    """BigGAN-PyTorch utils.ortho: off-diagonal term added to the gradients of G's weights (not the shared embedding)."""
    with torch.no_grad():
        for name, p in G.named_parameters():
            if p.grad is None or p.dim() < 2 or name.startswith('shared'):
                continue
            w = p.view(p.shape[0], -1)
            g = 2 * torch.mm(torch.mm(w, w.t()) * (1.0 - torch.eye(w.shape[0])), w)
            p.grad.add_(g.view(p.shape), alpha=beta)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--resolution', type=int, required=True)
    ap.add_argument('--ch', type=int, required=True)
    ap.add_argument('--batch', type=int, required=True)
    ap.add_argument('--classes', type=int, default=10)
    ap.add_argument('--iters', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    attn = [64]
    G = Generator(a.resolution, a.ch, a.classes, attn)
    G_ema = Generator(a.resolution, a.ch, a.classes, attn)
    G_ema.load_state_dict(G.state_dict())
    D = Discriminator(a.resolution, a.ch, a.classes, attn)
    G.train(), D.train()
    g_opt = torch.optim.Adam(G.parameters(), lr=5e-5, betas=(0.0, 0.999), eps=1e-6)
    d_opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.0, 0.999), eps=1e-6)
    B, R = a.batch, a.resolution
    build_s = time.perf_counter() - t0

    def iteration():
        x = torch.rand(2 * B, 3, R, R) * 2 - 1
        y = torch.randint(0, a.classes, (2 * B,))
        for p in D.parameters():
            p.requires_grad_(True)
        for k in range(2):
            z = torch.randn(B, G.z_dim)
            yf = torch.randint(0, a.classes, (B,))
            with torch.no_grad():
                gz = G(z, yf)
            out = D(torch.cat([gz, x[k * B:(k + 1) * B]]), torch.cat([yf, y[k * B:(k + 1) * B]]))
            loss = F.relu(1 - out[B:]).mean() + F.relu(1 + out[:B]).mean()
            d_opt.zero_grad(set_to_none=True)
            loss.backward()
            d_opt.step()
        for p in D.parameters():
            p.requires_grad_(False)
        z = torch.randn(B, G.z_dim)
        yf = torch.randint(0, a.classes, (B,))
        g_loss = -D(G(z, yf), yf).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        ortho_(G, 1e-4)
        g_opt.step()
        with torch.no_grad():
            src = G.state_dict()
            for k, v in G_ema.state_dict().items():
                if v.dtype.is_floating_point:
                    v.mul_(0.9999).add_(src[k], alpha=1 - 0.9999)

    t = time.perf_counter()
    iteration()
    first = time.perf_counter() - t
    for _ in range(a.warmup - 1):
        iteration()
    times = []
    for _ in range(a.iters):
        t = time.perf_counter()
        iteration()
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({'build_s': build_s, 'first_iter_s': first, 's_per_iter': times[len(times) // 2], 'times': times}))


if __name__ == '__main__':
    main()
