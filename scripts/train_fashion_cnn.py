#!/usr/bin/python3
"""Trains the small Fashion-MNIST CNN used as Tern's quantization accuracy fixture and exports it
to ONNX (tests/models/fashion_cnn/fashion_cnn.onnx).

Run with Debian's python (apt: python3-torch, dataset-fashion-mnist):
    /usr/bin/python3 scripts/train_fashion_cnn.py [--epochs 5] [--out PATH]

The model takes float32 [N,1,28,28] pixels scaled to [0,1] (raw bytes / 255, no other
normalisation, so `tern eval --fashion-mnist` needs no preprocessing knowledge) and returns
[N,10] logits. Training is seeded and single-process, so reruns give the same weights on the
same torch build.
"""
import argparse
import gzip
import os
import struct

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, 1, rows, cols)
    if magic == 2049:
        return np.frombuffer(data, np.uint8, offset=8)
    raise ValueError(f"{path}: not an idx file (magic {magic})")


class FashionCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def accuracy(model, images, labels):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            logits = model(images[i:i + 1000])
            correct += (logits.argmax(1) == labels[i:i + 1000]).sum().item()
    return correct / len(images)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--out", default=os.path.join(root, "tests/models/fashion_cnn/fashion_cnn.onnx"))
    args = ap.parse_args()

    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(2)
    to_tensor = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0)
    train_x = to_tensor(read_idx(f"{args.data}/train-images-idx3-ubyte.gz"))
    train_y = torch.from_numpy(read_idx(f"{args.data}/train-labels-idx1-ubyte.gz").astype(np.int64))
    test_x = to_tensor(read_idx(f"{args.data}/t10k-images-idx3-ubyte.gz"))
    test_y = torch.from_numpy(read_idx(f"{args.data}/t10k-labels-idx1-ubyte.gz").astype(np.int64))

    model = FashionCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(train_x))
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = loss_fn(model(train_x[idx]), train_y[idx])
            loss.backward()
            opt.step()
        sched.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f} test accuracy "
              f"{100 * accuracy(model, test_x, test_y):.2f}%", flush=True)

    model.eval()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), args.out, opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    print(f"wrote {args.out} (float test accuracy {100 * accuracy(model, test_x, test_y):.2f}%)")


if __name__ == "__main__":
    main()
