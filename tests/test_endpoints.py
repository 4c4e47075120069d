"""The endpoints file Rasa is started with follows the environment."""

from bot.endpoints import endpoints, tracker_store_config


def test_sqlite_tracker_store():
    assert tracker_store_config("sqlite:////srv/var/trackers.db") == {
        "type": "SQL",
        "dialect": "sqlite",
        "db": "/srv/var/trackers.db",
    }


def test_postgres_tracker_store():
    config = tracker_store_config("postgresql://rasa:secret@db.internal:5433/trackers")
    assert config == {
        "type": "SQL",
        "dialect": "postgresql",
        "url": "db.internal",
        "db": "trackers",
        "port": 5433,
        "username": "rasa",
        "password": "secret",
    }


def test_redis_lock_store_only_when_configured(monkeypatch):
    from bot import settings

    monkeypatch.delenv("MINSHENG_LOCK_STORE_URL", raising=False)
    assert "lock_store" not in endpoints("http://a/webhook", "sqlite:///x.db", settings.load().lock_store_url)
    monkeypatch.setenv("MINSHENG_LOCK_STORE_URL", "redis://127.0.0.1:6379/2")
    config = endpoints("http://a/webhook", "sqlite:///x.db", settings.load().lock_store_url)
    assert config["lock_store"] == {"type": "redis", "url": "127.0.0.1", "port": 6379, "db": 2}
    assert config["nlg"] == {"type": "bot.nlg.ScriptAwareNLG"}
