#!/usr/bin/env python3
"""Python peer of bench_train_throughput (benchmarks/train_throughput.cpp).

The same measurement written as a PyTorch user would: ResNet-20 for CIFAR
(option-A shortcuts, as src/models/resnet_cifar.cpp) on CIFAR-shaped
synthetic data, batch-wise random crop (pad 4) and flip on the data's device,
SGD with momentum; one epoch of warm-up, one timed. Prints one JSON line.

    python3 benchmarks/train_throughput.py --device cuda --amp --channels-last --compile
"""
import argparse
import contextlib
import json
import time

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.extra = stride, planes - in_planes

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x
        if self.stride != 1 or self.extra:
            shortcut = F.pad(x[:, :, ::self.stride, ::self.stride],
                             (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
        return F.relu(out + shortcut)


class ResNetCifar(nn.Module):
    def __init__(self, depth=20, num_classes=10):
        super().__init__()
        blocks = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages, in_planes = [], 16
        for planes, stride in [(16, 1), (32, 2), (64, 2)]:
            stages.append(nn.Sequential(*[BasicBlock(in_planes if i == 0 else planes, planes,
                                                     stride if i == 0 else 1)
                                          for i in range(blocks)]))
            in_planes = planes
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


def augment(images_uint8, mean, std, generator):
    """uint8 [B,3,32,32] -> normalised float, random crop with padding 4 and flip."""
    x = images_uint8.float().div_(255)
    b, c, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    offsets = torch.randint(0, 9, (b, 2), generator=generator).to(x.device, non_blocking=True)
    rows = offsets[:, 0].view(b, 1, 1) + torch.arange(h, device=x.device).view(1, h, 1)
    cols = offsets[:, 1].view(b, 1, 1) + torch.arange(w, device=x.device).view(1, 1, w)
    index = (rows * (w + 8) + cols).view(b, 1, h * w).expand(b, c, h * w)
    x = padded.flatten(2).gather(2, index).view(b, c, h, w)
    flip = (torch.rand(b, generator=generator) < 0.5).to(x.device, non_blocking=True)
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    return (x - mean) / std


# Operators that only make a view of a tensor or allocate one (no kernel).
NO_KERNEL = {"aten::" + name for name in (
    "view", "_unsafe_view", "_reshape_alias", "reshape", "flatten", "squeeze", "unsqueeze",
    "expand", "as_strided", "select", "slice", "narrow", "t", "transpose", "permute", "detach",
    "alias", "empty", "empty_like", "empty_strided", "new_empty")}


def outermost_aten_ops(events):
    """ATen operators not called from inside another one, views and allocations
    left out (as --count-ops in C++): each a dispatch and, on a GPU, usually a
    kernel launch."""
    count = 0
    for event in events:
        if not event.name.startswith("aten::") or event.name in NO_KERNEL:
            continue
        parent = event.cpu_parent
        while parent is not None and not parent.name.startswith("aten::"):
            parent = parent.cpu_parent
        count += parent is None
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--data-on-device", action="store_true")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (2.x)")
    parser.add_argument("--pipeline-only", action="store_true")
    parser.add_argument("--count-ops", action="store_true",
                        help="also count outermost ATen operators per timed step (slows the run)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    generator = torch.Generator().manual_seed(0)
    n = args.steps * args.batch_size
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=generator).to(torch.uint8)
    labels = torch.randint(0, 10, (n,), generator=generator)
    if args.data_on_device:
        images, labels = images.to(device), labels.to(device)
    pin = device.type == "cuda" and not args.data_on_device
    mean = torch.tensor([0.49, 0.48, 0.45], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.25, 0.24, 0.26], device=device).view(1, 3, 1, 1)

    def batches():
        order = torch.randperm(n, generator=generator)
        if args.data_on_device:
            order = order.to(device)
        for i in range(args.steps):
            index = order[i * args.batch_size:(i + 1) * args.batch_size]
            x, y = images[index], labels[index]
            if pin:
                x, y = x.pin_memory(), y.pin_memory()
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    ops = []  # --count-ops: the timed epoch's count

    @contextlib.contextmanager
    def profiled(epoch):
        if not args.count_ops or epoch == 0:
            yield
            return
        with torch.autograd.profiler.profile() as profile:
            yield
        ops.append(outermost_aten_ops(profile.function_events))

    what = "pipeline" if args.pipeline_only else "training"
    if args.pipeline_only:
        for epoch in range(2):  # the first is warm-up
            sync()
            with profiled(epoch):
                start = time.perf_counter()
                total = torch.zeros((), device=device)
                for x, _ in batches():
                    total += augment(x, mean, std, generator).sum()
                sync()
                seconds = time.perf_counter() - start
    else:
        model = ResNetCifar().to(device)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        step_model = torch.compile(model) if args.compile else model
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        for epoch in range(2):  # the first is warm-up (and compilation)
            model.train()
            sync()
            with profiled(epoch):
                start = time.perf_counter()
                loss_sum = torch.zeros((), device=device)
                for x, y in batches():
                    x = augment(x, mean, std, generator)
                    if args.channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
                        loss = F.cross_entropy(step_model(x).float(), y)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    loss_sum += loss.detach()
                loss_sum.item()
                seconds = time.perf_counter() - start
    per_second = args.steps / seconds if args.pipeline_only else n / seconds
    counted = {"ops_per_step": round(ops[0] / args.steps, 1)} if ops else {}
    print(json.dumps({
        "program": "Python", "what": what, "model": "resnet20", "batch_size": args.batch_size,
        "steps": args.steps, "device": str(device), "amp": args.amp,
        "channels_last": args.channels_last, "data_on_device": args.data_on_device,
        "compile": args.compile, "torch": torch.__version__, "seconds": round(seconds, 4),
        ("batches_per_s" if args.pipeline_only else "images_per_s"): round(per_second, 2),
        **counted}))


if __name__ == "__main__":
    main()
