#!/usr/bin/python3
"""PyTorch's side of descent's step-for-step test (tests/test_torch_ref.c).

Writes one text file of reference runs: small data sets, then cases. Each
case names a network, a data set, a loss, an optimizer and its
hyper-parameters, the initial parameters, and the parameters PyTorch reaches
after 50 updates from them. The C test trains descent from the same start
through its public API and compares every parameter.

The minibatches are the ones descent's own training loop draws: its PCG32
stream (src/base/rng.c, stream 2 of the run's seed) shuffles the row order
as src/train/train.c does, and this script replays that shuffle, so the
test runs descent's real loop rather than a special no-shuffle mode.

Run with Debian's python3-torch:
    /usr/bin/python3 tests/torch/gen_reference.py tests/torch/reference.txt
Everything here is deterministic (fixed seeds, one thread): the same torch
build writes the same file.
"""
import importlib
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

UPDATES = 50
MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# descent's random stream and minibatch order
# ---------------------------------------------------------------------------

class Pcg32:
    """PCG32 (XSH RR), seeded as dsc_rng_seed(seed, stream) seeds it."""

    def __init__(self, seed, stream):
        self.state = 0
        self.inc = ((stream << 1) | 1) & MASK64
        self.u32()
        self.state = (self.state + seed) & MASK64
        self.u32()

    def u32(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & MASK64
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((-rot) & 31))) & 0xFFFFFFFF

    def below(self, n):
        # dsc_rng_below: rejects the low values that would bias the modulo.
        threshold = ((1 << 32) - n) % n
        while True:
            x = self.u32()
            if x >= threshold:
                return x % n

    def shuffle(self, idx):
        # dsc_rng_shuffle: Fisher-Yates from the end.
        for i in range(len(idx), 1, -1):
            j = self.below(i)
            idx[i - 1], idx[j] = idx[j], idx[i - 1]


def batches(n, batch, epochs, seed):
    """The row indices of each update, as dsc_train draws them.

    batch 0 (or >= n): every row in file order, no shuffle (full batch).
    epochs > 0: each epoch reshuffles the running order, then cuts it into
    batches; the last one may be short. epochs 0 with a batch < n: the seed's
    SGD, a reshuffle whenever fewer than `batch` rows are left (they are
    skipped)."""
    if batch == 0 or batch >= n:
        while True:
            yield list(range(n))
    rng = Pcg32(seed, 2)
    order = list(range(n))
    if epochs > 0:
        while True:
            rng.shuffle(order)
            for start in range(0, n, batch):
                yield order[start:start + batch]
    pos = n
    while True:
        if pos + batch > n:
            rng.shuffle(order)
            pos = 0
        yield order[pos:pos + batch]
        pos += batch


# ---------------------------------------------------------------------------
# Data sets (float32, written with 9 significant digits: exact round trip)
# ---------------------------------------------------------------------------

def make_data():
    r = np.random.default_rng(20240611)
    n = 21  # odd, see below
    x = r.uniform(-2.0, 2.0, size=(n, 3)).astype(np.float32)
    data = {}
    # 21 rows: a loss whose gradient is a sign (mae) gives an output bias
    # the gradient (#positive - #negative residuals) / rows, which an even
    # count can make exactly 0; PyTorch's sum then leaves a rounding residue
    # (about 2e-9) where descent's is 0, and rprop steps on its sign. An
    # odd count of rows in a full batch rules such exact ties out.
    # Regression, two targets; residuals reach past 1 so huber uses both pieces.
    y = np.stack([np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2],
                  1.5 * np.tanh(x[:, 1] - x[:, 2]) + 0.3 * x[:, 0]], axis=1)
    y += r.normal(0.0, 0.1, size=y.shape)
    data["reg"] = (x, y.astype(np.float32))
    # Labels are flipped on a few rows, so that no small network separates
    # the classes in 50 updates: a loss driven to float rounding level has
    # gradients of pure rounding noise (see sensitivity below).
    flip = [2, 7, 11, 16]
    # Binary labels, one 0/1 target.
    b = ((x[:, 0] + x[:, 1] * x[:, 2] + r.normal(0.0, 0.3, size=n)) > 0).astype(np.float32)
    b[flip] = 1.0 - b[flip]
    data["bin"] = (x, b[:, None])
    # Soft binary targets in (0, 1), two columns (bce on probabilities).
    s = 1.0 / (1.0 + np.exp(-np.stack([x[:, 0] - x[:, 2], x[:, 1] * x[:, 2]], axis=1)))
    data["soft"] = (x, s.astype(np.float32))
    # Three classes, one-hot.
    score = np.stack([x[:, 0], x[:, 1] - 0.5 * x[:, 0], -x[:, 0] - x[:, 1] + 0.5 * x[:, 2]],
                     axis=1) + r.normal(0.0, 0.3, size=(n, 3))
    label = np.argmax(score, axis=1)
    label[flip] = (label[flip] + 1) % 3
    data["cls"] = (x, np.eye(3, dtype=np.float32)[label])
    data["line"] = line_data(4097)
    return data


