"""The hostile cases, by what they attack. Each `case(...)` states the exit
status and message expected; run.py checks the rest (no file harmed, no
temporary file left, no sanitizer, no hang) for every one of them."""
import os
import re
import signal
import stat
import struct
import subprocess
import time
import zlib

from run import (ROOT, all_of, case, chunks, file_json, finish, gzip_bytes, idx_images,
                 idx_labels, is_model, is_type, mknod_or_skip, recrc, replace_chunk,
                 stdout_json, strs, with_chunk, write)

TRAIN = ["train", "--data", "d.csv", "--max-iter", "5", "--quiet"]
LINE = ["line", "--data", "d.csv", "--max-iter", "5", "--quiet"]
EVAL = ["eval", "--model", "m.model", "--data", "d.csv"]
PREDICT = ["predict", "--model", "m.model", "--data", "new.csv"]
CLS = ["train", "--data", "cls.csv", "--target", "label", "--max-iter", "5", "--quiet"]


def files(**content):
    """A setup that writes the named files (names with dots as __)."""
    def setup(d):
        for name, data in content.items():
            write(os.path.join(d, name.replace("__", ".")), data)
    return setup


ZLIB = True  # the build reads .gz (descent --version says)
SANITIZED = False  # ASan or TSan: a memory limit cannot apply, signals land late


def define(descent, mpiexec):
    global ZLIB, SANITIZED
    ZLIB = b"zlib: yes" in subprocess.run([descent, "--version"], capture_output=True).stdout
    env = dict(os.environ, ASAN_OPTIONS="help=1", TSAN_OPTIONS="help=1")
    r = subprocess.run([descent, "--version"], capture_output=True, env=env)
    SANITIZED = b"Sanitizer" in r.stdout + r.stderr or b"Available flags" in r.stdout + r.stderr
    options()
    csv_files()
    columns()
    idx_files()
    model_files()
    outputs()
    numerics()
    signals(descent)
    exports()
    lessons()
    concurrency(descent)
    json_everywhere()
    environment()
    if mpiexec:
        mpi(mpiexec)


# --------------------------------------------------------------------------
# Options of every subcommand

def options():
    subs = {"train": TRAIN, "line": LINE, "eval": EVAL, "predict": PREDICT,
            "info": ["info", "--model", "m.model"], "demo": ["demo", "softplus", "--dir", "dd"],
            "explain": ["explain", "--demo", "softplus"], "gradcheck": ["gradcheck"],
            "export": ["export", "--model", "m.model", "--format", "onnx", "--out", "m.onnx"]}
    for name, argv in subs.items():
        case("opt/%s/unknown option" % name, argv + ["--frobnicate"], 2, r"unknown option '--frobnicate'")
        case("opt/%s/short option" % name, argv + ["-x"], 2, r"unknown option '-x'")
        flag = "--proba=1" if name == "predict" else "--json=1"
        case("opt/%s/a flag with a value" % name, argv + [flag], 2, r"--(json|proba) takes no value")
        case("opt/%s/option without its value" % name, argv + ["--seed" if name in ("demo", "explain", "gradcheck", "line") else "--max-bytes"],
             2, r"needs a value")
        case("opt/%s/help" % name, argv[:1] + ["--help"], 0, out=r"usage: descent %s" % name)
        case("opt/%s/stray argument" % name, argv + ["stray"], 2, r"unexpected argument 'stray'")
    case("opt/no subcommand", [], 2, r"usage")
    case("opt/unknown subcommand", ["fly"], 2, r"unknown subcommand 'fly'")
    case("opt/version", ["--version"], 0, out=r"descent \d")
    case("opt/empty subcommand", [""], 2, r"unknown subcommand ''")
    # Numbers: not numbers, not finite, negative, overflowing, out of range.
    bad_numbers = [
        ("lr", "fast", r"--lr expects a number"), ("lr", "nan", r"--lr expects a number"),
        ("lr", "inf", r"--lr expects a number"), ("lr", "1e999", r"--lr expects a number"),
        ("lr", "0", r"--lr must be in"), ("lr", "-1", r"--lr must be in"),
        ("lr", "", r"--lr expects a number"), ("lr", "0x10", r"--lr expects a number"),
        ("lr", "1,5", r"--lr expects a number"), ("momentum", "5", r"--momentum must be in \[0, 1\)"),
        ("momentum", "1", r"--momentum must be in"), ("momentum", "-0.1", r"--momentum must be in"),
        ("beta1", "1", r"--beta1 must be in"), ("beta2", "1.5", r"--beta2 must be in"),
        ("eps", "0", r"--eps must be in"), ("eps", "-1e-8", r"--eps must be in"),
        ("lr-gamma", "-0.5", r"--lr-gamma must be in \(0, 1\]"), ("lr-gamma", "0", r"--lr-gamma"),
        ("lr-gamma", "2", r"--lr-gamma must be in"), ("lr-min", "-1", r"--lr-min must be in"),
        ("lr-min", "5", r"--lr-min must be in"), ("weight-decay", "-1", r"--weight-decay"),
        ("rms-alpha", "2", r"--rms-alpha"), ("tol", "-0.5", r"--tol must be in"),
        ("grad-tol", "-1", r"--grad-tol"), ("loss-tol", "-1", r"--loss-tol"),
        ("dropout", "1", r"--dropout must be in"), ("dropout", "-0.2", r"--dropout"),
        ("val", "0", r"--val must be a fraction"), ("val", "1", r"--val"), ("val", "7", r"--val"),
        ("threads", "100000", r"--threads"), ("threads", "-1", r"--threads expects a whole"),
        ("lbfgs-history", "0", r"--lbfgs-history"), ("batch", "-5", r"--batch expects a whole"),
        ("batch", "99999999999999999999", r"--batch expects a whole"),
        ("batch", "1.5", r"--batch expects a whole"), ("batch", " 4", r"--batch expects"),
        ("epochs", "1e3", r"--epochs expects a whole"), ("epochs", "+3", r"--epochs expects"),
        ("max-iter", "9223372036854775808", r"--max-iter expects a whole"),
        ("seed", "-1", r"--seed expects a whole"), ("max-rows", "-1", r"--max-rows expects"),
        ("max-bytes", "12Q", r"--max-bytes expects"), ("max-bytes", "99999999999T", r"--max-bytes"),
        ("lr-step", "x", r"--lr-step expects"), ("patience", "2", r"--patience needs --val"),
        ("checkpoint-every", "1", r"checkpoint"),
    ]
    for opt, value, msg in bad_numbers:
        case("opt/train/--%s %r" % (opt, value), TRAIN + ["--%s" % opt, value], 2, msg)
    names = [("optimizer", "adagrad", r"unknown optimizer 'adagrad'"),
             ("loss", "l3", r"unknown loss 'l3'"), ("schedule", "linear", r"unknown schedule"),
             ("output", "swish", r"--output: unknown activation"),
             ("weight-init", "zeros", r"--weight-init"), ("relu-grad-at-zero", "2", r"must be 0, 1"),
             ("gemm", "gpu", r"--gemm must be builtin or cblas"),
             ("layers", "4:swish", r"--layers"), ("layers", "0:relu", r"--layers"),
             ("layers", "99999999999:relu", r"--layers"), ("layers", ",,,", r"--layers"),
             ("layers", "4:relu," * 100, r"--layers"), ("lbfgs-style", "scipy", r"L-BFGS style 'scipy'")]
    for opt, value, msg in names:
        case("opt/train/--%s %s" % (opt, value[:20]), TRAIN + ["--%s" % opt, value], 2, msg)
    for opt, value, msg in [("momentum", "3", r"--momentum"), ("lr", "-2", r"--lr"),
                            ("optimizer", "nope", r"optimizer")]:
        case("opt/line/--%s %s" % (opt, value), LINE + ["--%s" % opt, value], 2, msg)
        case("opt/demo/--%s %s" % (opt, value), ["demo", "softplus", "--dir", "dd", "--%s" % opt,
                                                  value], 2, msg)
    for opt, value, msg in [("inputs", "0", r"--inputs"), ("batch", "4611686018427387904", r"--batch"),
                            ("tol", "-1", r"--tol"), ("inputs", "300", r"too much work"),
                            ("input-shape", "9x0x9", r"--input-shape"),
                            ("input-shape", "99999999x99999999x99999999", r"--input-shape"),
                            ("loss", "bce2", r"unknown loss"), ("layers", "3:tanh,", r"gradcheck")]:
        extra = ["--layers", "300:tanh"] if value == "300" else []
        case("opt/gradcheck/--%s %s" % (opt, value[:12]), ["gradcheck", "--%s" % opt, value] + extra, 2, msg)
    case("opt/demo/no such demo", ["demo", "nope"], 2, r"no demo 'nope'")
    case("opt/demo/epochs", ["demo", "softplus", "--dir", "dd", "--epochs", "3"], 2, r"--epochs")
    case("opt/train/--model with --layers", TRAIN + ["--model", "m.model", "--layers", "3:relu"], 2,
         r"--model brings its own network")
    case("opt/train/--resume without --epochs", TRAIN + ["--resume", "ck.model.ckpt"], 2, r"--epochs")
    case("opt/train/--data and --idx", TRAIN + ["--idx-images", "i.idx", "--idx-labels", "l.idx"], 2,
         r"--data or --idx-images")
    case("opt/train/--idx-images alone", ["train", "--idx-images", "i.idx"], 2, r"go together")
    case("opt/train/no data", ["train"], 2, r"--data")
    case("opt/eval/no model", ["eval", "--data", "d.csv"], 2, r"--model FILE is required")
    case("opt/predict/no data", ["predict", "--model", "m.model"], 2, r"--model and --data")
    case("opt/info/no model", ["info"], 2, r"--model FILE is required")
    case("opt/eval/--loss unknown", EVAL + ["--loss", "hinge"], 2, r"unknown loss")
    case("opt/predict/--proba on a regression", PREDICT + ["--proba"], 2, r"not a classifier")
    case("opt/--lr=value form", TRAIN + ["--lr=0.5"], 0)
    case("opt/-- ends options", ["train", "--", "--data"], 2, r"unexpected argument '--data'")
    case("opt/an option twice (last wins)", TRAIN + ["--lr", "0.1", "--lr", "0.2"], 0)
    case("opt/very long value", TRAIN + ["--optimizer", "a" * 100000], 2, r"unknown optimizer")
    case("opt/huge --epochs on 20 rows with --max-iter", TRAIN + ["--epochs", "18446744073709551615"], 0)
    case("opt/--threads 1", TRAIN + ["--threads", "1"], 0)


# --------------------------------------------------------------------------
# CSV files

