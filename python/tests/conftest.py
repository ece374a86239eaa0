"""Shared fixtures. CTest (tests/python.sh) runs these tests against the
build tree: DESCENT_LIBRARY names its libdescent.so, DESCENT_CLI its
`descent` tool, DESCENT_LAYOUT_PROBE the struct layout printer."""

import os
import subprocess

import numpy as np
import pytest



@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("DESCENT_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("DESCENT_CLI (the descent tool of this build) is not set")
    return path


def child_env():
    """The environment for programs the tests start: without the sanitizer
    runtime a sanitizer build preloads into Python (tests/python.sh), which
    the build's own programs link in already."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def run_cli(cli, *args, check=True):
    r = subprocess.run([cli, *args], capture_output=True, text=True, timeout=600, env=child_env())
    if check and r.returncode != 0:
        raise AssertionError(f"descent {' '.join(args)} exited {r.returncode}: {r.stderr}")
    return r


def write_csv(path, header, rows):
    """A CSV whose numbers are float32 values written so that they read back
    exactly (the shortest repr), for Python and the tool to read alike."""
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(
                ",".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(v) for v in row)
                + "\n"
            )


@pytest.fixture
def blobs():
    """Three well-separated classes in 4 columns, 150 rows, float64."""
    rng = np.random.RandomState(0)
    centers = np.array([[0, 0, 0, 0], [3, 3, 0, 0], [0, 3, 3, 3]], dtype=float)
    y = np.repeat(np.arange(3), 50)
    x = centers[y] + rng.normal(scale=0.5, size=(150, 4))
    return x, y
