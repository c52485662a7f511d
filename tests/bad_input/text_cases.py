"""Bad text: NB-201 arch strings, DARTS genotypes, space and configuration JSON, command-line values."""
import gzip
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from harness import *  # noqa: F401,F403
from files_cases import *  # noqa: F401,F403


NB = ["model-info", "--model", "nb201", "--arch"]
DA = ["model-info", "--model", "darts", "--cells", "8", "--channels", "16", "--arch"]
GOOD_NB = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
EDGES = "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), " \
        "('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]"


def genotype(normal=EDGES, normal_concat="[2, 3, 4, 5]", reduce=EDGES, reduce_concat="[2, 3, 4, 5]"):
    return f"Genotype(normal={normal}, normal_concat={normal_concat}, reduce={reduce}, reduce_concat={reduce_concat})"


def arch_cases():
    c = "arch"
    check(c, "control: a valid NB-201 cell (exit 0)", NB + [GOOD_NB], 0, r"^parameters")
    check(c, "control: a valid DARTS genotype (exit 0)", DA + [genotype()], 0, r"^parameters")
    check(c, "nb201: two nodes instead of three", NB + ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"], 2,
          r"NAS-Bench-201 arch '.*': expected 3 nodes separated by '\+', got 2")
    check(c, "nb201: unknown op", NB + [GOOD_NB.replace("avg_pool_3x3", "max_pool_3x3")], 2,
          r"NAS-Bench-201 arch '.*': unknown op 'max_pool_3x3' in edge 'max_pool_3x3~1' \(known: none, skip_connect")
    check(c, "nb201: edge with the wrong input", NB + [GOOD_NB.replace("skip_connect~2", "skip_connect~1")], 2,
          r"edge 'skip_connect~1' of node 3: expected input 2, got '1'")
    check(c, "nb201: node without its '|'", NB + [GOOD_NB.replace("+|skip_connect~0", "+skip_connect~0")], 2,
          r"node 3 'skip_connect~0\|nor_conv_3x3~1\|skip_connect~2\|' must start and end with '\|'")
    check(c, "nb201: edge without '~'", NB + [GOOD_NB.replace("nor_conv_3x3~1", "nor_conv_3x3")], 2,
          r"edge 'nor_conv_3x3' of node 3 is not op~input")
    check(c, "nb201: an empty arch string", ["model-info", "--model", "nb201", "--arch="], 2,
          r"(NAS-Bench-201 arch '': expected 3 nodes|--arch: 1 required TEXT missing|--arch.*(empty|expected))")
    check(c, "nb201: a DARTS genotype given to nb201", NB + [genotype()], 2,
          r"NAS-Bench-201 arch 'Genotype\(.*expected 3 nodes")
    check(c, "darts: an NB-201 arch string given to darts", DA + [GOOD_NB], 2,
          r"genotype: expected DARTS genotype text, Genotype\(normal=.*got '\|nor_conv_3x3~0\|")
    check(c, "darts: unknown op", DA + [genotype(reduce=EDGES.replace("dil_conv_3x3", "dil_conv_9x9"))], 2,
          r"genotype: unknown op 'dil_conv_9x9' \(expected one of .*sep_conv_3x3.*\) at 'dil_conv_9x9' "
          r"\(position \d+\)")
    check(c, "darts: input out of range", DA + [genotype(normal=EDGES.replace("('dil_conv_3x3', 2)",
                                                                          "('dil_conv_3x3', 6)"))], 2,
          r"genotype: input 6 of normal\[7\] is out of range for node 5 \(0\.\.4\) at '6' \(position \d+\)")
    check(c, "darts: seven pairs instead of eight", DA + [genotype(normal=EDGES.replace(", ('dil_conv_3x3', 2)", ""))],
          2, r"genotype: field 'normal' has 7 \(op, input\) pairs, expected 8")
    check(c, "darts: missing field", DA + [f"Genotype(normal={EDGES}, normal_concat=[2, 3, 4, 5], reduce={EDGES})"],
          2, r"genotype: missing field 'reduce_concat'")
    check(c, "darts: unknown field", DA + [genotype().replace("reduce_concat", "reduce_cat")], 2,
          r"genotype: unknown field \(expected normal, normal_concat, reduce, reduce_concat\) at 'reduce_cat'")
    check(c, "darts: unterminated string", DA + [genotype().replace("'skip_connect', 0)", "'skip_connect, 0)", 1)], 2,
          r"genotype: (unterminated string|.*expected).*position \d+")
    check(c, "darts: concat index 7", DA + [genotype(normal_concat="[2, 3, 7]")], 2,
          r"genotype: concat index 7 is not an intermediate node \(2\.\.5\) at '7' \(position \d+\)")
    check(c, "darts: trailing text", DA + [genotype() + " extra"], 2,
          r"genotype: unexpected text after the genotype at 'extra'")
    check(c, "--arch given to a model without cells", ["model-info", "--model", "resnet18", "--arch", GOOD_NB], 2,
          r"--arch.*(only|nb201|darts|cell)")