def csv_files():
    bad = [
        ("empty", "", r"bad\.csv:1:1: the file is empty"),
        ("header only", "a,b,y\n", r"bad\.csv:2:1: no data rows"),
        ("blank only", "\n\n  \n", r"bad\.csv.*empty"),
        ("ragged short", "a,b,y\n1,2,3\n4,5\n", r"bad\.csv:3:\d+: expected 3 fields, got 2"),
        ("ragged long", "a,b,y\n1,2,3\n4,5,6,7\n", r"bad\.csv:3:\d+: expected 3 fields, got 4"),
        ("text feature", "a,b,y\n1,2,3\n4,x,6\n", r"bad\.csv:3:2: 'x' is not a number"),
        ("empty feature", "a,b,y\n1,,3\n", r"bad\.csv:2:2: empty field"),
        ("nan feature", "a,b,y\n1,nan,3\n", r"bad\.csv:2:2: 'nan' is not a finite number"),
        ("inf target", "a,b,y\n1,2,inf\n2,3,4\n", r"bad\.csv:2:3"),
        ("-inf feature", "a,b,y\n-inf,2,3\n", r"bad\.csv:2:1"),
        ("1e39 (past float)", "a,b,y\n1e39,2,3\n", r"bad\.csv:2:1: '1e39' is out of range for float"),
        ("hex number", "a,b,y\n0x10,2,3\n", r"bad\.csv:2:1: '0x10' is not a number"),
        ("comma decimal", "a,b,y\n\"1,5\",2,3\n", r"bad\.csv:2:1"),
        ("lone exponent", "a,b,y\n1e,2,3\n", r"bad\.csv:2:1"),
        ("unclosed quote", "a,b,y\n\"1,2,3\n4,5,6\n", r"bad\.csv:2"),
        ("quote then text", "a,b,y\n\"1\"x,2,3\n", r"bad\.csv:2:1"),
        ("NUL in a number", b"a,b,y\n1\x002,2,3\n", r"bad\.csv:2:1"),
        ("NUL in the header", b"a,b\x00x,y\n1,2,3\n", r"bad\.csv:1:2: a NUL byte in the name"),
        ("NUL in a label", b"a,y\n1,c\x00t\n2,dog\n", r"bad\.csv:2:2: a NUL byte in a class label"),
        ("binary junk", bytes(range(256)) * 4, r"bad\.csv"),
        ("one column", "y\n1\n2\n", r"bad\.csv:1: no feature columns left"),
        ("duplicate names", "a,a,y\n1,2,3\n", r"bad\.csv:1:2: columns 1 and 2 are both named 'a'"),
        ("unnamed column", "a,,y\n1,2,3\n", r"bad\.csv:1:2: column 2 has no name"),
        ("one class", "a,y\n1,cat\n2,cat\n", r"bad\.csv: the target 'y' holds one class only"),
        ("65537 classes", "a,y\n" + "".join("%d,c%d\n" % (i, i) for i in range(65537)),
         r"more than 65536 distinct labels"),
        ("carriage return only", "a,b,y\r1,2,3\r", r"bad\.csv"),
        ("utf-16", "a,b,y\n1,2,3\n".encode("utf-16"), r"bad\.csv"),
        ("tab separated", "a\tb\ty\n1\t2\t3\n", r"bad\.csv"),
    ]
    for name, text, msg in bad:
        case("csv/train/%s" % name, ["train", "--data", "bad.csv", "--max-iter", "3", "--quiet"],
             1, msg, setup=files(bad__csv=text), timeout=120)
    for name, text, msg in bad[:12]:
        case("csv/eval/%s" % name, ["eval", "--model", "m.model", "--data", "bad.csv"], 1, r"bad\.csv:\d",
             setup=files(bad__csv=text.replace("a,b,y", "a,b,c,y") if isinstance(text, str) else text))
        case("csv/predict/%s" % name, ["predict", "--model", "m.model", "--data", "bad.csv"], 1,
             r"bad\.csv", setup=files(bad__csv=text.replace("a,b,y", "a,b,c") if isinstance(text, str) else text))
    good = [
        ("BOM", "\ufeffa,b,y\n1,2,3\n2,3,5\n"), ("CRLF", "a,b,y\r\n1,2,3\r\n2,3,5\r\n"),
        ("no final newline", "a,b,y\n1,2,3\n2,3,5"), ("blank lines", "\n\na,b,y\n\n1,2,3\n  \n2,3,5\n\n"),
        ("quoted numbers", "a,b,y\n\"1\",\" 2 \",3\n2,3,5\n"),
        ("quoted newline in an ignored column", "a,b,note,y\n1,2,\"x\ny\",3\n2,3,z,5\n"),
        ("spaces around", "a , b , y\n 1 , 2 , 3 \n2,3,5\n"),
        ("-0 and +1", "a,b,y\n-0,+1,3\n2,3,5\n"), ("exponents", "a,b,y\n1e-3,2E+2,3\n2,3,5\n"),
        ("denormal", "a,b,y\n1e-40,2,3\n2,3,5\n"),
        ("invalid UTF-8 name", b"a\xff,b,y\n1,2,3\n2,3,5\n"),
        ("unicode names", "größe,β,y\n1,2,3\n2,3,5\n"),
        ("1000 columns", ",".join("c%d" % i for i in range(1000)) + ",y\n" +
         ",".join("1" for _ in range(1001)) + "\n" + ",".join("2" for _ in range(1001)) + "\n"),
    ]
    for name, text in good:
        ign = ["--ignore", "note"] if "note" in str(text) else []
        case("csv/accepted/%s" % name, ["train", "--data", "ok.csv", "--max-iter", "3", "--quiet"] + ign,
             0, setup=files(ok__csv=text))
    case("csv/directory", ["train", "--data", "."], 1, r"\.: is a directory")
    case("csv/missing file", ["train", "--data", "nope.csv"], 1, r"nope\.csv: cannot open")
    case("csv/symlink loop", ["train", "--data", "loop.csv"], 1, r"loop\.csv",
         setup=lambda d: os.symlink("loop.csv", os.path.join(d, "loop.csv")))
    case("csv/dev zero", ["train", "--data", "/dev/zero"], 1, r"/dev/zero:1: a record longer than")
    case("csv/dev null", ["train", "--data", "/dev/null"], 1, r"/dev/null:1:1: the file is empty")
    case("csv/dev urandom", ["train", "--data", "/dev/urandom"], 1, r"/dev/urandom")
    case("csv/stdin", "$D train --data - --max-iter 3 --quiet < d.csv", 0, shell=True)
    case("csv/stdin closed", "$D train --data - <&-", 1, r"<stdin>", shell=True)
    case("csv/stdin empty", ["train", "--data", "-"], 1, r"<stdin>:1:1: the file is empty")
    case("csv/stdin from a FIFO with a writer",
         "mkfifo p; (cat d.csv > p &); $D train --data p --max-iter 3 --quiet", 0, shell=True,
         creates=["p"])
    case("csv/endless rows", "yes 1,2,3 | $D train --data - --max-rows 100000", 1,
         r"more than 100000 rows", shell=True)
    case("csv/endless text", "yes 1,2,3 | $D train --data - --max-bytes 256K", 1,
         r"more than 256 KiB", shell=True)
    case("csv/long line", ["train", "--data", "long.csv", "--max-line-bytes", "64K"], 1,
         r"long\.csv:2: a record longer than 64 KiB",
         setup=files(long__csv="a,y\n" + "1" * 200000 + ",2\n"))
    if not ROOT:
        case("csv/unreadable", ["train", "--data", "secret.csv"], 1, r"secret\.csv: cannot open",
             setup=lambda d: (write(os.path.join(d, "secret.csv"), "a,y\n1,2\n"),
                              os.chmod(os.path.join(d, "secret.csv"), 0)))


# --------------------------------------------------------------------------
# Column lists

def columns():
    num = "2,1,y\n1,2,3\n2,3,5\n3,1,4\n"
    case("col/a number is a name", ["train", "--data", "n.csv", "--target", "y", "--features", "1",
                                    "--max-iter", "3", "--quiet"], 0, setup=files(n__csv=num))
    case("col/#2 is a position", ["train", "--data", "n.csv", "--target", "#3", "--max-iter", "3",
                                  "--quiet"], 0, setup=files(n__csv=num))
    case("col/a missing number", ["train", "--data", "n.csv", "--target", "3"], 1,
         r"target column '3' not found.*write #3", setup=files(n__csv=num))
    for bad, msg in [("#0", "counted from #1"), ("#x", "not a column number"), ("#", "not a column"),
                     ("#99", r"#99 is out of range"), ("\"y", "not closed"), ("y,,", "empty item"),
                     ("\"y\"z", "text after a quoted name"), ("y,y", "chosen as target and as target"),
                     (",", "empty item"), ("#-1", "not a column number")]:
        case("col/--target %s" % bad, ["train", "--data", "d.csv", "--target", bad], 1 if "99" in bad or "chosen" in msg else 1,
             r"d\.csv:1: .*" + msg)
    case("col/--ignore every feature", ["train", "--data", "d.csv", "--ignore", "a,b,c"], 1,
         r"no feature columns left")
    case("col/--features and --ignore overlap", ["train", "--data", "d.csv", "--features", "a",
                                                 "--ignore", "a"], 1, r"chosen as ignore and as features")
    comma = '"a,b",c,"y,z"\n1,2,3\n2,3,5\n4,1,6\n'
    case("col/target with a comma", ["train", "--data", "c.csv", "--target", '"y,z"', "--max-iter",
                                     "3", "--save", "c.model", "--quiet"], 0,
         setup=files(c__csv=comma), creates=["c.model"], check=is_model("c.model"))
    case("col/predict reads names with commas",
         "$D train --data c.csv --target '\"y,z\"' --max-iter 3 --save c.model --quiet > /dev/null 2>&1"
         " && $D predict --model c.model --data c.csv", 0, out=r'^"y,z"', shell=True,
         setup=files(c__csv=comma), creates=["c.model"])
    case("col/eval with names that look like numbers",
         "$D train --data n.csv --target y --save n.model --max-iter 3 --quiet > /dev/null 2>&1 && "
         "printf '1,2,y\\n2,1,3\\n' > m.csv && $D eval --model n.model --data m.csv --json", 0,
         out=r'"n": 1', shell=True, setup=files(n__csv=num), creates=["n.model", "m.csv"])
    case("col/--keep a missing column", PREDICT + ["--keep", "id"], 1, r"keep column 'id' not found")


# --------------------------------------------------------------------------
# IDX files

