"""Newsroom accounts: journalists propose, editors review and publish, admins manage people.

Passwords are kept only as scrypt hashes; there is no default account. Citizens need none.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from kb.config.i18n import gettext as _
from kb.store import sessions
from kb.store.db import Base

ROLES = ("journalist", "editor", "admin")
MIN_PASSWORD_LENGTH = 12
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked against when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("kb: no such account")


class AccountError(ValueError):
    """A request about accounts that cannot be carried out, said for people."""


class User(Base):
    """A member of the newsroom."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # Shown publicly on change records ("approuvé par …"), so never the e-mail address.
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(timezone.utc))

    # What Flask-Login asks of a user object (kept here so this layer needs no Flask import).
    is_authenticated = True
    is_anonymous = False
    # The token of the session this request came with (kb.store.sessions), set when it is loaded.
    session_token = None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        # What the cookie carries: the account and its session's token, looked up at every request.
        return f"{self.id}:{self.session_token}"


def normalize_email(email: str) -> str:
    """The e-mail as stored (lower case, no spaces); an AccountError when it is not one."""
    email = (email or "").strip().lower()
    if not EMAIL.match(email):
        raise AccountError(_("adresse e-mail invalide : « %(email)s »", email=email))
    return email


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(_("rôle inconnu « %(role)s » (rôles : %(roles)s)", role=role, roles=", ".join(ROLES)))
    return role


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def _existing(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise AccountError(_("aucun compte pour %(email)s", email=normalize_email(email)))
    return user


def add_user(session: Session, email: str, password: str, role: str, name: str | None = None) -> User:
    """Create an account; its password is kept only as a hash."""
    email = normalize_email(email)
    name = " ".join((name or "").split()) or email.partition("@")[0]
    if len(name) > 120:
        raise AccountError(_("nom trop long : %(limit)s caractères au plus", limit=120))
    _check_role(role)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_("mot de passe trop court : %(limit)s caractères au moins", limit=MIN_PASSWORD_LENGTH))
    if find_user(session, email) is not None:
        raise AccountError(_("un compte existe déjà pour %(email)s", email=email))
    user = User(email=email, name=name, password_hash=generate_password_hash(password), role=role)
    session.add(user)
    session.commit()
    return user


def set_role(session: Session, email: str, role: str) -> User:
    """Change an account's role; its open sessions end (it logs in again with what the role allows)."""
    user = _existing(session, email)
    if user.role != _check_role(role):
        user.role = role
        sessions.end_all(session, user.id, "role")
    session.commit()
    return user


def set_password(session: Session, email: str, password: str) -> User:
    """Give an account a new password; every open session of it ends."""
    user = _existing(session, email)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_("mot de passe trop court : %(limit)s caractères au moins", limit=MIN_PASSWORD_LENGTH))
    user.password_hash = generate_password_hash(password)
    sessions.end_all(session, user.id, "password")
    session.commit()
    return user


def disable(session: Session, email: str) -> User:
    """Disable an account: it can no longer log in, its open sessions end; its history stays."""
    user = _existing(session, email)
    user.active = False
    sessions.end_all(session, user.id, "disabled")
    session.commit()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active account with these credentials, or None (never says which part was wrong)."""
    try:
        user = find_user(session, email)
    except AccountError:
        user = None
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user
