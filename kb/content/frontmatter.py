"""Markdown files with YAML front matter: split, load with line numbers, dump stably.

YAML is read with a loader that keeps dates and yes/no as text (kb parses dates itself,
so `2020-13-01` is reported as a bad date instead of crashing the loader, and a title
"Non" stays a title), and that remembers the line of every key so errors can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from kb.config.i18n import gettext as _

FENCE = "---"


class FrontMatterError(ValueError):
    """The file's front matter cannot be read at all."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


# libyaml's parser is ~20 times faster than PyYAML's own: it matters at 10,000 files.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """Safe loader without implicit timestamps, with YAML 1.2 booleans only."""


# libyaml composes nested nodes recursively and crashes the process (not an exception) past
# tens of thousands of levels; real files nest a handful of levels, so refuse deep ones first.
MAX_NESTING = 200
_LEADING_INDICATORS = re.compile(r"^( *)((?:[-?:](?: +|$))*)")


def _nesting_bound(text: str) -> int:
    """An upper bound of the block nesting of YAML text (flow nesting is capped by libyaml)."""
    worst = 0
    for line in text.split("\n"):
        match = _LEADING_INDICATORS.match(line)
        worst = max(worst, len(match.group(1)) // 2 + match.group(2).count("-") + match.group(2).count("?"))
    return worst


_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"  # without it, "<<" is an ordinary (unknown) key
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG, _MERGE_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class Document:
    """A file split in two: its front matter data (with key lines) and its Markdown body."""

    data: Any
    lines: dict[str, int]
    body: str
    duplicate_keys: list[tuple[str, int]]


# The YAML starts on the line after the opening fence.
FRONT_MATTER_FIRST_LINE = 2


def split(text: str) -> tuple[str, str]:
    """Split a file into (front matter YAML, body)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        raise FrontMatterError(_("le fichier doit commencer par une ligne « --- » (front matter YAML)"), 1)
    for index in range(1, len(lines)):
        if lines[index].rstrip() in (FENCE, "..."):
            front = "\n".join(lines[1:index]) + "\n"
            body = "\n".join(lines[index + 1 :])
            return front, body
    raise FrontMatterError(_("front matter non terminé : ligne « --- » de fermeture introuvable"), len(lines))


def load(text: str) -> Document:
    """Parse a whole file: front matter (with the line of each key) and body."""
    front, body = split(text)
    data, lines, duplicates = load_yaml(front, FRONT_MATTER_FIRST_LINE)
    return Document(data, lines, body, duplicates)


def load_yaml(text: str, first_line: int = 1) -> tuple[Any, dict[str, int], list[tuple[str, int]]]:
    """Parse YAML; also return the line of each key path ("history[0].date") and duplicate keys."""
    if _nesting_bound(text) > MAX_NESTING:
        raise FrontMatterError(_("YAML invalide : structure imbriquée trop profondément"), first_line)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + first_line if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise FrontMatterError(_("YAML invalide : %(problem)s", problem=problem), line) from None
    except RecursionError:
        raise FrontMatterError(_("YAML invalide : structure imbriquée trop profondément"), first_line) from None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    if node is not None:
        _record_lines(node, first_line, lines, duplicates)
    return data, lines, duplicates


def nearest_line(lines: dict[str, int], path: str) -> int | None:
    """The line of a key path, or of its nearest parent that has one (a missing key has none)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _record_lines(root, offset: int, lines: dict, duplicates: list) -> None:
    """Record the line of every key path; refuse aliases (a node reached twice)."""
    seen: set[int] = set()
    stack = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            raise FrontMatterError(
                _("YAML invalide : les ancres et alias YAML (&nom, *nom) ne sont pas acceptés : écrivez la valeur en entier"),
                node.start_mark.line + offset,
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = f"{path}.{key}" if path else key
                line = key_node.start_mark.line + offset
                if key in keys:
                    duplicates.append((child, line))
                keys.add(key)
                lines.setdefault(child, line)
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                lines[child] = item.start_mark.line + offset
                stack.append((item, child))


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key and writes multi-line text as literal blocks."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data):
        # Never write &anchors/*aliases (the loader refuses them), even for a repeated date.
        return True


def _represent_str(dumper, value: str):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def dump(data: dict, body: str) -> str:
    """Write front matter and body as one file, in the stable layout kb always uses."""
    front = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000, default_flow_style=False
    )
    body = body.strip("\n")
    return f"{FENCE}\n{front}{FENCE}\n" + (f"{body}\n" if body else "")
