"""Several Rasa processes behind HAProxy: the settings that allow it, what `minsheng run` starts,
and the balancer's configuration, checked by HAProxy itself."""

import subprocess

import pytest

from bot import balancer, launcher
from bot.settings import Settings, SettingsError

SHARED = {
    "MINSHENG_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/minsheng",
    "MINSHENG_TRACKER_URL": "postgresql://postgres@127.0.0.1:5432/minsheng",
    "MINSHENG_LOCK_STORE_URL": "redis://127.0.0.1:6379/0",
}


def settings(tmp_path, **environ):
    return Settings.from_env({"MINSHENG_VAR_DIR": str(tmp_path), **environ})


def test_replicas_need_a_shared_tracker_store_and_lock_store(tmp_path):
    with pytest.raises(SettingsError, match="MINSHENG_LOCK_STORE_URL"):
        settings(tmp_path, MINSHENG_RASA_REPLICAS="2")
    with pytest.raises(SettingsError, match="MINSHENG_TRACKER_URL"):
        settings(tmp_path, MINSHENG_RASA_REPLICAS="2", MINSHENG_LOCK_STORE_URL="redis://127.0.0.1:6379/0")
    with pytest.raises(SettingsError, match="MINSHENG_RASA_REPLICAS"):
        settings(tmp_path, MINSHENG_RASA_REPLICAS="0", **SHARED)
    assert settings(tmp_path, MINSHENG_RASA_REPLICAS="3", **SHARED).replicas.rasa_ports() == [5100, 5102, 5104]


def test_one_replica_runs_as_before_and_several_run_behind_the_balancer(tmp_path):
    assert list(launcher.commands(settings(tmp_path))) == ["actions", "rasa", "web"]
    config = settings(tmp_path, MINSHENG_RASA_REPLICAS="2", MINSHENG_REPLICA_BASE_PORT="7000", **SHARED)
    commands = launcher.commands(config)
    assert list(commands) == ["actions-1", "actions-2", "rasa-1", "rasa-2", "balancer", "web"]
    assert commands["rasa-2"][-4:] == ["--host", "127.0.0.1", "--port", "7002"]
    assert commands["actions-1"][-1] == "7001"
    assert commands["balancer"][-1] == str(tmp_path / "haproxy.cfg")


def test_the_shipped_configuration_is_the_one_run_writes_for_two_replicas(tmp_path):
    shipped = (launcher.settings.PROJECT_ROOT / "deploy" / "haproxy.cfg").read_text()
    assert shipped == balancer.config(settings(tmp_path, MINSHENG_RASA_REPLICAS="2", **SHARED))


def test_haproxy_accepts_the_configuration(tmp_path):
    config = settings(tmp_path, MINSHENG_RASA_REPLICAS="4", **SHARED)
    checked = subprocess.run([*balancer.command(balancer.write(config)), "-c"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = (tmp_path / "haproxy.cfg").read_text()
    assert text.count("server rasa") == 8 and text.count("server actions") == 4