def idx_files():
    good_l = idx_labels([0, 1, 2, 1])
    cases_ = [
        ("wrong magic", idx_images(4, 2, 2)[:2] + b"\x09\x03" + idx_images(4, 2, 2)[4:], good_l,
         r"img: magic number 0x00000903 is IDX of type 0x09"),
        ("labels as images", good_l, good_l, r"img: magic number .*looks like a label file"),
        ("empty images", b"", good_l, r"img: the images file is empty"),
        ("truncated header", idx_images(4, 2, 2)[:10], good_l, r"img: truncated header"),
        ("truncated data", idx_images(4, 2, 2)[:-3], good_l, r"img: truncated: expected 16 pixel bytes"),
        ("trailing garbage", idx_images(4, 2, 2) + b"xyz", good_l, r"img: trailing garbage: 3 bytes"),
        ("zero count", struct.pack(">IIII", 0x803, 0, 2, 2), idx_labels([]), r"img: images count is 0"),
        ("zero rows", struct.pack(">IIII", 0x803, 4, 0, 2), good_l, r"img: images rows is 0"),
        ("huge images", struct.pack(">IIII", 0x803, 1, 65536, 65536), good_l, r"img: images of 65536 x 65536"),
        ("count mismatch", idx_images(3, 2, 2), good_l, r"img has 3 images but lab has 4 labels"),
        ("claims 12M images", struct.pack(">IIII", 0x803, 12000000, 28, 28) + bytes(100),
         idx_labels([1]), r"claims 12000000 images, more than 10000000"),
        ("claims 1.2 GB", struct.pack(">IIII", 0x803, 1500000, 28, 28) + bytes(100),
         idx_labels([1]), r"more than 1 GiB, the limit"),
        ("gzip truncated", gzip_bytes(idx_images(4, 2, 2))[:-9], good_l, r"img: corrupt gzip data|img: truncated"),
        ("gzip corrupt", gzip_bytes(idx_images(4, 2, 2))[:12] + b"\xff" * 20, good_l, r"img: "),
        ("gzip then garbage", gzip_bytes(idx_images(4, 2, 2)) + b"junk", good_l,
         r"img: trailing garbage: 4 bytes after the gzip data"),
        ("zlib not gzip", b"\x1f\x8b" + zlib_raw(idx_images(4, 2, 2)), good_l, r"img"),
        ("one label too high for none", idx_images(4, 2, 2), idx_labels([0, 0, 0, 0]), None),
    ]
    for name, img, lab, msg in cases_:
        if img[:2] == b"\x1f\x8b" and not ZLIB:
            msg = r"img: the file is gzip-compressed, but this build of descent has no zlib"
        st = 0 if msg is None else 1
        case("idx/%s" % name, ["train", "--idx-images", "img", "--idx-labels", "lab", "--epochs", "1",
                               "--quiet"], st, msg, setup=files(img=img, lab=lab), timeout=120)
    bomb = zlib_bomb()
    case("idx/gzip bomb", ["train", "--idx-images", "bomb.gz", "--idx-labels", "l.idx"], 1,
         r"bomb\.gz: trailing garbage: more than 1 MiB|no zlib", setup=files(bomb__gz=bomb))
    case("idx/dev zero", ["train", "--idx-images", "/dev/zero", "--idx-labels", "l.idx"], 1, r"/dev/zero")
    case("idx/directory", ["train", "--idx-images", ".", "--idx-labels", "l.idx"], 1, r"is a directory")
    case("idx/eval minibatch of bytes", ["eval", "--model", "im.model", "--idx-images", "i.idx",
                                         "--idx-labels", "l.idx"], 0,
         setup=lambda d: subprocess.run([os.environ["D_BIN"], "train", "--idx-images", "i.idx",
                                         "--idx-labels", "l.idx", "--epochs", "2", "--batch", "2",
                                         "--save", "im.model", "--quiet"], cwd=d, capture_output=True))
    case("idx/train minibatches of bytes", ["train", "--idx-images", "i.idx.gz" if ZLIB else "i.idx",
                                            "--idx-labels", "l.idx", "--epochs", "2", "--batch", "3",
                                            "--quiet"], 0)


def zlib_raw(data):
    return zlib.compress(data)


def zlib_bomb():
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [c.compress(idx_images(4, 2, 2))]
    block = bytes(1 << 20)
    for _ in range(64):
        out.append(c.compress(block))
    out.append(c.flush())
    return b"".join(out)


# --------------------------------------------------------------------------
# Model files

def model_files():
    def damaged(fn):
        def setup(d):
            with open(os.path.join(d, "m.model"), "rb") as f:
                b = f.read()
            write(os.path.join(d, "x.model"), fn(b))
        return setup

    info = ["info", "--model", "x.model"]
    for cut in (0, 1, 7, 8, 11, 12, 16, 20, 40, -13, -12, -5, -1):
        case("model/truncated at %d" % cut, info, 1, r"x\.model: (truncated|not a descent model)",
             setup=damaged(lambda b, cut=cut: b[:cut] if cut >= 0 else b[:len(b) + cut]))
    for k in range(12):
        def flip(b, k=k):
            b = bytearray(b)
            pos = 12 + (k * 997) % (len(b) - 12)
            b[pos] ^= 1 << (k % 8)
            return bytes(b)
        case("model/bit flip %d" % k, info, 1, r"x\.model", setup=damaged(flip))
    case("model/future version", info, 1, r"x\.model: format version 99 is newer",
         setup=damaged(lambda b: b[:8] + struct.pack("<I", 99) + b[12:]))
    case("model/version 0", info, 1, r"x\.model: format version 0",
         setup=damaged(lambda b: b[:8] + struct.pack("<I", 0) + b[12:]))
    case("model/trailing bytes", info, 1, r"x\.model: 3 unexpected bytes after the END chunk",
         setup=damaged(lambda b: b + b"abc"))
    case("model/a second PARM", info, 1, r"a second PARM chunk",
         setup=damaged(lambda b: with_chunk(b, b"PARM", b"\0" * 8)))
    case("model/an unknown critical chunk", info, 1, r"chunk ZZZZ .*needs a newer descent",
         setup=damaged(lambda b: with_chunk(b, b"ZZZZ", b"x")))
    case("model/an unknown optional chunk", info, 0,
         setup=damaged(lambda b: with_chunk(b, b"zzzz", b"anything")))
    case("model/a bad tag", info, 1, r"is not a chunk tag",
         setup=damaged(lambda b: recrc(b[:12] + b"\x01RCH" + b[16:])))
    case("model/a chunk length past the end", info, 1, r"truncated in chunk",
         setup=damaged(lambda b: b[:16] + struct.pack("<I", 0x7fffffff) + b[20:]))
    case("model/empty input name", info, 1, r"input name \d is empty",
         setup=damaged(lambda b: replace_chunk(b, b"INPN", struct.pack("<I", 3) + strs("a", "", "c"))))
    case("model/duplicate input names", info, 1, r"input name 'a' is given twice",
         setup=damaged(lambda b: replace_chunk(b, b"INPN", struct.pack("<I", 3) + strs("a", "b", "a"))))
    case("model/NUL in an input name", info, 1, r"contains a NUL byte",
         setup=damaged(lambda b: replace_chunk(b, b"INPN", struct.pack("<I", 3) + strs("a", b"b\0x", "c"))))
    case("model/wrong name count", info, 1, r"2 input names, the architecture needs 3",
         setup=damaged(lambda b: replace_chunk(b, b"INPN", struct.pack("<I", 2) + strs("a", "b"))))
    case("model/empty target", info, 1, r"the target name is empty",
         setup=damaged(lambda b: replace_chunk(b, b"TRGT", strs(""))))
    case("model/NaN parameter", info, 1, r"is NaN",
         setup=damaged(lambda b: replace_chunk(b, b"PARM", struct.pack("<Q", 4) + struct.pack("<f", float("nan")) * 4)))
    case("model/invalid UTF-8 names (accepted)", ["info", "--model", "x.model", "--json"], 0,
         setup=damaged(lambda b: replace_chunk(b, b"INPN", struct.pack("<I", 3) + strs(b"\xff", b"\"q\"", b"\\\x01"))),
         check=stdout_json)
    case("model/dev zero", ["info", "--model", "/dev/zero"], 1, r"not a descent model file", timeout=15)
    case("model/dev null", ["info", "--model", "/dev/null"], 1, r"it is empty")
    case("model/a directory", ["info", "--model", "."], 1, r"is a directory")
    case("model/a CSV", ["info", "--model", "d.csv"], 1, r"d\.csv: not a descent model file")
    case("model/a model then zeros from a pipe", "cat m.model /dev/zero | $D info --model -", 1,
         r"unexpected bytes after the END chunk", shell=True, timeout=20)
    case("model/larger than --max-bytes", ["info", "--model", "m.model", "--max-bytes", "64"], 1,
         r"the limit \(max_bytes")
    case("model/a checkpoint is a model", ["info", "--model", "ck.model.ckpt"], 0)
    case("model/a model is not a checkpoint", ["train", "--data", "cls.csv", "--target", "label",
                                                "--epochs", "3", "--resume", "cls.model"], 1,
         r"not a checkpoint")
    case("model/predict with a model for other data", ["predict", "--model", "cls.model", "--data",
                                                       "d.csv"], 1, r"d\.csv.*(x1|not found|columns)")
    case("model/eval with a missing target", ["eval", "--model", "m.model", "--data", "new.csv"], 1,
         r"new\.csv.*'y' not found")
    layr_chunks(damaged)
    xfrm_chunks(damaged)
    checkpoints()
    case("model/--init with a bad line", TRAIN + ["--init", "bad.txt"], 1, r"bad\.txt:2:",
         setup=files(bad__txt="w1 1\nw2 x\n"))
    case("model/--init /dev/zero", TRAIN + ["--init", "/dev/zero"], 1, r"/dev/zero:1: a NUL byte")
    case("model/--init endless", "yes '# c' | $D train --data d.csv --init -", 1,
         r"more lines than", shell=True)
    case("model/--init unknown parameter", TRAIN + ["--init", "bad.txt"], 1, r"bad\.txt:1:.*w99",
         setup=files(bad__txt="w99 1\n"))
    case("model/--init infinite value", TRAIN + ["--init", "bad.txt"], 1, r"not a finite float",
         setup=files(bad__txt="w1 1e39\n"))
    case("model/--init long line", TRAIN + ["--init", "bad.txt"], 1, r"line too long",
         setup=files(bad__txt="w1 " + "1" * 600 + "\n"))


