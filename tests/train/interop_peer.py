#!/usr/bin/env python3
"""The Python side of the interoperability tests (tests/train/test_interop.cpp).

    interop_peer.py load MODEL PATH     load a C++-saved model.pth into the Python module
    interop_peer.py checkpoint MODEL PATH   load the model of a C++ checkpoint (step-N.pt)
    interop_peer.py save MODEL PATH     save a seeded Python module's state dict (as a dict)
    interop_peer.py save-ordered MODEL PATH   the same as model.state_dict() (an OrderedDict)

MODEL is mlp (the tutorial's NeuralNetwork) or resnet20 (benchmarks/train_throughput.py).
Each prints the module's eval-mode outputs on a fixed input as one JSON list.
Files are read with torch.load(path, weights_only=True), the default since
torch 2.6, which refuses files that name globals other than tensors' own.
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "benchmarks"))
from train_throughput import ResNetCifar  # noqa: E402


class NeuralNetwork(nn.Module):
    """The tutorial's model, names and all."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def make(name):
    if name == "mlp":
        return NeuralNetwork(), (1, 28, 28)
    return ResNetCifar(20, 10), (3, 32, 32)


def main():
    command, name, path = sys.argv[1:4]
    torch.manual_seed(7)
    model, shape = make(name)
    if command == "load":
        model.load_state_dict(torch.load(path, weights_only=True))
    elif command == "checkpoint":
        checkpoint = torch.load(path, weights_only=True)
        model.load_state_dict(checkpoint["model"])
    else:
        model.train()
        model(torch.rand(8, *shape))  # moves BatchNorm's running statistics
        state = model.state_dict()
        torch.save(state if command == "save-ordered" else dict(state), path)
    model.eval()
    numel = 2 * shape[0] * shape[1] * shape[2]
    with torch.no_grad():
        outputs = model(torch.linspace(-1, 1, numel).view(2, *shape))
    print(json.dumps(outputs.flatten().tolist()))


if __name__ == "__main__":
    main()
