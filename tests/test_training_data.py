"""The training data: enough varied phrasings per category, both scripts, no leak into the tests."""

from collections import Counter, defaultdict
from pathlib import Path

import yaml

from bot import taxonomy
from bot.classifier import training_data
from bot.textnorm import detect_script, normalize

ROOT = Path(__file__).resolve().parents[1]


def report_examples():
    found = defaultdict(list)
    for example in training_data.report_examples():
        found[example.category].append(example.text)
    return found


def all_training_texts():
    return training_data.all_examples()


def test_every_category_has_thirty_phrasings_in_both_scripts():
    examples = report_examples()
    assert set(examples) == set(taxonomy.load().categories)
    for category, texts in examples.items():
        assert len(set(texts)) >= 30, category
        scripts = Counter(detect_script(t) for t in texts)
        assert scripts["traditional"] >= 5 and scripts["simplified"] >= 20, (category, scripts)


def test_no_training_example_is_repeated():
    texts = [normalize(t) for t in all_training_texts()]
    repeated = [t for t, n in Counter(texts).items() if n > 1]
    assert not repeated


def _plain(text):
    """Annotated story text without the [..](..) markup."""
    import re

    return re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", text).strip()


def test_test_stories_do_not_reuse_training_examples():
    training = {normalize(t) for t in map(_plain, all_training_texts())}
    for path in (ROOT / "tests" / "test_stories").glob("*.yml"):
        for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            for step in story["steps"]:
                if "user" in step:
                    assert normalize(_plain(step["user"])) not in training, (path.name, step["user"])


def test_the_evaluation_set_is_apart_from_the_training_data():
    training = {normalize(_plain(t)) for t in all_training_texts()}
    evaluation = training_data.read_eval_csv(ROOT / "tests" / "fixtures" / "classification_eval.csv")
    assert not [e.text for e in evaluation if normalize(e.text) in training]
    per_category = Counter(e.category for e in evaluation)
    assert set(per_category) == set(taxonomy.load().categories)
    assert min(per_category.values()) >= 25
    assert sum(e.urgency in ("emergency", "hazard") for e in evaluation) >= 40
    assert Counter(detect_script(e.text) for e in evaluation)["traditional"] >= 60