def conv_model(d):
    """A small convolutional network (format 2, with a LAYR chunk) in
    c.model, trained on img.csv (16 pixels, 2 classes)."""
    rows = ["%s,label" % ",".join("p%d" % i for i in range(16))]
    for i in range(24):
        rows.append(",".join(str((i * 7 + j * 13) % 256) for j in range(16)) + ",%s" % "ab"[i % 2])
    write(os.path.join(d, "img.csv"), "\n".join(rows) + "\n")
    r = subprocess.run([os.environ["D_BIN"], "train", "--data", "img.csv", "--target", "label",
                        "--input-shape", "1x4x4", "--layers", "conv2@3:relu", "--epochs", "1",
                        "--save", "c.model", "--quiet"], cwd=d, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("training the conv model failed: %r" % r.stderr)


def layr_chunks(damaged):
    """The layer spec of a format-2 model (LAYR) is parsed from the file:
    it must agree with ARCH and PARM, and its own limits hold."""
    def lstr(t):
        t = t if isinstance(t, bytes) else t.encode()
        return struct.pack("<I", len(t)) + t

    def from_conv(fn):
        def setup(d):
            conv_model(d)
            with open(os.path.join(d, "c.model"), "rb") as f:
                b = f.read()
            write(os.path.join(d, "x.model"), fn(b))
        return setup
    bad = [("an MLP spec", lstr("16 -> 2:softmax"), r"1 layers, but ARCH has 2"),
           ("more filters", lstr("1x4x4 -> conv3@3x3:relu -> 2:softmax"), r"layer 1 has 12 values"),
           ("another shape, as many values", lstr("2x2x4 -> conv2@1x3:relu -> 2:softmax"),
            r"chunk (PARM|LAYR).*(needs|has)"),
           ("binary", lstr(b"\xff\x00garbage"), r"chunk LAYR.*NUL"),
           ("empty", b"", r"chunk LAYR.*ends inside"),
           ("a length past the chunk", struct.pack("<I", 1000) + b"1x4x4", r"chunk LAYR.*1000 bytes needed"),
           ("a huge input", lstr("1x65536x65536 -> conv65536@3x3:relu -> 2:softmax"),
            r"chunk LAYR.*the input has more than"),
           ("a kernel past the input", lstr("1x4x4 -> conv2@9x9:relu -> 2:softmax"), r"chunk LAYR.*does not fit"),
           ("a stride of 0", lstr("1x4x4 -> conv2@3x3s0:relu -> 2:softmax"), r"chunk LAYR.*stride")]
    for name, payload, msg in bad:
        case("model/LAYR %s" % name, ["info", "--model", "x.model"], 1, r"x\.model: .*" + msg,
             setup=from_conv(lambda b, payload=payload: replace_chunk(b, b"LAYR", payload)),
             creates=["img.csv", "c.model"])
    case("model/LAYR twice", ["predict", "--model", "x.model", "--data", "img.csv"], 1,
         r"x\.model: .*a second LAYR chunk", creates=["img.csv", "c.model"],
         setup=from_conv(lambda b: with_chunk(b, b"LAYR", lstr("1x4x4 -> conv2@3x3:relu -> 2:softmax"))))
    case("model/LAYR in a version 1 file", ["eval", "--model", "x.model", "--data", "img.csv"], 1,
         r"x\.model: chunk LAYR .*version 1 file cannot hold", creates=["img.csv", "c.model"],
         setup=from_conv(lambda b: recrc(b[:8] + struct.pack("<I", 1) + b[12:])))
    case("model/a conv model predicts", ["predict", "--model", "c.model", "--data", "img.csv"], 0,
         out=r"^label", setup=conv_model, creates=["img.csv", "c.model"])


def xfrm_at(name, tag=b"XFRM", which=0, delta=8):
    """A check that the message names the byte where it went wrong: the
    payload (delta 8) or the tag (delta 0) of the which-th `tag` chunk."""
    def check(d, r):
        with open(os.path.join(d, name), "rb") as f:
            b = f.read()
        at = [c for c in chunks(b) if c[1] == tag][which][0] + delta
        want = "%s: chunk XFRM at byte %d:" % (name, at) if which == 0 else \
            "%s: byte %d: a second XFRM chunk" % (name, at)
        return None if want in r.err.decode("utf-8", "replace") else "the message lacks %r" % want
    return check


def damaged_from(src, fn):
    """A setup writing x.model: fn of the bytes of src."""
    def setup(d):
        with open(os.path.join(d, src), "rb") as f:
            b = f.read()
        write(os.path.join(d, "x.model"), fn(b))
    return setup


def xfrm_chunks(damaged):
    """The input divisor of a format-2 model (XFRM: one f32, finite and at
    least FLT_MIN; a subnormal one overflows every input to infinity). Each
    refusal names the file, the chunk and the byte; a refused model is
    refused by every command, which then writes nothing."""
    f32 = lambda v: struct.pack("<f", v)
    xfrm = lambda payload: damaged(lambda b: with_chunk(b, b"XFRM", payload))
    bad = [("0", f32(0.0), r"is 0 "), ("-0", f32(-0.0), r"is -0 "), ("negative", f32(-255.0), r"is -255 "),
           ("NaN", f32(float("nan")), r"is nan "), ("Inf", f32(float("inf")), r"is inf "),
           ("-Inf", f32(float("-inf")), r"is -inf "),
           ("the smallest subnormal", struct.pack("<I", 1), r"is 1\.40129846e-45 "),
           ("the largest subnormal", struct.pack("<I", 0x007fffff), r"is 1\.17549421e-38 ")]
    for name, payload, msg in bad:
        case("model/XFRM divisor %s" % name, ["info", "--model", "x.model"], 1,
             r"x\.model: chunk XFRM at byte \d+: the input divisor " + msg +
             r"\(it must be finite and at least 1\.17549435e-38\)",
             setup=xfrm(payload), check=xfrm_at("x.model"))
    # Every command that reads a model refuses it, before any output exists.
    for cmd, argv, out in [("predict", ["predict", "--model", "x.model", "--data", "new.csv", "--out", "p.csv"], None),
                           ("eval", ["eval", "--model", "x.model", "--data", "d.csv", "--json"], None),
                           ("export", ["export", "--model", "x.model", "--format", "onnx", "--out", "x.onnx"], None),
                           ("train --resume", ["train", "--data", "cls.csv", "--target", "label", "--epochs", "4",
                                               "--batch", "8", "--optimizer", "adam", "--resume", "x.model",
                                               "--save", "o.model", "--log", "o.jsonl", "--quiet"], "ck.model.ckpt")]:
        setup = xfrm(f32(0.0)) if not out else damaged_from(out, lambda b: with_chunk(b, b"XFRM", f32(0.0)))
        case("model/XFRM divisor 0, %s writes nothing" % cmd, argv, 1,
             r"x\.model: chunk XFRM at byte \d+: the input divisor is 0 ", setup=setup,
             check=xfrm_at("x.model"))
    short = [("empty", b"", r"the chunk ends inside the input divisor \(4 bytes needed, 0 left\)"),
             ("truncated", b"\x00\x00\x7f", r"the chunk ends inside the input divisor \(4 bytes needed, 3 left\)")]
    for name, payload, msg in short:
        case("model/XFRM %s" % name, ["info", "--model", "x.model"], 1, r"x\.model: chunk XFRM at byte \d+: " + msg,
             setup=xfrm(payload), check=xfrm_at("x.model"))
    case("model/XFRM of 8 bytes", ["predict", "--model", "x.model", "--data", "new.csv", "--out", "p.csv"], 1,
         r"x\.model: chunk XFRM at byte \d+: 4 unexpected bytes after the last field",
         setup=xfrm(f32(255.0) * 2), check=xfrm_at("x.model", delta=12))
    case("model/XFRM twice", ["predict", "--model", "x.model", "--data", "new.csv", "--out", "p.csv"], 1,
         r"x\.model: byte \d+: a second XFRM chunk",
         setup=damaged(lambda b: with_chunk(with_chunk(b, b"XFRM", f32(255.0)), b"XFRM", f32(255.0))),
         check=xfrm_at("x.model", which=1, delta=0))
    case("model/XFRM twice, the same value", ["info", "--model", "x.model"], 1, r"a second XFRM chunk",
         setup=damaged(lambda b: with_chunk(with_chunk(b, b"XFRM", f32(1.0)), b"XFRM", f32(1.0))))

    def version1(b):
        b = with_chunk(b, b"XFRM", f32(255.0))
        return recrc(b[:8] + struct.pack("<I", 1) + b[12:])
    case("model/XFRM in a version 1 file", ["predict", "--model", "x.model", "--data", "new.csv", "--out",
                                            "p.csv"], 1,
         r"x\.model: chunk XFRM at byte \d+: a version 1 file cannot hold this chunk \(format 2 added it\)",
         setup=damaged(version1), check=xfrm_at("x.model", delta=0))
    # What holds: the same files, whole, load and say their divisor.
    def says(div):
        def check(d, r):
            import json
            j = json.loads(r.out)
            got = j.get("input_divisor")
            if got is not None and div is not None:  # printed as the float's shortest text
                got = struct.unpack("<f", struct.pack("<f", got))[0]
            return None if got == div else "input_divisor %r, not %r" % (
                j.get("input_divisor"), div)
        return check
    case("model/XFRM 255 (accepted)", ["info", "--model", "x.model", "--json"], 0,
         setup=xfrm(f32(255.0)), check=says(255))
    case("model/XFRM the smallest normal divisor (accepted)", ["info", "--model", "x.model", "--json"], 0,
         setup=xfrm(struct.pack("<I", 0x00800000)), check=says(struct.unpack("<f", struct.pack("<I", 0x00800000))[0]))
    case("model/version 1 without XFRM (accepted)", ["info", "--model", "x.model", "--json"], 0,
         setup=damaged(lambda b: recrc(b[:8] + struct.pack("<I", 1) + b[12:])), check=says(None))
    case("model/XFRM 255 predicts", ["predict", "--model", "x.model", "--data", "new.csv", "--out", "p.csv"], 0,
         setup=xfrm(f32(255.0)), creates=["p.csv"])


def checkpoints():
    """--resume reads a checkpoint: the model's chunks and the training
    state (trst), checked as strictly as a model file."""
    resume = ["train", "--data", "cls.csv", "--target", "label", "--epochs", "4", "--batch", "8",
              "--optimizer", "adam", "--resume", "x.ckpt", "--save", "o.model", "--quiet"]

    def ckpt(fn):
        def setup(d):
            with open(os.path.join(d, "ck.model.ckpt"), "rb") as f:
                b = f.read()
            write(os.path.join(d, "x.ckpt"), fn(b))
        return setup

    def trst_word(off, value):
        def fn(b):
            p = [c for c in chunks(b) if c[1] == b"trst"][0][0]
            b = bytearray(b)
            b[p + 8 + off:p + 8 + off + 4] = value
            return recrc(bytes(b))
        return fn
    for cut in (0, 20, 100, -40, -1):
        case("ckpt/truncated at %d" % cut, resume, 1, r"x\.ckpt: (truncated|not a descent|it is empty)",
             setup=ckpt(lambda b, cut=cut: b[:cut] if cut >= 0 else b[:len(b) + cut]))
    for k in range(4):
        def flip(b, k=k):
            b = bytearray(b)
            b[12 + (k * 331) % (len(b) - 12)] ^= 1 << (k * 3 % 8)
            return bytes(b)
        case("ckpt/bit flip %d" % k, resume, 1, r"x\.ckpt", setup=ckpt(flip))
    case("ckpt/unknown state version", resume, 1, r"x\.ckpt: checkpoint state version 4294967295 is not known",
         setup=ckpt(trst_word(0, b"\xff\xff\xff\xff")))
    case("ckpt/state sizes that do not add up", resume, 1, r"x\.ckpt: chunk trst",
         setup=ckpt(trst_word(28, b"\x00\x00\x00\x00")))
    case("ckpt/a NaN in the optimizer state", resume, 1, r"x\.ckpt: optimizer state value 1 is not finite",
         setup=ckpt(trst_word(36, b"\x00\x00\xc0\x7f")))
    case("ckpt/an epoch past --epochs", resume, 2, r"the checkpoint is at epoch \d+, past --epochs 4",
         setup=ckpt(trst_word(4, b"\xff\xff\xff\xff")))
    case("ckpt/another optimizer", resume[:10] + ["sgd"] + resume[11:], 2, r"optimizer",
         setup=ckpt(lambda b: b))
    case("ckpt/resumed", resume, 0, setup=ckpt(lambda b: b), creates=["o.model"], check=is_model("o.model"))


# --------------------------------------------------------------------------
# Outputs: devices, FIFOs, links, inputs as outputs, failed runs

def outputs():
    save = ["train", "--data", "d.csv", "--max-iter", "5", "--quiet", "--save"]
    case("out/--save onto a full device", save + ["full"], 1, r"full: cannot write: No space left",
         setup=lambda d: mknod_or_skip(d, "full", 7), check=is_type("full", "char" if ROOT else "link"))
    case("out/--save onto /dev/null", save + ["null"], 0,
         setup=lambda d: mknod_or_skip(d, "null", 3), check=is_type("null", "char" if ROOT else "link"))
    case("out/predict --out onto a full device", PREDICT + ["--out", "full"], 1, r"No space left",
         setup=lambda d: mknod_or_skip(d, "full", 7))
    case("out/--log onto a full device", TRAIN + ["--epochs", "2", "--log", "full"], 1, r"No space left",
         setup=lambda d: mknod_or_skip(d, "full", 7))
    case("out/--trace onto a full device", LINE + ["--trace", "full"], 1, r"No space left",
         setup=lambda d: mknod_or_skip(d, "full", 7))
    case("out/standard output full", "$D predict --model m.model --data new.csv > full", 1,
         r"No space left", shell=True, setup=lambda d: mknod_or_skip(d, "full", 7))
    case("out/a FIFO nobody reads", PREDICT + ["--out", "p"], 1, r"p: no process reads this FIFO",
         setup=lambda d: os.mkfifo(os.path.join(d, "p")), check=is_type("p", "fifo"))
    # The reader is in place before descent starts (fifo_reader.py says
    # when), on a busy machine too.
    reader = "python3 %s p %%s ready %%s & while [ ! -e ready ]; do sleep 0.05; done; " % \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "fifo_reader.py")
    case("out/a FIFO with a reader",
         reader % ("got.csv", "") + "$D predict --model m.model --data new.csv --out p; wait",
         0, shell=True, setup=lambda d: os.mkfifo(os.path.join(d, "p")), creates=["got.csv", "ready"],
         check=all_of(is_type("p", "fifo"), lambda d, r: None if open(os.path.join(d, "got.csv")).read(
             ).startswith("y\n") else "the reader did not get the predictions"))
    case("out/a FIFO whose reader quits", reader % ("got.csv", "1") +
         "$D predict --model m.model --data big.csv --out p; echo status $?; wait", 0, out=r"status 141\b",
         shell=True, setup=lambda d: (os.mkfifo(os.path.join(d, "p")),
                                      write(os.path.join(d, "big.csv"), "a,b,c\n" + "1,2,3\n" * 200000)),
         creates=["got.csv", "ready"], timeout=120)
    for path, msg in [(".", r"is a directory"), ("sub/", r"is a directory"),
                      ("no/such/dir/m.model", r"cannot create: No such file"),
                      ("", r"empty"), ("x" * 300, r"File name too long|cannot")]:
        st = 1 if "such" in msg or "long" in msg else 2
        case("out/--save %r" % path[:20], save + [path], st, msg,
             setup=lambda d: os.mkdir(os.path.join(d, "sub")))
    # Devices of our own (as root): a regression must not be able to
    # replace the machine's.
    if ROOT:
        case("out/--save onto a block device", save + ["blk"], 2, r"blk is a block device",
             setup=lambda d: os.mknod(os.path.join(d, "blk"), 0o600 | stat.S_IFBLK, os.makedev(7, 0)),
             check=is_type("blk", "block"))
        case("out/--save onto another char device", save + ["mem"], 2,
             r"mem is a character device other than",
             setup=lambda d: os.mknod(os.path.join(d, "mem"), 0o600 | stat.S_IFCHR, os.makedev(1, 1)),
             check=is_type("mem", "char"))
    # An output that is an input, however it is named.
    same = [("train --save = --data", save + ["d.csv"], r"--save d\.csv is the --data file"),
            ("predict --out = --data", PREDICT + ["--out", "new.csv"], r"is the --data file"),
            ("predict --out = --model", PREDICT + ["--out", "m.model"], r"is the --model file"),
            ("predict --out = --data by ./", PREDICT + ["--out", "./new.csv"], r"--data"),
            ("predict --out = --data by a link", PREDICT + ["--out", "ln.csv"], r"--data"),
            ("predict --out = --data by a hard link", PREDICT + ["--out", "hard.csv"], r"--data"),
            ("train --save = --model", TRAIN + ["--model", "m.model", "--save", "m.model"], r"--model"),
            ("train --log = --data", TRAIN + ["--epochs", "1", "--log", "d.csv"], r"--data"),
            ("train --trace = --init", TRAIN + ["--init", "init.txt", "--trace", "init.txt"], r"--init"),
            ("train --save = --test", TRAIN + ["--test", "d.csv", "--save", "d.csv"], r"--data|--test"),
            ("train --save = --resume", ["train", "--data", "cls.csv", "--target", "label", "--epochs", "3",
                                         "--resume", "ck.model.ckpt", "--save", "ck.model.ckpt"], r"--resume"),
            ("train checkpoint = --data", ["train", "--data", "x.ckpt", "--epochs", "2",
                                           "--checkpoint-every", "1", "--save", "x"], r"checkpoint"),
            ("line --plot = --data", LINE + ["--plot", "d.csv"], r"--data"),
            ("two outputs, one file", TRAIN + ["--epochs", "1", "--save", "o", "--log", "o"], r"name the same file"),
            ("two outputs via a link", TRAIN + ["--epochs", "1", "--save", "o", "--trace", "lo"],
             r"name the same file"),
            ("stdin twice", ["predict", "--model", "-", "--data", "-"], r"standard input can be read only once"),
            ("train --save -", TRAIN + ["--save", "-"], r"standard output carries")]

    def links(d):
        os.symlink("new.csv", os.path.join(d, "ln.csv"))
        os.link(os.path.join(d, "new.csv"), os.path.join(d, "hard.csv"))
        os.symlink("o", os.path.join(d, "lo"))
        write(os.path.join(d, "x.ckpt"), open(os.path.join(d, "d.csv")).read())
    for name, argv, msg in same:
        case("out/%s" % name, argv, 2, msg, setup=links)
    # A run that fails changes nothing.
    case("out/a diverged run keeps the old model", TRAIN + ["--lr", "1e30", "--save", "m.model",
                                                           "--log", "l.jsonl", "--trace", "t.csv"],
         1, r"diverged")
    case("out/a bad --test keeps the old model", TRAIN + ["--test", "bad.csv", "--save", "m.model"], 1,
         r"bad\.csv:2", setup=files(bad__csv="a,b,c,y\n1,x,3,4\n"))
    case("out/a diverged line writes no plot", LINE + ["--lr", "1e30", "--plot", "p.svg", "--trace", "t.csv"],
         1, r"diverged")
    case("out/a demo that fails leaves no folder", ["demo", "softplus", "--dir", "newdir", "--lr", "1e30"],
         1, r"diverged")
    # Links are followed; the link stays.
    case("out/--save through a link", save + ["cur.model"], 0, changes=["m.model"],
         setup=lambda d: os.symlink("m.model", os.path.join(d, "cur.model")),
         check=all_of(is_type("cur.model", "link"), is_model("m.model")))
    case("out/--save through a dangling link", save + ["next.model"], 0, creates=["v3.model"],
         setup=lambda d: os.symlink("v3.model", os.path.join(d, "next.model")),
         check=all_of(is_type("next.model", "link"), is_model("v3.model")))
    case("out/--save through a link chain", save + ["a.model"], 0, changes=["m.model"],
         setup=lambda d: (os.symlink("b.model", os.path.join(d, "a.model")),
                          os.symlink("m.model", os.path.join(d, "b.model"))), check=is_model("m.model"))
    case("out/--save through a link loop", save + ["a.model"], 1, r"a\.model: cannot write",
         setup=lambda d: (os.symlink("b.model", os.path.join(d, "a.model")),
                          os.symlink("a.model", os.path.join(d, "b.model"))))
    case("out/--out - is standard output", PREDICT + ["--out", "-"], 0, out=r"^y\n")
    # /proc/self/fd/1 is /dev/stdout's target, and cannot be renamed over
    # even by a regression.
    case("out/--out /proc/self/fd/1 appends", "echo first > app.csv; $D predict --model m.model "
         "--data new.csv --out /proc/self/fd/1 >> app.csv; grep -c . app.csv", 0, out=r"^4$",
         shell=True, creates=["app.csv"])
    case("out/--plot-dir is a file", ["train", "--data", "one.csv", "--max-iter", "3", "--plot-dir",
                                      "d.csv"], 2, r"--plot-dir d\.csv: not a folder",
         setup=files(one__csv="x,y\n0,0\n0.5,1\n1,0\n"))
    case("out/demo --dir is a file", ["demo", "softplus", "--dir", "d.csv"], 2, r"--dir d\.csv: not a folder")
    case("out/--checkpoint-every next to a device", ["train", "--data", "cls.csv", "--target", "label",
                                                      "--epochs", "2", "--checkpoint-every", "1",
                                                      "--save", "null"], 2,
         r"--checkpoint-every: --save null is not a regular file",
         setup=lambda d: mknod_or_skip(d, "null", 3))
    case("out/a replaced model keeps its mode", "chmod 600 m.model; $D train --data d.csv --max-iter 3 "
         "--save m.model --quiet 2>/dev/null; stat -c %a m.model", 0, out=r"^600$", shell=True,
         changes=["m.model"])
    case("out/saved outputs", TRAIN + ["--epochs", "2", "--save", "s.model", "--log", "s.jsonl",
                                       "--trace", "s.csv"], 0, creates=["s.model", "s.jsonl", "s.csv"],
         check=all_of(is_model("s.model"), file_json("s.jsonl")))
    if not ROOT:
        case("out/a read-only model", save + ["ro.model"], 1, r"ro\.model: cannot write",
             setup=lambda d: (write(os.path.join(d, "ro.model"), b"x"),
                              os.chmod(os.path.join(d, "ro.model"), 0o444)))


