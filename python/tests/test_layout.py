"""The ctypes copies of descent.h's structs match the compiled C layout,
field by field (tests/py_layout.c prints it)."""

import ctypes
import json
import os
import subprocess

import pytest

from conftest import child_env
from descent import _capi, errors


@pytest.fixture(scope="module")
def layout():
    probe = os.environ.get("DESCENT_LAYOUT_PROBE")
    if not probe:
        pytest.skip("DESCENT_LAYOUT_PROBE (tests/py_layout of this build) is not set")
    out = subprocess.run([probe], capture_output=True, text=True, check=True, env=child_env())
    return json.loads(out.stdout)


@pytest.mark.parametrize("name", sorted(_capi.MIRRORED))
def test_struct_matches_the_header(layout, name):
    c = layout[name]
    py = _capi.MIRRORED[name]
    fields = [f for f, _ in py._fields_ if f != "_spare"]
    assert fields == list(c["fields"]), f"{name}: fields differ from descent.h"
    for f in fields:
        assert getattr(py, f).offset == c["fields"][f], f"{name}.{f}"
    # Without its spare tail the copy is exactly as large as the C struct:
    # a field added in C shows up here.
    end = py._spare.offset if hasattr(py, "_spare") else ctypes.sizeof(py)
    align = max(ctypes.alignment(t) for _, t in py._fields_)
    assert (end + align - 1) // align * align == c["size"], f"{name}: size differs from descent.h"


def test_status_values(layout):
    e = layout["enums"]
    assert errors.CancelledError.status == e["DSC_ECANCELLED"]
    assert errors.DivergedError.status == e["DSC_EDIVERGED"]
    assert errors.UnsupportedError.status == e["DSC_EUNSUPPORTED"]
    assert errors.LimitError.status == e["DSC_ELIMIT"]