# ---- search-space JSON -----------------------------------------------------------------------------------------

def space_cases():
    c = "space"
    tiny = idx_dir("space_data")
    S = ["search", "--data", f"fashion-mnist:{tiny}", "--model", "cnn", "--train-size", "60", "--val-size", "20",
         "--algo", "random", "--n-configs", "1", "--min-budget", "1", "--max-budget", "1", "--threads", "1"]

    def space(name, text):
        path = p("space", name + ".json")
        write(path, text.encode())
        return path

    lr = '{"name": "lr", "type": "float", "low": 0.001, "high": 0.5, "log": true}'
    cases = [
        ("not JSON", "bad_json", '{"name": "x", "params": [', 2, r"bad_json\.json: not valid JSON"),
        ("a list instead of an object", "list", f"[{lr}]", 2,
         r"list\.json: expected a JSON object with \"name\" and \"params\""),
        ("no params", "no_params", '{"name": "x"}', 2, r"no_params\.json: params: missing \(expected a list"),
        ("empty params", "empty_params", '{"name": "x", "params": []}', 2,
         r"empty_params\.json: params: expected a non-empty list of parameters"),
        ("unknown top-level field", "top_field", '{"name": "x", "parameters": []}', 2,
         r"top_field\.json: parameters: unknown field \(expected name, params, forbidden\)"),
        ("unknown type", "type", '{"params": [{"name": "lr", "type": "uniform", "low": 0.1, "high": 1}]}', 2,
         r"type\.json: params\[0\]\.type: expected one of \"float\", \"int\", \"categorical\", \"ordinal\""),
        ("low is a string", "low_str", '{"params": [{"name": "lr", "type": "float", "low": "0.1", "high": 1}]}', 2,
         r"low_str\.json: params\[0\]\.low: expected a number"),
        ("high missing", "no_high", '{"params": [{"name": "lr", "type": "float", "low": 0.1}]}', 2,
         r"no_high\.json: params\[0\]\.high: missing \(expected a number\)"),
        ("low above high", "low_high", '{"params": [{"name": "lr", "type": "float", "low": 0.5, "high": 0.1}]}', 2,
         r"low_high\.json: params\[0\]\.high: must be > low"),
        ("log scale from 0", "log0",
         '{"params": [{"name": "lr", "type": "float", "low": 0, "high": 0.1, "log": true}]}',
         2, r"log0\.json: params\[0\]\.low: log scale needs low > 0"),
        ("int bounds not whole", "int_frac",
         '{"params": [{"name": "batch_size", "type": "int", "low": 16.5, "high": 64}]}', 2,
         r"int_frac\.json: params\[0\]\.low: expected an integer"),
        ("empty choices", "choices", '{"params": [{"name": "batch_size", "type": "categorical", "choices": []}]}', 2,
         r"choices\.json: params\[0\]\.choices: expected a non-empty list"),
        ("duplicate parameter", "dup", f'{{"params": [{lr}, {lr}]}}', 2,
         r"dup\.json: params\[1\]\.name: duplicate parameter 'lr'"),
        ("a parameter fhist cannot train", "unknown_param",
         '{"params": [{"name": "learning_rate", "type": "float", "low": 0.001, "high": 0.5}]}', 2,
         r"unknown_param\.json: .*'learning_rate' is not a training option fhist knows \(known: lr, "),
        ("batch size out of range", "neg_batch",
         '{"params": [{"name": "batch_size", "type": "int", "low": -64, "high": 64}]}', 2,
         r"neg_batch\.json: params\[0\].*batch_size.*(positive|>= ?1|> ?0)"),
        ("the mlp's depth drawn for a cnn row too (every row trained as an mlp)", "family",
         '{"params": [{"name": "model", "type": "categorical", "choices": ["cnn", "mlp"]},'
         ' {"name": "depth", "type": "int", "low": 1, "high": 4}]}', 2,
         r"family\.json: params\[1\]: 'depth' belongs to the mlp model, but it is drawn when model is \"cnn\" too: "
         r"add \"condition\": \{\"param\": \"model\", \"equals\": \"mlp\"\}"),
        ("a forbidden combination with a value the parameter cannot take", "forbid_value",
         '{"params": [{"name": "lr", "type": "float", "low": 0.001, "high": 0.5, "log": true},'
         ' {"name": "batch_size", "type": "ordinal", "choices": [16, 32, 64]}],'
         ' "forbidden": [{"batch_size": 24}]}', 2,
         r"forbid_value\.json: forbidden\[0\]\.batch_size: 24 is not a value of 'batch_size'"),
        ("a comparison that never holds (the parameter would never be drawn)", "cond_never",
         '{"params": [{"name": "depth", "type": "int", "low": 1, "high": 4},'
         ' {"name": "dropout", "type": "float", "low": 0, "high": 0.5, "condition": {"param": "depth", "greater_than": 4}}]}',
         2, r"cond_never\.json: params\[1\]\.condition\.greater_than: never holds: 'depth' is at most 4"),
        ("a condition on a value the parent cannot take", "cond_value",
         '{"params": [{"name": "model", "type": "categorical", "choices": ["cnn", "mlp"]},'
         ' {"name": "depth", "type": "int", "low": 1, "high": 4, "condition": {"param": "model", "equals": "MLP"}}]}', 2,
         r"cond_value\.json: params\[1\]\.condition\.in\[0\]: \"MLP\" is not a value of 'model'"),
        ("ConfigSpace's JSON with a prior fhist does not have", "cs_prior",
         '{"hyperparameters": [{"name": "lr", "type": "normal_float", "mu": 0.1, "sigma": 0.05, "lower": 0.001,'
         ' "upper": 0.5, "log": false}], "format_version": 0.4}', 2,
         r"cs_prior\.json: hyperparameters\[0\]\.type: 'lr' has a normal prior: fhist draws floats and integers "
         r"uniformly; make it uniform_float over its lower\.\.upper"),
        ("ConfigSpace's JSON with a forbidden relation between two parameters", "cs_relation",
         '{"hyperparameters": [{"name": "layers", "type": "uniform_int", "lower": 1, "upper": 4},'
         ' {"name": "width", "type": "uniform_int", "lower": 1, "upper": 8}],'
         ' "forbiddens": [{"type": "RELATION_GT", "left": "layers", "right": "width"}]}', 2,
         r"cs_relation\.json: forbiddens\[0\]\.type: a forbidden relation compares two hyperparameters"),
    ]
    for label, name, text, rc, pattern in cases:
        path = space(name, text)
        check(c, label, S + ["--space", path, "--journal", p("space", name + ".db")], rc, pattern)
    # fhist table: the error alone, no header line for a table that never starts
    table = ["table", "--data", f"fashion-mnist:{tiny}", "--model", "cnn", "--train-size", "60", "--val-size", "20",
             "--n-configs", "2", "--max-budget", "1", "--threads", "1", "--space", space("cond_value_t", next(t for _, n, t, _, _ in cases if n == "cond_value")),
             "--journal", p("space", "cond_value_t.db")]
    check(c, "fhist table: a bad space file's error is its first line", table, 2,
          r"\A[^\n]*cond_value_t\.json: params\[1\]\.condition\.in\[0\]: \"MLP\" is not a value of 'model'")
    check(c, "file does not exist", S + ["--space", p("space", "nowhere.json"), "--journal", p("space", "nw.db")], 2,
          r"--space '.*space/nowhere\.json': neither a built-in space \(hparams, .*\) nor an existing JSON file")


