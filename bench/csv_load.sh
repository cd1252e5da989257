#!/bin/sh
# bench/csv_load.sh - loading and preprocessing a large numeric CSV: soma
# beside pandas' read_csv + float32 conversion, wall time and peak RSS from
# GNU time, REPEAT interleaved runs each (soma, pandas, soma, pandas, ...).
# Prints a markdown block to paste into BENCHMARKS.md.
#
#   [CSV_BENCH_MB=1024] [CSV_BENCH_DIR=/tmp/soma-csv-bench] [REPEAT=3]
#   [BUILD=build] [PYTHON=/usr/bin/python3] [SOMA_LOAD_CMD='...FILE...']
#   [BENCH_INSTALL=1] sh bench/csv_load.sh
#
# The CSV (header f0..f19,y; 20 features in mixed precision and a numeric
# target; fixed seed) is generated once, in 100,000-row chunks, and kept in
# CSV_BENCH_DIR. SOMA_LOAD_CMD is run by sh -c with the word FILE replaced
# by the CSV's path. BENCH_INSTALL=1 installs python3-pandas and time.
set -eu

BUILD=${BUILD:-build}
DIR=${CSV_BENCH_DIR:-/tmp/soma-csv-bench}
MB=${CSV_BENCH_MB:-1024}
REPEAT=${REPEAT:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
SOMA_CMD=${SOMA_LOAD_CMD:-"$BUILD/soma train FILE --target y --epochs 0 -o $TMP/m.safetensors --quiet"}

die() { echo "csv_load.sh: $*" >&2; exit 1; }
need() { # need PACKAGE WHAT TEST-COMMAND...
    pkg=$1 what=$2; shift 2
    "$@" >/dev/null 2>&1 && return 0
    if [ "${BENCH_INSTALL:-0}" != 1 ]; then
        die "$what: run 'apt-get install $pkg' (or set BENCH_INSTALL=1)"
    fi
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    { $sudo apt-get update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg"; } ||
        die "apt-get install $pkg failed"
    "$@" >/dev/null 2>&1 || die "$pkg installed but '$*' still fails"
}
need time "no /usr/bin/time (GNU time)" test -x /usr/bin/time
need python3-pandas "$PYTHON cannot import numpy and pandas" "$PYTHON" -c 'import numpy, pandas'
if [ -z "${SOMA_LOAD_CMD:-}" ] && [ ! -x "$BUILD/soma" ]; then
    die "$BUILD/soma not found: run make first (or set BUILD or SOMA_LOAD_CMD)"
fi

# The CSV, made once: written under a temporary name, renamed when complete.
mkdir -p "$DIR"
CSV=$DIR/numeric-${MB}mb.csv
if [ ! -s "$CSV" ] || [ ! -s "$CSV.rows" ]; then
    echo "generating $CSV (about $MB MiB, once)..." >&2
    "$PYTHON" - "$CSV.part" "$MB" <<'EOF'
import sys
import numpy as np
path, target = sys.argv[1], int(float(sys.argv[2]) * 1048576)
rng = np.random.default_rng(20261128)
w, scale = rng.standard_normal(20), rng.uniform(0.5, 1000, 21)
fmt = ",".join(["%.6g"] * 7 + ["%.3f"] * 7 + ["%d"] * 3 + ["%.9g", "%.2e", "%.1f", "%.6g"])
size = rows = 0
with open(path, "w") as f:
    head = ",".join(["f%d" % i for i in range(20)] + ["y"]) + "\n"
    f.write(head)
    size = len(head)
    while size < target:
        x = rng.standard_normal((100000, 21)) * scale
        x[:, 14:17] = rng.integers(0, 100, (100000, 3))
        x[:, 20] = x[:, :20] @ w / 100 + rng.standard_normal(100000)
        lines = [fmt % r + "\n" for r in map(tuple, x.tolist())]
        k = 0
        while k < len(lines) and size < target:
            size += len(lines[k])
            k += 1
        f.write("".join(lines[:k]))
        rows += k
print(rows, file=open(path + ".rows", "w"))
EOF
    mv "$CSV.part.rows" "$CSV.rows"
    mv "$CSV.part" "$CSV"
fi
ROWS=$(cat "$CSV.rows")
BYTES=$(wc -c <"$CSV")

# sh -c runs SOMA_RUN, which reads the path from $CSV_BENCH_FILE; SOMA_SHOW
# is the same command with the path written out, for the report.
export CSV_BENCH_FILE="$CSV"
# shellcheck disable=SC2016 # $CSV_BENCH_FILE is for sh -c to expand
SOMA_RUN=$(printf '%s' "$SOMA_CMD" | sed 's/\bFILE\b/"$CSV_BENCH_FILE"/g')
q=$(printf '%s' "$CSV" | sed 's/[\\|&]/\\&/g')
SOMA_SHOW=$(printf '%s' "$SOMA_CMD" | sed "s|\\bFILE\\b|$q|g")
PANDAS_PY="import sys, numpy as np, pandas as pd
df = pd.read_csv(sys.argv[1])
x = df.drop(columns=['y']).to_numpy(np.float32)
y = df['y'].to_numpy(np.float32)"

measure() { # measure NAME SHOWN CMD...: appends "seconds kb" to $TMP/NAME
    name=$1 shown=$2; shift 2
    if ! /usr/bin/time -f '%e %M' -o "$TMP/t" "$@" >"$TMP/log" 2>&1; then
        tail -n 20 "$TMP/log" >&2
        die "$name failed: $shown"
    fi
    tail -n 1 "$TMP/t" >>"$TMP/$name"
}
stats() { # stats FILE FIELD -> "best median max"
    cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%s %s %s\n", v[1], m, v[NR] }'
}

cat "$CSV" >/dev/null   # untimed warm-up: both read from the page cache
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
i=0
while [ "$i" -lt "$REPEAT" ]; do
    i=$((i + 1))
    echo "run $i/$REPEAT: soma, pandas" >&2
    measure soma "$SOMA_SHOW" sh -c "$SOMA_RUN"
    measure pandas "$PYTHON -c ... $CSV" "$PYTHON" -c "$PANDAS_PY" "$CSV"
done

# shellcheck disable=SC2046 # word splitting wanted: 12 numbers
set -- $(stats "$TMP/soma" 1) $(stats "$TMP/soma" 2) $(stats "$TMP/pandas" 1) $(stats "$TMP/pandas" 2)
ST_B=$1 ST_M=$2 SR_B=$4 SR_M=$5 SR_X=$6 PT_B=$7 PT_M=$8 PR_B=${10} PR_M=${11}
CPU=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
SOMA_V=$(git describe --always --dirty 2>/dev/null || echo unknown)
PANDAS_V=$("$PYTHON" -c 'import pandas; print(pandas.__version__)')

awk -v st_b="$ST_B" -v st_m="$ST_M" -v sr_b="$SR_B" -v sr_m="$SR_M" -v sr_x="$SR_X" \
    -v pt_b="$PT_B" -v pt_m="$PT_M" -v pr_b="$PR_B" -v pr_m="$PR_M" \
    -v rows="$ROWS" -v bytes="$BYTES" -v n="$REPEAT" -v cpu="$CPU" -v cores="$(nproc)" \
    -v load="$LOAD" -v file="$CSV" -v soma="$SOMA_SHOW" -v pyv="$PANDAS_V" -v somav="$SOMA_V" \
    -v py="$PYTHON" -v pysrc="$PANDAS_PY" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" '
function mib(kb) { return sprintf("%.1f", kb / 1024) }
BEGIN {
    f32 = rows * 21 * 4; limit = 1.5 * f32 + 64 * 1048576
    print "### CSV loading: soma and pandas\n"
    print "```sh"
    printf "# %s; CPU: %s, %d cores; load %s\n", date, cpu, cores, load
    printf "# %s: %.1f MiB, %d rows x 21 columns\n", file, bytes / 1048576, rows
    printf "# soma %s, pandas %s\n", somav, pyv
    printf "cat %s >/dev/null    # untimed warm-up, then %d interleaved runs each\n", file, n
    printf "/usr/bin/time -f \"%%e %%M\" sh -c \"%s\"\n", soma
    printf "/usr/bin/time -f \"%%e %%M\" %s -c \"\n%s\" %s\n", py, pysrc, file
    print "```\n"
    print "| | best s | median s | best peak RSS MiB | median peak RSS MiB |"
    print "|---|---:|---:|---:|---:|"
    printf "| soma | %.2f | %.2f | %s | %s |\n", st_b, st_m, mib(sr_b), mib(sr_m)
    printf "| pandas | %.2f | %.2f | %s | %s |\n", pt_b, pt_m, mib(pr_b), mib(pr_m)
    printf "| soma / pandas | %.2f | %.2f | %.2f | %.2f |\n\n", \
        st_b / pt_b, st_m / pt_m, sr_b / pr_b, sr_m / pr_m
    printf "float32 size of the data (rows x 21 x 4 bytes): %.1f MiB\n", f32 / 1048576
    printf "RSS limit = 1.5 x float32 size + 64 MB = %.1f MiB: soma peak %s MiB (max of %d runs) -> %s\n", \
        limit / 1048576, mib(sr_x), n, (sr_x * 1024 <= limit ? "within" : "OVER")
    r = st_m / pt_m
    printf "time target: soma <= 0.7 x pandas: median ratio %.2f -> %s\n", r, (r <= 0.7 ? "pass" : "miss")
}'
