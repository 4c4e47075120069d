"""Precision and recall of the duplicate suggestion (bot/store/duplicates.py) on the labelled pairs
of benchmarks/data/duplicate_pairs.yml.

    make benchmark                                  # runs this after the classification benchmark
    python -m benchmarks.duplicates [--tune]        # --tune: choose the threshold on the dev split

Every pair is scored as the store scores a new report against an open ticket (place resolved with
the gazetteer, words compared with the classifier's features). A pair counts as "suggested" when its
score reaches the threshold (the chat asks the resident), and also at the console's lower bar for
staff suggestions. The threshold is the product's setting (MINSHENG_DUPLICATE_THRESHOLD);
--tune prints, for the dev split only, the threshold with the best F1 — the figure reported is always
the test split's, which the tuning never sees.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import yaml

DATA = Path(__file__).resolve().parent / "data" / "duplicate_pairs.yml"


@dataclass(frozen=True)
class Pair:
    scenario: str
    split: str
    kind: str  # same | other_place | other_problem
    a: Tuple[str, str]
    b: Tuple[str, str]

    @property
    def same(self) -> bool:
        return self.kind == "same"


def _report(line: str) -> Tuple[str, str]:
    text, _, place = line.partition("|")
    return text.strip(), place.strip()


def load(path: Path = DATA) -> List[Pair]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["scenarios"]
    pairs = []
    for name, scenario in raw.items():
        for line in scenario["pairs"]:
            kind, _, rest = line.partition("|")
            pairs.append(Pair(name, scenario["split"], kind.strip(), _report(scenario["a"]), _report(rest)))
    return pairs


def scores(pairs: Sequence[Pair]) -> List[float]:
    from bot.store.duplicates import Probe, similarity

    found = []
    for pair in pairs:
        a = Probe.of_report(pair.a[0], None, pair.a[1])
        b = Probe.of_report(pair.b[0], None, pair.b[1])
        found.append(similarity(a, b).total)
    return found


def measure(pairs: Sequence[Pair], found: Sequence[float], threshold: float) -> Dict[str, float]:
    tp = sum(1 for p, s in zip(pairs, found) if p.same and s >= threshold)
    fp = sum(1 for p, s in zip(pairs, found) if not p.same and s >= threshold)
    fn = sum(1 for p, s in zip(pairs, found) if p.same and s < threshold)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def tune(pairs: Sequence[Pair], found: Sequence[float]) -> float:
    """The threshold with the best F1 on these pairs (ties: the higher threshold, fewer false merges)."""
    best = (-1.0, 0.0)
    for step in range(20, 91):
        threshold = step / 100
        f1 = measure(pairs, found, threshold)["f1"]
        if f1 >= best[0]:
            best = (f1, threshold)
    return best[1]


def main(argv=None) -> int:
    from bot import settings
    from bot.store.duplicates import suggestion_floor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tune", action="store_true", help="print the dev split's best threshold")
    parser.add_argument("--misses", choices=("dev", "test"), help="list the wrong answers of a split")
    args = parser.parse_args(argv)

    pairs = load()
    started = time.perf_counter()
    found = scores(pairs)
    elapsed = (time.perf_counter() - started) * 1000 / max(1, len(pairs))
    threshold = settings.load().duplicate_threshold
    dev = [i for i, p in enumerate(pairs) if p.split == "dev"]
    test = [i for i, p in enumerate(pairs) if p.split == "test"]
    traditional = sum(1 for p in pairs if any(c in p.b[0] for c in "樓燈棟門區壞裡灣專號")) if pairs else 0
    print(
        f"duplicate pairs: {len(pairs)} ({sum(p.same for p in pairs)} same, "
        f"{sum(p.kind == 'other_place' for p in pairs)} same words at another place, "
        f"{sum(p.kind == 'other_problem' for p in pairs)} another problem at the same place; "
        f"about {traditional} in Traditional) — {len(dev)} dev, {len(test)} test"
    )
    print(f"threshold {threshold:.2f} (MINSHENG_DUPLICATE_THRESHOLD)")
    for name, index in (("dev", dev), ("test", test)):
        part = [pairs[i] for i in index]
        result = measure(part, [found[i] for i in index], threshold)
        print(
            f"  {name:<5} precision {result['precision']:.3f}  recall {result['recall']:.3f}  F1 {result['f1']:.3f}"
            f"  (tp {result['tp']}, fp {result['fp']}, fn {result['fn']})"
        )
        for kind in ("other_place", "other_problem"):
            wrong = sum(1 for i in index if pairs[i].kind == kind and found[i] >= threshold)
            total = sum(1 for i in index if pairs[i].kind == kind)
            print(f"        {kind:<14} wrongly suggested {wrong}/{total}")
    floor = suggestion_floor()
    for name, index in (("dev", dev), ("test", test)):
        result = measure([pairs[i] for i in index], [found[i] for i in index], floor)
        print(
            f"  staff suggestions (score >= {floor:.2f}), {name:<5} precision {result['precision']:.3f}"
            f"  recall {result['recall']:.3f}  F1 {result['f1']:.3f}"
        )
    print(f"scoring: {elapsed:.2f} ms per pair (place resolution + text features, one pair at a time)")
    if args.tune:
        part = [pairs[i] for i in dev]
        best = tune(part, [found[i] for i in dev])
        print(f"dev split's best threshold: {best:.2f} (F1 {measure(part, [found[i] for i in dev], best)['f1']:.3f})")
    if args.misses:
        for i in dev if args.misses == "dev" else test:
            pair = pairs[i]
            if (found[i] >= threshold) != pair.same:
                print(f"  miss {pair.scenario} {pair.kind:<13} {found[i]:.3f}  {pair.a[0]}  /  {pair.b[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
