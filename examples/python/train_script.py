#!/usr/bin/python3
"""A plain PyTorch training script as fhist's objective (fhist search --command).

fhist runs it once per job with the job in environment variables (FHIST_CONFIG, FHIST_BUDGET, FHIST_START_EPOCH,
FHIST_MAX_BUDGET, FHIST_TRIAL_DIR, FHIST_SEED, FHIST_THREADS) and reads one JSON object per epoch from its standard
output. Everything else it prints is its own log (kept in $FHIST_TRIAL_DIR/log.txt). A promoted trial runs again in
the same folder with FHIST_START_EPOCH > 1: it continues from its checkpoint.

    fhist search --command '/usr/bin/python3 examples/python/train_script.py' \
        --space examples/python/digits_space.json --estimator tse-ema --max-budget 9 --journal runs/script.db

Without fhist (no FHIST_* variables) it trains one default configuration for 5 epochs. The data: scikit-learn's
handwritten digits (1,797 8x8 images, 10 classes), 1,397 for training and 400 for validation.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

job = {
    "config": json.loads(os.environ.get("FHIST_CONFIG", '{"lr": 0.05, "weight_decay": 0.0005, "channels": 16, "batch_size": 64}')),
    "budget": int(os.environ.get("FHIST_BUDGET", "5")),
    "start_epoch": int(os.environ.get("FHIST_START_EPOCH", "1")),
    "max_budget": int(os.environ.get("FHIST_MAX_BUDGET", "5")),
    "trial_dir": os.environ.get("FHIST_TRIAL_DIR", "."),
    "seed": int(os.environ.get("FHIST_SEED", "0")),
    "threads": int(os.environ.get("FHIST_THREADS", "0")),
}
cfg = job["config"]
if job["threads"] > 0:
    torch.set_num_threads(job["threads"])

# The same split for every trial; the trial's seed drives its initialisation and batch order.
digits = load_digits()
x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
y = torch.tensor(digits.target, dtype=torch.int64)
perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
train_idx, val_idx = perm[:1397], perm[1397:]
mean, std = x[train_idx].mean(), x[train_idx].std()
x = (x - mean) / std


class Net(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, c, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(c, 2 * c, 3, padding=1)
        self.head = torch.nn.Linear(2 * c * 4 * 4, 10)

    def forward(self, t):
        t = F.relu(self.conv1(t))
        t = F.max_pool2d(F.relu(self.conv2(t)), 2)
        return self.head(t.flatten(1))


torch.manual_seed(job["seed"] % (2**63))
net = Net(int(cfg.get("channels", 16)))
opt = torch.optim.SGD(net.parameters(), lr=cfg["lr"], momentum=0.9, weight_decay=cfg.get("weight_decay", 0.0))
# The learning rate follows a cosine over the search's largest budget, so a trial promoted from 3 to 9 epochs
# trains exactly as one trained for 9 epochs at once.
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 * (1 + math.cos(math.pi * e / job["max_budget"])))
gen = torch.Generator().manual_seed(job["seed"] % (2**63))

ckpt = os.path.join(job["trial_dir"], "checkpoint.pt")
done = 0
if os.path.exists(ckpt):
    state = torch.load(ckpt)
    net.load_state_dict(state["net"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    gen.set_state(state["gen"])
    done = state["epoch"]
print(f"trial starts at epoch {done + 1} (fhist says {job['start_epoch']}), budget {job['budget']}, config {cfg}")

batch = int(cfg.get("batch_size", 64))
for epoch in range(done + 1, job["budget"] + 1):
    t0 = time.time()
    net.train()
    order = train_idx[torch.randperm(len(train_idx), generator=gen)]
    total, n = 0.0, 0
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
        n += len(idx)
    sched.step()
    net.eval()
    with torch.no_grad():
        logits = net(x[val_idx])
        val_loss = F.cross_entropy(logits, y[val_idx]).item()
        val_acc = (logits.argmax(1) == y[val_idx]).float().mean().item()
    # One JSON object per epoch on stdout (flushed: fhist reads it as it comes). Extra keys are stored too.
    print(json.dumps({"epoch": epoch, "train_loss": total / n, "val_acc": val_acc, "val_loss": val_loss,
                      "params": sum(p.numel() for p in net.parameters()), "seconds": time.time() - t0,
                      "lr": opt.param_groups[0]["lr"]}), flush=True)
    # The checkpoint after the line: a crash between the two makes the next job report this epoch again (fhist
    # skips it), never skip one.
    torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                "gen": gen.get_state(), "epoch": epoch}, ckpt + ".tmp")
    os.replace(ckpt + ".tmp", ckpt)
