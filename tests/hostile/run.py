#!/usr/bin/env python3
"""The standing attack suite: hundreds of hostile, broken and odd inputs
against every subcommand, loader, option, the model file, signals,
concurrency and MPI (docs/GUARANTEES.md says what must hold).

Every case runs in a folder of its own holding copies of the same small
files (data, models, a checkpoint, IDX files), and states what it expects:
refused (an exit status and a message that names the file, line, column or
option) or accepted. Whatever it expects, each case also checks that

  - no file that existed before changed (unless the case says it may),
    and no file appeared except the outputs it names;
  - no temporary file (NAME.tmp.XXXXXX) is left behind;
  - no sanitizer spoke (ASan, UBSan, LSan) and the process did not crash;
  - it ended within its time limit.

Malformed files are generated here; nothing large is committed.

    run.py DESCENT [MPIEXEC] [-k PATTERN] [-j JOBS] [--list]
"""
import hashlib
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SANITIZER = re.compile(rb"(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                       rb"ThreadSanitizer|runtime error:|MemorySanitizer)")
TEMP = re.compile(r"\.tmp\.[0-9a-z]{6}$")
ROOT = os.geteuid() == 0


class Case:
    """One hostile input and what it must lead to.

    argv: the command after `descent` (or, with shell=True, a shell line in
          which $D is descent); status: the exit status expected (None: any
          status that is not a crash); msg: a regex the standard error must
          match (a refusal names its file, place or option); out: a regex
          for standard output; creates: files the case may make; changes:
          existing files it may change; setup(dir): makes the case's own
          files; check(dir, result): more assertions, returns an error or
          None; timeout: seconds (a hang, not speed: generous, since a
          busy CI machine runs several builds at once)."""

    def __init__(self, name, argv, status, msg=None, out=None, creates=(), changes=(),
                 setup=None, check=None, timeout=120, shell=False, stdin=None, env=None,
                 run=None, mpi=False, signals_ok=()):
        self.name, self.argv, self.status, self.msg, self.out = name, argv, status, msg, out
        self.creates, self.changes = set(creates), set(changes)
        self.setup, self.check, self.timeout, self.shell = setup, check, timeout, shell
        self.stdin, self.env, self.run, self.mpi = stdin, env, run, mpi
        self.signals_ok = signals_ok


CASES = []


def case(*a, **k):
    c = Case(*a, **k)
    if any(x.name == c.name for x in CASES):
        raise SystemExit("two cases named %r" % c.name)
    CASES.append(c)
    return c


class Result:
    def __init__(self, status, out, err, elapsed, timed_out):
        self.status, self.out, self.err = status, out, err
        self.elapsed, self.timed_out = elapsed, timed_out


# --------------------------------------------------------------------------
# Running a command

