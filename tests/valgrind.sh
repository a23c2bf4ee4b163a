#!/usr/bin/env bash
# Runs every test binary of the crate under valgrind memcheck: no memory
# error and no definite leak is allowed (exit status 1 otherwise).
#
#   tests/valgrind.sh                 # the whole suite
#   tests/valgrind.sh test__event     # only binaries whose name matches
#
# Needs valgrind (apt-get install valgrind). Greenlet stacks are registered
# with valgrind (src/sanitize.rs), so no --max-stackframe is needed. Tests
# that time things get wider windows under valgrind: GEVENT_TEST_SLOW=1
# (see tests/common/mod.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
mapfile -t bins < <(cargo test --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])')
export GEVENT_TEST_SLOW=1
failed=()
for b in "${bins[@]}"; do
  name=$(basename "$b")
  [[ -z "$filter" || "$name" == *"$filter"* ]] || continue
  log=$(mktemp)
  if valgrind --quiet --error-exitcode=99 --leak-check=full \
       --errors-for-leak-kinds=definite --show-leak-kinds=definite \
       --suppressions=tests/valgrind.supp \
       "$b" --test-threads=1 >"$log" 2>&1; then
    echo "ok      $name ($(grep -o '[0-9]* passed' "$log" | awk '{s+=$1} END{print s+0}') passed)"
  else
    echo "FAILED  $name"
    grep -E "==[0-9]+==|panicked|FAILED|test result" "$log" | head -60 || true
    failed+=("$name")
  fi
  rm -f "$log"
done
if ((${#failed[@]})); then
  echo "valgrind: ${#failed[@]} binaries failed: ${failed[*]}"
  exit 1
fi
echo "valgrind: all binaries clean"
