"""Reading untrusted JSON text (API bodies, webhook bodies, files given to the CLI).

Python's `json` accepts more than JSON and more than the databases store: `NaN`, `Infinity`
and `1e999` (an infinite float) become floats that PostgreSQL's jsonb and Django's encoder
refuse, and nesting a few thousand levels deep raises RecursionError instead of ValueError.
`loads` turns each into a `JsonTextError` (a ValueError) that says what is wrong, so callers
answer 400 instead of 500. `unstorable_paths` finds text no database stores (NUL, lone
surrogates) with its path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

# Deep enough for every document Otodoke reads (a Flex message nests about 10 levels, a
# segment definition a few per group); shallow enough that recursive code never overflows.
MAX_DEPTH = 64

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

Path = tuple[str | int, ...]


class JsonTextError(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise JsonTextError(_("%(name)s is not a JSON number") % {"name": name})


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonTextError(_("%(number)s is too large for a number") % {"number": text[:40]})
    return value


def depth(data: Any) -> int:
    """How many arrays and objects are nested at the deepest point (a scalar is 0)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text, or raise JsonTextError naming the problem."""
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except JsonTextError:
        raise
    except RecursionError as exc:
        raise JsonTextError(too_deep(max_depth)) from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an over-long integer
        raise JsonTextError(_("Not valid JSON: %(problem)s") % {"problem": exc}) from exc
    if depth(data) > max_depth:
        raise JsonTextError(too_deep(max_depth))
    return data


def too_deep(max_depth: int) -> str:
    return _("Nested deeper than %(limit)s levels") % {"limit": max_depth}


def unstorable_paths(data: Any) -> Iterator[Path]:
    """Paths of strings (and object keys) holding NUL or a lone surrogate."""
    stack: list[tuple[Any, Path]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if UNSTORABLE.search(value):
                yield path
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if isinstance(key, str) and UNSTORABLE.search(key):
                    yield (*path, key)
                else:
                    stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(value))))
