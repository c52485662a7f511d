#!/usr/bin/env bash
# What the machine does wrong must stop a search cleanly, never fail its trials for good: a disk that refuses a
# checkpoint, a checkpoint that no longer matches the data, a journal from a GPU host resumed on a CPU one. Each
# time the search resumes later and ends where an uninterrupted run ends.
# Usage: faults_test.sh FHIST PYTHON WORKDIR
source "$(dirname "$0")/lib.sh" "$@"

# One learning rate to search, so every checkpoint has the same network and grows only with the feature window.
echo '{"name": "lr-only", "params": [{"name": "lr", "type": "float", "low": 0.01, "high": 0.1, "log": true}]}' > lr.json
SEARCH=(--data fashion-mnist --model cnn --train-size 2000 --val-size 200 --threads 1 --seed 5 --space lr.json
        --algo sh --n-configs 2 --min-budget 1 --max-budget 2 --eta 2)

"$FHIST" search "${SEARCH[@]}" --journal straight.db --keep-checkpoints > straight.log 2>&1 \
  || fail "uninterrupted search: $(tail -5 straight.log)"
[ "$(find straight.db.trials -name checkpoint.pt | wc -l)" -eq 2 ] \
  && pass "--keep-checkpoints keeps the eliminated trial's checkpoint and the winner's" || fail "kept: $(find straight.db.trials)"
# Checkpoints after one epoch fit under the limit; the promoted trial's second-epoch checkpoint does not.
read -r small large < <(find straight.db.trials -name checkpoint.pt -printf '%s\n' | sort -n | sed -n '1p;$p' | paste -s -d' ')
limit_kb=$(( (small + large) / 2 / 1024 ))
[ "$small" -lt "$large" ] && pass "checkpoints grow with the window ($small -> $large bytes; limit ${limit_kb} KiB)" \
  || fail "checkpoint sizes $small $large"

# --- a full disk (a file-size limit: writes fail with EFBIG once SIGXFSZ is ignored)
(trap '' XFSZ; ulimit -f "$limit_kb"; exec "$FHIST" search "${SEARCH[@]}" --journal a.db) > full.log 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "cannot write the checkpoint (File too large); the previous one is intact. The search stopped" full.log \
  && pass "a checkpoint that cannot be written stops the search with the reason (exit 1)" \
  || fail "disk full: exit $rc: $(tail -3 full.log)"
[ -z "$(find a.db.trials -name '*.tmp.*')" ] && pass "no half-written checkpoint left" || fail "temp files left"
"$PY" - a.db <<'PY' && pass "journal intact; finished trials kept, the stopped one still running, none failed" \
  || fail "journal after the disk filled"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
states = dict(c.execute("SELECT id, state FROM trials"))
assert sorted(states.values()) == ["complete", "running"], states
PY

# --- the same dataset name, other content (labels shifted): the stopped trial's checkpoint no longer fits
mkdir -p other
for f in train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  ln -s /usr/share/datasets/fashion-mnist/$f other/$f
done
"$PY" - <<'PY'
import gzip
b = bytearray(gzip.open("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz").read())
for i in range(8, len(b)):
    b[i] = (b[i] + 1) % 10
gzip.open("other/train-labels-idx1-ubyte.gz", "wb").write(bytes(b))
PY
expect_exit 1 "written by a run with other settings: --data fashion-mnist, 2000 train .*content [0-9a-f]+ \(this run: .*content [0-9a-f]+\).*resume with the data" \
  "a checkpoint from other data stops the search, naming --data" -- \
  "$FHIST" search --resume --journal a.db --data "fashion-mnist:$PWD/other"
"$PY" - a.db <<'PY' && pass "no trial was marked failed by the mismatch" || fail "mismatch changed trial states"
import sqlite3, sys
states = dict(sqlite3.connect(sys.argv[1]).execute("SELECT id, state FROM trials"))
assert sorted(states.values()) == ["complete", "running"], states
PY

# --- an unreadable checkpoint (truncated) in a copy of the stopped search: the search stops naming the file and the
# way on; --discard-bad-checkpoints retrains that trial from epoch 1 and ends where the uninterrupted run ends
"$PY" - <<'PY'
import sqlite3
src, dst = sqlite3.connect("a.db"), sqlite3.connect("c.db")
src.backup(dst)
dst.close()
PY
cp -r a.db.trials c.db.trials
ckpt=$(find c.db.trials -name checkpoint.pt | head -1)
[ -n "$ckpt" ] && truncate -s 3000 "$ckpt" || fail "no checkpoint to corrupt: $(find c.db.trials)"
expect_exit 1 "trial [0-9]+: .*checkpoint.pt: cannot load checkpoint.*resume with --discard-bad-checkpoints" \
  "an unreadable checkpoint stops the search, naming the file and --discard-bad-checkpoints" -- \
  "$FHIST" search --resume --journal c.db
expect_exit 2 "requires --resume" "--discard-bad-checkpoints only with --resume" -- \
  "$FHIST" search "${SEARCH[@]}" --journal d.db --discard-bad-checkpoints
"$FHIST" search --resume --journal c.db --discard-bad-checkpoints > discard.log 2>&1 || fail "discard: $(tail -5 discard.log)"
[ -s "c.db.trials/discarded/$(basename "$(dirname "$ckpt")").pt" ] \
  && pass "the unreadable checkpoint is kept in c.db.trials/discarded/" || fail "set aside: $(find c.db.trials)"