# --------------------------------------------------------------------------
# Numbers that break arithmetic

def numerics():
    case("num/softmax on 3e38,-3e38,0", "$D train --data cls.csv --target label --standardize "
         "--max-iter 20 --save s.model --quiet > /dev/null 2>&1 && printf 'x1,x2\\n3e38,-3e38\\n' > big.csv && "
         "$D predict --model s.model --data big.csv", 1, r"big\.csv:2: the model's output for this row "
         r"is not a number", shell=True, creates=["s.model", "big.csv"])
    case("num/eval of overflowing rows", "printf 'x1,x2,label\\n3e38,-3e38,cat\\n1,1,dog\\n' > big.csv"
         " && $D eval --model cls.model --data big.csv --json", None, shell=True, creates=["big.csv"],
         check=lambda d, r: None if r.status == 1 or b"NaN" not in r.out else "NaN in the output")
    case("num/huge targets", ["train", "--data", "h.csv", "--max-iter", "20"], 1, r"diverged|overflow",
         setup=files(h__csv="a,y\n1,3e38\n2,-3e38\n3,3e38\n"))
    case("num/constant feature, standardised", ["train", "--data", "c.csv", "--standardize",
                                                "--max-iter", "5", "--quiet"], 0,
         setup=files(c__csv="a,b,y\n1,5,1\n2,5,2\n3,5,3\n"))
    case("num/one row", ["train", "--data", "o.csv", "--val", "0.5", "--max-iter", "3"], 1,
         r"o\.csv|split|row", setup=files(o__csv="a,y\n1,2\n"))
    case("num/one row trains", ["train", "--data", "o.csv", "--max-iter", "3", "--quiet"], 0,
         setup=files(o__csv="a,y\n1,2\n"))
    case("num/tiny learning rate", TRAIN + ["--lr", "1e-45"], 0)
    case("num/denormal data", ["train", "--data", "z.csv", "--max-iter", "5", "--quiet", "--standardize"],
         0, setup=files(z__csv="a,y\n1e-40,1e-40\n2e-40,3e-40\n3e-40,1e-41\n"))
    case("num/bce on targets outside [0,1]", TRAIN + ["--loss", "bce", "--output", "sigmoid"], None,
         check=lambda d, r: None if r.status in (1, 2) else "bce on y in R accepted")
    case("num/ce on a regression", TRAIN + ["--loss", "ce"], None,
         check=lambda d, r: None if r.status in (1, 2) else "ce on numbers accepted")
    case("num/a model of 2000 units on 20 rows", TRAIN + ["--layers", "2000:relu"], 0, timeout=120)
    case("num/a layer of 99999999 units", TRAIN + ["--layers", "99999999:relu"], 2,
         r"--layers: the network has 499999996 parameters .*--max-bytes")
    case("num/two layers of 1e8 units", TRAIN + ["--layers", "100000000:relu,100000000:relu"], 2,
         r"more parameters than a model file can hold")
    case("num/a layer too large for gradcheck", ["gradcheck", "--inputs", "1000", "--layers",
                                                  "100000:relu"], 2, r"gradcheck")
    if not SANITIZED:
        # Out of memory under a limit: a message, and an end (OpenBLAS's
        # exit handler once spun for ever after a failed allocation).
        for kb in (60000, 120000):
            case("num/ulimit -v %d" % kb, "ulimit -v %d; $D train --data w.csv --layers 256:relu "
                 "--epochs 1 --batch 64 --quiet > /dev/null; echo status $?" % kb, 0,
                 out=r"status (0|1)\b", shell=True, timeout=120,
                 setup=lambda d: write(os.path.join(d, "w.csv"), "a,b,y\n" + "".join(
                     "%d,%d,%d\n" % (i, i % 7, i % 3) for i in range(200000))))


