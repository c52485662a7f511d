#!/usr/bin/env bash
# Tables and replays: fhist table builds in resumable chunks (bit-identical to one go), a search against the table
# (objective table) makes the same decisions as the same search trained live on the table's configurations,
# fhist replay is deterministic, export re-scores by any estimator, bad input is refused.
# Usage: table_test.sh FHIST PYTHON WORKDIR
source "$(dirname "$0")/lib.sh" "$@"

cat > space.json <<'JSON'
{"name": "tiny", "params": [
  {"name": "lr", "type": "float", "low": 0.01, "high": 0.3, "log": true},
  {"name": "batch_size", "type": "categorical", "choices": [32, 64]}]}
JSON
TABLE=(--space space.json --n-configs 5 --epochs 4 --data fashion-mnist --model cnn --train-size 300 --val-size 100
       --window 3 --seed 3 --threads 1)

# --- one go, and in chunks (--minutes 0.001 starts one configuration per run)
"$FHIST" table "${TABLE[@]}" --journal whole.db > whole.log 2>&1 && grep -q "^table complete: 5" whole.log \
  && pass "table in one go" || fail "table: $(tail -5 whole.log)"
chunks=0
until grep -q "^table complete" chunk.log 2>/dev/null; do
  "$FHIST" table "${TABLE[@]}" --journal chunks.db --minutes 0.001 > chunk.log 2>&1 || { fail "chunk: $(tail -5 chunk.log)"; break; }
  chunks=$((chunks + 1))
  [ $chunks -gt 8 ] && { fail "table never completes in chunks"; break; }
done
[ $chunks -ge 3 ] && pass "table built in $chunks chunks" || fail "expected several chunks, got $chunks"
"$PY" - whole.db chunks.db <<'PY' && pass "chunked table = one-go table, test accuracy once at the full budget" || fail "chunked table differs"
import json, math, sqlite3, sys
def rows(p):
    db = sqlite3.connect(p)
    return [(t, e, json.loads(r)) for t, e, r in db.execute("select trial, epoch, record from epochs order by trial, epoch")]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert len(a) == 20 == len(b), (len(a), len(b))
for (t, e, x), (u, f, y) in zip(a, b):
    assert (t, e) == (u, f)
    for k in ("train_loss", "original_val_acc", "fh_val_acc", "fh_paper_val_acc", "window_acc", "window_nll", "window_soft",
              "original_nll", "scores", "test_acc", "params"):
        assert x.get(k) == y.get(k), (t, e, k, x.get(k), y.get(k))
    assert ("test_acc" in x) == (e == 4), (t, e)
    assert len(x["window_acc"]) == len(x["window_nll"]) == len(x["window_soft"]) == min(e, 3)
    assert x["scores"]["fh-loss"] == -x["window_nll"][-1] and x["scores"]["val-loss"] == -x["original_nll"]
    assert set(x["scores"]) >= {"original", "refit", "fh", "fh-paper", "fh-half", "curve", "val-loss", "fh-loss", "tse", "tse-e", "tse-ema", "params"}
    assert x["scores"]["tse-e"] == -x["train_loss"] and x["scores"]["fh"] == x["fh_val_acc"]
    assert x["num_classes"] == 10
    best = max(r["original_val_acc"] for (u, f, r) in a if u == t and f <= e)
    assert abs(x["scores"]["best-acc"] - best) < 1e-12
    want = min(1.0, best + 0.1 * (1 - e / 4) * max(0.0, math.log(10) - x["train_loss"]))  # 4 epochs in this table
    assert abs(x["scores"]["acc-tse"] - want) < 1e-12, (x["scores"]["acc-tse"], want)
PY

# Two journals of one search, trained live and replayed from the table: the same events (every decision and score),
# trials (configurations) and per-epoch scores; more than 10 events, and at least $3 trials (default 0).
same_search() {
  "$PY" - "$1" "$2" "${3:-0}" <<'PY'
import json, sqlite3, sys
def dump(p):
    db = sqlite3.connect(p)
    ev = list(db.execute("select kind, trial, bracket, rung, budget_epochs, score, state from events order by seq"))
    tr = list(db.execute("select id, config from trials order by id"))
    ep = [(t, e, json.loads(r)["scores"]) for t, e, r in db.execute("select trial, epoch, record from epochs order by trial, epoch")]
    return ev, tr, ep
a, b = dump(sys.argv[1]), dump(sys.argv[2])
assert len(a[0]) > 10, a[0]
assert len(a[1]) >= int(sys.argv[3]), a[1]
assert a[0] == b[0], (a[0], b[0])
assert a[1] == b[1]
assert a[2] == b[2]
PY
}

