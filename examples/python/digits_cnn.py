"""A small CNN in plain PyTorch on scikit-learn's handwritten digits (1,797 8x8 images, 10 classes; 1,397 for
training, 400 for validation): the training code that examples/python/train_script.py (fhist runs it as a command)
and examples/python/pytorch_ask_tell.py (it drives fhist's search) share. Nothing in it knows fhist."""
import math
import os
import time

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits


def load_data():
    """The same split for every trial; inputs standardised with the training split's mean and std."""
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target, dtype=torch.int64)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train_idx, val_idx = perm[:1397], perm[1397:]
    x = (x - x[train_idx].mean()) / x[train_idx].std()
    return x, y, train_idx, val_idx


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


def train(config, budget, max_budget, trial_dir, seed, report, data=None):
    """Trains `config` ({lr, weight_decay, channels, batch_size}) up to epoch `budget`, continuing from the
    checkpoint in `trial_dir` if there is one; report(epoch, train_loss=..., val_acc=..., ...) after each epoch.
    The learning rate follows a cosine over `max_budget` epochs, so a run promoted from 3 to 9 epochs trains exactly
    as one trained for 9 at once."""
    x, y, train_idx, val_idx = data or load_data()
    seed = seed % (2**63)
    torch.manual_seed(seed)
    net = Net(int(config.get("channels", 16)))
    opt = torch.optim.SGD(net.parameters(), lr=config["lr"], momentum=0.9,
                          weight_decay=config.get("weight_decay", 0.0))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 * (1 + math.cos(math.pi * e / max_budget)))
    gen = torch.Generator().manual_seed(seed)
    ckpt = os.path.join(trial_dir, "checkpoint.pt")
    done = 0
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        gen.set_state(state["gen"])
        done = state["epoch"]
    print(f"trial starts at epoch {done + 1}, budget {budget}, config {config}", flush=True)
    batch = int(config.get("batch_size", 64))
    for epoch in range(done + 1, budget + 1):
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
        report(epoch, train_loss=total / n, val_acc=val_acc, val_loss=val_loss,
               params=sum(p.numel() for p in net.parameters()), seconds=time.time() - t0,
               lr=opt.param_groups[0]["lr"])
        # The checkpoint after the report: a crash between the two makes the next job report this epoch again
        # (fhist skips it), never skip one.
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "gen": gen.get_state(), "epoch": epoch}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)
