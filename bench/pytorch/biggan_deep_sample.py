"""PyTorch side of `npm run bench`: BigGAN-deep generator (pytorch-pretrained-BigGAN layout),
written here from the architecture tables, at its best for inference on CPU: spectral norm
folded into the weights once, BN statistics for the truncation pre-selected, channels_last,
inference_mode. Reads the same safetensors + config.json the TypeScript side samples from.

Usage: python3 biggan_deep_sample.py --weights W --config C --n N --batch B [--repeat R] [--out X.npy]
Prints one JSON line: load_s, first_batch_s, steady_batch_s (median of repeats), images_per_s.
"""
import argparse, json, struct, time, math, resource, sys
import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        assert v['dtype'] == 'F32', k
        a, b = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(buf, dtype=np.float32, count=(b - a) // 4, offset=base + a).reshape(v['shape']).copy())
    return out


def sn(sd, prefix):
    """Fold torch-style spectral norm: W / (u . W v)."""
    w = sd[prefix + '.weight_orig']
    u, v = sd[prefix + '.weight_u'], sd[prefix + '.weight_v']
    sigma = torch.dot(u, w.reshape(w.shape[0], -1) @ v)
    return w / sigma


def bn_row(sd, prefix, truncation, n_stats):
    step = 1.0 / (n_stats - 1)
    coef, start = math.modf(truncation / step)
    start = int(start)
    m, v = sd[prefix + '.running_means'], sd[prefix + '.running_vars']
    if coef != 0.0:
        return m[start] * coef + m[start + 1] * (1 - coef), v[start] * coef + v[start + 1] * (1 - coef)
    return m[start], v[start]


class CondBN(torch.nn.Module):
    def __init__(self, sd, prefix, truncation, cfg):
        super().__init__()
        mean, var = bn_row(sd, prefix, truncation, cfg['n_stats'])
        self.register_buffer('invstd', (1.0 / torch.sqrt(var + cfg['eps'])).view(1, -1, 1, 1))
        self.register_buffer('mean', mean.view(1, -1, 1, 1))
        self.scale = sn(sd, prefix + '.scale')
        self.offset = sn(sd, prefix + '.offset')

    def forward(self, x, cond):
        w = 1 + F.linear(cond, self.scale)
        b = F.linear(cond, self.offset)
        return (x - self.mean) * self.invstd * w[:, :, None, None] + b[:, :, None, None]


def conv(sd, prefix, pad):
    c = torch.nn.Conv2d(1, 1, 1)
    w = sn(sd, prefix)
    c = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=pad)
    c.weight.data = w
    c.bias.data = sd[prefix + '.bias']
    return c