# --------------------------------------------------------------------------
# Signals at every phase

def wait_for_temp(d, prefix, limit=60, lines=False, proc=None):
    """Waits until the temporary file of output prefix (NAME.tmp.XXXXXX)
    exists in d (lines: and holds a line). A log is opened once the data is
    read, just before training, and gets a line (flushed) when the first
    epoch ends: a signal sent after that meets a run that is training, on a
    busy machine too (fixed delays once met runs still loading), and under
    mpirun a line means every rank is training (an epoch sums every rank's
    gradients). False if limit passes or proc ends first."""
    t_end = time.time() + limit
    while time.time() < t_end:
        for n in os.listdir(d):
            if n.startswith(prefix + ".tmp."):
                try:
                    if not lines or os.path.getsize(os.path.join(d, n)) > 0:
                        return True
                except OSError:
                    pass
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def wait_for_read(p, path, limit):
    """Waits until process p has read as many bytes as the file at path
    holds (/proc/PID/io's rchar counts every byte read()): its data is in,
    for a command that has no log to show it is past reading. False if
    limit passes or p ends first."""
    size, t_end = os.path.getsize(path), time.time() + limit
    while time.time() < t_end and p.poll() is None:
        try:
            with open("/proc/%d/io" % p.pid) as f:
                if int(dict(l.split(":") for l in f)["rchar"]) >= size:
                    return True
        except PermissionError:  # a /proc that hides it: the old fixed delay
            time.sleep(1.0)
            return True
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(0.05)
    return False


def wait_for_stdin_read(p, limit):
    """Waits until process p is blocked reading its standard input
    (/proc/PID/syscall: read, fd 0, on x86-64): it is past its start and
    reading the data. Where that cannot be seen, the old fixed delay."""
    import platform
    if platform.machine() != "x86_64":
        time.sleep(0.5)
        return True
    t_end = time.time() + limit
    while time.time() < t_end and p.poll() is None:
        try:
            with open("/proc/%d/syscall" % p.pid) as f:
                if f.read().split()[:2] == ["0", "0x0"]:
                    return True
        except PermissionError:
            time.sleep(0.5)
            return True
        except (OSError, IndexError):
            pass
        time.sleep(0.05)
    return False


def not_ready(r, what, limit):
    r.problem = "%s within %.0f s (status %s)" % (what, limit, r.status)
    return r


