#!/usr/bin/env bash
# Build the release wheel, install it (core dependencies only, no extras) into a fresh virtual
# environment outside the checkout, and run what a new user runs first: `zcnas demo --no-live`
# and a scoring call. An editable install can hide a package file the wheel does not ship;
# this cannot. uv's cache is shared, so torch is linked from it rather than downloaded again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
UV="$PYTHON -m uv"
work=$(mktemp -d "${TMPDIR:-/tmp}/zcnas-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

$UV tool run --quiet --from "maturin>=1.9.4,<2" maturin build --release --quiet \
    --interpreter "$PYTHON" --out "$work/dist"
wheel=$(ls "$work"/dist/zcnas-*.whl)
echo "built $(basename "$wheel") ($(du -h "$wheel" | cut -f1)) in $(($(date +%s) - start)) s"

$UV venv --quiet --python "$PYTHON" "$work/venv"
$UV pip install --quiet --python "$work/venv/bin/python" "$wheel"
echo "installed into $work/venv after $(($(date +%s) - start)) s"

mkdir "$work/run" && cd "$work/run"  # nothing of the checkout is importable from here
"$work/venv/bin/python" - <<'PY'
import importlib.util, zcnas
assert "site-packages" in zcnas.__file__, zcnas.__file__
for extra in ("matplotlib", "lightgbm", "ray", "pyarrow"):
    assert importlib.util.find_spec(extra) is None, f"{extra} came with the core install"
PY
"$work/venv/bin/zcnas" --version
"$work/venv/bin/zcnas" demo --no-live --out "$work/run/demo" >"$work/demo.txt"
grep -q "94.3733% at index 6111" "$work/demo.txt"
grep -q 'pip install "zcnas\[analysis\]"' "$work/demo.txt"  # the figure needs the extra
if grep -nE 'benches/|RESULTS\.md|README|docs/' "$work/demo.txt"; then
    echo "zcnas demo points to files the wheel does not ship" >&2
    exit 1
fi
"$work/venv/bin/zcnas" score --space nb201 --arch 6111 --arch 0 --proxies synflow,nwot,params \
    --store "$work/run/scores.sqlite" --json >"$work/score.json"
"$work/venv/bin/python" - "$work/score.json" <<'PY'
import json, math, sys
res = json.load(open(sys.argv[1]))
assert sorted(res) == ["0", "6111"], res
assert all(math.isfinite(v) for r in res.values() for v in r.values()), res
print("score:", res)
PY
"$work/venv/bin/zcnas" store info --store "$work/run/scores.sqlite"
echo "wheel check passed in $(($(date +%s) - start)) s"
