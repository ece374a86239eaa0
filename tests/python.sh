#!/usr/bin/env bash
# The Python package (python/): its pytest suite against this build's
# libdescent.so and tool, then the documented install (cmake --install, pip
# install of python/) imported from where it landed. Exit 77 (CTest: skipped)
# with the reason when Python, numpy, scikit-learn or pytest are missing.
set -u
lib=$1 cli=$2 probe=$3 src=$4 build=$5
py=${DSC_PYTHON:-/usr/bin/python3}
if [ ! -x "$py" ]; then
  echo "skipped: $py not found (set DSC_PYTHON)"
  exit 77
fi
missing=$("$py" - <<'PY'
import importlib.util
print(" ".join(m for m in ("numpy", "sklearn", "pytest") if importlib.util.find_spec(m) is None))
PY
)
if [ -n "$missing" ]; then
  echo "skipped: $py has no $missing (Debian: apt-get install python3-numpy python3-sklearn python3-pytest python3-pandas)"
  exit 77
fi

preload=${DSC_PY_PRELOAD:-}
if [ "$preload" = tsan ]; then
  echo "skipped: ThreadSanitizer's runtime cannot be loaded into an uninstrumented Python;"
  echo "         threads sharing one model are tested in C under TSan (test_model, test_embed)"
  exit 77
fi
if [ -n "$preload" ] && [ ! -f "$preload" ]; then
  echo "skipped: the sanitizer runtime $preload is missing"
  exit 77
fi
# Python itself, with a sanitizer build's runtime loaded first (the tests
# drop it again for the programs they start, which link it in already).
# Python and numpy keep memory until exit on purpose, so leak reports are
# left to the C tests; every other error still aborts.
pyrun() {
  if [ -n "$preload" ]; then
    LD_PRELOAD=$preload ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$py" "$@"
  else
    "$py" "$@"
  fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PYTHONDONTWRITEBYTECODE=1

status=0
DESCENT_LIBRARY=$lib DESCENT_CLI=$cli DESCENT_LAYOUT_PROBE=$probe PYTHONPATH=$src/python \
  pyrun -m pytest -q -p no:cacheprovider --rootdir "$src/python" "$src/python/tests" || status=1

# The install a user makes, in a temporary prefix: the package must find the
# installed library by itself (here through LD_LIBRARY_PATH, as ldconfig
# would after `make install`).
if "$py" -m pip --version > /dev/null 2>&1; then
  cmake --install "$build" --prefix "$tmp/prefix" > /dev/null || status=1
  cp -r "$src/python" "$tmp/pysrc"
  if "$py" -m pip install --no-build-isolation --no-deps --no-index --target "$tmp/site" -q \
    "$tmp/pysrc" > "$tmp/pip.log" 2>&1; then
    libdir=$(dirname "$(find "$tmp/prefix" -name 'libdescent.so.0' | head -1)")
    if (cd "$tmp" && unset DESCENT_LIBRARY && PYTHONPATH="$tmp/site" LD_LIBRARY_PATH="$libdir" pyrun - "$tmp/site" <<'PY'
import sys
import numpy as np
import descent
assert descent.__file__.startswith(sys.argv[1]), descent.__file__
r = descent.train([0, 0.5, 1], [0, 1, 0], layers="2:softplus", lr=0.1, max_iter=2000)
assert r.model.predict(np.array([[0.5]])).shape == (1, 1)
from descent import DescentClassifier
print("installed package:", descent.__file__, "library", descent.library_version)
PY
    ); then
      echo "ok: pip install of python/ imports and trains against the installed library"
    else
      echo "FAILED: the pip-installed package does not work"
      status=1
    fi
  else
    cat "$tmp/pip.log"
    echo "FAILED: pip install --no-build-isolation ./python"
    status=1
  fi
else
  echo "note: $py has no pip (Debian: python3-pip): the install check is skipped"
fi
exit $status