def cpu_seconds(pid):
    """(state, user + system CPU seconds of all its threads) of a process
    from /proc, or None; a zombie still shows its final times."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return rest[0], (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def signal_run(sig, delay, argv_text, stdin_text=None, after_temp=None, after_line=None,
               after_read=None, in_stdin=False, cpu=False):
    """Starts descent through the shell, sends sig after delay seconds
    (counted from when after_temp's temporary file appears, when
    after_line's holds a line, or when the process has read as many bytes
    as the file after_read holds, or when it waits on standard input
    (in_stdin), if given; the Result's after_signal:
    seconds from the signal to the end; with cpu, also cpu_after_signal:
    the CPU seconds the process used from the signal to its end, which a
    busy machine does not inflate as it does the wall time)."""
    def run(descent, d, c):
        e = dict(os.environ)
        e["D"] = descent
        t0 = time.time()
        # descent keeps a SIGHUP its caller ignores ignored (nohup): the
        # suite run under nohup must still send it to a process that takes it.
        hup = (lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL)) if sig == signal.SIGHUP else None
        p = subprocess.Popen(["/bin/sh", "-c", "exec " + argv_text], cwd=d, env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=hup)
        if stdin_text is not None:
            p.stdin.write(stdin_text)
            p.stdin.flush()
        ready = True
        if after_temp or after_line:
            ready = wait_for_temp(d, after_temp or after_line, c.timeout / 2, lines=bool(after_line),
                                  proc=p)
        elif after_read:
            ready = wait_for_read(p, os.path.join(d, after_read), c.timeout / 2)
        elif in_stdin:
            ready = wait_for_stdin_read(p, c.timeout / 2)
        time.sleep(delay)
        before = cpu_seconds(p.pid) if cpu else None
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        t_sig = time.time()
        last = before
        while before and time.time() - t_sig < c.timeout and last and last[0] != "Z":
            time.sleep(0.01)
            last = cpu_seconds(p.pid) or last
        r = finish(p, t0, c.timeout)
        r.after_signal = time.time() - t_sig
        r.cpu_after_signal = last[1] - before[1] if before and last[0] == "Z" else None
        return r if ready else not_ready(r, "the run did not start training", c.timeout / 2)
    return run


def signals(descent):
    long_train = ("$D train --data cls.csv --target label --layers 32:relu --epochs 100000000 "
                  "--batch 2 --save sig.model --log sig.jsonl --quiet")
    for sig, name in [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")]:
        case("sig/%s while training saves" % name, None, 130, r"interrupted after \d+ updates; the "
             r"model so far is saved", creates=["sig.model", "sig.jsonl"], timeout=120,
             run=signal_run(sig, 0.5, long_train, after_line="sig.jsonl"), check=is_model("sig.model"))
    # A wide network on many rows: the run must end soon after the signal
    # (it once made a pass over all the data first, 2-5 s here).
    def wide(d):
        write(os.path.join(d, "wide.csv"), ",".join("x%d" % i for i in range(20)) + ",label\n" + "".join(
            ",".join("%d" % ((i * 7 + j * 3) % 10) for j in range(20)) + ",%s\n" % "abc"[i % 3]
            for i in range(60000)))
    # Judged by the CPU the run spends after the signal (one pass over the
    # data costs about 1.3 CPU seconds here, stopping a step and a save:
    # 0.01-0.02 on a quiet machine, 0.33 once in CI beside other tests, where
    # waiting threads spin), so a busy machine that delays the run does not
    # fail it; by the wall time only when /proc cannot say.
    limit = 2.0 if SANITIZED else 0.9

    def prompt(d, r):
        spent = r.cpu_after_signal if r.cpu_after_signal is not None else r.after_signal
        what = "CPU seconds" if r.cpu_after_signal is not None else "s"
        return None if spent < limit else "used %.2f %s after the signal (at most %.1f)" % (
            spent, what, limit)
    case("sig/SIGINT ends a wide run promptly", None, 130, r"the model so far is saved", timeout=180,
         creates=["sig.model", "wide.csv", "wide.jsonl"], setup=wide,
         run=signal_run(signal.SIGINT, 1.5,
                        "$D train --data wide.csv --target label --layers 1024:relu,1024:relu "
                        "--epochs 1000 --batch 64 --save sig.model --log wide.jsonl --quiet",
                        after_temp="wide.jsonl", cpu=True),
         check=prompt)
    case("sig/SIGHUP while training", None, -signal.SIGHUP, timeout=120,
         run=signal_run(signal.SIGHUP, 0.5, long_train, after_line="sig.jsonl"))
    case("sig/SIGINT while reading the data", None, -signal.SIGINT, timeout=120,
         run=signal_run(signal.SIGINT, 0.2, "$D train --data - --save r.model --log r.jsonl",
                        stdin_text=b"a,y\n1,2\n", in_stdin=True))
    case("sig/SIGTERM while reading the data", None, -signal.SIGTERM, timeout=120,
         run=signal_run(signal.SIGTERM, 0.2, "$D predict --model m.model --data - --out r.csv",
                        stdin_text=b"a,b,c\n1,2,3\n", in_stdin=True))
    case("sig/SIGINT while training a line", None, 130, r"interrupted|", timeout=120,
         run=signal_run(signal.SIGINT, 1.0, "$D line --data big.csv --max-iter 1000000000 --tol 0 "
                        "--lr 1e-7 --trace t.csv --quiet", after_read="big.csv"), creates=["t.csv"],
         setup=lambda d: write(os.path.join(d, "big.csv"), "x,y\n" + "".join(
             "%g,%g\n" % (i / 2e5, 2 * i / 2e5) for i in range(200000))))
    case("sig/SIGPIPE on standard output", "$D predict --model m.model --data big.csv | head -1", 0,
         out=r"^y\n$", shell=True, setup=lambda d: write(os.path.join(d, "big.csv"),
                                                          "a,b,c\n" + "1,2,3\n" * 300000))
    # Two Ctrl-C while training: the second lands while the run stops (and
    # changes nothing: 130, saved) or, if the run has left training, ends it
    # as SIGINT does; either way no temporary file is left and a model that
    # is there is whole.
    case("sig/interrupted twice", None, None, timeout=120, creates=["sig.model", "sig.jsonl"],
         run=double_interrupt(long_train), signals_ok=(-signal.SIGINT,),
         check=lambda d, r: ("status %s" % r.status if r.status not in (130, -2) else
                             is_model("sig.model")(d, r) if r.status == 130 or
                             os.path.exists(os.path.join(d, "sig.model")) else None))


def double_interrupt(cmd):
    def run(descent, d, c):
        e = dict(os.environ)
        e["D"] = descent
        t0 = time.time()
        p = subprocess.Popen(["/bin/sh", "-c", "exec " + cmd], cwd=d, env=e, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        ready = wait_for_temp(d, "sig.jsonl", c.timeout / 2, lines=True, proc=p)
        p.send_signal(signal.SIGINT)
        time.sleep(0.01)
        try:
            p.send_signal(signal.SIGINT)
        except ProcessLookupError:
            pass
        r = finish(p, t0, c.timeout)
        return r if ready else not_ready(r, "the run did not start training", c.timeout / 2)
    return run


# --------------------------------------------------------------------------
# Export: C and ONNX files

def exports():
    c_exp = ["export", "--model", "m.model", "--format", "c", "--out", "."]
    onnx = ["export", "--model", "m.model", "--format", "onnx", "--out"]
    bad = [("--format bogus", ["export", "--model", "m.model", "--format", "bogus", "--out", "x"],
            2, r"--format: 'bogus' is not c or onnx"),
           ("--quantize 4bit", c_exp + ["--quantize", "4bit"], 2, r"--quantize: '4bit'"),
           ("--quantize int8 for onnx", onnx + ["x.onnx", "--quantize", "int8"], 2, r"for --format c"),
           ("--scale", c_exp + ["--quantize", "int8", "--scale", "row"], 2, r"--scale: 'row'"),
           ("--activations", c_exp + ["--activations", "int4"], 2, r"--activations: 'int4'"),
           ("--name for onnx", onnx + ["x.onnx", "--name", "x"], 2, r"--name is for --format c"),
           ("no --out", ["export", "--model", "m.model", "--format", "c"], 2, r"--out are required"),
           ("--name with a slash", c_exp + ["--name", "../x"], 1, r"'\.\./x' is not a C identifier"),
           ("--name with a quote", c_exp + ["--name", 'a"b'], 1, r"not a C identifier"),
           ("--name too long", c_exp + ["--name", "a" * 64], 1, r"at most 63 characters"),
           ("--name starting with _", c_exp + ["--name", "_x"], 1, r"not a C identifier"),
           ("--name empty", c_exp + ["--name", ""], 1, r"not a C identifier|empty"),
           ("--out a missing folder", ["export", "--model", "m.model", "--format", "c", "--out",
                                       "nodir"], 1, r"nodir/model\.h: cannot create"),
           ("--out a file for C", ["export", "--model", "m.model", "--format", "c", "--out", "d.csv"],
            1, r"d\.csv/model\.h: cannot write"),
           ("--out - for onnx", onnx + ["-"], 2, r"standard output carries"),
           ("--out = --model", onnx + ["m.model"], 2, r"--out m\.model is the --model file"),
           ("--out = --data", onnx + ["d.csv", "--data", "d.csv"], 2, r"is the --data file"),
           ("C header = --model", ["export", "--model", "x.h", "--format", "c", "--name", "x", "--out",
                                   "."], 2, r"--out \./x\.h is the --model file"),
           ("--out a folder for onnx", onnx + ["."], 2, r"is a directory"),
           ("NAME.c is a folder", c_exp, 2, r"\./model\.c is a directory"),
           ("a truncated model", ["export", "--model", "t.model", "--format", "onnx", "--out", "t.onnx"],
            1, r"t\.model: truncated"),
           ("a CSV as the model", ["export", "--model", "d.csv", "--format", "onnx", "--out", "t.onnx"],
            1, r"d\.csv: not a descent model"),
           ("--data with a bad row", onnx + ["t.onnx", "--data", "bad.csv"], 1, r"bad\.csv:3:2"),
           ("--data without the model's columns", onnx + ["t.onnx", "--data", "cls.csv"], 1,
            r"cls\.csv"),
           ("--data and --idx-images", onnx + ["t.onnx", "--data", "d.csv", "--idx-images", "i.idx",
                                               "--idx-labels", "l.idx"], None, None),
           ("--max-bytes below the model", onnx + ["t.onnx", "--max-bytes", "32"], 1, r"max_bytes"),
           ("a FIFO nobody reads", onnx + ["p"], 1, r"p: no process reads this FIFO")]

    def setup(d):
        os.mkdir(os.path.join(d, "model.c"))
        with open(os.path.join(d, "m.model"), "rb") as f:
            b = f.read()
        write(os.path.join(d, "x.h"), b)
        write(os.path.join(d, "t.model"), b[:len(b) // 2])
        write(os.path.join(d, "bad.csv"), "a,b,c,y\n1,2,3,4\n1,x,3,4\n")
        os.mkfifo(os.path.join(d, "p"))
    for name, argv, st, msg in bad:
        check = None
        if st is None:  # either refused or done, but never half
            check = lambda d, r: None if r.status in (0, 1, 2) else "status %s" % r.status
        case("export/%s" % name, argv, st, msg, setup=setup, check=check,
             creates=["t.onnx"] if st is None else ())
    case("export/onto a full device", onnx + ["full"], 1, r"full: cannot write: No space left",
         setup=lambda d: mknod_or_skip(d, "full", 7))
    case("export/C over old files", "echo old > model.h; echo old > model.c; $D export --model m.model "
         "--format c --out . > /dev/null && grep -c model_predict model.h", 0, out=r"^[1-9]", shell=True,
         creates=["model.h", "model.c"])
    case("export/C through a link", ["export", "--model", "m.model", "--format", "c", "--out", "ln"], 0,
         setup=lambda d: (os.mkdir(os.path.join(d, "sub")), os.symlink("sub", os.path.join(d, "ln"))),
         creates=["sub/model.h", "sub/model.c"], check=is_type("ln", "link"))
    # Names from a hostile CSV header and hostile class labels go into C
    # string literals and comments: the result must compile, warnings as
    # errors, trigraphs on; ONNX and the JSON report take them too.
    weird = b'"q""x",*/ evil,??/,"nl\nx",b\\s\xff,label\n' + b"".join(
        b"%d,%d,%d,%d,%d,%s\n" % (i % 3, i % 5, i % 7, i % 2, i % 4,
                                  [b'"c""t"', b"*/ ??= x", b"d\\\xffg"][i % 3]) for i in range(30))
    train_w = ("$D train --data w.csv --target label --max-iter 5 --save w.model --quiet > /dev/null && ")
    cc = "$(command -v cc || command -v gcc || command -v clang)"
    case("export/hostile names compile", train_w + "$D export --model w.model --format c --name w "
         "--out . > /dev/null && { [ -z \"%s\" ] || %s -std=c99 -pedantic -Wall -Wextra -Werror "
         "-trigraphs -c w.c -o w.o; } && echo compiled" % (cc, cc), 0, out=r"^compiled$", shell=True,
         setup=files(w__csv=weird), creates=["w.model", "w.h", "w.c", "w.o"], timeout=120)
    case("export/hostile names in ONNX and JSON", train_w + "$D export --model w.model --format onnx "
         "--out w.onnx --json --data w.csv --target label", 0, shell=True, setup=files(w__csv=weird),
         creates=["w.model", "w.onnx"], check=stdout_json)


# --------------------------------------------------------------------------
# The lesson page: its requests (a small language of its own) and its folder

def lessons():
    line = ("line data=seed fit=intercept slope=0.64 icpt0=0 slope0=1 lr=0.1 tol=0.001 max_iter=1000 "
            "batch=0 seed=42 opt=gd")
    net = ("net demo=softplus data=dosage init=demo only=demo lr=0.1 opt=gd tol=0.001 max_iter=1000 "
           "loss_tol=0.001 relu0=0 seed=42")
    bad = [("empty", "", r"an empty request"), ("unknown kind", "fly", r"no request 'fly'"),
           ("a bad escape", line.replace("opt=gd", "opt=g%zz"), r"bad %-escape"),
           ("a NUL escape", line.replace("data=seed", "data=d.csv%00x"), r"%00 \(a NUL byte\) in the value of data"),
           ("a key twice", line + " seed=1", r"key 'seed' given twice"),
           ("an unknown key", line + " color=red", r"color"),
           ("a missing key", line.replace(" opt=gd", ""), r"needs opt="),
           ("two spaces", line.replace(" lr", "  lr"), r"expected key=value"),
           ("a trailing space", line + " ", r"expected key=value"),
           ("no value", line.replace("lr=0.1", "lr="), r"lr"),
           ("lr not a number", line.replace("lr=0.1", "lr=nan"), r"lr=nan is not a number"),
           ("max_iter past the page's", line.replace("max_iter=1000", "max_iter=1000000000"),
            r"at most 20000 iterations"),
           ("batch past 1e9", line.replace("batch=0", "batch=99999999999999"), r"batch must be a whole"),
           ("at negative", line + " at=-1", r"at must be a whole number"),
           ("at past the run", net + " at=100000000", r"but the run has \d+ states"),
           ("init of three numbers", net.replace("init=demo", "init=1,2,3"), r"seven numbers"),
           ("init with NaN", net.replace("init=demo", "init=nan,1,1,1,1,1,1"), r"seven numbers"),
           ("no such demo", net.replace("demo=softplus", "demo=%41%41"), r"no demo 'AA'"),
           ("a long request", net.replace("only=demo", "only=" + ",".join(["w1"] * 3000)), r"too long"),
           ("demos with a key", "demos extra=1", r"'demos' has no key extra"),
           ("data /dev/zero", line.replace("data=seed", "data=/dev/zero"), r"/dev/zero:1: a record longer"),
           ("data a folder", line.replace("data=seed", "data=."), r"\.: is a directory"),
           ("data a bad CSV", line.replace("data=seed", "data=bad.csv"), r"bad\.csv:3:1"),
           ("data binary", net.replace("data=dosage", "data=/dev/urandom"), r"/dev/urandom")]
    for name, req, msg in bad:
        case("lesson/%s" % name, ["lesson", "--answer", req], 1, msg, check=stdout_json,
             setup=files(bad__csv="x,y\n1,2\nz,3\n"))
    case("lesson/an answer", ["lesson", "--answer", line + " at=3"], 0, check=stdout_json)
    case("lesson/a diverged line is a result", ["lesson", "--answer", line.replace("lr=0.1", "lr=1e30")],
         0, out=r'"stop": "diverged"', check=stdout_json)
    case("lesson/--out is a file", ["lesson", "--out", "d.csv"], 2, r"--out d\.csv: not a folder")
    case("lesson/--out and --answer", ["lesson", "--out", "x", "--answer", "demos"], 2, r"not both")
    case("lesson/no --out", ["lesson"], 2, r"--out DIR is required")
    case("lesson/index.html is a folder", ["lesson", "--out", "L", "--recorded"], 1,
         r"L/index\.html is a directory", setup=lambda d: os.makedirs(os.path.join(d, "L", "index.html")))
    case("lesson/--out inside a missing folder", ["lesson", "--out", "new/sub", "--recorded"], 1,
         r"new/sub: No such file|cannot create")
    case("lesson/--out through a link to a folder", ["lesson", "--out", "ln", "--recorded", "--quiet"], 0,
         setup=lambda d: (os.mkdir(os.path.join(d, "sub")), os.symlink("sub", os.path.join(d, "ln"))),
         creates=["sub/index.html"], check=is_type("ln", "link"), timeout=120)
    case("lesson/a page over an old one", "mkdir L && echo old > L/index.html && "
         "$D lesson --out L --recorded --quiet && grep -c '<html' L/index.html", 0, out=r"^[1-9]",
         shell=True, creates=["L", "L/index.html"], timeout=120)


# --------------------------------------------------------------------------
# Two writers at once

def each_ok(cmd, n=4):
    """A shell line starting cmd n times at once, then printing how many
    of them ended with status 0 (each one's status, kept by its id)."""
    return ("p=; for i in %s; do %s & p=\"$p $!\"; done; ok=0; "
            "for j in $p; do wait $j && ok=$((ok+1)); done; echo ok $ok; " % (
                " ".join(str(i) for i in range(1, n + 1)), cmd))


def concurrency(descent):
    case("conc/4 predicts, one --out", each_ok("$D predict --model m.model --data new.csv --out same.csv")
         + "wc -l < same.csv", 0, out=r"ok 4\n3$", shell=True, creates=["same.csv"])
    case("conc/4 trains, one --save", each_ok("$D train --data d.csv --max-iter 20 --save same.model "
                                              "--quiet > /dev/null") + "$D info --model same.model", 0,
         out=r"ok 4\n(.|\n)*^network", shell=True, creates=["same.model"])
    case("conc/4 trains, one --log", each_ok("$D train --data d.csv --epochs 3 --batch 5 --log same.jsonl "
                                             "--quiet > /dev/null"), 0, out=r"^ok 4$", shell=True,
         creates=["same.jsonl"], check=file_json("same.jsonl"))
    case("conc/4 exports, one --out", each_ok("$D export --model m.model --format onnx --out same.onnx "
                                              "> /dev/null"), 0, out=r"^ok 4$", shell=True,
         creates=["same.onnx"])
    case("conc/8 mixed writers of one file", each_ok("$D predict --model m.model --data new.csv --out o; "
                                                     "$D train --data d.csv --epochs 2 --log o --quiet "
                                                     "> /dev/null", 8), 0, out=r"^ok 8$", shell=True,
         creates=["o"], timeout=120)
    case("conc/reading a model while it is rewritten",
         "(for i in 1 2 3 4 5 6; do $D train --data d.csv --max-iter 10 --save m.model --quiet 2>/dev/null; done) & "
         "ok=0; for i in 1 2 3 4 5 6 7 8 9 10; do $D info --model m.model > /dev/null && ok=$((ok+1)); done; "
         "wait; echo ok $ok", 0, out=r"ok 10", shell=True, changes=["m.model"], timeout=120)


# --------------------------------------------------------------------------
# JSON from every command, with hostile names

def json_everywhere():
    weird = b'"q""x",b\\s\x01,\xff\xfe,label\n' + b"".join(
        b"%d,%d,%d,%s\n" % (i % 3, i % 5, i % 7, [b'c"t', b"d\xffg", b"e\tm"][i % 3]) for i in range(30))
    setup = files(w__csv=weird)
    case("json/train", ["train", "--data", "w.csv", "--target", "label", "--epochs", "2", "--batch", "8",
                        "--json", "--log", "w.jsonl", "--save", "w.model"], 0, setup=setup,
         creates=["w.model", "w.jsonl"], check=all_of(stdout_json, file_json("w.jsonl")))
    for what, cmd in [("info", "$D info --model w.model --json"),
                      ("eval", "$D eval --model w.model --data w.csv --json"),
                      ("explain", "head -8 w.csv > w8.csv && $D explain --model w.model --data w8.csv --json")]:
        case("json/%s" % what, "$D train --data w.csv --target label --max-iter 3 --save w.model "
             "--quiet > /dev/null 2>&1 && " + cmd, 0, shell=True, setup=setup,
             creates=["w.model", "w8.csv"] if what == "explain" else ["w.model"], check=stdout_json)
    case("json/diverged", TRAIN[:-1] + ["--lr", "1e30", "--json"], 1, check=stdout_json)
    case("json/line", LINE[:-1] + ["--json"], 0, check=stdout_json)
    case("json/gradcheck", ["gradcheck", "--json"], 0, check=stdout_json)
    case("json/demo", ["demo", "relu", "--dir", "dd", "--json"], 0, creates=["dd", "dd/dosage.csv",
                                                                             "dd/relu.init"], check=stdout_json)


# --------------------------------------------------------------------------
# MPI

def environment():
    """Environment variables the library reads: a value it cannot use is
    named in a warning, and the run goes on with the default."""
    for v in ("abc", "0", "-1", "2x", "1e3"):
        case("env/DSC_NUM_THREADS=%s" % v, TRAIN, 0,
             r"descent: warning: DSC_NUM_THREADS='%s' is not a whole number of threads from 1 to 256; ignored"
             % re.escape(v), env={"DSC_NUM_THREADS": v})
    case("env/DSC_NUM_THREADS too large", ["--version"], 0,
         r"DSC_NUM_THREADS='99999' is more than 256; using 256", env={"DSC_NUM_THREADS": "99999"})
    case("env/DSC_GEMM_KERNEL=bogus", TRAIN, 0,
         r"descent: warning: DSC_GEMM_KERNEL='bogus' names no kernel \(.*portable\); ignored",
         env={"DSC_GEMM_KERNEL": "bogus"})
    case("env/DSC_GEMM_KERNEL=bogus, version", ["--version"], 0,
         r"DSC_GEMM_KERNEL='bogus' names no kernel", out=r"gemm: built-in \(", env={"DSC_GEMM_KERNEL": "bogus"})
    case("env/DSC_GEMM_KERNEL too long", ["--version"], 0, r"DSC_GEMM_KERNEL='x{32}' names no kernel",
         env={"DSC_GEMM_KERNEL": "x" * 5000})


def mpi(mpiexec):
    env = {"OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_ALLOW_RUN_AS_ROOT": "1",
           "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMP_NUM_THREADS": "1"}
    # Open MPI's own allocations are not ours: the suppressions the other
    # MPI tests use, with full stacks to tell them apart.
    supp = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lsan-mpi.supp")
    env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % supp
    env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":fast_unwind_on_malloc=0"
    m = mpiexec
    case("mpi/bad data on rank 1", "%s -n 1 $D train --data cls.csv --target label --epochs 2 --save x.model "
         ": -n 1 $D train --data bad.csv --target label --epochs 2 --save x.model" % m, 1,
         r"rank 1: bad\.csv:3", shell=True, env=env, timeout=180,
         setup=files(bad__csv="x1,x2,label\n1,2,cat\n1,oops,dog\n"))
    case("mpi/a full device on rank 0", "%s -n 2 $D train --data d.csv --epochs 2 --save full --quiet" % m,
         1, r"No space left", shell=True, env=env, timeout=180, setup=lambda d: mknod_or_skip(d, "full", 7))
    case("mpi/output = input", "%s -n 2 $D train --data d.csv --epochs 2 --save d.csv" % m, 2,
         r"is the --data file", shell=True, env=env, timeout=180)
    case("mpi/a bad model on every rank", "%s -n 2 $D eval --model d.csv --data d.csv" % m, 1,
         r"not a descent model file", shell=True, env=env, timeout=180)
    # On Ctrl-C Open MPI 4 sends SIGTERM and SIGKILLs the ranks still running
    # about odls_base_sigkill_timeout later (1 s by default): rank 0 has that
    # long to finish its step and save, which a busy machine can exceed
    # (docs/SCALING.md). The claim here is that the ranks stop together and
    # rank 0 saves, not how fast; mpirun takes about twice the timeout.
    ienv = dict(env, OMPI_MCA_odls_base_sigkill_timeout="5")
    for np_ in (1, 2, 3):
        case("mpi/SIGINT to mpirun, %d ranks" % np_, None, None, timeout=180, env=ienv,
             creates=["sig.model", "sig.jsonl"],
             run=mpi_interrupt(m, np_, ienv),
             check=lambda d, r: ("no saving message" if b"the model so far is saved" not in r.err else
                                 "the saving message is printed %d times" % r.err.count(b"so far is saved")
                                 if r.err.count(b"so far is saved") != 1 else is_model("sig.model")(d, r)))


def mpi_interrupt(mpiexec, np_, env):
    def run(descent, d, c):
        e = dict(os.environ)
        e.update(env)
        t0 = time.time()
        p = subprocess.Popen([mpiexec, "-n", str(np_), descent, "train", "--data", "cls.csv", "--target",
                              "label", "--layers", "64:relu", "--epochs", "100000000", "--batch", "4",
                              "--save", "sig.model", "--log", "sig.jsonl", "--quiet"], cwd=d, env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        # mpirun can take many seconds to start ranks on a busy machine.
        ready = wait_for_temp(d, "sig.jsonl", c.timeout / 2, lines=True, proc=p)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        r = finish(p, t0, c.timeout)
        return r if ready else not_ready(r, "the ranks did not start training", c.timeout / 2)
    return run