# ---- configuration JSON ----------------------------------------------------------------------------------------

def config_cases():
    c = "config"
    tiny = idx_dir("config_data")
    T = train(f"fashion-mnist:{tiny}")
    check(c, "not JSON (text)", T + ["--config", '{"lr": 0.1,'], 2, r"--config.*(not valid JSON|JSON)")
    path = p("config", "bad.json")
    write(path, b'{"lr": 0.1, "batch_size": }')
    check(c, "not JSON (file)", T + ["--config", path], 2, r"config/bad\.json: .*not valid JSON")
    deep = p("config", "deep.json")
    write(deep, b"[" * 200000 + b"]" * 200000)
    check(c, "nested 200,000 deep (printing it overflowed the stack: SIGSEGV)", T + ["--config", deep], 2,
          r"config/deep\.json: JSON nested deeper than 64 levels")
    deep_space = p("config", "deep_space.json")
    write(deep_space, b'{"name": "x", "params": [{"name": "lr", "type": "categorical", "choices": [' + b"[" * 200000 +
          b"]" * 200000 + b"]}]}")
    check(c, "a space file nested 200,000 deep", ["search", "--space", deep_space, "--journal", p("config", "d.db")],
          2, r"deep_space\.json: JSON nested deeper than 64 levels")
    check(c, "a list instead of an object", T + ["--config", "[1, 2]"], 2,
          r"(--config '?\[1, ?2\]'?|config): expected a JSON object")
    check(c, "misspelt key", T + ["--config", '{"learning_rate": 0.1}'], 2,
          r"configuration key 'learning_rate' is not an option fhist knows \(did you mean 'lr'\?\)")
    check(c, "value of the wrong type", T + ["--config", '{"lr": "fast"}'], 2,
          r"config.*'lr'.*expected a number, got \"fast\"")
    check(c, "negative learning rate", T + ["--config", '{"lr": -0.1}'], 2, r"lr must be > 0 \(got -0\.1\)")
    check(c, "zero batch size", T + ["--config", '{"batch_size": 0}'], 2, r"batch[-_]size must be >= 1 \(got 0\)")
    check(c, "outside --space hparams", T + ["--space", "hparams", "--config",
                                             '{"lr": 5, "weight_decay": 0.0005, "width_mult": 0.25, "batch_size": 64}'],
          2, r"config: parameter 'lr': 5 is not .* in \[0\.001, 0\.5\]")
    check(c, "not a choice of --space hparams", T + ["--space", "hparams", "--config",
                                                     '{"lr": 0.1, "weight_decay": 0.0005, "width_mult": 0.3, '
                                                     '"batch_size": 64}'],
          2, r"config: parameter 'width_mult': 0\.3 is not one of")
    check(c, "a model and another network's parameters", T + ["--config", '{"model": "cnn", "depth": 2}'], 2,
          r"model is 'cnn', but it sets parameters of the mlp model")
    forbid = p("config", "forbid.json")
    write(forbid, b'{"params": [{"name": "lr", "type": "float", "low": 0.001, "high": 0.5, "log": true},'
                  b' {"name": "batch_size", "type": "ordinal", "choices": [16, 32]}],'
                  b' "forbidden": [{"batch_size": 16}]}')
    check(c, "a configuration that takes a forbidden combination of --space FILE",
          T + ["--space", forbid, "--config", '{"lr": 0.1, "batch_size": 16}'], 2,
          r"config \{.*\} takes a forbidden combination: forbidden\[0\] \(batch_size = 16\)")
    check(c, "file does not exist", T + ["--config", p("config", "nowhere.json")], 2,
          r"--config .*config/nowhere\.json: no such file \(pass JSON text or a file\)")


