"""Reads the labelled report examples out of the Rasa NLU files (no Rasa import needed)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import yaml

DEFAULT_NLU_DIR = Path(__file__).resolve().parents[1] / "data" / "nlu"


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    urgency: str


def _examples(block: dict) -> Iterator[str]:
    for line in (block.get("examples") or "").splitlines():
        line = line.strip()
        if line.startswith("- "):
            yield line[2:]


def report_examples(nlu_dir: Path = DEFAULT_NLU_DIR, intent: str = "report_problem") -> List[Example]:
    """Every example of the report intent that carries a category, with its urgency."""
    found = []
    for path in sorted(Path(nlu_dir).glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            metadata = block.get("metadata") or {}
            if block.get("intent") == intent and metadata.get("category"):
                found += [Example(t, metadata["category"], metadata.get("urgency", "normal")) for t in _examples(block)]
    return found


def all_examples(nlu_dir: Path = DEFAULT_NLU_DIR) -> List[str]:
    """Every NLU example text, of every intent."""
    texts = []
    for path in sorted(Path(nlu_dir).glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            texts += list(_examples(block))
    return texts


def read_eval_csv(path: Path) -> List[Example]:
    """A `text,category,urgency` CSV such as tests/fixtures/classification_eval.csv."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [Example(r["text"], r["category"], r.get("urgency") or "normal") for r in csv.DictReader(handle)]
