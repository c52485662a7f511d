#!/usr/bin/env python3
"""README.md agrees with the program.

1. The quick start (between <!-- quickstart --> and <!-- /quickstart -->) runs as written, command by command, in
   an empty folder, and prints what README shows: every line of its expected-output block appears in the real
   output, in order, with numbers and durations masked (they vary by machine).
2. Every `fhist CMD --flag` written in README's code blocks is a flag `fhist CMD --help` lists.
3. The estimator table names what `search --help` lists; the models and spaces README names are those `--help` lists.
Usage: readme_test.py FHIST README WORKDIR
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

fhist, readme_path, work = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
readme = open(readme_path).read()
fails = 0


def check(ok, name, detail=""):
    global fails
    print(("ok   - " if ok else "FAIL - ") + name + ("" if ok else ": " + detail))
    fails += 0 if ok else 1


def help_text(cmd):
    return subprocess.run([fhist, cmd, "--help"], capture_output=True, text=True, check=True).stdout


def mask(line):
    line = re.sub(r"[0-9]+(\.[0-9]+)?(e-?[0-9]+)? ?(s|min|h)\b", "#T", line)  # durations: 42 s, 3 min, 1.2 h
    line = re.sub(r"-?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?", "#", line)
    return re.sub(r"\s+", " ", line).strip()


# --- 1. the quick start
m = re.search(r"<!-- quickstart -->(.*?)<!-- /quickstart -->", readme, re.S)
check(m is not None, "README has a quick start")
blocks = re.findall(r"```(\w*)\n(.*?)```", m.group(1), re.S) if m else []
commands = [l for lang, b in blocks if lang == "sh" for l in b.splitlines() if l.strip() and not l.startswith("#")]
expected = [l for lang, b in blocks if lang == "" for l in b.splitlines() if l.strip()]
check(len(commands) >= 3 and len(expected) >= 5, "the quick start has commands and expected output")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
output = []
for command in commands:
    line = command.split("#")[0].strip()
    argv = shlex.split(line)
    if argv[0] != "build/fhist":
        check(False, f"quick start command runs fhist: {line}")
        continue
    r = subprocess.run([fhist] + argv[1:], cwd=work, capture_output=True, text=True)
    check(r.returncode == 0, f"quick start: {line}", r.stdout[-800:] + r.stderr[-800:])
    output += [f"$ {line}"] + r.stdout.splitlines()
got = [mask(l) for l in output]
pos, missing = 0, []
for want in expected:
    if want.strip() == "...":
        continue
    w = mask(want)
    while pos < len(got) and got[pos] != w:
        pos += 1
    if pos == len(got):
        missing.append(want)
        pos = 0
    else:
        pos += 1
check(not missing, "the quick start prints what README shows", "not found in order: " + " | ".join(missing[:3]) +
      "\n--- got:\n" + "\n".join(output[:60]))

# --- 2. every flag README writes exists
helps = {}
code = "\n".join(b for _, b in re.findall(r"```(\w*)\n(.*?)```", readme, re.S))
code = code.replace("\\\n", " ")
inline = re.findall(r"`((?:build/)?fhist [^`]+)`", readme)
bad = []
for line in code.splitlines() + inline:
    for cmdline in re.findall(r"(?:build/)?fhist ([a-z-]+)((?: [^|;&#]*)?)", line):
        cmd, rest = cmdline
        if cmd not in helps:
            try:
                helps[cmd] = help_text(cmd)
            except subprocess.CalledProcessError:
                bad.append(f"fhist {cmd} (no such command)")
                helps[cmd] = None
        if helps[cmd] is None:
            continue
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-o)\b", rest):
            if not re.search(r"(^|[\s,])" + re.escape(flag) + r"\b", helps[cmd]):
                bad.append(f"fhist {cmd} {flag}")
check(len(helps) >= 8, f"README shows {len(helps)} commands")
check(not bad, "every flag README writes is in the command's --help", ", ".join(sorted(set(bad))))

# --- 3. names: estimators, models, spaces
search_help = " ".join(help_text("search").split())
listed = re.search(r"ranked by: ([a-z0-9| -]+?) \(", search_help)
names = set(listed.group(1).replace(" ", "").split("|")) if listed else set()
table = set(re.findall(r"^\| `([a-z0-9-]+)` \| (?:accuracy|ranking) \|", readme, re.M))
check(names and names == table, "README's estimator table = search --estimator's list", f"{sorted(names)} vs {sorted(table)}")
train_help = " ".join(help_text("train").split())
models = re.search(r"--model TEXT:\{([^}]*)\}", train_help)
models = set(models.group(1).split(",")) if models else set()
readme_models = set(re.findall(r"`([a-z][a-z0-9-]*)`", re.search(r"`--model` is (.*?) with `--width-mult`", readme, re.S).group(1)))
check(models and models == readme_models, "README's model list = train --model's choices", f"{sorted(models)} vs {sorted(readme_models)}")
spaces = set(re.findall(r"^\| `([a-z0-9-]+)` \| .* \| .* \|$", readme, re.M)) - table
space_help = re.search(r"built-in space \(([^)]*)\)", search_help)
space_help = set(s.strip() for s in space_help.group(1).split(",")) if space_help else set()
check(space_help and space_help <= spaces, "README's space table has every built-in space", f"{sorted(space_help)} vs {sorted(spaces)}")

print(f"e2e readme: {fails} failed")
sys.exit(1 if fails else 0)
