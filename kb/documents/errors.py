"""The one error of document reading, and the gettext its messages go through."""

import sys


class UploadError(ValueError):
    """The upload cannot become a source; the message says why, for people (file name first)."""


def _(message: str, **variables) -> str:
    """kb.config.i18n.gettext, without importing it: the sandbox's child reads a document without
    loading the catalog's machinery (babel) when its parent asked for French (kb.documents.sandbox
    imports kb.config.i18n in the child only for another language). Not imported means no language
    was ever chosen in this process: the message stays as written, French."""
    i18n = sys.modules.get("kb.config.i18n")
    if i18n is None:
        return message % variables if variables else message
    return i18n.gettext(message, **variables)


def N_(message: str) -> str:
    """Marks a message for the catalog where it is declared (kb.config.i18n.N_); `_` translates it where shown."""
    return message
