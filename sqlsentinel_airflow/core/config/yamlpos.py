"""YAML to Python values, remembering where every value was written.

``yaml.safe_load`` forgets positions, and positions are what make a config error useful
(``alerts.yaml:14:7 alerts[2].schedule: ...``). So we let PyYAML's safe composer (libyaml's
C parser when available) build the node graph, and build Python values from the nodes
ourselves, recording the 1-based (line, column) of every value and every mapping key under
its YAML path, e.g. ``("alerts", 2, "schedule")``.

Building values ourselves also lets us refuse what ``safe_load`` would silently accept or
choke on: duplicate keys (the later one used to win), alias bombs ("billion laughs": a few
hundred bytes expanding to 10**9 nodes), recursive aliases and absurd nesting. All of these
come back as located :class:`Problem`, never as an exception.

One compatibility rule lives here because only this layer sees duplicate keys: standalone
SQL Sentinel files wrote a Slack notify item as ``{channel: slack, channel: "#alerts"}``.
Inside a notify item, when one ``channel`` is ``slack`` and the other is not a channel kind,
the other one is the Slack channel name and becomes ``slack_channel``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "CHANNEL_KINDS",
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "Path",
    "Position",
    "Problem",
    "YamlDocument",
    "format_path",
    "parse_yaml",
]

Path: TypeAlias = tuple[str | int, ...]
Position: TypeAlias = tuple[int, int]

CHANNEL_KINDS = ("email", "slack", "webhook", "pagerduty", "teams")
MAX_DEPTH = 64
"""Deepest nesting accepted; alerts.yaml needs about six levels."""
MAX_ALIAS_EXPANSION = 100_000
"""Aliases may add this many nodes, plus ten times the size of the document as written."""

_SafeLoader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG = "tag:yaml.org,2002:"
_STR_TAG = _TAG + "str"
_SEQ_TAG = _TAG + "seq"
_MAP_TAG = _TAG + "map"
_MERGE_TAG = _TAG + "merge"
_SCALAR_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "timestamp", "binary")}
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong at a YAML path, before it is turned into a ``ConfigError``.

    ``on_key`` places the error on the mapping key rather than on its value (unknown and
    duplicate keys). ``position`` overrides the lookup when the path is not in the document
    (syntax errors, alias bombs). ``supersedes`` marks a root cause: other problems at or
    under its path are consequences (a value under an unknown key, a URL check of an unset
    ``${VAR}``) and are not reported.
    """

    path: Path
    message: str
    hint: str | None = None
    on_key: bool = False
    position: Position | None = None
    supersedes: bool = False


