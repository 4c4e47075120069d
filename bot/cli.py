"""The `minsheng` command line."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import List, Tuple


def read_labelled_csv(path: str) -> Tuple[List[str], List[str]]:
    """A `text,label` CSV (header optional); blank rows are skipped."""
    texts: List[str] = []
    labels: List[str] = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                continue
            if not texts and row[0].strip().lower() == "text" and row[1].strip().lower() == "label":
                continue
            texts.append(row[0])
            labels.append(row[1].strip())
    if not texts:
        raise SystemExit(f"{path}: no `text,label` rows found")
    return texts, labels


def classifier_evaluate(args: argparse.Namespace) -> int:
    from bot.classifier.model import evaluate

    train_texts, train_labels = read_labelled_csv(args.train)
    test_texts, test_labels = read_labelled_csv(args.test)
    result = evaluate(train_texts, train_labels, test_texts, test_labels)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(
            f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}  "
            f"(train {result['n_train']}, test {result['n_test']})"
        )
        for label, figures in result["per_label"].items():
            print(
                f"  {label:24s} P {figures['precision']:.3f}  R {figures['recall']:.3f}  "
                f"F1 {figures['f1']:.3f}  n {figures['support']}"
            )
    return 0


def classifier_corrections(args: argparse.Namespace) -> int:
    """Staff corrections of the category, as text,label rows to add to the training data."""
    import json

    from bot.store.db import session_scope
    from bot.store.schema import AuditEntry

    writer = csv.writer(sys.stdout)
    writer.writerow(["text", "label"])
    with session_scope() as session:
        for entry in session.query(AuditEntry).filter(AuditEntry.action == "recategorize").order_by(AuditEntry.id):
            detail = json.loads(entry.detail or "{}")
            if detail.get("text") and detail.get("category"):
                writer.writerow([detail["text"], detail["category"]])
    return 0


def db_upgrade(_args: argparse.Namespace) -> int:
    from bot.store.db import database_url
    from bot.store.migrate import upgrade

    upgrade()
    print(f"database is up to date: {database_url()}")
    return 0


def staff_add_user(args: argparse.Namespace) -> int:
    from bot.staff.accounts import AccountError, create_user, generate_password
    from bot.store.db import session_scope

    generated = sys.stdin.isatty() or args.generate
    password = generate_password() if generated else sys.stdin.readline().rstrip("\n")
    try:
        with session_scope() as session:
            create_user(session, args.name, password, args.role, args.department)
    except AccountError as error:
        print(f"not created: {error}", file=sys.stderr)
        return 2
    print(f"created {args.role} {args.name}" + (f" (department {args.department})" if args.department else ""))
    if generated:
        print(f"password (shown once): {password}")
    return 0


def staff_add_token(args: argparse.Namespace) -> int:
    from bot.staff.accounts import AccountError, issue_token
    from bot.store.db import session_scope

    try:
        with session_scope() as session:
            token = issue_token(session, args.name, args.label or "")
    except AccountError as error:
        print(f"not created: {error}", file=sys.stderr)
        return 2
    print(f"API token for {args.name} (shown once): {token}")
    return 0


def serve(args: argparse.Namespace) -> int:
    from bot.serve import serve as serve_part

    serve_part(args.part, args.host, args.port)
    return 0


def staff_deactivate(args: argparse.Namespace) -> int:
    from bot.staff import accounts, audit
    from bot.store.db import session_scope

    try:
        with session_scope() as session:
            accounts.deactivate(session, args.name)
            audit.record(session, "cli", "deactivate_user", user=args.name)
    except accounts.AccountError as error:
        print(f"not deactivated: {error}", file=sys.stderr)
        return 2
    print(f"deactivated {args.name}: signed out everywhere, API tokens revoked")
    return 0


def staff_set_password(args: argparse.Namespace) -> int:
    from bot.staff import accounts, audit
    from bot.store.db import session_scope

    generated = sys.stdin.isatty() or args.generate
    password = accounts.generate_password() if generated else sys.stdin.readline().rstrip("\n")
    try:
        with session_scope() as session:
            user = accounts.find_user(session, args.name)
            if user is None:
                raise accounts.AccountError(f"没有这个用户：{args.name}")
            accounts.change_password(session, user, password)
            audit.record(session, "cli", "set_password", user=args.name)
        from bot.settings import forget_first_admin_password

        forget_first_admin_password(args.name)
    except accounts.AccountError as error:
        print(f"not changed: {error}", file=sys.stderr)
        return 2
    print(f"password of {args.name} changed; signed out everywhere")
    if generated:
        print(f"password (shown once): {password}")
    return 0


def staff_tokens(args: argparse.Namespace) -> int:
    from bot.staff import accounts
    from bot.store.db import session_scope

    try:
        with session_scope() as session:
            for token in accounts.tokens_of(session, args.name):
                print(f"{token.id}\t{token.created_at:%Y-%m-%d %H:%M}\t{token.label or ''}")
    except accounts.AccountError as error:
        print(str(error), file=sys.stderr)
        return 2
    return 0


def staff_revoke_token(args: argparse.Namespace) -> int:
    from bot.staff import accounts, audit
    from bot.store.db import session_scope

    if args.id is None and not args.all:
        print("say which token (--id, see `minsheng staff tokens NAME`) or --all", file=sys.stderr)
        return 2
    try:
        with session_scope() as session:
            count = accounts.revoke_tokens(session, args.name, None if args.all else args.id)
            audit.record(session, "cli", "revoke_token", user=args.name, id=args.id, count=count)
    except accounts.AccountError as error:
        print(f"not revoked: {error}", file=sys.stderr)
        return 2
    if not count:
        print("no such token", file=sys.stderr)
        return 2
    print(f"revoked {count} API token(s) of {args.name}")
    return 0


def places_check(args: argparse.Namespace) -> int:
    """Reads a gazetteer the way the assistant does and says what is in it, or what is wrong."""
    from bot import places
    from bot.settings import load

    path = args.file or str(load().places_file)
    try:
        gazetteer = places.Gazetteer.from_file(Path(path))
    except places.GazetteerError as wrong:
        print(f"not usable: {wrong}", file=sys.stderr)
        return 2
    kinds: dict = {}
    for entry in gazetteer.entries:
        kinds[entry.place.kind] = kinds.get(entry.place.kind, 0) + 1
    labels = {"street": "街道", "community": "社区", "compound": "小区", "road": "道路"}
    counted = ", ".join(f"{kinds.get(k, 0)} {label}" for k, label in labels.items())
    print(f"{path}: {gazetteer.district or '(no district name)'}: {counted}, {len(gazetteer.names())} names")
    if gazetteer.sample:
        print("note: this is the shipped SAMPLE gazetteer (sample: true); replace it with your district's")
    return 0


def knowledge_import(args: argparse.Namespace) -> int:
    """Adds a file's entries (bot/knowledge_sample.yml's layout) whose question the base lacks."""
    from bot import taxonomy
    from bot.store import knowledge
    from bot.store.db import session_scope

    try:
        drafts, sample = knowledge.drafts_from_file(Path(args.file))
        with session_scope() as session:
            added = knowledge.import_drafts(session, drafts, taxonomy.load(), "system:import", sample=sample)
    except (OSError, ValueError) as wrong:  # InvalidEntry is a ValueError too
        print(f"not imported: {wrong}", file=sys.stderr)
        return 2
    published, there = sum(d.published for d in drafts), len(drafts) - added
    print(f"{args.file}: {len(drafts)} entries ({published} published), {added} added, {there} already there")
    if sample:
        print("note: the file says it is SAMPLE content (sample: true)")
    return 0


def run(_args: argparse.Namespace) -> int:
    from bot.launcher import run as launch

    return launch()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minsheng", description="民生 Minsheng: residents' problem reports")
    commands = parser.add_subparsers(dest="command", required=True)

    classifier = commands.add_parser("classifier", help="the category classifier").add_subparsers(
        dest="action", required=True
    )
    evaluate = classifier.add_parser("evaluate", help="train on one text,label CSV and score on another")
    evaluate.add_argument("--train", required=True)
    evaluate.add_argument("--test", required=True)
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(handler=classifier_evaluate)
    classifier.add_parser("corrections", help="print staff category corrections as a text,label CSV").set_defaults(
        handler=classifier_corrections
    )

    db = commands.add_parser("db", help="the ticket store").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="migrate to the current schema and load the taxonomy").set_defaults(
        handler=db_upgrade
    )

    staff = commands.add_parser("staff", help="staff accounts").add_subparsers(dest="action", required=True)
    add_user = staff.add_parser(
        "add-user",
        help="create a user; the password is read from stdin, or generated and printed once when stdin is a terminal",
    )
    add_user.add_argument("name")
    add_user.add_argument("--role", required=True, choices=["dispatcher", "department", "supervisor", "admin"])
    add_user.add_argument("--department", help="department id (required for --role department)")
    add_user.add_argument(
        "--generate", action="store_true", help="generate a password even when stdin is not a terminal"
    )
    add_user.set_defaults(handler=staff_add_user)
    add_token = staff.add_parser("add-token", help="a bearer token for the JSON API, acting as the user")
    add_token.add_argument("name")
    add_token.add_argument("--label", help="what the token is for")
    add_token.set_defaults(handler=staff_add_token)
    tokens = staff.add_parser("tokens", help="list a user's API tokens (id, created, label)")
    tokens.add_argument("name")
    tokens.set_defaults(handler=staff_tokens)
    revoke = staff.add_parser("revoke-token", help="revoke one API token of a user (--id) or all (--all)")
    revoke.add_argument("name")
    revoke.add_argument("--id", type=int)
    revoke.add_argument("--all", action="store_true")
    revoke.set_defaults(handler=staff_revoke_token)
    deactivate = staff.add_parser("deactivate", help="stop a user logging in; ends their sessions and API tokens")
    deactivate.add_argument("name")
    deactivate.set_defaults(handler=staff_deactivate)
    set_password = staff.add_parser(
        "set-password", help="a new password (stdin, or generated at a terminal); ends the user's sessions"
    )
    set_password.add_argument("name")
    set_password.add_argument("--generate", action="store_true")
    set_password.set_defaults(handler=staff_set_password)

    gazetteer = commands.add_parser("places", help="the district's gazetteer").add_subparsers(
        dest="action", required=True
    )
    check = gazetteer.add_parser("check", help="read a gazetteer file as the assistant does and summarise it")
    check.add_argument("file", nargs="?", help="default: MINSHENG_PLACES_FILE or bot/places.yml")
    check.set_defaults(handler=places_check)
    knowledge_base = commands.add_parser("knowledge", help="the knowledge base (知识库)").add_subparsers(
        dest="action", required=True
    )
    import_file = knowledge_base.add_parser(
        "import", help="add a file's entries (the layout of bot/knowledge_sample.yml) whose question is new"
    )
    import_file.add_argument("file")
    import_file.set_defaults(handler=knowledge_import)
    commands.add_parser("run", help="start Rasa, the action server and the web app").set_defaults(handler=run)
    serve_part = commands.add_parser("serve", help="run one process of the product (for a process supervisor)")
    serve_part.add_argument("part", choices=["rasa", "actions", "web"])
    serve_part.add_argument("--host", help="interface to listen on (default MINSHENG_<PART>_HOST or 127.0.0.1)")
    serve_part.add_argument("--port", type=int, help="port (default MINSHENG_<PART>_PORT)")
    serve_part.set_defaults(handler=serve)
    return parser


def main(argv=None) -> int:
    from bot.settings import SettingsError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SettingsError as wrong:
        print(f"minsheng: cannot start with these settings: {wrong}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
