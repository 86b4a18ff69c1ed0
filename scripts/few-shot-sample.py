"""Writes a few-shot training file: N rows of each label of a JSON-lines file, drawn with a fixed
seed, in the file's order. The committed data/fewshot/spam-8-per-class.jsonl was made by

    python3 scripts/few-shot-sample.py data/tasks/spam.train.jsonl 8 42 data/fewshot/spam-8-per-class.jsonl
"""

import json
import random
import sys

source, per_label, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = open(source, encoding="utf-8").read().splitlines()
by_label = {}
for index, line in enumerate(lines):
    by_label.setdefault(json.loads(line)["label"], []).append(index)
rng = random.Random(seed)
chosen = sorted(i for label in sorted(by_label) for i in rng.sample(by_label[label], per_label))
with open(out, "w", encoding="utf-8") as file:
    file.writelines(lines[i] + "\n" for i in chosen)
print(f"{out}: {len(chosen)} rows, {per_label} of each of {len(by_label)} labels")