def line_data(n):
    """A line with noise on 4097 rows, large enough for descent's fused
    linear op (4096 rows and more). Too long to list, so both sides compute
    it by this formula, one float32 operation at a time (the C test does the
    same and checks the file's checksum of the values)."""
    f = np.float32
    i = np.arange(n, dtype=np.int64)
    x = np.empty((n, 3), dtype=np.float32)
    for j in range(3):
        x[:, j] = ((i * 37 + j * 101 + 13) % 1000).astype(np.float32) / f(1000) - f(0.5)
    noise = (((i * 7919) % 201) - 100).astype(np.float32) / f(1000)
    y = f(1.5) * x[:, 0]
    y = y - f(2) * x[:, 1]
    y = y + f(0.5) * x[:, 2]
    y = y + f(0.25)
    y = y + noise
    return x, y[:, None].astype(np.float32)


def checksum(x, y):
    """The values in row order, inputs then targets, summed in double."""
    s = 0.0
    for i in range(x.shape[0]):
        for v in x[i]:
            s += float(v)
        for v in y[i]:
            s += float(v)
    return s


# ---------------------------------------------------------------------------
# The network, the loss and the optimizers, as a PyTorch user writes them
# ---------------------------------------------------------------------------

def parse_spec(spec):
    """"3 -> 4:tanh -> 2:identity" -> (inputs, [(units, act), ...])."""
    parts = [p.strip() for p in spec.split("->")]
    layers = []
    for p in parts[1:]:
        units, act = p.split(":")
        layers.append((int(units), act))
    return int(parts[0]), layers


def activate(act, z):
    if act == "identity":
        return z
    if act == "softplus":
        return F.softplus(z)
    if act == "relu":
        return F.relu(z)
    if act == "leaky_relu":
        return F.leaky_relu(z, 0.01)
    if act == "sigmoid":
        return torch.sigmoid(z)
    if act == "tanh":
        return torch.tanh(z)
    if act == "softmax":
        return F.softmax(z, dim=1)
    raise ValueError(act)


def forward(params, layers, x):
    """The output before and after the last activation."""
    h = x
    z = None
    for k, (units, act) in enumerate(layers):
        w, b = params[2 * k], params[2 * k + 1]
        z = F.linear(h, w, b)
        h = activate(act, z)
    return z, h


def loss_of(loss, out_act, z, p, y):
    """descent's loss definitions in PyTorch's terms. A sigmoid output with
    bce and a softmax output with ce are computed from the logits, as
    descent fuses them (BCEWithLogitsLoss, CrossEntropyLoss)."""
    if loss == "ssr":
        return F.mse_loss(p, y, reduction="sum")
    if loss == "mse":
        return F.mse_loss(p, y)
    if loss == "mae":
        return F.l1_loss(p, y)
    if loss == "huber":
        return F.huber_loss(p, y, delta=1.0)
    if loss == "bce":
        if out_act == "sigmoid":
            return F.binary_cross_entropy_with_logits(z, y)
        return F.binary_cross_entropy(p, y)
    if loss == "ce":
        if out_act == "softmax":
            return F.cross_entropy(z, y.argmax(dim=1))
        # On probabilities: -(1/rows) sum t ln p, each ln clamped at -100.
        return -(y * torch.log(p).clamp(min=-100.0)).sum() / p.shape[0]
    raise ValueError(loss)


