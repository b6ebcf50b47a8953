#!/usr/bin/env python3
"""The tutorial's single-GPU job in Python: the peer that stage 1 is measured against.

It does what the tutorial's script does (torchvision's FashionMNIST with ToTensor,
a DataLoader of batch 64, the MLP, SGD lr 1e-3, 5 epochs, its printing) with the
same torch build as the C++ side, and reports its wall time and final accuracy
as one JSON line at the end.

    /usr/bin/python3 benchmarks/tutorial_job.py --data-dir /usr/share/datasets/fashion-mnist
"""
import argparse
import gzip
import json
import os
import shutil
import tempfile
import time

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import ToTensor

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


def train(dataloader, model, loss_fn, optimizer, device, max_steps, steps_done):
    size = len(dataloader.dataset)
    model.train()
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
        if batch % 100 == 0:
            loss, current = loss.item(), batch * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")
    return steps_done


def test(dataloader, model, loss_fn, device):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct, test_loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    root = tempfile.mkdtemp(prefix="tutorial_job_")
    try:
        torchvision_layout(args.data_dir, root)
        training_data = datasets.FashionMNIST(root=root, train=True, download=False,
                                              transform=ToTensor())
        test_data = datasets.FashionMNIST(root=root, train=False, download=False,
                                          transform=ToTensor())
        train_dataloader = DataLoader(training_data, batch_size=args.batch_size)
        test_dataloader = DataLoader(test_data, batch_size=args.batch_size)
        print(f"Using {args.device} device")
        model = NeuralNetwork().to(args.device)
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        steps, accuracy, test_loss = 0, 0.0, 0.0
        for t in range(args.epochs):
            print(f"Epoch {t+1}\n-------------------------------")
            steps = train(train_dataloader, model, loss_fn, optimizer, args.device,
                          args.max_steps, steps)
            accuracy, test_loss = test(test_dataloader, model, loss_fn, args.device)
        print("Done!")
    finally:
        shutil.rmtree(root)
    print(json.dumps({"program": "python", "torch": torch.__version__, "threads": args.threads,
                      "steps": steps, "accuracy": accuracy, "test_loss": test_loss,
                      "seconds": round(time.perf_counter() - start, 2)}))


if __name__ == "__main__":
    main()
