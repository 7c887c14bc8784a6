"""Griffe extension for the documentation build: render Sphinx roles as links.

The docstrings of dwp_eval are numpydoc, which writes cross-references as Sphinx
roles (``:class:`BalanceRule```, ``:meth:`~Allocation.extend```). mkdocstrings
does not understand these, so this extension rewrites each role, before the
docstrings are rendered, into an optional autorefs link to the object it names
(resolved from the scope of the docstring, like Sphinx does), or into inline
code when the name is not part of dwp_eval (``ValueError``). It changes only
what the documentation site shows, never the package.

Loaded from ``mkdocs.yml`` (``plugins.mkdocstrings...options.extensions``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?P<role>class|exc|func|meth|attr|mod|obj|data):`(?P<tilde>~?)(?P<target>[^`<>]+)`"
)


class SphinxRoles(griffe.Extension):
    """Rewrite ``:role:`target``` in every docstring of the package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        objects = list(_walk(pkg))
        by_name: dict[str, list[griffe.Object]] = {}
        for obj in objects:
            by_name.setdefault(obj.name, []).append(obj)
        for obj in objects:
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = ROLE.sub(
                    lambda m, o=obj: _replace(m, o, loader, by_name), obj.docstring.value
                )


def _walk(obj: Any) -> Iterator[Any]:
    """The object and all its members, recursively, skipping aliases (imports)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _fits(role: str, obj: Any) -> bool:
    if role == "mod":
        return bool(obj.is_module)
    if obj.is_module:
        return False
    if role in ("class", "exc"):
        return bool(obj.is_class)
    if role == "func":
        return bool(obj.is_function)
    return True


def _resolve(
    role: str,
    target: str,
    scope: griffe.Object,
    loader: griffe.GriffeLoader,
    by_name: dict[str, list[griffe.Object]],
) -> str | None:
    target = target.lstrip(".")
    candidates = [target]
    node: Any = scope
    while node is not None:
        candidates.append(f"{node.path}.{target}")
        node = node.parent
    for path in candidates:
        try:
            found = loader.modules_collection[path]
            if _fits(role, found):
                return str(found.canonical_path)
        except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
    last = target.rsplit(".", 1)[-1]
    same = [o for o in by_name.get(last, []) if _fits(role, o) and o.path.endswith(target)]
    if len(same) == 1:
        return str(same[0].canonical_path)
    return None


def _replace(
    match: re.Match[str],
    scope: griffe.Object,
    loader: griffe.GriffeLoader,
    by_name: dict[str, list[griffe.Object]],
) -> str:
    target = match["target"].strip()
    title = target.rsplit(".", 1)[-1] if match["tilde"] else target
    path = _resolve(match["role"], target, scope, loader, by_name)
    if path is None:
        return f"`{title}`"
    return f'<autoref identifier="{html.escape(path)}" optional><code>{html.escape(title)}</code></autoref>'