# ---- command-line values ---------------------------------------------------------------------------------------

def cli_cases():
    c = "cli"
    tiny = idx_dir("cli_data")
    data = f"fashion-mnist:{tiny}"
    T = train(data)
    P = ["plan", "--algo", "hyperband", "--min-budget", "1", "--max-budget", "9"]
    check(c, "negative --train-size", train(data, train_size=-5), 2, r"--train-size must be >= 0 \(0 = auto; got -5\)")
    check(c, "--train-size + --val-size larger than the set", train(data, train_size=110, val_size=20), 2,
          r"--train-size 110 \+ --val-size 20 = 130 exceeds the 120 training images")
    check(c, "--batch-size 0", train(data, batch_size=0), 2,
          r"--batch-size must be >= 1 \(got 0\)|--batch-size: expected a whole number >= 1, got '0'")
    check(c, "negative --lr", T + ["--lr=-0.1"], 2, r"--lr.*(positive|> ?0|-0\.1)")
    check(c, "--width-mult 0", ["model-info", "--model", "resnet18", "--width-mult", "0"], 2,
          r"--width-mult.*(positive|> ?0|got '?0)")
    check(c, "--epochs above --max-budget", train(data, epochs=3), 2, r"--epochs 3 exceeds --max-budget 1")
    check(c, "--window 0", ["estimate", "--features", p("npy", "good"), "--window", "0"], 2,
          r"--window must be >= 1 \(got 0\)")
    check(c, "--device bogus", T + ["--device", "bogus"], 2, r"--device 'bogus'.*(expected|auto \| cpu|cpu, cuda)")
    check(c, "--device cuda:x", ["estimate", "--features", p("npy", "good"), "--device", "cuda:x"], 2,
          r"--device '?cuda:x'?: (expected auto, cpu, cuda or cuda:N|this LibTorch build sees no CUDA device)")
    check(c, "--threads -1", train(data, threads=-1), 2, r"--threads.*(>= ?0|-1)")
    check(c, "--augment bogus", T + ["--augment", "crop,blur"], 2, r"--augment.*'?blur'?.*(crop|expected)")
    check(c, "--eta 1", P + ["--eta", "1"], 2, r"--eta: expected a whole number >= 2, got '1'")
    check(c, "--min-budget above --max-budget", ["plan", "--algo", "hyperband", "--min-budget", "10", "--max-budget",
                                                 "9"], 2, r"--max-budget must be >= --min-budget \(10\) \(got 9\)")
    check(c, "--min-budget 0", P[:3] + ["--min-budget", "0", "--max-budget", "9"], 2,
          r"--min-budget: expected a whole number >= 1, got '0'")
    check(c, "--algo bogus", ["plan", "--algo", "bogus"], 2, r"--algo.*bogus.*(random|hyperband)")
    check(c, "--estimator bogus", ["search", "--data", f"fashion-mnist:{tiny}", "--estimator", "bogus", "--journal",
                                   p("cli", "est.db")], 2, r"--estimator.*'?bogus'?.*(original|fh|known|expected)")
    check(c, "--estimator tse-e:0", ["search", "--data", f"fashion-mnist:{tiny}", "--estimator", "tse-e:0",
                                     "--journal", p("cli", "est0.db")], 2, r"tse-e:0.*(>= ?1|positive)")
    check(c, "--workers 0", ["search", "--data", f"fashion-mnist:{tiny}", "--workers", "0", "--journal",
                             p("cli", "w.db")], 2, r"--workers.*(>= ?1|got '?0)")
    check(c, "--input 3x32", ["model-info", "--model", "resnet18", "--input", "3x32"], 2,
          r"--input must be CxHxW with positive integer sizes, e\.g\. 3x32x32 \(got '3x32'\)")
    check(c, "--classes 0", ["model-info", "--model", "resnet18", "--classes", "0"], 2,
          r"(--classes|classifier).*>= ?2 classes \(got 0\)")
    check(c, "--model bogus", ["model-info", "--model", "resnet19"], 2, r"--model.*resnet19.*not in")
    check(c, "--max-budget not a number", P[:5] + ["--max-budget", "nine"], 2, r"--max-budget.*nine")


# ---- journals --------------------------------------------------------------------------------------------------
