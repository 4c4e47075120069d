"""Creating staff accounts and checking passwords (argon2), with login throttling."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.schema import Department, LoginFailure, User, utcnow

ROLES = ("dispatcher", "department", "supervisor", "admin")
ROLE_LABELS = {"dispatcher": "派单员", "department": "部门工作人员", "supervisor": "督查", "admin": "管理员"}
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)

_hasher = PasswordHasher()


class AccountError(ValueError):
    pass


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(session: Session, username: str, password: str, role: str,
                department_id: Optional[str] = None, display_name: Optional[str] = None) -> User:
    username = username.strip()
    if not username or len(username) > 80:
        raise AccountError("用户名不能为空，且不超过80个字符")
    if role not in ROLES:
        raise AccountError(f"角色只能是 {', '.join(ROLES)}")
    if role == "department" and not department_id:
        raise AccountError("部门工作人员需要指定部门 (--department)")
    if department_id and session.get(Department, department_id) is None:
        raise AccountError(f"没有这个部门：{department_id}")
    if len(password) < 8:
        raise AccountError("密码至少8位")
    if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise AccountError(f"用户名已存在：{username}")
    user = User(username=username, display_name=display_name or username, password_hash=_hasher.hash(password),
                role=role, department_id=department_id)
    session.add(user)
    session.flush()
    return user


def recent_failures(session: Session, username: str, now: Optional[dt.datetime] = None) -> int:
    since = (now or utcnow()) - FAILURE_WINDOW
    return session.execute(
        select(func.count()).select_from(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.at >= since)
    ).scalar_one()


def authenticate(session: Session, username: str, password: str, remote_addr: str = "") -> Optional[User]:
    """The user when the password is right and the account is not throttled; None otherwise.
    Raises AccountError when too many recent failures lock the name."""
    if recent_failures(session, username) >= MAX_FAILURES:
        raise AccountError("登录失败次数过多，请15分钟后再试")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    try:
        if user is None or not user.active:
            raise VerifyMismatchError
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        session.add(LoginFailure(username=username[:80], remote_addr=remote_addr[:64]))
        session.flush()
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def has_users(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(User)).scalar_one() > 0


def _token_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, username: str, label: str = "") -> str:
    """A new API token for the user, returned once."""
    from bot.store.schema import ApiToken

    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise AccountError(f"没有这个用户：{username}")
    token = "ms_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_token_hash(token), user_id=user.id, label=label or None))
    session.flush()
    return token


def user_of_token(session: Session, token: str) -> Optional[User]:
    from bot.store.schema import ApiToken

    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).scalar_one_or_none()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None
