#!/usr/bin/env python3
"""The tutorial's single-GPU job in Python: the peer that stage 1 is measured against.

It does what the tutorial's script does (torchvision's FashionMNIST with ToTensor,
a DataLoader of batch 64, the MLP, SGD lr 1e-3, 5 epochs, its printing) with the
same torch build as the C++ side, and reports its wall time, final accuracy and
the last epoch's training samples/s as one JSON line at the end.

    /usr/bin/python3 benchmarks/tutorial_job.py --data-dir /usr/share/datasets/fashion-mnist

With --ddp it is the peer of stage 3 instead: started by torchrun (which sets
RANK, WORLD_SIZE, LOCAL_RANK), each rank trains PyTorch's own
DistributedDataParallel on its DistributedSampler shard (set_epoch every epoch)
with batch 64 / world size, on cuda:LOCAL_RANK with NCCL or on the CPU with Gloo
and, by default, cores / local world size threads, as stage 3 does. Only rank 0
prints; the test accuracy is that of the whole test set, summed over ranks.

    torchrun --nproc_per_node 2 --redirects 1 --tee 1 benchmarks/tutorial_job.py --ddp

(Debian's torch 1.13 on Python 3.11 needs torchrun's --redirects 1 --tee 1; rank 0's
lines then start with "[default0]:".)

With --ddp --ddp-timing PyTorch's reducer times every iteration
(_set_ddp_runtime_logging_sample_rate(1); by default only the first 10 and then
one in 100) and rank 0's JSON line adds its averages from _get_ddp_logging_data():
backward compute, backward communication (first bucket's launch to the end of
the final wait), their overlap, the share hidden and the exposed rest, in ms,
and its bucket sizes.

samples_per_second is measured as stage 1 and 3 measure it (Trainer::train_epoch):
the samples rank 0 trained in the last epoch over the time of its training loop
alone (evaluation, start-up and data preparation left out), times the world size.
"""
import argparse
import gzip
import json
import os
import shutil
import tempfile
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from torchvision import datasets
from torchvision.transforms import ToTensor

QUIET = False  # True on ranks other than 0: only rank 0 prints


def log(*args, **kwargs):
    if not QUIET:
        print(*args, **kwargs)


FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def torchvision_layout(data_dir, root):
    """torchvision reads root/FashionMNIST/raw/<file> uncompressed; nothing is downloaded."""
    raw = os.path.join(root, "FashionMNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    for name in FILES:
        source = os.path.join(data_dir, name)
        if os.path.exists(source):
            shutil.copyfile(source, os.path.join(raw, name))
        else:
            with gzip.open(source + ".gz") as f_in, open(os.path.join(raw, name), "wb") as f_out:
                shutil.copyfileobj(f_in, f_out)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(),
            nn.Linear(512, 512), nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def train(dataloader, model, loss_fn, optimizer, device, max_steps, steps_done, world_size=1):
    """One epoch (or up to max_steps); returns the steps done so far, and this epoch's
    samples and seconds of training, timed as the C++ Trainer::train_epoch times them."""
    start = time.perf_counter()
    size = len(dataloader.dataset)
    model.train()
    samples = 0
    for batch, (X, y) in enumerate(dataloader):
        if max_steps and steps_done >= max_steps:
            break
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps_done += 1
        samples += len(y)
        if batch % 100 == 0:
            loss, current = loss.item(), min(batch * len(X) * world_size, size)
            log(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)  # the epoch's kernels are part of its time
    return steps_done, samples, time.perf_counter() - start


def test(dataloader, model, loss_fn, device, distributed=False):
    """The tutorial's test loss (mean of the batch losses) and accuracy; under DDP each
    rank has a shard of the test set and the sums are added up over ranks first."""
    model.eval()
    test_loss, correct, num_batches, size = 0, 0, 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
            num_batches += 1
            size += len(y)
    if distributed:
        sums = torch.tensor([test_loss, correct, num_batches, size], dtype=torch.float64,
                            device=device)
        dist.all_reduce(sums)
        test_loss, correct, num_batches, size = sums.tolist()
    test_loss /= num_batches
    correct /= size
    log(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct, test_loss


def ddp_timing(model):
    """PyTorch's reducer's averages over the iterations it timed (nanoseconds, as ms)."""
    data = model._get_ddp_logging_data()
    compute = data.get("avg_backward_compute_time", 0) / 1e6
    comm = data.get("avg_backward_comm_time", 0) / 1e6
    overlap = data.get("avg_backward_compute_comm_overlap_time", 0) / 1e6
    return {"ddp_backward_compute_ms": round(compute, 4), "ddp_backward_comm_ms": round(comm, 4),
            "ddp_overlap_ms": round(overlap, 4),
            "ddp_overlap_share": round(overlap / comm, 4) if comm > 0 else None,
            "ddp_exposed_ms": round(comm - overlap, 4),
            "ddp_bucket_sizes": data.get("rebuilt_bucket_sizes") or data.get("bucket_sizes", "")}


def launch_env(parser):
    """Rank, world size, local rank and local world size from torchrun's environment."""
    missing = [name for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                 "MASTER_PORT") if name not in os.environ]
    if missing:
        parser.error(f"--ddp: {', '.join(missing)} not set; start it with torchrun "
                     "--nproc_per_node N ... tutorial_job.py --ddp")
    world_size = int(os.environ["WORLD_SIZE"])
    return (int(os.environ["RANK"]), world_size, int(os.environ["LOCAL_RANK"]),
            int(os.environ.get("LOCAL_WORLD_SIZE", world_size)))


def main():
    global QUIET
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64,
                        help="the global batch: with --ddp each rank takes batch / world size")
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads (default: the cores, divided by the local world "
                             "size with --ddp, as stage 3 does; overrides torchrun's "
                             "OMP_NUM_THREADS=1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--ddp", action="store_true",
                        help="one rank of DistributedDataParallel, started by torchrun")
    parser.add_argument("--ddp-timing", action="store_true",
                        help="with --ddp: PyTorch's reducer times every iteration; the "
                             "result adds its backward compute, communication and overlap")
    args = parser.parse_args()
    if args.ddp_timing and not args.ddp:
        parser.error("--ddp-timing needs --ddp")

    start = time.perf_counter()
    rank, world_size, local_rank, local_world_size = 0, 1, 0, 1
    device, backend = args.device, None
    if args.ddp:
        rank, world_size, local_rank, local_world_size = launch_env(parser)
        QUIET = rank != 0
        if torch.device(device).type == "cuda":
            device = f"cuda:{local_rank}"  # one GPU per rank
            torch.cuda.set_device(device)
        backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
        dist.init_process_group(backend)
    threads = args.threads or max(1, (os.cpu_count() or 1) // local_world_size)
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    batch_size = max(1, args.batch_size // world_size)
    root = tempfile.mkdtemp(prefix="tutorial_job_")
    try:
        torchvision_layout(args.data_dir, root)
        training_data = datasets.FashionMNIST(root=root, train=True, download=False,
                                              transform=ToTensor())
        test_data = datasets.FashionMNIST(root=root, train=False, download=False,
                                          transform=ToTensor())
        sampler = None
        if args.ddp:
            sampler = DistributedSampler(training_data, num_replicas=world_size, rank=rank,
                                         shuffle=True, seed=args.seed)
            # Each rank a shard of the test set, none padded, so every image counts once.
            test_data = Subset(test_data, range(rank, len(test_data), world_size))
        train_dataloader = DataLoader(training_data, batch_size=batch_size, sampler=sampler)
        test_dataloader = DataLoader(test_data, batch_size=batch_size)
        log(f"Using {device} device")
        model = NeuralNetwork().to(device)
        if args.ddp:
            log(f"world size {world_size} (torchrun, backend {backend}), "
                f"batch per rank {batch_size}")
            model = DistributedDataParallel(
                model, device_ids=[local_rank] if torch.device(device).type == "cuda" else None)
            if args.ddp_timing:
                model._set_ddp_runtime_logging_sample_rate(1)  # time every iteration
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        steps, accuracy, test_loss, samples, train_seconds = 0, 0.0, 0.0, 0, 0.0
        for t in range(args.epochs):
            log(f"Epoch {t+1}\n-------------------------------")
            if sampler is not None:
                sampler.set_epoch(t)  # a new shuffle every epoch, the same on every rank
            steps, samples, train_seconds = train(train_dataloader, model, loss_fn, optimizer,
                                                  device, args.max_steps, steps, world_size)
            accuracy, test_loss = test(test_dataloader, model, loss_fn, device, args.ddp)
        log("Done!")
        timing = ddp_timing(model) if args.ddp_timing else {}
    finally:
        shutil.rmtree(root)
        if args.ddp and dist.is_initialized():
            dist.destroy_process_group()
    result = {"program": "python", "torch": torch.__version__, "threads": threads,
              "steps": steps, "accuracy": accuracy, "test_loss": test_loss,
              "seconds": round(time.perf_counter() - start, 2),
              # the last epoch's, all ranks: rank 0's rate times the world size, as stage 3
              "train_seconds": round(train_seconds, 3),
              "samples_per_second": round(samples / train_seconds * world_size, 1)
              if train_seconds > 0 else 0.0}
    if args.ddp:
        result.update({"ddp": True, "world_size": world_size, "backend": backend,
                       "batch_per_rank": batch_size, **timing})
    log(json.dumps(result))


if __name__ == "__main__":
    main()
