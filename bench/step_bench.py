#!/usr/bin/env python3
"""Training-step time of the same CIFAR ResNet-18 as fhist's C++ one, in PyTorch-Python (the peer comparison for
bench/step_bench.cpp). Needs `torch`; prints a median and optionally writes JSON."""
import argparse, json, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.sc = None
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (self.sc(x) if self.sc is not None else x))


class ResNet18(nn.Module):
    def __init__(self, width=1.0, classes=10):
        super().__init__()
        ch = [max(1, round(64 * (2 ** s) * width)) for s in range(4)]
        self.stem = nn.Conv2d(3, ch[0], 3, 1, 1, bias=False); self.bn = nn.BatchNorm2d(ch[0])
        layers, cin = [], ch[0]
        for s, c in enumerate(ch):
            for b in range(2):
                layers.append(Block(cin, c, 2 if (b == 0 and s > 0) else 1)); cin = c
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        y = self.layers(F.relu(self.bn(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu"); p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=20); p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--size", type=int, default=32); p.add_argument("--width-mult", type=float, default=1.0)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--channels-last", action="store_true"); p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json")
    p.add_argument("--profile", help="also trace 5 more steps with the autograd profiler (chrome-trace JSON)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    model = ResNet18(a.width_mult).to(dev)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch_size, 3, a.size, a.size, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (a.batch_size,), device=dev)

    def step():
        opt.zero_grad()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(a.warmup):
        step()
    sync()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter(); step(); sync(); times.append(time.perf_counter() - t0)
    if a.profile:
        with torch.autograd.profiler.profile() as prof:
            for _ in range(5):
                step()
        prof.export_chrome_trace(a.profile)
    times.sort()
    med = times[len(times) // 2]
    print(f"Python ResNet-18 x{a.width_mult} step: batch {a.batch_size} at {a.size}x{a.size}, {a.device} "
          f"{a.precision}{' channels-last' if a.channels_last else ''}, {torch.get_num_threads()} threads: "
          f"median {med:.4f} s over {a.steps} steps")
    if a.json:
        json.dump({"impl": "python", "device": a.device, "batch": a.batch_size, "size": a.size,
                   "width_mult": a.width_mult, "precision": a.precision, "channels_last": a.channels_last,
                   "threads": torch.get_num_threads(), "median_step_seconds": med,
                   "torch": torch.__version__}, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