class GenBlock(torch.nn.Module):
    def __init__(self, sd, p, up, cin, cout, truncation, cfg):
        super().__init__()
        self.up, self.cin, self.cout = up, cin, cout
        self.bn = torch.nn.ModuleList([CondBN(sd, f'{p}.bn_{i}', truncation, cfg) for i in range(4)])
        self.conv0 = conv(sd, f'{p}.conv_0', 0)
        self.conv1 = conv(sd, f'{p}.conv_1', 1)
        self.conv2 = conv(sd, f'{p}.conv_2', 1)
        self.conv3 = conv(sd, f'{p}.conv_3', 0)

    def forward(self, x, cond):
        h = self.conv0(F.relu(self.bn[0](x, cond)))
        h = F.relu(self.bn[1](h, cond))
        if self.up:
            h = F.interpolate(h, scale_factor=2, mode='nearest')
        h = self.conv1(h)
        h = self.conv2(F.relu(self.bn[2](h, cond)))
        h = self.conv3(F.relu(self.bn[3](h, cond)))
        s = x[:, : self.cin // 2] if self.cin != self.cout else x
        if self.up:
            s = F.interpolate(s, scale_factor=2, mode='nearest')
        return h + s


class SelfAttn(torch.nn.Module):
    def __init__(self, sd, p):
        super().__init__()
        self.theta, self.phi = sn(sd, p + '.snconv1x1_theta'), sn(sd, p + '.snconv1x1_phi')
        self.g, self.o = sn(sd, p + '.snconv1x1_g'), sn(sd, p + '.snconv1x1_o_conv')
        self.gamma = sd[p + '.gamma']

    def forward(self, x):
        n, c, h, w = x.shape
        theta = F.conv2d(x, self.theta).view(n, c // 8, h * w)
        phi = F.max_pool2d(F.conv2d(x, self.phi), 2).view(n, c // 8, h * w // 4)
        g = F.max_pool2d(F.conv2d(x, self.g), 2).view(n, c // 2, h * w // 4)
        attn = F.softmax(torch.bmm(theta.transpose(1, 2), phi), -1)
        o = F.conv2d(torch.bmm(g, attn.transpose(1, 2)).view(n, c // 2, h, w), self.o)
        return x + self.gamma * o


class Generator(torch.nn.Module):
    def __init__(self, sd, cfg, truncation):
        super().__init__()
        ch = cfg['channel_width']
        self.ch = ch
        self.embed = sd['embeddings.weight']
        self.gen_z_w = sn(sd, 'generator.gen_z')
        self.gen_z_b = sd['generator.gen_z.bias']
        layers = []
        k = 0
        for i, (up, a, b) in enumerate(cfg['layers']):
            if i == cfg['attention_layer_position']:
                layers.append(SelfAttn(sd, f'generator.layers.{k}'))
                k += 1
            layers.append(GenBlock(sd, f'generator.layers.{k}', up, a * ch, b * ch, truncation, cfg))
            k += 1
        self.layers = torch.nn.ModuleList(layers)
        mean, var = bn_row(sd, 'generator.bn', truncation, cfg['n_stats'])
        self.bn = (mean, var, sd['generator.bn.weight'], sd['generator.bn.bias'], cfg['eps'])
        # only channels 0..2 are used: convolve with those filters alone (same trick as ours)
        rgb = conv(sd, 'generator.conv_to_rgb', 1)
        self.to_rgb = torch.nn.Conv2d(rgb.in_channels, 3, 3, padding=1)
        self.to_rgb.weight.data = rgb.weight.data[:3].clone()
        self.to_rgb.bias.data = rgb.bias.data[:3].clone()

    def forward(self, z, class_vector):
        cond = torch.cat([z, class_vector @ self.embed.t()], 1)
        h = F.linear(cond, self.gen_z_w, self.gen_z_b).view(-1, 4, 4, 16 * self.ch).permute(0, 3, 1, 2)
        h = h.contiguous(memory_format=torch.channels_last)
        for layer in self.layers:
            h = layer(h) if isinstance(layer, SelfAttn) else layer(h, cond)
        m, v, w, b, eps = self.bn
        h = F.relu(F.batch_norm(h, m, v, w, b, False, 0.0, eps))
        return torch.tanh(self.to_rgb(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--weights', required=True)
    ap.add_argument('--config', required=True)
    ap.add_argument('--n', type=int, default=8)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--repeat', type=int, default=0, help='extra timed batches after the first (steady state)')
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--truncation', type=float, default=0.4)
    ap.add_argument('--out', default='')
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    cfg = json.load(open(a.config))
    sd = read_safetensors(a.weights)
    with torch.no_grad():
        G = Generator(sd, cfg, a.truncation).eval().to(memory_format=torch.channels_last)
    del sd
    t_load = time.perf_counter() - t0
    gen = torch.Generator().manual_seed(0)
    outs = []
    times = []
    with torch.inference_mode():
        done = 0
        while done < a.n:
            b = min(a.batch, a.n - done)
            z = torch.randn(b, cfg['z_dim'], generator=gen).clamp(-2, 2) * a.truncation
            cv = torch.zeros(b, cfg['num_classes'])
            cv[torch.arange(b), torch.randint(0, cfg['num_classes'], (b,), generator=gen)] = 1
            t = time.perf_counter()
            outs.append(G(z, cv))
            times.append(time.perf_counter() - t)
            done += b
        for _ in range(a.repeat):
            t = time.perf_counter()
            G(z, cv)
            times.append(time.perf_counter() - t)
    if a.out:
        np.save(a.out, torch.cat(outs).numpy())
    steady = sorted(times[1:])[len(times[1:]) // 2] if len(times) > 1 else times[0]
    print(json.dumps({'load_s': t_load, 'first_batch_s': times[0], 'steady_batch_s': steady, 'images_per_s_steady': a.batch / steady,
                      'threads': torch.get_num_threads(), 'max_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == '__main__':
    main()
