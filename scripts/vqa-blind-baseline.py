#!/usr/bin/env python3
"""The text-prior floor of the scenes VQA: answers each held-out question with the answer most often
given to the same question text in training (else the most common answer of its type), never
looking at the image. A model that reads the image must beat it.

    python3 scripts/vqa-blind-baseline.py [DATA_DIR] [SPLIT...]   (defaults: data/scenes, test compositional)

Prints one JSON line per split: accuracy overall and per question type, as `setok eval vqa` reports.
"""
import collections
import json
import sys


def questions(path):
    out = []
    for conv in json.load(open(path)):
        turns = conv["conversations"]
        for q, a in zip(turns, turns[1:]):
            if q["from"] == "human" and "type" in q:
                out.append((q["type"], q["value"].replace("<image>", "").strip(), a["value"].strip().lower()))
    return out


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "data/scenes"
    splits = sys.argv[2:] or ["test", "compositional"]
    by_text, by_type = collections.defaultdict(collections.Counter), collections.defaultdict(collections.Counter)
    for kind, text, answer in questions(f"{data}/annotations/llava_train.json"):
        by_text[text][answer] += 1
        by_type[kind][answer] += 1
    for split in splits:
        total, right = collections.Counter(), collections.Counter()
        for kind, text, answer in questions(f"{data}/annotations/llava_{split}.json"):
            guess = (by_text[text] if text in by_text else by_type[kind]).most_common(1)[0][0]
            total[kind] += 1
            right[kind] += guess == answer
        print(json.dumps({
            "split": split,
            "questions": sum(total.values()),
            "accuracy": sum(right.values()) / max(1, sum(total.values())),
            "by_type": {k: {"accuracy": right[k] / total[k], "total": total[k]} for k in sorted(total)},
        }))


if __name__ == "__main__":
    main()