@dataclass
class YamlDocument:
    """The Python value of a YAML document and where each piece of it was written."""

    value: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)

    def position(self, path: Path) -> Position:
        """Where the value at ``path`` starts; the nearest written ancestor if it is absent."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def key_position(self, path: Path) -> Position:
        """Where the mapping key of ``path`` is written (its value position if none)."""
        return self.key_positions.get(path) or self.position(path)


def format_path(path: Iterable[str | int]) -> str:
    """``("alerts", 2, "notify", 0, "to")`` -> ``alerts[2].notify[0].to``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def parse_yaml(text: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one YAML document; ``None`` and the problems when it cannot be used at all."""
    loader = _PositionLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc)]
    except yaml.reader.ReaderError as exc:  # control characters: located by offset only
        before = text[: exc.position]
        position = (before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"YAML error: unacceptable character #x{character:04x}: {exc.reason}"
        return None, [Problem((), message, position=position)]
    except yaml.YAMLError as exc:  # pragma: no cover - every YAML error above is marked
        return None, [Problem((), f"YAML error: {exc}", position=(1, 1))]
    finally:
        loader.dispose()
    if node is None:
        return None, [
            Problem((), "the file is empty", hint="start with `alerts:`", position=(1, 1))
        ]
    if "&" in text:  # without anchors there are no aliases, and nothing to expand
        problem = _check_graph(node)
        if problem is not None:
            return None, [problem]
    builder = _Builder()
    value = builder.build(node, ())
    if builder.too_deep:
        return None, [Problem((), _TOO_DEEP, position=builder.too_deep)]
    doc = YamlDocument(value, builder.positions, builder.key_positions)
    return doc, builder.problems


class _PositionLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """The safe loader, with the tag of each plain scalar value resolved once per load.

    The composer asks for the tag of every scalar, and for a plain one (``enabled: true``,
    ``retries: 3``) PyYAML tries its implicit-type regexes each time; alerts files repeat
    the same few keys and values thousands of times. Without path resolvers (SafeLoader has
    none) the tag of a plain scalar depends on its text only, so it is memoised by text.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._plain_tags: dict[str, str] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not ScalarNode or not implicit[0] or self.yaml_path_resolvers:
            return str(super().resolve(kind, value, implicit))
        tag = self._plain_tags.get(value)
        if tag is None:
            tag = self._plain_tags[value] = str(super().resolve(kind, value, implicit))
        return tag


def _start(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _syntax_problem(exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    position = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    message = f"YAML syntax error: {exc.problem or exc.context or 'invalid YAML'}"
    hint = exc.context if exc.problem and exc.context else None
    if hint and exc.context_mark is not None and exc.context_mark is not mark:
        hint += f" at line {exc.context_mark.line + 1}"
    return Problem((), message, hint=hint, position=position)


def _check_graph(root: Node) -> Problem | None:
    """Refuse recursive aliases, deep nesting and alias bombs before building anything.

    The composed graph shares a node between its anchor and every alias, so it stays small;
    the *expanded* tree is what would explode. Its size is computed here in one memoised
    pass over the graph, which is linear in the size of the file as written.
    """
    sizes: dict[int, int] = {}
    reused: dict[int, Node] = {}
    in_progress: set[int] = set()
    problem: list[Problem] = []

    def size(node: Node, depth: int) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            reused[key] = node
            return known
        if key in in_progress:
            problem.append(
                Problem(
                    (),
                    "recursive alias: an anchor refers to itself",
                    hint="YAML anchors used here must not contain their own alias",
                    position=_start(node),
                )
            )
            return 0
        if depth > MAX_DEPTH:
            problem.append(Problem((), _TOO_DEEP, position=_start(node)))
            return 0
        in_progress.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
                if problem:
                    break
        elif isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                total += size(key_node, depth + 1) + size(value_node, depth + 1)
                if problem:
                    break
        in_progress.discard(key)
        sizes[key] = total
        return total

    expanded = size(root, 0)
    if problem:
        return problem[0]
    limit = MAX_ALIAS_EXPANSION + 10 * len(sizes)
    if expanded > limit:
        worst = max(reused.values(), key=lambda n: sizes[id(n)])
        return Problem(
            (),
            f"anchors and aliases expand to {expanded:,} YAML nodes (limit {limit:,}); "
            "refusing to expand them",
            hint="this looks like a 'billion laughs' alias bomb; repeat fewer nested aliases",
            position=_start(worst),
        )
    return None


class _Builder:
    """Builds Python values from composed nodes, recording positions and problems."""

    def __init__(self) -> None:
        self.positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self.problems: list[Problem] = []
        self.too_deep: Position | None = None
        self._scalars = yaml.SafeLoader("")  # only its scalar constructors are used

    def build(self, node: Node, path: Path) -> Any:
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if len(path) > MAX_DEPTH:
            self.too_deep = self.too_deep or _start(node)
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                self._unsupported_tag(node, path)
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _MAP_TAG:
                self._unsupported_tag(node, path)
            return self._mapping(node, path)
        raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover - PyYAML contract

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        tag = node.tag
        if tag == _STR_TAG:
            return node.value
        if tag in _SCALAR_TAGS:
            construct = self._scalars.yaml_constructors[tag]
            try:
                return construct(self._scalars, node)
            except (yaml.YAMLError, ValueError) as exc:
                self.problems.append(Problem(path, f"invalid {tag[len(_TAG) :]} value: {exc}"))
                return None
        self._unsupported_tag(node, path)
        return node.value

    def _unsupported_tag(self, node: Node, path: Path) -> None:
        tag = node.tag[len(_TAG) :] if node.tag.startswith(_TAG) else node.tag
        self.problems.append(
            Problem(path, f"unsupported YAML tag `{tag}`", hint="write plain YAML values")
        )

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        explicit: dict[str, Any] = {}
        first_seen: dict[str, ScalarNode] = {}
        merged: dict[str, Any] = {}
        # merge keys first (``<<: *base``), so positions of keys written here win
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for key, value in self._merge_sources(value_node, path):
                    merged.setdefault(key, value)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    Problem(
                        path,
                        "mapping keys must be plain strings",
                        position=_start(key_node),
                    )
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in first_seen:
                self._duplicate(explicit, first_seen, key_node, value_node, path)
                continue
            first_seen[key] = key_node
            self.key_positions[child] = _start(key_node)
            explicit[key] = self.build(value_node, child)
        if not merged:
            return explicit
        return {**merged, **explicit}

    def _merge_sources(self, value_node: Node, path: Path) -> list[tuple[str, Any]]:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        pairs: list[tuple[str, Any]] = []
        for source in sources:
            if not isinstance(source, MappingNode):
                self.problems.append(
                    Problem(
                        path,
                        "`<<` merges only mappings",
                        hint="write `<<: *anchor` where the anchor is a mapping",
                        position=_start(source),
                    )
                )
                continue
            pairs.extend(self._mapping(source, path).items())
        return pairs

    def _duplicate(
        self,
        built: dict[str, Any],
        first_seen: dict[str, ScalarNode],
        key_node: ScalarNode,
        value_node: Node,
        path: Path,
    ) -> None:
        key = str(key_node.value)
        if key == "channel" and _is_notify_item(path) and "slack_channel" not in built:
            other = self.build(value_node, (*path, "slack_channel"))
            first = built.get("channel")
            pair = {first, other} if _hashable(first) and _hashable(other) else set()
            if "slack" in pair and not (pair - {"slack"}) & set(CHANNEL_KINDS):
                name = other if first == "slack" else first
                built["channel"] = "slack"
                built["slack_channel"] = name
                self.key_positions[(*path, "slack_channel")] = _start(key_node)
                if first != "slack":  # the kind came second: positions follow the values
                    self.positions[(*path, "slack_channel")] = self.positions[(*path, "channel")]
                    self.positions[(*path, "channel")] = _start(value_node)
                return
            del self.positions[(*path, "slack_channel")]
        line = first_seen[key].start_mark.line + 1
        self.problems.append(
            Problem(
                (*path, key),
                f"duplicate key `{key}` (first written at line {line})",
                hint="keep only one of them",
                on_key=True,
                position=_start(key_node),
            )
        )


def _is_notify_item(path: Path) -> bool:
    return len(path) >= 2 and path[-2] == "notify" and isinstance(path[-1], int)


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None
