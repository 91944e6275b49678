#!/usr/bin/python3
"""tools/bench/torch_accuracy.py: PyTorch's accuracy on probador's baseline recipe.

Trains one of the benchmark models (tools/bench/torch_peer.py's definitions,
layer for layer models/tables.c's) in PyTorch with the recipe of
experiments/cnn_adam.yaml and experiments/resnet20_adam.yaml, so that their reports can set
probador's test accuracy beside PyTorch's measured on the same recipe instead of
quoting a figure:

- the Fashion-MNIST files of Debian's dataset-fashion-mnist; intensities
  normalised as data/augment.c does ((x/255 - 0.2860)/0.3530); the last
  --validation-images of a seeded permutation of the training set held out;
- every training image warped by a random rotation (±10°), shift (±2 px),
  scale ([0.9, 1.1]) and horizontal flip (p 0.5) about the image centre,
  sampling the nearest source pixel, background 0: data/augment.c's
  warp_nearest, written for a batch;
- Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8, no weight decay), batch 128, the
  last batch of an epoch partial, a cosine schedule over every step to 0;
- PyTorch's default initialisation (uniform ±1/sqrt(fan-in), what cnn_adam.yaml's
  conv_init: uniform copies) for the cnn, He-normal convolutions for resnet20
  (probador's default, which resnet20_adam.yaml keeps); batch norm's momentum 0.1
  and eps 1e-5, as probador's.

What differs, and cannot be made equal: the random numbers (PyTorch's
generator, not probador's counter-based streams) and therefore the validation
split, the order of the batches and every augmentation; and the arithmetic
(PyTorch's oneDNN kernels against probador's Winograd).  So the two agree in
distribution, not in bits: a seed of each is one draw from its run-to-run
spread.

Writes OUT/epochs.csv (epoch, train and validation loss and accuracy, learning
rate, as probador's), OUT/result.csv (one row: the test accuracy and loss, the
images and the time) and OUT/environment.txt, into OUT.partial first and
renamed into place at the end, so that an interrupted run leaves no results.
Exit status 1 on an error (a message on stderr), 2 for a bad command line, 3
when torch cannot be imported.
"""
import argparse
import gzip
import math
import os
import platform
import shutil
import struct
import subprocess
import sys
import time

ME = "tools/bench/torch_accuracy.py"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    from torch import nn
    from torch_peer import MODELS
except ImportError as e:
    print(f"{ME}: error: cannot import torch ({e}); this script needs Debian's python3-torch: run `make deps`",
          file=sys.stderr)
    sys.exit(3)

MEAN, STD = 0.2860, 0.3530  # data/augment.h's AUG_MEAN, AUG_STD
SIDE = 28


def read_idx(path, magic):
    """An IDX file (gzip): its data as a uint8 tensor of the shape it declares."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SystemExit(f"{path}: error: cannot read it ({e}); install Debian's dataset-fashion-mnist "
                         "(`make deps`) or pass --data")
    if len(data) < 8 or struct.unpack(">I", data[:4])[0] != magic:
        raise SystemExit(f"{path}: error: not an IDX file of the expected type (magic {magic:#x})")
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    body = data[4 + 4 * dims:]
    if len(body) != math.prod(shape):
        raise SystemExit(f"{path}: error: {len(body)} bytes of data, its header declares {math.prod(shape)}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(shape)


def load(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"), 0x803)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"), 0x801)
    return images, labels.long()


def normalise(images):
    return ((images.float() / 255.0) - MEAN) / STD


def warp_nearest(images, rotation, shift, scale, flip, gen):
    """data/augment.c's warp_nearest on a batch of intensities [B, 28, 28]."""
    b = images.shape[0]
    u = lambda: torch.rand(b, generator=gen)
    angle = rotation * (2 * u() - 1) * (math.pi / 180.0)
    dx, dy = shift * (2 * u() - 1), shift * (2 * u() - 1)
    sc = scale[0] + (scale[1] - scale[0]) * u()
    f = torch.where(u() < flip, -1.0, 1.0)
    c, s, inv = torch.cos(angle), torch.sin(angle), 1.0 / sc
    a00, a01, a10, a11 = inv * c * f, inv * s, -inv * s * f, inv * c
    centre = 0.5 * (SIDE - 1)
    grid = torch.arange(SIDE, dtype=torch.float32) - centre
    uu = grid.view(1, 1, SIDE) - dx.view(b, 1, 1)  # [B, 1, x]
    vv = grid.view(1, SIDE, 1) - dy.view(b, 1, 1)  # [B, y, 1]
    sx = torch.floor(a00.view(b, 1, 1) * uu + a01.view(b, 1, 1) * vv + centre + 0.5)
    sy = torch.floor(a10.view(b, 1, 1) * uu + a11.view(b, 1, 1) * vv + centre + 0.5)
    inside = (sx >= 0) & (sx < SIDE) & (sy >= 0) & (sy < SIDE)
    idx = (sy.clamp(0, SIDE - 1) * SIDE + sx.clamp(0, SIDE - 1)).long().view(b, -1)
    out = torch.gather(images.view(b, -1), 1, idx).view(b, SIDE, SIDE)
    return torch.where(inside, out, torch.zeros(()))


