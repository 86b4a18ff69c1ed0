"""PyTorch's training step, timed like ours. Random weights (timing only); plain torch, as
transformers is not installed beside the benchmark's PyTorch. Prints one JSON line.

--model bert-mini (default): the embedded teacher's shape (vocab 30,522, hidden 256, 4 layers,
4 heads, FFN 1,024; sequence classification), like bench/train.ts: forward with dropout,
cross-entropy, backward, clip_grad_norm_(1.0), AdamW.
--model distilbert-base: the benchmark model (../shared/bench/distilbert_ref.py, found through
--baselines), like `distilbert bench --train`: forward with dropout, cross-entropy, backward, AdamW.

  B=/tmp/distilbert-bench; LD_LIBRARY_PATH=$(dirname $(find $B/openblas -name libblas.so.3 | head -1)) \\
    /usr/bin/python3 bench/train_torch.py --threads 2 --shape 32x128
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, HIDDEN, LAYERS, HEADS, FFN, POSITIONS, TYPES = 30522, 256, 4, 4, 1024, 512, 2
DROPOUT = 0.1


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)
        self.attention_output = nn.Linear(HIDDEN, HIDDEN)
        self.attention_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.intermediate = nn.Linear(HIDDEN, FFN)
        self.output = nn.Linear(FFN, HIDDEN)
        self.output_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, x, mask):
        b, s, _ = x.shape
        d = HIDDEN // HEADS

        def heads(t):
            return t.view(b, s, HEADS, d).transpose(1, 2)

        scores = heads(self.query(x)) @ heads(self.key(x)).transpose(2, 3) / math.sqrt(d)
        scores = scores.masked_fill((mask == 0).view(b, 1, 1, s), torch.finfo(scores.dtype).min)
        probs = self.dropout(F.softmax(scores, dim=-1))
        context = (probs @ heads(self.value(x))).transpose(1, 2).reshape(b, s, HIDDEN)
        x = self.attention_norm(x + self.dropout(self.attention_output(context)))
        return self.output_norm(x + self.dropout(self.output(F.gelu(self.intermediate(x)))))


class BertForSequenceClassification(nn.Module):
    def __init__(self):
        super().__init__()
        self.word = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
        self.position = nn.Embedding(POSITIONS, HIDDEN)
        self.token_type = nn.Embedding(TYPES, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])
        self.pooler = nn.Linear(HIDDEN, HIDDEN)
        self.classifier = nn.Linear(HIDDEN, 2)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, ids, mask):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.word(ids) + self.position(positions) + self.token_type(torch.zeros_like(ids))
        x = self.dropout(self.norm(x))
        for layer in self.layers:
            x = layer(x, mask)
        return self.classifier(self.dropout(torch.tanh(self.pooler(x[:, 0]))))


p = argparse.ArgumentParser()
p.add_argument("--shape", default="32x128")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--runs", type=int, default=5)
p.add_argument("--model", choices=["bert-mini", "distilbert-base"], default="bert-mini")
p.add_argument("--baselines", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
batch, seq = map(int, a.shape.split("x"))
if a.model == "distilbert-base":
    sys.path.insert(0, a.baselines)
    from distilbert_ref import build

    model = build(0).train()
    clip = False
else:
    model = BertForSequenceClassification().train()
    clip = True
no_decay = [p for n, p in model.named_parameters() if "norm" in n or n.endswith("bias")]
decay = [p for n, p in model.named_parameters() if not ("norm" in n or n.endswith("bias"))]
optimizer = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4
)
ids = torch.randint(1000, VOCAB, (batch, seq))
mask = torch.ones_like(ids)
labels = torch.arange(batch) % 2


def step():
    optimizer.zero_grad()
    loss = F.cross_entropy(model(ids, mask), labels)
    loss.backward()
    if clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


step()
times = []
for _ in range(a.runs):
    start = time.perf_counter()
    step()
    times.append((time.perf_counter() - start) * 1e3)
median = statistics.median(times)
print(json.dumps({"runtime": "pytorch-openblas", "step": "train", "model": "bert-mini-sotu" if a.model == "bert-mini" else a.model,
                  "batch": batch, "seq": seq, "threads": a.threads, "runs": a.runs,
                  "median_ms": round(median, 2), "min_ms": round(min(times), 2),
                  "seq_per_s": round(batch * 1000 / median, 2),
                  "tokens_per_s": round(batch * seq * 1000 / median)}), flush=True)