def make_optimizer(case, params):
    o, lr, wd = case["optimizer"], case["lr"], case["weight_decay"]
    if o in ("gd", "sgd"):
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if o in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=case["momentum"],
                               nesterov=o == "nesterov", weight_decay=wd)
    if o == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=case["rms_alpha"], eps=case["eps"],
                                   weight_decay=wd)
    if o == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(case["beta1"], case["beta2"]),
                                eps=case["eps"], weight_decay=wd)
    if o == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(case["beta1"], case["beta2"]),
                                 eps=case["eps"], weight_decay=wd)
    if o == "rprop":
        assert wd == 0, "PyTorch's Rprop has no weight decay"
        return torch.optim.Rprop(params, lr=lr)
    if o == "lbfgs":
        # One call runs every iteration; max_eval high enough never to cut it.
        return torch.optim.LBFGS(params, lr=1.0, max_iter=case["max_iter"],
                                 max_eval=100 * case["max_iter"],
                                 history_size=case["lbfgs_history"],
                                 line_search_fn="strong_wolfe")
    raise ValueError(o)


def initial_params(spec, seed):
    """Weights uniform in +-sqrt(6 / (fan_in + fan_out)); biases small but
    not 0, so their updates show from the first step."""
    n_in, layers = parse_spec(spec)
    r = np.random.default_rng(seed)
    out = []
    fan_in = n_in
    for units, _ in layers:
        a = math.sqrt(6.0 / (fan_in + units))
        out.append(r.uniform(-a, a, size=(units, fan_in)).astype(np.float32))
        out.append(r.uniform(-0.1, 0.1, size=(units,)).astype(np.float32))
        fan_in = units
    return out


def run_case(case, data):
    torch.manual_seed(0)
    x_all, y_all = (torch.from_numpy(a) for a in data[case["data"]])
    _, layers = parse_spec(case["spec"])
    out_act = layers[-1][1]
    params = [torch.tensor(a, requires_grad=True) for a in case["init"]]
    opt = make_optimizer(case, params)
    n = x_all.shape[0]

    def closure_for(rows):
        xb, yb = x_all[rows], y_all[rows]

        def closure():
            opt.zero_grad()
            z, p = forward(params, layers, xb)
            loss = loss_of(case["loss"], out_act, z, p, yb)
            loss.backward()
            return loss
        return closure

    if case["optimizer"] == "lbfgs":
        # PyTorch stops early when the loss or the step stops changing (by
        # 1e-9): a non-smooth loss can get there. descent's torch style
        # stops by the same rules, so the count is part of the reference.
        # Its n_iter also counts an iteration that stopped before moving,
        # so the updates are counted as line searches.
        searches = [0]
        module = importlib.import_module("torch.optim.lbfgs")
        search = module._strong_wolfe

        def counted(*args, **kw):
            searches[0] += 1
            return search(*args, **kw)
        module._strong_wolfe = counted
        try:
            opt.step(closure_for(list(range(n))))
        finally:
            module._strong_wolfe = search
        updates = searches[0]
    else:
        updates = case["max_iter"]
        draw = batches(n, case["batch"], case["epochs"], case["seed"])
        for _ in range(updates):
            opt.step(closure_for(next(draw)))
    final = [p.detach().numpy().copy() for p in params]
    for a in final:
        assert np.all(np.isfinite(a)), case["name"] + ": diverged"
    return final, updates


def flat(arrays):
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def difference(a, b):
    """The test's measure: max |a - b| / max(|b|, 1e-2) (tests/test_torch_ref.c)."""
    a, b = flat(a), flat(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-2)))