# --- the same search, trained live on the table's configurations and replayed from the table
# (dehb: two rounds, so that the second evolves its first rung from the first's population; ranked by auto;
# top-k and top-k-auto by the hedged tse-ema+fh, whose finalists come from both rankings: top-k's three are staged,
# the third taken once the first two have ended)
for algo in hyperband bohb top-k dehb top-k-hb top-k-auto; do
  est=fh && [ $algo = dehb ] && est=auto
  [ $algo = top-k-auto ] || [ $algo = top-k ] && est=tse-ema+fh
  SEARCH=(--table whole.db --algo $algo --estimator $est --min-budget 1 --max-budget 4 --eta 2 --seed 11 --threads 1)
  [ $algo = top-k ] && SEARCH+=(--n-configs 5 --top-k 3)
  [ $algo = top-k-hb ] && SEARCH+=(--n-configs 4 --top-k 2 --iterations 2)
  [ $algo = top-k-auto ] && SEARCH+=(--n-configs 4 --top-k 2 --iterations 2)
  [ $algo = dehb ] && SEARCH+=(--iterations 2)
  "$FHIST" search "${SEARCH[@]}" --journal live_$algo.db > live_$algo.log 2>&1 || fail "live $algo: $(tail -5 live_$algo.log)"
  "$FHIST" search "${SEARCH[@]}" --objective table --journal replay_$algo.db > replay_$algo.log 2>&1 \
    || fail "replay $algo: $(tail -5 replay_$algo.log)"
  same_search live_$algo.db replay_$algo.db && pass "$algo: replay from the table = live training (every decision and score)" \
    || fail "$algo: replay differs from live"
  grep -q "^best: trial" live_$algo.log && diff <(grep "^best:" live_$algo.log) <(grep "^best:" replay_$algo.log) > /dev/null \
    && pass "$algo: same incumbent" || fail "$algo: incumbents differ"
  if [ $algo = top-k-auto ]; then
    grep -q "^top-k-auto: the ranking score and the validation accuracy of the first 4 trials at 1 epoch(s) agree" \
      live_top-k-auto.log && pass "top-k-auto: the search says which plan its first sample chose" \
      || fail "top-k-auto's summary line: $(tail -4 live_top-k-auto.log)"
    # Here the gate's sample disagreed: its other branch does not hedge, so no "hedge:" line (README's quick start
    # shows one); a hedged pair's score is its first estimator's.
    grep -q "(< 0.2): rounds of 4 trials whose best 2 train on to 4 epochs" live_top-k-auto.log \
      && ! grep -q "^hedge:" live_top-k-auto.log && grep -q "^best: trial .* | tse-ema score " live_top-k-auto.log \
      && pass "tse-ema+fh where the gate disagreed: no hedge line, and the score is tse-ema's" \
      || fail "the hedge's summary: $(tail -5 live_top-k-auto.log)"
  fi
  if [ $algo = top-k ] || [ $algo = top-k-auto ] || [ $algo = dehb ]; then
    # fhist report replays the scheduler from the journal: the same auto / top-k-auto / hedge lines as the search's end
    plan() { grep -E "^(auto|top-k-auto|hedge):" "$1"; }
    "$FHIST" report --journal live_$algo.db > report_$algo.log 2>&1 && "$FHIST" report --journal live_$algo.db --json \
      > report_$algo.json && plan live_$algo.log > /dev/null && diff <(plan live_$algo.log) <(plan report_$algo.log) \
      && "$PY" -c 'import json, sys; assert json.load(open(sys.argv[1]))["plan"] == sys.argv[2].splitlines()' \
      report_$algo.json "$(plan live_$algo.log)" \
      && pass "$algo: fhist report prints the scheduler's decisions as the search did" \
      || fail "$algo: report's plan lines: $(plan report_$algo.log; tail -3 report_$algo.log)"
    # and its HTML page, in the run's facts: the data holds the lines, the page a row for each (named by its prefix)
    "$FHIST" report --journal live_$algo.db --html page_$algo.html > /dev/null 2>&1 \
      && "$PY" "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/page_json.py" page_$algo.html > page_$algo.json \
      && "$PY" - page_$algo.json page_$algo.html "$(plan live_$algo.log)" <<'PY' \
      && pass "$algo: the HTML page shows the scheduler's decisions" || fail "$algo: the page's decisions"
