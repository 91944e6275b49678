#!/usr/bin/python3
"""tools/bench/torch_peer.py: the PyTorch peer of `probador bench --train`.

Times, in PyTorch, what bench --train times in probador: a training step
(forward, cross-entropy, backward, an Adam step at lr 1e-3, zero_grad) and
inference (the forward pass in eval mode under torch.no_grad()) of one of the
benchmark models, on a batch of random 1x28x28 images and labels, at each
thread count asked for (intra-op threads; one inter-op thread).  Warm-up steps,
then --reps timed steps; the median, least and greatest wall time.  Like
probador's rows, each row first waits (up to --quiet-wait seconds) for the
other processes to leave the cores alone, is timed again (twice at most) if
they did not, and records their load meanwhile (other_cores, the last column).

bench --train runs this in the same run as its own rows and appends what it
prints to its CSV.  Output on stdout: first "# pytorch: ..." (the version and
its threading, for the CSV's sidecar), then one CSV row per (phase, threads)
in bench --train's columns, kernel `pytorch`.  An error goes to stderr with
exit status 1 (2 for a bad command line, 3 when torch cannot be imported).

The networks are models/tables.c's, layer for layer; --params is probador's
parameter count of the same model, which must match (a check that the two
define the same network).
"""
import argparse
import ctypes
import ctypes.util
import os
import statistics
import sys
import time

ME = "tools/bench/torch_peer.py"

try:
    import torch
    from torch import nn
except ImportError as e:
    print(f"{ME}: error: cannot import torch ({e}); the PyTorch peer needs Debian's python3-torch: "
          "run `make deps` (or pass --peers none to bench --train)", file=sys.stderr)
    sys.exit(3)