def sensitivity(c, data, final, updates):
    """How far PyTorch's own result moves under rounding: the largest
    difference from `final` of the same run in float64, and of four float32
    runs whose every starting parameter is one float step away (up or down
    at random), as a program that rounds differently effectively starts.
    Where this is above the test's tolerance, agreeing to that tolerance
    would take PyTorch's exact rounding, not its definitions."""
    wide = {k: (x.astype(np.float64), y.astype(np.float64)) for k, (x, y) in data.items()}
    runs = [run_case(dict(c, init=[a.astype(np.float64) for a in c["init"]]), wide)]
    r = np.random.default_rng(7)
    for _ in range(4):
        init = [np.nextafter(a, np.where(r.random(a.shape) < 0.5, -np.inf, np.inf)
                             .astype(np.float32)) for a in c["init"]]
        runs.append(run_case(dict(c, init=init), data))
    spread = max(difference(r[0], final) for r in runs)
    # Whether the number of updates survives rounding too: an L-BFGS run
    # that ends on steps of 1e-6 whose decrease is f's last bit may make one
    # update more or fewer when its start moves by a float step.
    stable = all(r[1] == updates for r in runs)
    return spread, stable


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------

HIDDEN = ["tanh", "softplus", "relu", "leaky_relu", "sigmoid", "identity"]
OPTIMIZERS = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "rprop", "lbfgs"]
# Per-element learning rates that move every case well within 50 updates
# without leaving the region where both sides stay finite.
LR = {"gd": 0.05, "sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "rmsprop": 0.005,
      "adam": 0.01, "adamw": 0.01, "rprop": 0.01, "lbfgs": 1.0}
LOSSES = {
    "ssr": ("2:identity", "reg"),
    "mse": ("2:identity", "reg"),
    "mae": ("2:identity", "reg"),
    "huber": ("2:identity", "reg"),
    "bce": ("1:sigmoid", "bin"),
    "ce": ("3:softmax", "cls"),
}


def case(name, spec, data, loss, optimizer, **kw):
    c = {"name": name, "spec": spec, "data": data, "loss": loss, "optimizer": optimizer,
         "lr": LR[optimizer], "momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
         "rms_alpha": 0.99, "weight_decay": 0.0, "batch": 8, "epochs": 0, "seed": 7,
         "lbfgs_style": "descent", "lbfgs_history": 0, "max_iter": UPDATES}
    if optimizer in ("rprop", "lbfgs"):
        c["batch"] = 0  # full batch: descent runs these on all rows only
    if optimizer == "lbfgs":
        c["lbfgs_style"], c["lbfgs_history"] = "torch", 100
    if optimizer == "adamw":
        c["weight_decay"] = 0.1
    if loss == "ssr" and optimizer in ("gd", "sgd", "momentum", "nesterov"):
        c["lr"] /= 8  # a sum over a batch of 8: gradients 8 times a mean's
    c.update(kw)
    if c["batch"] and not c["epochs"] and kw.get("epochs") is None:
        c["epochs"] = -1  # filled in below: enough epochs for the updates
    return c


