"""Staff accounts: passwords (argon2), login throttling, sessions kept in the store, API tokens.

Failed logins slow down the next try from the same address for the same name (1 s, 2 s, 4 s, …
at most 15 minutes) instead of locking the account: someone guessing from elsewhere cannot lock a
colleague out. A wrong password for an unknown or deactivated name costs the same argon2 check as
for a real one, so the time of the answer does not tell which names exist."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.errors import InvalidInput, TooManyAttempts
from bot.store.schema import ApiToken, Department, LoginFailure, StaffSession, User, utcnow

ROLES = ("dispatcher", "department", "supervisor", "admin")
ROLE_LABELS = {"dispatcher": "派单员", "department": "部门工作人员", "supervisor": "督查", "admin": "管理员"}
MIN_PASSWORD = 8
FAILURE_WINDOW = dt.timedelta(hours=24)
FREE_FAILURES = 3  # tries before any waiting
MAX_DELAY = dt.timedelta(minutes=15)
ADDRESS_FAILURES_PER_STEP = 5  # one address trying many names waits too
SESSION_HOURS = 12

_hasher = PasswordHasher()
_dummy_hash: Optional[str] = None


class AccountError(InvalidInput):
    pass


class TooManyFailures(TooManyAttempts):
    """Throttled: the next try from this address for this name must wait `seconds`."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"尝试次数过多，请 {seconds} 秒后再试", seconds)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少{MIN_PASSWORD}位")


def find_user(session: Session, username: str) -> Optional[User]:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    department_id: Optional[str] = None,
    display_name: Optional[str] = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 80:
        raise AccountError("用户名不能为空，且不超过80个字符")
    if role not in ROLES:
        raise AccountError(f"角色只能是 {', '.join(ROLES)}")
    if role == "department" and not department_id:
        raise AccountError("部门工作人员需要指定部门 (--department)")
    if department_id and session.get(Department, department_id) is None:
        raise AccountError(f"没有这个部门：{department_id}")
    _check_password(password)
    if find_user(session, username):
        raise AccountError(f"用户名已存在：{username}")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=role,
        department_id=department_id,
    )
    session.add(user)
    session.flush()
    return user


# ---------------------------------------------------------------- logging in


def delay_after(failures: int) -> dt.timedelta:
    """How long to wait after the last failure: nothing for the first tries, then doubling."""
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    return min(dt.timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_DELAY)


def wait_needed(session: Session, username: str, remote_addr: str, now: Optional[dt.datetime] = None) -> int:
    """Seconds before this address may try this name again (0: now)."""
    now = now or utcnow()
    since = now - FAILURE_WINDOW
    recent = LoginFailure.at >= since
    for_name, last = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.username == username[:80], LoginFailure.remote_addr == remote_addr[:64], recent
        )
    ).one()
    from_address, last_any = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(LoginFailure.remote_addr == remote_addr[:64], recent)
    ).one()
    waits = []
    if last is not None:
        waits.append(last + delay_after(for_name) - now)
    if last_any is not None:
        waits.append(last_any + delay_after(from_address // ADDRESS_FAILURES_PER_STEP) - now)
    longest = max(waits, default=dt.timedelta(0))
    return max(int(-(-longest.total_seconds() // 1)), 0)


def _verify(password_hash: Optional[str], password: str) -> bool:
    global _dummy_hash
    if password_hash is None:  # no such user: the same work as for a real one
        _dummy_hash = _dummy_hash or _hasher.hash(secrets.token_urlsafe(16))
        password_hash = _dummy_hash
        try:
            _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _throttled_check(
    session: Session, username: str, password_hash: Optional[str], password: str, remote_addr: str
) -> bool:
    """One password check under the throttle of (name, address); a failure is counted, a success
    clears the count. Raises TooManyFailures while this address must wait."""
    seconds = wait_needed(session, username, remote_addr)
    if seconds:
        raise TooManyFailures(seconds)
    if not _verify(password_hash, password):
        session.add(LoginFailure(username=username[:80], remote_addr=remote_addr[:64]))
        session.flush()
        return False
    session.execute(
        delete(LoginFailure).where(LoginFailure.username == username[:80], LoginFailure.remote_addr == remote_addr[:64])
    )
    return True


def authenticate(session: Session, username: str, password: str, remote_addr: str = "") -> Optional[User]:
    """The user when the password is right; None otherwise. Raises TooManyFailures while this
    address must wait before trying this name again."""
    user = find_user(session, username)
    usable = user if user is not None and user.active else None
    if not _throttled_check(session, username, usable.password_hash if usable else None, password, remote_addr):
        return None
    assert usable is not None  # the password matched a real, active user's hash
    user = usable
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def has_users(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(User)).scalar_one() > 0


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- sessions


def start_session(session: Session, user: User, remote_addr: str = "") -> str:
    """A new signed-in session; the token goes into the (encrypted) cookie, its hash into the store."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=SESSION_HOURS),
            remote_addr=remote_addr[:64],
        )
    )
    session.flush()
    return token


def user_of_session(session: Session, token: str) -> Optional[User]:
    row = session.execute(select(StaffSession).where(StaffSession.token_hash == _hash(token))).scalar_one_or_none()
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def end_session(session: Session, token: str) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def end_all_sessions(session: Session, user: User, keep: Optional[str] = None) -> int:
    query = update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
    if keep:
        query = query.where(StaffSession.token_hash != _hash(keep))
    return session.execute(query.values(ended_at=utcnow())).rowcount


def change_password(session: Session, user: User, new_password: str, keep_session: Optional[str] = None) -> None:
    """A new password ends every other session of the user."""
    _check_password(new_password)
    user.password_hash = _hasher.hash(new_password)
    end_all_sessions(session, user, keep=keep_session)


def check_current_password(session: Session, user: User, password: str, remote_addr: str = "") -> bool:
    """The signed-in user's own password, before a change: throttled like a login, so a borrowed
    session cannot be used to guess it."""
    return _throttled_check(session, user.username, user.password_hash, password, remote_addr)


def deactivate(session: Session, username: str) -> User:
    """The account can no longer log in: its sessions end and its API tokens are revoked."""
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"没有这个用户：{username}")
    user.active = False
    end_all_sessions(session, user)
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    return user


# ---------------------------------------------------------------- API tokens


def issue_token(session: Session, username: str, label: str = "") -> str:
    """A new API token for the user, returned once."""
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"没有这个用户：{username}")
    token = "ms_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_hash(token), user_id=user.id, label=label or None))
    session.flush()
    return token


def tokens_of(session: Session, username: str) -> List[ApiToken]:
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"没有这个用户：{username}")
    return list(session.execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).scalars())


def revoke_tokens(session: Session, username: str, token_id: Optional[int] = None) -> int:
    """Revokes one token of the user (by id) or all of them; returns how many."""
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"没有这个用户：{username}")
    query = delete(ApiToken).where(ApiToken.user_id == user.id)
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    return session.execute(query).rowcount


def user_of_token(session: Session, token: str) -> Optional[User]:
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _hash(token))).scalar_one_or_none()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None