def evaluate(net, images, labels, batch=500):
    net.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            x = normalise(images[i:i + batch]).unsqueeze(1)
            out = net(x)
            loss += nn.functional.cross_entropy(out, labels[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == labels[i:i + batch]).sum().item()
    net.train()
    return loss / len(labels), correct / len(labels)


def initialise(net, model):
    """He-normal convolutions for resnet20 (probador's default); the cnn keeps PyTorch's own."""
    if model == "resnet20":
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def parse():
    p = argparse.ArgumentParser(description="Train a benchmark model in PyTorch on probador's baseline recipe.")
    p.add_argument("--model", choices=sorted(MODELS), required=True)
    p.add_argument("--out", required=True, help="the run folder to write (OUT.partial until it finishes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--validation-images", type=int, default=1000)
    p.add_argument("--train-images", type=int, default=0, help="0: every image not held out")
    p.add_argument("--test-images", type=int, default=0, help="0: all 10,000")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    if args.epochs < 1 or args.threads < 1 or args.batch < 1 or args.validation_images < 0 or \
            args.train_images < 0 or args.test_images < 0:
        p.error("--epochs, --threads and --batch must be at least 1, the image counts at least 0")
    return args


def main():
    args = parse()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    train_x, train_y = load(args.data, "train")
    test_x, test_y = load(args.data, "t10k")
    order = torch.randperm(len(train_y), generator=gen)
    val_idx, train_idx = order[len(order) - args.validation_images:], order[:len(order) - args.validation_images]
    if args.train_images:
        train_idx = train_idx[:args.train_images]
    if args.test_images:
        test_x, test_y = test_x[:args.test_images], test_y[:args.test_images]
    val_x, val_y = train_x[val_idx], train_y[val_idx]
    train_x, train_y = train_x[train_idx].float(), train_y[train_idx]

    net = MODELS[args.model]()
    initialise(net, args.model)
    opt = torch.optim.Adam(net.parameters(), lr=args.learning_rate)
    steps_per_epoch = (len(train_y) + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * step / total)))

    partial = args.out + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    rows = ["epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate"]
    start = time.monotonic()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(train_y), generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        lr = sched.get_last_lr()[0]
        for b in range(steps_per_epoch):
            idx = perm[b * args.batch:(b + 1) * args.batch]
            # warped as intensities, then normalised (the background 0 too), as data/augment.c does
            x = normalise(warp_nearest(train_x[idx], 10.0, 2.0, (0.9, 1.1), 0.5, gen)).unsqueeze(1)
            y = train_y[idx]
            out = net(x)
            loss = nn.functional.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            seen += len(y)
        val_loss, val_acc = evaluate(net, val_x, val_y) if len(val_y) else (float("nan"), float("nan"))
        rows.append(f"{epoch + 1},{loss_sum / seen:.6f},{correct / seen:.6f},{val_loss:.6f},{val_acc:.6f},{lr:.8g}")
        print(f"{ME}: {args.model} epoch {epoch + 1}/{args.epochs}: train loss {loss_sum / seen:.4f}, "
              f"val acc {val_acc:.4f}, {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    seconds = time.monotonic() - start
    test_loss, test_acc = evaluate(net, test_x, test_y)
    params = sum(p.numel() for p in net.parameters())
    with open(os.path.join(partial, "epochs.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(partial, "result.csv"), "w") as f:
        f.write("model,seed,epochs,train_images,test_images,test_accuracy,test_loss,train_seconds,parameters\n")
        f.write(f"{args.model},{args.seed},{args.epochs},{len(train_y)},{len(test_y)},{test_acc:.6f},"
                f"{test_loss:.6f},{seconds:.1f},{params}\n")
    with open(os.path.join(partial, "environment.txt"), "w") as f:
        f.write(f"script: {ME}\ncommit: {commit()}\npytorch: {torch.__version__}\nthreads: {args.threads}\n"
                f"cpu: {cpu_model()}\ncommand: {' '.join(sys.argv)}\n")
    shutil.rmtree(args.out, ignore_errors=True)
    os.rename(partial, args.out)
    print(f"{ME}: {args.model} seed {args.seed}: test accuracy {test_acc:.4f} ({len(test_y)} images), "
          f"{seconds:.0f} s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
