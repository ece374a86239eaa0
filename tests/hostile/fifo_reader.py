#!/usr/bin/env python3
"""fifo_reader.py FIFO OUT READY [LIMIT]: reads FIFO into OUT (LIMIT bytes
at most, then quits), after making the file READY once it is a reader.

`(cat p > out &); sleep 0.2; writer` races on a busy machine: the writer may
open the FIFO before cat does and find no reader. This opens it at once
(O_NONBLOCK: no writer needed), says so, and then waits for one: on Linux a
reader that came before any writer sees no hang-up until a writer has been."""
import os
import select
import sys

fifo, out, ready = sys.argv[1:4]
limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
open(ready, "w").close()
got = 0
with open(out, "wb") as f:
    p = select.poll()
    p.register(fd, select.POLLIN)
    while limit is None or got < limit:
        p.poll()
        try:
            b = os.read(fd, 65536 if limit is None else min(65536, limit - got))
        except BlockingIOError:
            continue
        if not b:
            break
        f.write(b)
        got += len(b)
os.close(fd)