import json, sys
esc = lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
facts = json.load(open(sys.argv[1]))["facts"]
page = open(sys.argv[2]).read()
lines = sys.argv[3].splitlines()
assert facts["plan"] == lines and "plan_error" not in facts, facts.get("plan")
for line in lines:
    name, text = line.split(": ", 1)
    assert f"<tr><th>{esc(name)}</th><td>{esc(text)}</td></tr>" in page, line
PY
  fi
  if [ $algo = top-k ]; then
    grep -q "^hedge: .*ranking picks first" live_top-k.log && pass "top-k + tse-ema+fh: the summary's hedge line" \
      || fail "top-k's hedge line: $(tail -5 live_top-k.log)"
  fi
  if [ $algo = dehb ]; then
    grep -q "^auto: rungs at 1 epoch by tse-ema (" live_dehb.log && pass "auto: the search says what each budget ranked by" \
      || fail "auto's summary line: $(tail -4 live_dehb.log)"
  fi
done

# --- candidates are drawn from the table without replacement while rows are left (5 rows here)
for n in 5 7; do
  "$FHIST" search --table whole.db --algo random --n-configs $n --min-budget 4 --max-budget 4 --estimator original \
    --objective table --seed 5 --journal rs$n.db > rs$n.log 2>&1 || fail "random search over the table: $(tail -5 rs$n.log)"
done
"$PY" - rs5.db rs7.db <<'PY' && pass "a search draws the table's rows without replacement" || fail "rows drawn twice"
import sqlite3, sys
cfgs = lambda p: [c for (c,) in sqlite3.connect(p).execute("select config from trials order by id")]
a, b = cfgs(sys.argv[1]), cfgs(sys.argv[2])
assert len(a) == 5 and len(set(a)) == 5, a
assert len(b) == 7 and len(set(b)) == 5 and b[:5] == a, b
PY

# --- fhist replay: many seeds, deterministic
"$FHIST" replay --table whole.db --algo hyperband,bohb,asha --estimator original,fh,tse-e --seeds 20 --min-budget 1 --eta 2 \
  --json --summary r1_summary.json > r1.json && "$FHIST" replay --table whole.db --algo hyperband,bohb,asha --estimator original,fh,tse-e --seeds 20 \
  --min-budget 1 --eta 2 --json > r2.json && cmp -s r1.json r2.json && pass "replay is deterministic" || fail "replay differs between runs"
"$PY" - r1.json <<'PY' && pass "replay: 180 runs, regrets against the table's best" || fail "replay output"
import json, sys
runs = json.load(open(sys.argv[1]))
assert len(runs) == 3 * 3 * 20
for r in runs:
    assert r["regret"] is not None and -1e-12 <= r["regret"] <= 1 and r["epochs"] > 0, r
assert len({r["seed"] for r in runs}) == 20
PY
"$PY" - r1.json whole.db <<'PY' && pass "replay: each regret is the table's best test accuracy minus the incumbent row's" \
  || fail "replay regrets do not follow from the table"
import json, sqlite3, sys
runs = json.load(open(sys.argv[1]))
test = {}
for t, r in sqlite3.connect(sys.argv[2]).execute("select trial, record from epochs"):
    a = json.loads(r).get("test_acc")
    if a is not None: test[t] = a
best = max(test.values())
assert len(test) >= 5, test
for r in runs:
    assert r["table_trial"] in test, r
    assert r["test_acc"] == test[r["table_trial"]], (r, test[r["table_trial"]])
    assert abs(r["regret"] - (best - r["test_acc"])) < 1e-12, (r, best)
# The searches pick by their scores, not by chance: some run found the table's best row, and not every run did.
assert any(r["regret"] == 0 for r in runs) and any(r["regret"] > 0 for r in runs)
PY
"$PY" - r1.json r1_summary.json <<'PY' && pass "replay --summary without --bootstrap: each cell's mean and its SE over seeds" \
  || fail "replay summary without bootstrap"
