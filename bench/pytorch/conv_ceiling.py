"""PyTorch side of `npm run bench -- ceiling`: one 3x3 convolution, batch 16, 256 -> 256
channels, 32x32, padding 1, no bias, forward only, at PyTorch's best for CPU inference
(channels_last, inference_mode, oneDNN). Warm-up, then --runs timed forwards.

Usage: python3 conv_ceiling.py [--threads 2] [--runs 10] [--warmup 3]
Prints one JSON line: times_s (each run), median_s, gflops (at the median), threads, torch.
"""
import argparse, json, statistics, time
import torch
import torch.nn.functional as F

B, C, H, W, K = 16, 256, 32, 32, 3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, C, H, W, generator=g).contiguous(memory_format=torch.channels_last)
    w = (torch.randn(C, C, K, K, generator=g) / (C * K * K) ** 0.5).contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        for _ in range(a.warmup):
            F.conv2d(x, w, None, 1, 1)
        for _ in range(a.runs):
            t = time.perf_counter()
            F.conv2d(x, w, None, 1, 1)
            times.append(time.perf_counter() - t)
    med = statistics.median(times)
    flops = 2 * B * C * C * K * K * H * W
    print(json.dumps({'times_s': times, 'median_s': med, 'gflops': flops / med / 1e9, 'threads': torch.get_num_threads(), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
