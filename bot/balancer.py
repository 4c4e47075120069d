"""HAProxy in front of several Rasa processes and action servers (MINSHENG_RASA_REPLICAS > 1).

What each part of the product needs from the balancer, decided here once:
- A resident's messages (REST, callback, WeChat webhook) and the web app's calls to Rasa's HTTP API
  may go to any Rasa process: every one reads and writes the same conversations (the PostgreSQL
  tracker store) under the same per-conversation lock (the Redis lock store), so the form a resident
  is filling in continues on whichever process takes the next message. Each request goes to the
  process with the fewest requests in hand.
- The chat page's socket.io connection stays on one process (sticky by the client's address): a
  websocket is one connection anyway; the polling fallback must find its session again.
- A process that stops answering its health check (every second), or refuses a connection, gets no
  new requests (until a check passes again); a request whose connection to a dead process fails is
  sent to another at once (never a request that may have been
  half handled: Rasa keeps nothing of a turn it did not finish, but the balancer cannot know that).
- Action servers keep nothing between calls: any one answers any Rasa process.

`minsheng run` writes the configuration to var/haproxy.cfg and runs Debian's haproxy with it;
deploy/haproxy.cfg is the same file for two replicas on the default ports, for a process supervisor."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import List

from bot.settings import Settings

HEADER = "X-Minsheng-Replica"  # which Rasa process answered (for operators and tests)


def _servers(prefix: str, host: str, ports: List[int], check: str) -> str:
    return "\n".join(f"    server {prefix}{i + 1} {host}:{port} {check}" for i, port in enumerate(ports))


def config(settings: Settings) -> str:
    replicas, ports, hosts = settings.replicas, settings.ports, settings.hosts
    socket_path = settings.rasa_socket_path.rstrip("/") or "/socket.io"
    return f"""# HAProxy in front of Minsheng's {replicas.count} Rasa processes and action servers (bot/balancer.py).
global
    maxconn 4096
    log stderr format raw local0 warning

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    option log-separate-errors
    timeout connect 2s
    timeout client 130s
    timeout server 130s
    timeout tunnel 1h
    timeout http-request 30s
    retries 3
    retry-on conn-failure
    option redispatch 1
    default-server inter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down

frontend rasa
    bind {hosts.rasa}:{ports.rasa}
    use_backend rasa_sockets if {{ path_beg {socket_path}/ }}
    default_backend rasa

backend rasa
    balance leastconn
    option httpchk GET /
    http-response set-header {HEADER} %[srv_name]
{_servers("rasa", "127.0.0.1", replicas.rasa_ports(), "check")}

backend rasa_sockets
    balance source
    hash-type consistent
    option httpchk GET /
{_servers("rasa", "127.0.0.1", replicas.rasa_ports(), "check")}

frontend actions
    bind {hosts.actions}:{ports.actions}
    default_backend actions

backend actions
    balance leastconn
    option httpchk GET /health
{_servers("actions", "127.0.0.1", replicas.actions_ports(), "check")}
"""


def write(settings: Settings) -> Path:
    path = settings.var_dir / "haproxy.cfg"
    path.write_text(config(settings))
    return path


def command(path: Path) -> List[str]:
    """haproxy in the foreground (-db), so that the launcher supervises it like the other parts."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    return [haproxy, "-db", "-f", str(path)]


def missing() -> str:
    """Why the balancer cannot run here ("" when it can)."""
    if shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists():
        return ""
    return (
        "MINSHENG_RASA_REPLICAS > 1 needs HAProxy: apt-get install haproxy (or `make run-replicas`, which installs it)"
    )