import json, math, sys
runs, summary = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert summary["bootstrap"] == 0 and summary["seeds"] == 20 and len(summary["cells"]) == 9, summary
for c in summary["cells"]:
    mine = [r["regret"] for r in runs if r["algo"] == c["algo"] and r["estimator"] == c["estimator"]]
    m = sum(mine) / len(mine)
    se = math.sqrt(sum((x - m) ** 2 for x in mine) / (len(mine) - 1) / len(mine))
    assert len(mine) == 20 and abs(c["mean"] - m) < 1e-12 and abs(c["se"] - se) < 1e-12, (c, m, se)
    assert "low" not in c and "low" not in c["anytime"][0], c   # no interval without the table's noise
PY
"$FHIST" replay --table whole.db --algo hyperband --estimator fh --seeds 3 --min-budget 1 --eta 2 | grep -q "^hyperband  fh" \
  && pass "replay summary table" || fail "replay summary"

# --- the compute-matched baselines: random at the full budget and the one-epoch top-K, over 3 rounds of HyperBand
# (28 epochs each with budgets 1..4, eta 2), anytime regret at each round, and a bootstrap over the table's rows
"$FHIST" replay --table whole.db --algo hyperband,random,top-k --estimator tse-e --seeds 10 --min-budget 1 --eta 2 \
  --rounds 3 --bootstrap 20 -o base.json --summary base_summary.json > base.log 2> base.err \
  && grep -q "^top-k " base.log && grep -q "@84ep" base.log && grep -q "bootstrap resamples" base.log \
  && pass "replay: baselines, anytime regret, bootstrap intervals" || fail "replay baselines: $(cat base.err; tail -5 base.log)"
"$PY" - base.json base_summary.json <<'PY' && pass "baselines spend HyperBand's epochs; regrets and intervals consistent" \
  || fail "baseline replay output"
import json, sys
runs, summary = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert summary["round_epochs"] == 28 and summary["rounds"] == 3 and summary["bootstrap"] == 20
for r in runs:
    assert r["anytime_epochs"] == [28, 56, 84], r
    assert len(r["anytime_regret"]) == 3 and r["anytime_regret"][2] == r["regret"], r
    assert 0 <= r["drawn_regret"] <= r["regret"] + 1e-12, r
    assert 84 - 4 <= r["epochs"] <= 84, r    # each spends three rounds (random: whole trials of 4 epochs)
assert {r["algo"] for r in runs} == {"hyperband", "random", "top-k"}
for c in summary["cells"]:
    mine = [r["regret"] for r in runs if r["algo"] == c["algo"]]
    assert abs(c["mean"] - sum(mine) / len(mine)) < 1e-12, c
    assert c["low"] <= c["high"] and len(c["anytime"]) == 3 and c["se"] >= 0, c
PY

# --- the benchmark page: the ranking study's charts (the numbers of fhist rank) and the replay's regrets
"$FHIST" report --journal whole.db --html table.html --replay r1.json 2> table_report.log \
  && grep -q "wrote the HTML report of whole.db (finished, 8 charts" table_report.log \
  && pass "report --html on a table with a replay file" || fail "table page: $(cat table_report.log)"
"$FHIST" rank --table whole.db --json > rank.json
"$PY" "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/page_json.py" table.html > table.json
"$PY" - table.json rank.json <<'PY' && pass "the benchmark page's Kendall tau and |error| are fhist rank's" || fail "table page ranks"
import json, sys
data = json.load(open(sys.argv[1]))
rank = json.load(open(sys.argv[2]))
page = data["ranks"]["rows"]
assert data["facts"]["kind"] == "table" and data["ranks"]["target"] == "test_acc"
assert len(page) == len(rank) > 0
for a, b in zip(page, rank):
    for k in ("estimator", "epoch", "configs", "kendall", "spearman", "top1_regret", "mean_abs_error"):
        assert a[k] == b[k], (k, a, b)
assert len(data["replay"]) == 180
assert len(data["anytime"]) == 180 and {p["epochs"] for p in data["anytime"]} == {28}, data["anytime"][:3]
PY
if [ "${4:-none}" != "none" ] || command -v chromium > /dev/null; then
  "$PY" "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/render_page.py" table.html table.png "${4:-none}" \
    "tabular benchmark" > render.log 2>&1
  rc=$?
  if [ $rc -eq 77 ]; then echo "SKIP - browser check: $(head -1 render.log)"
  elif [ $rc -eq 0 ]; then pass "the benchmark page renders in headless Chromium"
  else fail "benchmark page render: $(tail -5 render.log)"; fi
fi