"$PY" - straight.db c.db <<'PY' && pass "--discard-bad-checkpoints: the trial retrained from epoch 1, said so in the journal; same results" \
  || fail "results after discarding a checkpoint"
import sqlite3, sys
def results(path):
    c = sqlite3.connect(path)
    return (c.execute("SELECT trial, budget_epochs, score, state FROM events WHERE kind = 'result' ORDER BY trial, budget_epochs").fetchall(),
            c.execute("SELECT trial, epoch FROM epochs ORDER BY trial, epoch").fetchall())
assert results(sys.argv[1]) == results(sys.argv[2]), (results(sys.argv[1]), results(sys.argv[2]))
msgs = [m for (m,) in sqlite3.connect(sys.argv[2]).execute("SELECT message FROM events WHERE kind = 'result'")
        if "retrained from epoch 1" in m]
assert len(msgs) == 1 and "--discard-bad-checkpoints" in msgs[0], msgs
PY

# --- a journal that ran on a GPU, resumed on this CPU-only host: refused before anything runs, then --device cpu
"$PY" - a.db <<'PY'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
d = json.loads(c.execute("SELECT definition FROM study").fetchone()[0])
d["options"]["device"] = "cuda"
c.execute("UPDATE study SET definition = ?", (json.dumps(d),))
c.commit()
PY
expect_exit 2 "ran on --device cuda, and this host has no CUDA device: resume with --device cpu" \
  "a CUDA journal on a CPU-only host is refused with the fix" -- "$FHIST" search --resume --journal a.db
"$FHIST" search --resume --journal a.db --device cpu > resumed.log 2>&1 || fail "resume: $(tail -5 resumed.log)"
[ -z "$(find a.db.trials -name checkpoint.pt)" ] && pass "without --keep-checkpoints none is left at the end" \
  || fail "left: $(find a.db.trials -name checkpoint.pt)"
diff <(grep '^best:' straight.log) <(grep '^best:' resumed.log) > /dev/null \
  && pass "the resumed search ends with the uninterrupted run's incumbent" \
  || fail "incumbent: $(grep '^best:' straight.log) vs $(grep '^best:' resumed.log)"
"$PY" - straight.db a.db <<'PY' && pass "same results, no epoch trained twice" || fail "results differ after the faults"
import sqlite3, sys
def results(path):
    c = sqlite3.connect(path)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return (c.execute("SELECT trial, budget_epochs, score, state FROM events WHERE kind = 'result' ORDER BY trial, budget_epochs").fetchall(),
            c.execute("SELECT trial, epoch FROM epochs ORDER BY trial, epoch").fetchall())
a, b = results(sys.argv[1]), results(sys.argv[2])
assert a == b, (a, b)
PY

# --- the journal's disk fills: tiny checkpoints (60 images), while the journal's WAL grows with every commit
SMALL=(--data fashion-mnist --model cnn --train-size 60 --val-size 40 --threads 1 --seed 5 --space lr.json
       --algo hyperband --min-budget 1 --max-budget 4 --eta 2)
"$FHIST" search "${SMALL[@]}" --journal small_straight.db > small_straight.log 2>&1 || fail "small search: $(tail -3 small_straight.log)"
(trap '' XFSZ; ulimit -f 64; exec "$FHIST" search "${SMALL[@]}" --journal small.db) > small_full.log 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -qE "small.db: .*disk I/O error \(disk full or a write error\?\)\. Every earlier commit is kept" small_full.log \
  && pass "a journal write that fails stops the search, naming the journal (exit 1)" \
  || fail "journal disk full: exit $rc: $(tail -3 small_full.log)"
"$FHIST" search --resume --journal small.db > small_resumed.log 2>&1 || fail "resume after the journal filled: $(tail -3 small_resumed.log)"
"$PY" - small_straight.db small.db <<'PY' && pass "journal intact after its disk filled; the resumed search equals the straight one" \
  || fail "journal after the disk filled differs"
import sqlite3, sys
def results(path):
    c = sqlite3.connect(path)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = c.execute("SELECT trial, epoch FROM epochs").fetchall()
    assert len(rows) == len(set(rows)), "an epoch recorded twice"
    return sorted(c.execute("SELECT trial, budget_epochs, score, state FROM events WHERE kind = 'result'").fetchall())
a, b = results(sys.argv[1]), results(sys.argv[2])
assert a == b, (a, b)
PY

# --- killed while creating the journal (an empty file, found by the kill campaign): resume says why it cannot, and
# the same command starts the search over it instead of "already exists"
: > unstarted.db
expect_exit 2 "unstarted.db was created but its search never started .* run the search command again without --resume" \
  "a journal killed during creation is named as such on resume" -- "$FHIST" search --resume --journal unstarted.db
"$FHIST" search --data fashion-mnist --model cnn --train-size 300 --val-size 100 --threads 1 --space lr.json \
  --algo random --n-configs 1 --max-budget 1 --journal unstarted.db > unstarted.log 2>&1 \
  && grep -q "^best: trial 0" unstarted.log && pass "the search command starts over a journal killed during creation" \
  || fail "start over an unstarted journal: $(tail -3 unstarted.log)"

finish "e2e faults"