def conv_bn(cin, cout, size=3, stride=1):
    """A convolution without bias, as probador's, and its batch norm."""
    return [nn.Conv2d(cin, cout, size, stride=stride, padding=size // 2, bias=False), nn.BatchNorm2d(cout)]


def cnn(dropout=0.5, classes=10):
    """models/tables.c, model_table_cnn."""
    return nn.Sequential(
        *conv_bn(1, 32), nn.ReLU(), *conv_bn(32, 32), nn.ReLU(), nn.MaxPool2d(2),
        *conv_bn(32, 64), nn.ReLU(), *conv_bn(64, 64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Dropout(dropout), nn.Linear(256, classes))


class BasicBlock(nn.Module):
    """conv3x3 BN ReLU conv3x3 BN, + shortcut (a 1x1 stride-2 conv + BN when
    the block downsamples), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.main = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout))
        self.shortcut = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 else nn.Identity()

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


def resnet(blocks=3, width=16, classes=10):
    """models/tables.c, model_table_resnet: resnet20 at blocks 3, width 16."""
    layers = [*conv_bn(1, width), nn.ReLU()]
    cin = width
    for stage in range(3):
        cout = width << stage
        for b in range(blocks):
            layers.append(BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


MODELS = {"cnn": cnn, "resnet20": resnet}


def keep_freed_memory():
    """PyTorch allocates each step's activations and gradients afresh.  glibc's
    malloc serves blocks above its mmap threshold (128 KiB to 32 MiB, adapting)
    with mmap and gives them back with munmap, so every step faults its tensors'
    pages in again: measured on the 2-core AMD EPYC, a third of the process's time
    went to the kernel and the resnet20 step took 230-340 ms instead of 126, varying
    from run to run.  Serving every block from the heap and never trimming it, as
    the allocators PyTorch recommends (jemalloc, tcmalloc) do in effect, measures
    PyTorch at its best.  Returns what the CSV's sidecar records."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    # 32 MiB is the largest mmap threshold glibc accepts on 64-bit machines; the
    # largest tensor of these models at batch 128 is 12.8 MB
    if libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1 or libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) != 1:
        return "glibc malloc defaults (mallopt refused)"
    return "glibc malloc without mmap or trimming below 32 MiB"


def load_mark():
    """Where the counters stand: wall time, this process's CPU time, and the
    machine's busy and steal seconds from /proc/stat (None without it); as
    models/train/machine_load.c reads them."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
        busy, steal = (v[0] + v[1] + v[2] + v[5] + v[6]) / hz, v[7] / hz
    except (OSError, ValueError, IndexError):
        busy = steal = None
    return time.monotonic(), time.process_time(), busy, steal


def other_cores(since):
    """The other processes' CPU time over the wall time since `since` (NaN when
    unknown): machine_load.h's other_cores."""
    now = load_mark()
    wall = now[0] - since[0]
    if since[2] is None or now[2] is None or wall <= 0:
        return float("nan")
    return max(0.0, (now[2] - since[2]) - (now[1] - since[1]) + (now[3] - since[3])) / wall


def wait_quiet(patience):
    """Sleeps through 0.2 s windows until one has at most LOAD_QUIET (0.1)
    cores of other work, or `patience` seconds have gone by."""
    give_up = time.monotonic() + patience
    while True:
        mark = load_mark()
        time.sleep(0.2)
        if not other_cores(mark) > 0.1 or time.monotonic() >= give_up:
            return


def timed(step, warmup, reps):
    """Wall-clock milliseconds of each of reps calls of step after warmup
    untimed ones, and the process CPU milliseconds of all of them."""
    for _ in range(warmup):
        step()
    wall = []
    cpu0 = time.process_time()
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        wall.append((time.perf_counter() - t0) * 1e3)
    return wall, (time.process_time() - cpu0) * 1e3


def timed_quietly(step, args):
    """timed() after a wait for a quiet machine, and again (twice at most) while
    other work shared the cores (more than LOAD_CONTAMINATED, 0.25 cores): the
    least contaminated attempt, with its other_cores."""
    best = None
    for _ in range(3):
        if args.quiet_wait > 0:
            wait_quiet(args.quiet_wait)
        mark = load_mark()
        wall, cpu_ms = timed(step, args.warmup, args.reps)
        other = other_cores(mark)
        if best is None or other < best[2]:
            best = (wall, cpu_ms, other)
        if not best[2] > 0.25 or args.quiet_wait <= 0:
            break
    return best


def row(args, phase, threads, wall, cpu_ms, other):
    """One CSV row in bench --train's columns (and a line on stderr, as
    probador's rows have); a training step counts three forward passes of
    arithmetic, as probador's rows do."""
    med = statistics.median(wall)
    ips = args.batch / (med * 1e-3)
    print(f"bench --train: {args.model:<9} pytorch      {phase} threads {threads}: {med:8.2f} ms/step  "
          f"{ips:7.1f} images/s", file=sys.stderr)
    passes = 3 if phase == "train" else 1
    gflops = passes * args.mflop_per_image * 1e6 * args.batch / (med * 1e6)
    return (f"{args.model}/pytorch/{phase}/threads:{threads},{args.reps},{med:.3f},{cpu_ms / args.reps:.3f},ms,"
            f"{args.model},pytorch,{phase},{threads},{args.batch},{med:.3f},{min(wall):.3f},{max(wall):.3f},"
            f"{ips:.1f},{args.mflop_per_image:.2f},{gflops:.1f},{other:.2f}")


def measure(args, net, threads):
    """The training-step row and the inference row at one thread count."""
    torch.set_num_threads(threads)
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)   # probador overwrites its gradients: no zeroing pass either

    def infer_step():
        with torch.no_grad():
            net(x)

    net.train()
    rows = [row(args, "train", threads, *timed_quietly(train_step, args))]
    net.eval()
    rows.append(row(args, "infer", threads, *timed_quietly(infer_step, args)))
    return rows


def thread_list(text):
    counts = [int(t) for t in text.split(",")]
    if any(t < 1 or t > 64 for t in counts):
        raise ValueError(text)
    return counts


def parse():
    p = argparse.ArgumentParser(prog=ME, description="Time PyTorch on a benchmark model (bench --train's peer).")
    p.add_argument("--model", required=True, choices=sorted(MODELS))
    p.add_argument("--threads", required=True, type=thread_list, help="comma-separated thread counts")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reps", type=int, default=10, help="timed steps per row")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--mflop-per-image", type=float, required=True, help="probador's count, for the gflops column")
    p.add_argument("--params", type=int, help="probador's parameter count of the model, checked")
    p.add_argument("--quiet-wait", type=float, default=10.0,
                   help="seconds to wait for a quiet machine before a row (0: never), as bench --train's")
    args = p.parse_args()
    if args.batch < 1 or args.reps < 1 or args.warmup < 0:
        p.error("--batch and --reps must be at least 1, --warmup at least 0")
    return args


def main():
    args = parse()
    allocator = keep_freed_memory()
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    net = MODELS[args.model]()
    params = sum(p.numel() for p in net.parameters())
    if args.params is not None and params != args.params:
        print(f"{ME}: error: PyTorch's {args.model} has {params} parameters, probador's {args.params}: the two "
              "define different networks; make this script's match models/tables.c", file=sys.stderr)
        return 1
    print(f"# pytorch: {torch.__version__} ({torch.__config__.parallel_info().splitlines()[-1].strip()}, "
          f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}, {allocator})", flush=True)
    for threads in args.threads:
        for r in measure(args, net, threads):
            print(r, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