def run_cmd(descent, argv, cwd, timeout, shell=False, stdin=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    e["D"] = descent
    t0 = time.time()
    if shell:
        cmd = ["/bin/sh", "-c", argv]
    else:
        cmd = [descent] + list(argv)
    inp = stdin if isinstance(stdin, bytes) else None
    p = subprocess.Popen(cmd, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if inp is not None else (stdin or subprocess.DEVNULL),
                         start_new_session=True)
    return finish(p, t0, timeout, inp)


def finish(p, t0, timeout, inp=None):
    """Waits for p (started in a session of its own at t0) at most timeout
    seconds, then kills its whole process group; its Result."""
    timed_out = False
    try:
        out, err = p.communicate(inp, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    return Result(p.returncode, out, err, time.time() - t0, timed_out)


def snapshot(d):
    """Every entry under d: its type, and its content (hash) or target."""
    snap = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(st.st_mode):
                snap[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha1()
                try:
                    with open(p, "rb") as f:
                        h.update(f.read())
                    snap[rel] = ("file", h.hexdigest(), stat.S_IMODE(st.st_mode))
                except OSError:
                    snap[rel] = ("file", "unreadable", stat.S_IMODE(st.st_mode))
            else:
                snap[rel] = (stat.S_IFMT(st.st_mode),)
    return snap


def judge(c, r, before, after, workdir):
    """The list of what went wrong (empty: the case passed)."""
    bad = []
    if getattr(r, "problem", None):
        bad.append(r.problem)
    if r.timed_out:
        bad.append("did not end within %d s" % c.timeout)
    if SANITIZER.search(r.err) or SANITIZER.search(r.out):
        m = SANITIZER.search(r.err) or SANITIZER.search(r.out)
        bad.append("a sanitizer spoke: %s" % m.group(0).decode())
    if not r.timed_out:
        if r.status is not None and r.status < 0 and c.status != r.status and \
                r.status not in c.signals_ok:
            bad.append("killed by signal %d" % -r.status)
        if r.status in (134, 139) and c.status not in (134, 139):
            bad.append("crashed (status %d)" % r.status)
        if c.status is not None and r.status != c.status:
            bad.append("exit status %s, expected %s" % (r.status, c.status))
    if c.msg and not re.search(c.msg, r.err.decode("utf-8", "replace")):
        bad.append("standard error lacks /%s/" % c.msg)
    if c.out and not re.search(c.out, r.out.decode("utf-8", "replace"), re.M):
        bad.append("standard output lacks /%s/" % c.out)
    for p in sorted(set(before) | set(after)):
        if TEMP.search(p):
            bad.append("temporary file left: %s" % p)
            continue
        if p in before and p not in after and p not in c.changes:
            bad.append("%s disappeared" % p)
        elif p not in before and p in after and p not in c.creates:
            bad.append("%s appeared" % p)
        elif p in before and p in after and before[p] != after[p] and p not in c.changes:
            bad.append("%s changed (%s -> %s)" % (p, before[p][0], after[p][0]))
    if c.check and not bad:
        try:
            why = c.check(workdir, r)
        except Exception as ex:  # a check that breaks is a failure to report
            why = "check raised %r" % ex
        if why:
            bad.append(why)
    return bad


# --------------------------------------------------------------------------
# The common files every case starts from

def write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def idx_images(count, rows, cols, data=None):
    body = data if data is not None else bytes((i * 37) % 256 for i in range(count * rows * cols))
    return struct.pack(">IIII", 0x803, count, rows, cols) + body


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def make_base(descent, base):
    import random
    rnd = random.Random(17)
    rows = ["a,b,c,y"]
    for _ in range(20):
        a, b, c = rnd.uniform(-1, 1), rnd.uniform(-1, 1), rnd.uniform(-1, 1)
        rows.append("%.3f,%.3f,%.3f,%.3f" % (a, b, c, 2 * a - b + 0.5 * c))
    write(os.path.join(base, "d.csv"), "\n".join(rows) + "\n")
    rows = ["x1,x2,label"]
    names = ["cat", "dog", "emu"]
    for i in range(30):
        k = i % 3
        rows.append("%.3f,%.3f,%s" % (k + rnd.uniform(-.3, .3), -k + rnd.uniform(-.3, .3), names[k]))
    write(os.path.join(base, "cls.csv"), "\n".join(rows) + "\n")
    write(os.path.join(base, "new.csv"), "a,b,c\n0.1,0.2,0.3\n-0.5,0.4,0.9\n")
    write(os.path.join(base, "init.txt"), "w1 0.5\nw2 -0.5\n# a comment\nb1 0.1\n")
    write(os.path.join(base, "i.idx"), idx_images(4, 2, 2))
    write(os.path.join(base, "l.idx"), idx_labels([0, 1, 2, 1]))
    write(os.path.join(base, "i.idx.gz"), gzip_bytes(idx_images(4, 2, 2)))
    for argv in (["train", "--data", "d.csv", "--max-iter", "30", "--save", "m.model"],
                 ["train", "--data", "cls.csv", "--target", "label", "--layers", "4:tanh",
                  "--epochs", "3", "--batch", "8", "--save", "cls.model"],
                 ["train", "--data", "cls.csv", "--target", "label", "--epochs", "2", "--batch",
                  "8", "--optimizer", "adam", "--checkpoint-every", "1", "--save", "ck.model"]):
        r = run_cmd(descent, argv + ["--quiet"], base, 120)
        if r.status != 0:
            raise SystemExit("setting up: descent %s failed:\n%s" % (" ".join(argv),
                                                                    r.err.decode()))


def gzip_bytes(data, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def model_bytes(base, name="m.model"):
    with open(os.path.join(base, name), "rb") as f:
        return f.read()


def chunks(b):
    """(offset, tag, length) of each chunk of a model file."""
    out, pos = [], 12
    while pos + 8 <= len(b):
        tag, n = b[pos:pos + 4], struct.unpack("<I", b[pos + 4:pos + 8])[0]
        out.append((pos, tag, n))
        pos += 8 + n
    return out


def recrc(b):
    """b with its END chunk's checksum made right again (for files that are
    damaged on purpose somewhere the checksum would otherwise catch)."""
    b = bytearray(b)
    end = [c for c in chunks(bytes(b)) if c[1] == b"END "][-1][0]
    struct.pack_into("<I", b, end + 8, zlib.crc32(bytes(b[:end])) & 0xffffffff)
    return bytes(b)


def with_chunk(b, tag, payload, before_end=True):
    """b with one more chunk (before END), checksum fixed."""
    end = [c for c in chunks(b) if c[1] == b"END "][-1][0]
    new = b[:end] + tag + struct.pack("<I", len(payload)) + payload + b[end:]
    return recrc(new)


def replace_chunk(b, tag, payload):
    out = b[:12]
    for pos, t, n in chunks(b):
        if t == tag:
            out += t + struct.pack("<I", len(payload)) + payload
        else:
            out += b[pos:pos + 8 + n]
    return recrc(out)


def strs(*names):
    out = b""
    for s in names:
        s = s if isinstance(s, bytes) else s.encode()
        out += struct.pack("<I", len(s)) + s
    return out


# --------------------------------------------------------------------------
# Checks shared by cases

def is_model(name):
    def check(d, r):
        with open(os.path.join(d, name), "rb") as f:
            if f.read(8) != b"DSCMODEL":
                return "%s is not a model file" % name
        return None
    return check


def is_type(name, kind):
    def check(d, r):
        st = os.lstat(os.path.join(d, name))
        ok = {"fifo": stat.S_ISFIFO, "char": stat.S_ISCHR, "link": stat.S_ISLNK,
              "file": stat.S_ISREG, "dir": stat.S_ISDIR, "block": stat.S_ISBLK}[kind](st.st_mode)
        return None if ok else "%s is no longer a %s" % (name, kind)
    return check


def all_of(*checks):
    def check(d, r):
        for c in checks:
            why = c(d, r)
            if why:
                return why
        return None
    return check


def json_lines(text):
    import json
    lines = [l for l in text.split(b"\n") if l.strip()]
    if not lines:
        return "no JSON"
    for l in lines:
        try:
            l.decode("ascii")
            json.loads(l)
        except Exception as ex:
            return "not valid ASCII JSON: %r (%s)" % (l[:120], ex)
    return None


def stdout_json(d, r):
    return json_lines(r.out)


def file_json(name):
    def check(d, r):
        with open(os.path.join(d, name), "rb") as f:
            return json_lines(f.read())
    return check


def mknod_or_skip(d, name, minor):
    """A private character device (as root), so a regression cannot harm
    the machine's /dev/full or /dev/null; otherwise the real one is safe
    (its folder cannot be written)."""
    p = os.path.join(d, name)
    if ROOT:
        os.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    else:
        os.symlink("/dev/full" if minor == 7 else "/dev/null", p)


# --------------------------------------------------------------------------
# Main

def main():
    args = sys.argv[1:]
    pattern, jobs, listing = None, 2, False
    pos = []
    i = 0
    while i < len(args):
        if args[i] == "-k":
            pattern = args[i + 1]
            i += 2
        elif args[i] == "-j":
            jobs = int(args[i + 1])
            i += 2
        elif args[i] == "--list":
            listing = True
            i += 1
        else:
            pos.append(args[i])
            i += 1
    if not pos:
        raise SystemExit(__doc__)
    descent = os.path.abspath(pos[0])
    os.environ["D_BIN"] = descent
    mpiexec = pos[1] if len(pos) > 1 and pos[1] else None
    sys.modules.setdefault("run", sys.modules[__name__])
    import cases  # noqa: E402  (the case lists, which import from here)
    cases.define(descent, mpiexec)
    selected = [c for c in CASES if not pattern or re.search(pattern, c.name)]
    if listing:
        for c in selected:
            print(c.name)
        print("%d cases" % len(selected))
        return 0
    top = tempfile.mkdtemp(prefix="dsc_hostile_")
    base = os.path.join(top, "base")
    os.mkdir(base)
    t0 = time.time()
    make_base(descent, base)
    failures, lock, queue = [], threading.Lock(), list(enumerate(selected))
    done = [0]

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                k, c = queue.pop(0)
            d = os.path.join(top, "c%04d" % k)
            shutil.copytree(base, d, symlinks=True)
            bad = []
            try:
                if c.setup:
                    c.setup(d)
                before = snapshot(d)
                if c.run:
                    r = c.run(descent, d, c)
                else:
                    r = run_cmd(descent, c.argv, d, c.timeout, c.shell, c.stdin, c.env)
                after = snapshot(d)
                bad = judge(c, r, before, after, d)
            except Exception as ex:
                import traceback
                bad = ["the case itself failed: %r\n%s" % (ex, traceback.format_exc())]
                r = None
            with lock:
                done[0] += 1
                if bad:
                    failures.append((c, bad, r))
            if not bad:
                shutil.rmtree(d, ignore_errors=True)

    threads = [threading.Thread(target=worker) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c, bad, r in sorted(failures, key=lambda f: f[0].name):
        print("FAIL %s: %s" % (c.name, "; ".join(bad)))
        print("    command: %s" % (c.argv if c.shell or c.argv is None else " ".join(map(str, c.argv))))
        if r is not None:
            print("    status %s, %.1f s; stderr: %s" % (r.status, r.elapsed,
                                                       r.err.decode("utf-8", "replace")[-600:]))
    print("%d hostile cases, %d passed, %d failed, %.0f s" % (len(selected),
                                                            len(selected) - len(failures),
                                                            len(failures), time.time() - t0))
    if not failures:
        shutil.rmtree(top, ignore_errors=True)
    else:
        print("(the failed cases' folders are in %s)" % top)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
