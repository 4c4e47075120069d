"""`minsheng classifier evaluate` and `minsheng db upgrade`."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main, read_labelled_csv

TRAIN = [
    ("路灯坏了好几天", "roads"),
    ("马路上有个大坑", "roads"),
    ("红绿灯不亮了", "roads"),
    ("公交站牌倒了", "roads"),
    ("井盖丢了", "roads"),
    ("路面积水严重", "roads"),
    ("垃圾没人收", "sanitation"),
    ("垃圾桶满了", "sanitation"),
    ("公厕太脏", "sanitation"),
    ("建筑垃圾乱倒", "sanitation"),
    ("化粪池冒了", "sanitation"),
    ("楼下垃圾堆成山", "sanitation"),
    ("停水两天了", "utilities"),
    ("暖气不热", "utilities"),
    ("老是停电", "utilities"),
    ("水压太低", "utilities"),
    ("自来水发黄", "utilities"),
    ("燃气表坏了", "utilities"),
]
TEST = [
    ("路灯一直不亮", "roads"),
    ("垃圾好几天没人收了", "sanitation"),
    ("家里停水了", "utilities"),
    ("路燈壞了", "roads"),
    ("垃圾桶滿了沒人倒", "sanitation"),
    ("暖氣一點都不熱", "utilities"),
]


def write_csv(path: Path, rows, header=True):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(["text", "label"])
        writer.writerows(rows)
    return str(path)


def test_evaluate_prints_accuracy_macro_f1_and_per_label(tmp_path, capsys):
    train = write_csv(tmp_path / "train.csv", TRAIN)
    test = write_csv(tmp_path / "test.csv", TEST, header=False)
    assert main(["classifier", "evaluate", "--train", train, "--test", test, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["per_label"]) == {"roads", "sanitation", "utilities"}
    assert result["accuracy"] >= 5 / 6  # Traditional test lines are understood from Simplified training
    assert 0 < result["macro_f1"] <= 1
    assert result["per_label"]["roads"]["support"] == 2


def test_the_console_script_runs(tmp_path):
    train = write_csv(tmp_path / "train.csv", TRAIN)
    test = write_csv(tmp_path / "test.csv", TEST)
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("minsheng")),
            "classifier",
            "evaluate",
            "--train",
            train,
            "--test",
            test,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["n_test"] == len(TEST)


def test_a_csv_without_rows_is_refused_clearly(tmp_path):
    empty = write_csv(tmp_path / "empty.csv", [])
    with pytest.raises(SystemExit, match="no `text,label` rows"):
        read_labelled_csv(empty)


def test_db_upgrade_is_repeatable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINSHENG_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_a_label_with_a_single_example_still_trains(tmp_path, capsys):
    rows = TRAIN + [("想表扬一下社区主任", "other")]
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", TEST)
    assert main(["classifier", "evaluate", "--train", train, "--test", test, "--json"]) == 0
    assert "other" in json.loads(capsys.readouterr().out)["per_label"]


def test_staff_add_user_reads_the_password_from_stdin(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'staff.db'}"
    env = {**__import__("os").environ, "MINSHENG_DATABASE_URL": url}
    minsheng = str(Path(sys.executable).with_name("minsheng"))
    subprocess.run([minsheng, "db", "upgrade"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [minsheng, "staff", "add-user", "zhang", "--role", "department", "--department", "transport"],
        input="a-good-password\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "created department zhang" in done.stdout and "password" not in done.stdout
    refused = subprocess.run(
        [minsheng, "staff", "add-user", "li", "--role", "department"],
        input="a-good-password\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "部门" in refused.stderr

    from bot.staff.accounts import authenticate
    from bot.store.db import session_scope

    with session_scope(url) as db:
        assert authenticate(db, "zhang", "a-good-password").department_id == "transport"


def test_staff_add_token_prints_a_working_token(tmp_path):
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    env = {**__import__("os").environ, "MINSHENG_DATABASE_URL": url}
    minsheng = str(Path(sys.executable).with_name("minsheng"))
    subprocess.run([minsheng, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [minsheng, "staff", "add-user", "api", "--role", "supervisor"],
        input="a-good-password\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    done = subprocess.run([minsheng, "staff", "add-token", "api"], env=env, capture_output=True, text=True)
    token = done.stdout.strip().rsplit(" ", 1)[-1]
    assert done.returncode == 0 and token.startswith("ms_")

    from bot.staff.accounts import user_of_token
    from bot.store.db import session_scope

    with session_scope(url) as db:
        assert user_of_token(db, token).username == "api"
    assert subprocess.run([minsheng, "staff", "add-token", "nobody"], env=env, capture_output=True).returncode == 2


@pytest.mark.parametrize("token", ["-LjnUGOM5TOMf-ERDk_UdxIEDElF0idv", "plain-token"])
def test_rasa_is_started_with_its_token_even_one_that_looks_like_an_option(token, tmp_path, monkeypatch):
    from rasa.__main__ import create_argument_parser

    from bot import serve, settings

    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MINSHENG_RASA_TOKEN", token)
    parsed = create_argument_parser().parse_args(serve.rasa_arguments(settings.load(), "127.0.0.1", 5005))
    assert parsed.auth_token == token and parsed.enable_api and parsed.interface == "127.0.0.1"


@pytest.mark.parametrize("operator_value", [None, "2"])
def test_rasa_starts_with_one_tensorflow_thread_per_pool_unless_the_operator_sets_them(
    operator_value, tmp_path, monkeypatch
):
    import rasa.__main__

    from bot import rasa_patches, serve, settings

    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    for name in [*settings.RASA_TENSORFLOW_THREADS, settings.ACTIONS_SECRET_VARIABLE]:
        monkeypatch.setenv(name, operator_value or "")  # restored afterwards, whatever serve_rasa sets
        if operator_value is None or name == settings.ACTIONS_SECRET_VARIABLE:
            monkeypatch.delenv(name)
    seen = {}
    monkeypatch.setattr(rasa_patches, "apply", lambda *args: None)
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.update(os.environ))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    serve.serve_rasa(settings.load(), "127.0.0.1", 5005)
    expected = operator_value or "1"
    assert seen["TF_INTER_OP_PARALLELISM_THREADS"] == seen["TF_INTRA_OP_PARALLELISM_THREADS"] == expected


def test_a_generated_rasa_token_never_looks_like_an_option(tmp_path, monkeypatch):
    from bot import settings

    monkeypatch.delenv("MINSHENG_RASA_TOKEN", raising=False)
    for attempt in range(20):
        monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path / str(attempt)))
        token = settings.load().rasa_token()
        assert len(token) >= 32 and not token.startswith("-") and token == settings.load().rasa_token()


def test_places_check_summarises_a_gazetteer_or_says_what_is_wrong(tmp_path, capsys):
    assert main(["places", "check"]) == 0
    out = capsys.readouterr().out
    assert "示例区" in out and "SAMPLE" in out and "小区" in out
    wrong = tmp_path / "places.yml"
    wrong.write_text("streets:\n  - name: 东街道\n    at: [1]\n", encoding="utf-8")
    assert main(["places", "check", str(wrong)]) == 2
    assert "东街道" in capsys.readouterr().err