# --- export: every estimator per epoch, a re-score by a parameterised one
"$FHIST" export --journal whole.db --table trials --estimator tse-e:2 -o trials.csv 2>/dev/null
"$PY" - trials.csv whole.db <<'PY' && pass "export --estimator tse-e:2 re-scores from stored losses" || fail "export re-score"
import csv, json, sqlite3, sys
rows = list(csv.DictReader(open(sys.argv[1])))
db = sqlite3.connect(sys.argv[2])
assert len(rows) == 5
for r in rows:
    losses = [json.loads(x)["train_loss"] for (x,) in db.execute("select record from epochs where trial=? order by epoch", (r["trial"],))]
    assert abs(float(r["score_tse-e:2"]) + losses[-1] + losses[-2]) < 1e-12
    assert 0 < float(r["test_acc"]) <= 1
PY

# --- bad input
expect_exit 2 "trained its configurations for 4 epochs" "replay with another max budget" -- \
  "$FHIST" replay --table whole.db --max-budget 8 --seeds 2
expect_exit 2 "uses --max-budget 4" "search over a table with another max budget" -- \
  "$FHIST" search --table whole.db --max-budget 9 --journal x.db
[ ! -e x.db ] && pass "no journal left by a refused search" || fail "x.db created"
expect_exit 2 "not a table" "a search journal is not a table" -- "$FHIST" replay --table live_bohb.db --seeds 2
expect_exit 2 "not a table" "table does not resume a search journal" -- "$FHIST" table --journal live_bohb.db
expect_exit 2 "unknown estimator 'tse-q'" "unknown estimator" -- \
  "$FHIST" replay --table whole.db --estimator tse-q --seeds 2
expect_exit 2 "which ASHA never waits for" "auto with ASHA" -- \
  "$FHIST" search --table whole.db --objective table --algo asha --estimator auto --max-budget 4 --journal z.db
[ ! -e z.db ] && pass "no journal left by auto with ASHA" || fail "z.db created"
expect_exit 2 "needs --table" "objective table without a table" -- "$FHIST" search --objective table --journal y.db
[ ! -e y.db ] && pass "no journal left" || fail "y.db created"
# --- conditional parameters: each row trains the network it names, and a DEHB search (its children cross the
# branches, their inactive genes at the cube's middle) replays from the table as it ran live
cat > family.json <<'JSON'
{"name": "family", "params": [
  {"name": "model", "type": "categorical", "choices": ["cnn", "mlp"]},
  {"name": "lr", "type": "float", "low": 0.01, "high": 0.3, "log": true},
  {"name": "width_mult", "type": "float", "low": 0.25, "high": 0.5, "condition": {"param": "model", "equals": "cnn"}},
  {"name": "depth", "type": "int", "low": 1, "high": 2, "condition": {"param": "model", "equals": "mlp"}}]}
JSON
"$FHIST" table --space family.json --n-configs 6 --epochs 2 --data fashion-mnist --model cnn --train-size 200 \
  --val-size 100 --seed 4 --threads 1 --journal family.db > family.log 2>&1 || fail "conditional table: $(tail -3 family.log)"
"$PY" - family.db <<'PY' && pass "conditional space: inactive parameters absent, each row trains its own network" \
  || fail "conditional table rows"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
params = {}
for c, r in db.execute("select t.config, e.record from trials t join epochs e on e.trial = t.id where e.epoch = 2"):
    c, r = json.loads(c), json.loads(r)
    want = {"model", "lr", "width_mult"} if c["model"] == "cnn" else {"model", "lr", "depth"}
    assert set(c) == want, c
    params.setdefault(c["model"], set()).add(r["params"])
assert set(params) == {"cnn", "mlp"}, params
assert max(params["cnn"]) < min(params["mlp"]), params  # the small cnn, not an mlp under a cnn's name
PY
SEARCH=(--table family.db --algo dehb --estimator original --min-budget 1 --max-budget 2 --eta 2 --iterations 3
        --seed 2 --threads 1)
"$FHIST" search "${SEARCH[@]}" --journal family_live.db > family_live.log 2>&1 || fail "live dehb: $(tail -3 family_live.log)"
"$FHIST" search "${SEARCH[@]}" --objective table --journal family_replay.db > family_replay.log 2>&1 \
  || fail "replay dehb: $(tail -3 family_replay.log)"
same_search family_live.db family_replay.db 6 && pass "conditional space: dehb replayed from the table = live" \
  || fail "conditional dehb: replay differs from live"

finish table_test
