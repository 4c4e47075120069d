"""`rasa data validate`, stricter: any warning fails, except "response not used in any story or
rule" for a response that an action or a form really uses, and "intent not in the NLU data" for an
intent that only machines send (the deliverer's EXTERNAL_ intents, the channels' and the chat page's payloads) —
Rasa cannot see either."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from bot.settings import child_environment

ROOT = Path(__file__).resolve().parents[2]
UNUSED = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule")
NO_EXAMPLES = re.compile(r"The intent '(\w+)' is listed in the domain file, but is not found in the NLU training data")
WARNING = re.compile(r"UserWarning: (.+)")


def responses_used_outside_stories() -> set:
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "actions").glob("*.py"))
    used = set(re.findall(r'"(utter_\w+)"', code))
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for form in domain.get("forms", {}).values():
        used |= {f"utter_ask_{slot}" for slot in form.get("required_slots", [])}
    # slots a form validation action adds to a form itself
    used |= {f"utter_ask_{m}" for m in re.findall(r'\["(\w+)"\] \+ needed', code)}
    # responses an action names by a pattern, f"utter_update_{kind}": every response of that prefix
    for prefix in re.findall(r'f"(utter_\w+_)\{', code):
        used |= {r for r in domain.get("responses", {}) if r.startswith(prefix)}
    return used


def intents_sent_by_machines() -> set:
    sources = [*(ROOT / "bot" / "channels").glob("*.py"), *(ROOT / "bot" / "web" / "static").glob("*.js")]
    code = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    external = {i for i in domain.get("intents", []) if isinstance(i, str) and i.startswith("EXTERNAL_")}
    return external | set(re.findall(r'"/(\w+)"', code))


def main() -> int:
    env = child_environment(PYTHONWARNINGS="default", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("rasa")),
            "data",
            "validate",
            "--data",
            "bot/data",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    allowed = responses_used_outside_stories()
    problems = []
    for line in output.splitlines():
        match = WARNING.search(line)
        if not match:
            continue
        unused = UNUSED.search(line)
        if unused and unused.group(1) in allowed:
            continue
        no_examples = NO_EXAMPLES.search(line)
        if no_examples and no_examples.group(1) in intents_sent_by_machines():
            continue
        problems.append(match.group(1))
    if result.returncode != 0:
        print(output)
        print(f"rasa data validate failed (exit {result.returncode})")
        return 1
    if problems:
        print("rasa data validate reported:")
        for problem in problems:
            print("  -", problem)
        return 1
    print(f"rasa data validate: clean ({len(allowed)} responses are used by actions and forms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
