#!/usr/bin/env bash
# The lesson page's tests in Node (lesson/test/): `page` opens the page in
# headless Chromium (Debian's chromium, driven by npm's playwright-core);
# `engine` compares the WebAssembly engine's answers with the command
# line's. Each skips (exit 77, with the reason) where a tool is missing;
# CI installs them all (.ci/run) and sets DSC_REQUIRE_LESSON=1 (a skip is
# then a failure) or =live (also: the page tested must be the live one).
#   lesson_node.sh page   DESCENT SOURCE_DIR SHOTS_DIR
#   lesson_node.sh engine DESCENT SOURCE_DIR ENGINE_JS
set -u
what=$1 cli=$2 src=$3 arg=$4
skip() {
  if [ -n "${DSC_REQUIRE_LESSON:-}" ] && [ "$DSC_REQUIRE_LESSON" != 0 ]; then
    echo "FAIL (DSC_REQUIRE_LESSON=$DSC_REQUIRE_LESSON): $*"
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
command -v node > /dev/null || skip "node is not installed (Node.js 20 or later)"
case $what in
  page)
    chromium=${DSC_CHROMIUM:-/usr/bin/chromium}
    [ -x "$chromium" ] || skip "no Chromium at $chromium (apt-get install chromium)"
    [ -d "$src/lesson/test/node_modules/playwright-core" ] ||
      skip "playwright-core is not installed: npm ci --prefix $src/lesson/test"
    exec node "$src/lesson/test/page.test.mjs" "$cli" "$arg" ;;
  engine)
    [ -f "$arg" ] || skip "no WebAssembly engine at $arg (this build has no emscripten)"
    exec node "$src/lesson/test/engine.test.mjs" "$cli" "$arg" ;;
esac
echo "lesson_node.sh: page or engine, not '$what'"
exit 2
