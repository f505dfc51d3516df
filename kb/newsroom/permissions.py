"""Who may do what in the newsroom: one table, role → actions.

Every newsroom view names the action it performs (see kb.web.newsroom.requires); a test walks
the URL map to prove none is left unchecked. Rules that depend on the request itself (nobody
reviews their own; journalists see only their own requests) live with the state machine, in
kb.newsroom.workflow.
"""

from __future__ import annotations

from kb.config.i18n import gettext as _
from kb.config.i18n import lazy_gettext

# What each action lets people do, said for them (translated when shown).
ACTIONS = {
    "newsroom.enter": lazy_gettext("ouvrir l'espace de la rédaction"),
    "change.propose": lazy_gettext("proposer une modification (statut, champs, nouvelle promesse, source)"),
    "change.view_all": lazy_gettext("voir les demandes de tous les journalistes"),
    "change.review": lazy_gettext("relire : approuver, demander des corrections, refuser"),
    "change.revert": lazy_gettext("proposer le retour à une version publiée antérieure"),
    "audit.view": lazy_gettext("consulter le journal d'audit complet"),
    "users.manage": lazy_gettext("voir les comptes et leurs sessions ouvertes, fermer ces sessions"),
}

_JOURNALIST = {"newsroom.enter", "change.propose"}
_EDITOR = _JOURNALIST | {"change.view_all", "change.review", "change.revert"}

PERMISSIONS: dict[str, frozenset[str]] = {
    "journalist": frozenset(_JOURNALIST),
    "editor": frozenset(_EDITOR),
    "admin": frozenset(ACTIONS),
}


class NotAuthorized(Exception):
    """The user's role does not allow this action (or the rule about their own request)."""


def can(user, action: str) -> bool:
    """Whether `user` (an active account) may perform `action`."""
    if action not in ACTIONS:
        raise KeyError(f"action inconnue : {action}")
    return bool(user is not None and getattr(user, "active", False) and action in PERMISSIONS.get(user.role, ()))


def require(user, action: str) -> None:
    """Raise NotAuthorized unless `user` may perform `action`."""
    if not can(user, action):
        raise NotAuthorized(_("votre rôle ne permet pas de %(action)s", action=ACTIONS[action]))
