"""Hypothesis strategies that turn recorded provider bodies into what a provider may send on a bad
day: edited JSON trees (keys dropped or renamed, values of the wrong type, other symbols and
intervals), broken bytes (truncated, spliced, other encodings), error pages, empty and huge bodies,
and bodies that echo the request's API key back."""

from __future__ import annotations

import copy
import json

from hypothesis import strategies as st

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", "n/a", "1e400", "-0", "0x1F", "2020-12-18 09:30:00", "None", "NaN"])
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
HTML_PAGES = [
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1></body></html>",
    b"<html><body>Service Unavailable\r\n<p>Please try again later.</p></body></html>",
]


def echoed_key(key: str) -> st.SearchStrategy[str]:
    """Text that repeats the request back, key included, at any offset (so a shortened message
    may cut through the key)."""
    return st.builds(
        lambda pad, tail: (
            f"{'x' * pad} invalid request ?function=X&apikey={key}&symbol=MSFT {tail}"
        ),
        st.integers(0, 200),
        st.text(max_size=20),
    )


def _locate(draw, tree: object) -> tuple[object, object] | None:
    """A (container, key or index) somewhere in the tree, at any depth up to four."""
    node, location = tree, None
    for _ in range(draw(st.integers(1, 4))):
        if not isinstance(node, dict | list) or not node:
            break
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        location, node = (node, key), node[key]
    return location


def _edit(draw, tree: object, lookalike_keys: list[str], key: str) -> None:
    location = _locate(draw, tree)
    if location is None:
        return
    container, name = location
    action = draw(st.sampled_from(["drop", "replace", "rename", "echo", "repeat"]))
    if action == "drop":
        del container[name]
    elif action == "replace":
        container[name] = draw(json_values)
    elif action == "echo":
        container[name] = draw(echoed_key(key))
    elif action == "rename" and isinstance(container, dict):
        new_name = draw(st.sampled_from(lookalike_keys) | st.text(max_size=12))
        container[new_name] = container.pop(name)
    elif action == "repeat" and isinstance(container[name], list):
        container[name] = container[name] * draw(st.integers(2, 40))


@st.composite
def edited_json(draw, tree: object, lookalike_keys: list[str], key: str) -> bytes:
    """The tree after one to three edits, serialised as a provider would (NaN tokens allowed)."""
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        _edit(draw, tree, lookalike_keys, key)
    return json.dumps(tree, indent=draw(st.sampled_from([None, 4]))).encode()


@st.composite
def broken_bytes(draw, body: bytes) -> bytes:
    """The body truncated, spliced with junk, or re-encoded."""
    cut = draw(st.integers(0, len(body)))
    action = draw(st.sampled_from(["truncate", "splice", "utf16", "bom", "pad"]))
    if action == "truncate":
        return body[:cut]
    if action == "splice":
        return body[:cut] + draw(st.binary(min_size=1, max_size=8)) + body[cut + 1 :]
    if action == "utf16":
        return body.decode("utf-8", "replace").encode("utf-16")
    if action == "bom":
        return b"\xef\xbb\xbf" + body
    return body + b" " * draw(st.integers(1, 2_000_000))  # huge: megabytes of trailing space


def not_the_body(key: str) -> st.SearchStrategy[bytes]:
    """What arrives instead of the body: nothing, an error page, a value, arbitrary bytes."""
    return st.one_of(
        st.sampled_from([b"", b" \n", b"null", b"[]", b"{}", b'""', b"0", *HTML_PAGES]),
        st.binary(max_size=64),
        json_values.map(lambda value: json.dumps(value).encode()),
        echoed_key(key).map(lambda text: f"<html><body>{text}</body></html>".encode()),
        st.builds(
            lambda notice, text: json.dumps({notice: text}).encode(),
            st.sampled_from(["Error Message", "Note", "Information"]),
            echoed_key(key) | st.text(max_size=40),
        ),
    )


def wire_bodies(tree: object, lookalike_keys: list[str], key: str) -> st.SearchStrategy[bytes]:
    """Mutations of a recorded JSON body, the recording itself now and then."""
    body = json.dumps(tree).encode()
    return st.one_of(
        st.just(body),
        edited_json(tree, lookalike_keys, key),
        edited_json(tree, lookalike_keys, key).flatmap(broken_bytes),
        broken_bytes(body),
        not_the_body(key),
    )


@st.composite
def edited_csv(draw, lines: list[str]) -> str:
    """A recorded CSV with one to three line or cell edits, or broken like a body can be."""
    lines = list(lines)
    for _ in range(draw(st.integers(1, 3))):
        row = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "cell", "repeat", "delimiter", "truncate"]))
        if action == "drop":
            del lines[row]
        elif action == "cell":
            cells = lines[row].split(",")
            column = draw(st.integers(0, len(cells) - 1))
            cells[column] = draw(st.text(max_size=12) | json_leaves.map(str))
            lines[row] = ",".join(cells)
        elif action == "repeat":
            lines[row:row] = [lines[row]] * draw(st.integers(1, 50))
        elif action == "delimiter":
            lines[row] = lines[row].replace(",", draw(st.sampled_from([";", "\t", ", ", ""])))
        else:
            lines[row] = lines[row][: draw(st.integers(0, len(lines[row])))]
        if not lines:
            break
    return "\n".join(lines)