def all_cases():
    cases = []
    # Every optimizer with every loss, the hidden activation rotating so
    # each activation meets most optimizers.
    k = 0
    for loss, (out, data) in LOSSES.items():
        for opt in OPTIMIZERS:
            act = HIDDEN[k % len(HIDDEN)]
            k += 1
            if opt == "lbfgs":
                # L-BFGS on a network amplifies rounding: PyTorch's own run
                # moves by far more than 1e-4 when one starting weight moves
                # by one float step (see sensitivity). The linear model of
                # each loss is convex and well conditioned; networks below.
                cases.append(case("lbfgs-%s-linear" % loss, "3 -> %s" % out, data, loss, opt))
                continue
            cases.append(case("%s-%s-%s" % (opt, loss, act), "3 -> 4:%s -> %s" % (act, out),
                              data, loss, opt, seed=100 + k))
    # Every hidden activation with a plain and an adaptive optimizer.
    for act in HIDDEN:
        for opt in ("sgd", "adam"):
            cases.append(case("act-%s-%s" % (act, opt), "3 -> 5:%s -> 2:identity" % act,
                              "reg", "mse", opt, seed=200 + len(cases)))
    # Output activations other than identity, with the losses they serve.
    cases += [
        case("out-softplus", "3 -> 4:tanh -> 2:softplus", "reg", "mse", "adam"),
        case("out-relu", "3 -> 4:tanh -> 2:relu", "reg", "mse", "sgd"),
        case("out-leaky_relu", "3 -> 4:tanh -> 2:leaky_relu", "reg", "mse", "momentum"),
        case("out-tanh", "3 -> 4:relu -> 2:tanh", "reg", "huber", "adam"),
        case("out-sigmoid-mse", "3 -> 4:tanh -> 1:sigmoid", "bin", "mse", "sgd"),
        case("out-softmax-mse", "3 -> 4:tanh -> 3:softmax", "cls", "mse", "adam"),
        case("bce-probabilities", "3 -> 4:tanh -> 2:softmax", "soft", "bce", "adam"),
        case("bce-soft-sigmoid", "3 -> 4:tanh -> 2:sigmoid", "soft", "bce", "rmsprop"),
        case("ce-probabilities", "3 -> 4:tanh -> 3:sigmoid", "cls", "ce", "adam"),
    ]
    # Weight decay: L2 in the gradient (sgd to adam), decoupled (adamw).
    for opt in ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"):
        cases.append(case("decay-%s" % opt, "3 -> 4:tanh -> 2:identity", "reg", "mse", opt,
                          weight_decay=0.05 if opt != "adamw" else 0.2))
    # Other hyper-parameters than the defaults.
    cases += [
        case("hyper-momentum", "3 -> 4:tanh -> 2:identity", "reg", "mse", "momentum",
             momentum=0.5, lr=0.05),
        case("hyper-rmsprop", "3 -> 4:tanh -> 2:identity", "reg", "mse", "rmsprop",
             rms_alpha=0.9, eps=1e-3),
        case("hyper-adam", "3 -> 4:tanh -> 2:identity", "reg", "mse", "adam",
             beta1=0.8, beta2=0.99, eps=1e-4, lr=0.02),
        case("hyper-rprop", "3 -> 4:tanh -> 2:identity", "reg", "mse", "rprop", lr=0.1),
        case("hyper-lbfgs-m2", "3 -> 2:identity", "reg", "huber", "lbfgs", lbfgs_history=2),
    ]
    # L-BFGS on networks: kept in the file with their sensitivity; the test
    # judges those whose sensitivity leaves room for a judgement.
    for act, loss, (out, data) in (("tanh", "mse", LOSSES["mse"]),
                                   ("softplus", "ssr", LOSSES["ssr"]),
                                   ("sigmoid", "huber", LOSSES["huber"]),
                                   ("relu", "mae", LOSSES["mae"]),
                                   ("leaky_relu", "bce", LOSSES["bce"]),
                                   ("identity", "ce", LOSSES["ce"])):
        cases.append(case("lbfgs-net-%s-%s" % (loss, act), "3 -> 4:%s -> %s" % (act, out),
                          data, loss, "lbfgs"))
    # Batching: full-batch gd, the seed's SGD (no epochs), other batch sizes,
    # a network wider than the fused small_net op, and a deeper one.
    cases += [
        case("batch-full-gd", "3 -> 4:tanh -> 2:identity", "reg", "mse", "gd", batch=0),
        case("batch-iter-sgd", "3 -> 4:tanh -> 2:identity", "reg", "mse", "sgd", epochs=0),
        case("batch-iter-momentum", "3 -> 4:softplus -> 2:identity", "reg", "ssr", "momentum",
             epochs=0, batch=6),
        case("batch-5-adam", "3 -> 4:tanh -> 2:identity", "reg", "mse", "adam", batch=5),
        case("batch-1-sgd", "3 -> 4:tanh -> 2:identity", "reg", "mse", "sgd", batch=1,
             lr=0.01),
        case("wide-adam", "3 -> 24:tanh -> 2:identity", "reg", "mse", "adam"),
        case("wide-ssr-sgd", "3 -> 24:softplus -> 2:identity", "reg", "ssr", "sgd"),
        case("deep-adam", "3 -> 6:tanh -> 5:relu -> 2:identity", "reg", "mse", "adam"),
        case("deep-ce-nesterov", "3 -> 6:softplus -> 5:tanh -> 3:softmax", "cls", "ce",
             "nesterov", lr=0.05),
    ]
    # The fused linear op (a linear model, ssr or mse, batches of 4096 rows
    # and more; a batch of 4096 leaves a last batch of 1).
    cases += [
        case("line-gd-mse", "3 -> 1:identity", "line", "mse", "gd", batch=0, lr=0.2),
        case("line-momentum-ssr", "3 -> 1:identity", "line", "ssr", "momentum", batch=0,
             lr=2e-5),
        case("line-sgd-4096", "3 -> 1:identity", "line", "mse", "sgd", batch=4096, lr=0.2),
        case("line-adam-mse", "3 -> 1:identity", "line", "mse", "adam", batch=0, lr=0.05),
        case("lbfgs-line-mse", "3 -> 1:identity", "line", "mse", "lbfgs"),
    ]
    for i, c in enumerate(cases):
        if c["epochs"] == -1:
            rows = 4097 if c["data"] == "line" else 21
            per_epoch = -(-rows // c["batch"])
            c["epochs"] = -(-UPDATES // per_epoch)
        c["init"] = initial_params(c["spec"], 1000 + i)
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


# ---------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------

def floats(a):
    return " ".join(format(float(v), ".9g") for v in np.asarray(a, dtype=np.float32).ravel())


def checkpoints(cases, data):
    """Every case as it is, except L-BFGS, which is also compared after 5,
    10, 20, 30 and 40 iterations: L-BFGS amplifies rounding as it goes, so
    PyTorch's own sensitivity grows along a run, and these say how far into
    the run a comparison holds. A checkpoint is left out when PyTorch
    stopped before or at it (it would repeat the run's end)."""
    for c in cases:
        if c["optimizer"] == "lbfgs":
            made = run_case(c, data)[1]
            for k in (5, 10, 20, 30, 40):
                if k < made:
                    yield dict(c, name="%s@%d" % (c["name"], k), max_iter=k)
        yield c


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_reference.py OUT.txt")
    torch.set_num_threads(1)
    data = make_data()
    lines = [
        "# descent vs PyTorch, step for step: written by tests/torch/gen_reference.py",
        "# with torch %s; read by tests/test_torch_ref.c. Do not edit by hand." %
        torch.__version__,
    ]
    for name, (x, y) in data.items():
        if name == "line":
            lines.append("data %s %d %d %d formula %r" % (name, x.shape[0], x.shape[1],
                                                          y.shape[1], checksum(x, y)))
            continue
        lines.append("data %s %d %d %d" % (name, x.shape[0], x.shape[1], y.shape[1]))
        for i in range(x.shape[0]):
            lines.append(floats(np.concatenate([x[i], y[i]])))
    for c in checkpoints(all_cases(), data):
        final, updates = run_case(c, data)
        lines.append("case %s" % c["name"])
        lines.append("max_iter %d" % c["max_iter"])
        lines.append("updates %d" % updates)
        lines.append("spec %s" % c["spec"])
        for key in ("data", "loss", "optimizer", "lr", "momentum", "beta1", "beta2", "eps",
                    "rms_alpha", "weight_decay", "batch", "epochs", "seed", "lbfgs_style",
                    "lbfgs_history"):
            lines.append("%s %s" % (key, repr(c[key]) if isinstance(c[key], float) else c[key]))
        spread, stable = sensitivity(c, data, final, updates)
        lines.append("sensitivity %.3g" % spread)
        lines.append("updates_stable %d" % stable)
        lines.append("init " + floats(flat(c["init"])))
        lines.append("final " + floats(flat(final)))
        lines.append("end")
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
