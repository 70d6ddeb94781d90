"""A bounded Jinja sandbox: a template cannot hang a run or exhaust memory.

Jinja's ``SandboxedEnvironment`` stops templates from reaching Python internals, but not from
asking for work: ``{{ 'a' * 10**9 }}``, ``{{ 'x'.center(2000000000) }}`` or two nested
``range(100000)`` loops are all "safe" and each takes gigabytes or hours. This environment
bounds every render by the limits below (docs/notifications.md, "Template limits"):

- every value a template makes (a string, or a list/dict counted as its items plus the
  characters of its strings, nested) is checked where it is made: operators, calls, filters,
  ``~``, list and dict literals; growth that cannot be undone (``'a' * n``, ``center(n)``,
  ``%0999999999d``, ``'{:>n}'.format``, ``replace('', s)``, ``join``...) is refused *before*
  Python allocates it;
- integers are capped in bits (``10**100000000`` costs minutes of CPU before any string);
- work is counted: every loop iteration and every call is a step, whatever the nesting;
- calls nest only so deep (recursive macros), and a render has a CPU-time budget, checked at
  every step, as the last line of defence;
- output is counted at every output statement, including text captured by macros and
  ``{% set %}`` blocks.

A limit is raised as :class:`TemplateLimitError`, which names the limit and what hit it;
``templates.render_part`` then falls back to the default template like for any other
template error, and the loader refuses such a template when it exceeds a limit on a sample
event (``notify.sample.template_problem``).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import re
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, ValuesView
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateRuntimeError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment, SandboxedFormatter, modifies_known_mutable
from jinja2.utils import Namespace, generate_lorem_ipsum
from markupsafe import EscapeFormatter, Markup

__all__ = [
    "MAX_CALL_DEPTH",
    "MAX_INTEGER_BITS",
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE",
    "MAX_RENDER_SECONDS",
    "MAX_STEPS",
    "MAX_VALUE_SIZE",
    "BoundedEnvironment",
    "TemplateLimitError",
    "check_format_spec",
    "render_bounded",
    "value_size",
]

MAX_OUTPUT_CHARS = 256 * 1024
"""Characters one render may write (every output statement, macros and set blocks included)."""
MAX_VALUE_SIZE = 256 * 1024
"""Size of one value: a string's characters, or a list/dict's items plus their sizes, nested."""
MAX_RANGE = 10_000
"""Numbers one ``range()`` may give (Jinja's own sandbox allows 100,000)."""
MAX_STEPS = 100_000
"""Loop iterations plus calls (functions, macros, methods) in one render, however nested."""
MAX_CALL_DEPTH = 64
"""Calls nested in one another, e.g. a macro calling itself."""
MAX_INTEGER_BITS = 4096
"""Bits of an integer made by ``*``, ``**`` or a filter (about 1,233 decimal digits)."""
MAX_RENDER_SECONDS = 1.0
"""CPU time of one render (the thread's, so a busy machine does not make a template fail)."""

_LIMITS = {
    "value": f"value size limit ({MAX_VALUE_SIZE:,} characters or items)",
    "output": f"output limit ({MAX_OUTPUT_CHARS:,} characters)",
    "range": f"range limit ({MAX_RANGE:,} numbers)",
    "steps": f"work limit ({MAX_STEPS:,} loop iterations and calls)",
    "depth": f"call depth limit ({MAX_CALL_DEPTH} nested calls)",
    "integer": f"integer size limit ({MAX_INTEGER_BITS:,} bits)",
    "time": f"time limit ({MAX_RENDER_SECONDS:g} s of CPU time)",
}


class TemplateLimitError(TemplateRuntimeError):
    """A render exceeded one of the limits of this module; the message names which and why."""

    def __init__(self, limit: str, cause: str) -> None:
        super().__init__(f"the {_LIMITS[limit]} is exceeded by {cause}")
        self.limit = limit


# --- sizes -----------------------------------------------------------------------------------

_TEXT = (str, bytes, bytearray)
_SEQUENCES = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)
_CONTAINERS = (list, tuple, set, frozenset, dict, Namespace)  # new values: views show old ones


def _namespace_items(value: Namespace) -> dict[str, Any]:
    attrs: dict[str, Any] = object.__getattribute__(value, "_Namespace__attrs")
    return attrs


def value_size(value: Any, *, indent: int = 0, limit: int = MAX_VALUE_SIZE) -> int:
    """The size of ``value`` (see MAX_VALUE_SIZE), exact up to ``limit``; past it, a
    container's is ``limit + 1`` (a text, number or range is always exact).

    ``indent`` adds that many characters per nesting level of each item, the cost of
    pretty-printing it. Shared items count each time they appear: ``[x] * 1000`` is as large
    as its text, so aliasing cannot hide a value that would explode when printed. A shared
    container is measured once, though, and its size added wherever it appears, so a value
    built by doubling (``x = [x, x]``, 2**n items after n steps) costs n steps to measure, not
    2**n; a container that contains itself is endless.
    """
    if isinstance(value, _TEXT):
        return len(value)
    if indent:
        return _indented_size(value, indent, limit)
    return _measured(value, limit)


def _children(item: Any) -> Iterator[Any] | None:
    """What a container holds (a mapping: its keys and values); None for anything else."""
    if isinstance(item, _TEXT):
        return None
    if isinstance(item, _SEQUENCES):
        return iter(item)
    if isinstance(item, (dict, Namespace)):
        mapping = _namespace_items(item) if isinstance(item, Namespace) else item
        return itertools.chain(mapping.keys(), mapping.values())
    return None


def _own_size(item: Any) -> int:
    """An item's size without what it holds: 1, plus its characters, digits or range."""
    if isinstance(item, _TEXT):
        return 1 + len(item)
    if isinstance(item, int):
        return 1 + item.bit_length() // 3
    if isinstance(item, range):
        return 1 + len(item)
    return 1


def _measured(value: Any, limit: int) -> int:
    past = limit + 1
    children = _children(value)
    if children is None:
        return _own_size(value)
    sizes: dict[int, int] = {}  # id -> size of every container measured
    held: list[Any] = [value]  # alive while measuring: no id is reused meanwhile
    open_ids = {id(value)}  # the containers being measured: a way back to one is a cycle
    stack: list[list[Any]] = [[value, children, 1]]
    while True:
        frame = stack[-1]
        item, children, total = frame
        inner = None
        if total <= limit:
            for child in children:  # the leaves inline: a flat list of a million is common
                if isinstance(child, _TEXT):
                    total += 1 + len(child)
                elif isinstance(child, int):
                    total += 1 + child.bit_length() // 3
                elif isinstance(child, _HOLDERS):
                    known = sizes.get(id(child))
                    if known is not None:
                        total += known
                    elif id(child) in open_ids:
                        total = past
                    else:
                        inner = child
                        break
                elif isinstance(child, range):
                    total += 1 + len(child)
                else:
                    total += 1
                if total > limit:
                    break
        if inner is not None:
            frame[2] = total
            held.append(inner)
            open_ids.add(id(inner))
            stack.append([inner, _children(inner), 1])
            continue
        stack.pop()
        open_ids.discard(id(item))
        size: int = min(total, past)
        sizes[id(item)] = size
        if not stack:
            return size
        stack[-1][2] += size


_HOLDERS = (*_SEQUENCES, dict, Namespace)


def _indented_size(value: Any, indent: int, limit: int) -> int:
    """value_size plus ``indent`` characters per nesting level of every item."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= limit:
        item, depth = stack.pop()
        total += 1 + depth * indent + value_size(item, limit=0)
        if isinstance(item, _SEQUENCES):
            stack.extend([(child, depth + 1) for child in item])
        elif isinstance(item, (dict, Namespace)):
            mapping = _namespace_items(item) if isinstance(item, Namespace) else item
            stack.extend([(child, depth + 1) for child in (*mapping.keys(), *mapping.values())])
    return total


def _check_size(size: int, cause: str) -> None:
    if size > MAX_VALUE_SIZE:
        raise TemplateLimitError("value", cause)


def _checked(value: Any, cause: str) -> Any:
    """``value`` if it is within the value and integer limits, else TemplateLimitError."""
    if isinstance(value, _TEXT):
        _check_size(len(value), cause)
    elif isinstance(value, int):
        if value.bit_length() > MAX_INTEGER_BITS:
            raise TemplateLimitError("integer", cause)
    elif isinstance(value, _CONTAINERS):
        _check_size(value_size(value), cause)
    return value


def _check_width(width: Any, cause: str) -> None:
    if isinstance(width, int) and width > MAX_VALUE_SIZE:
        raise TemplateLimitError("value", f"{cause} (width {width:,})")


# --- the budget of one render ----------------------------------------------------------------


@dataclass
class _Budget:
    deadline: float
    steps: int = 0
    output: int = 0
    depth: int = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TemplateLimitError("steps", "loops or calls, e.g. nested loops")
        if time.thread_time() > self.deadline:
            raise TemplateLimitError("time", "the render")


_BUDGET: ContextVar[_Budget | None] = ContextVar("sqlsentinel_template_budget", default=None)


def render_bounded(template: Template, context: dict[str, Any]) -> str:
    """Render ``template`` (from a :class:`BoundedEnvironment`) within every limit."""
    budget = _Budget(deadline=time.thread_time() + MAX_RENDER_SECONDS)
    token = _BUDGET.set(budget)
    try:
        text = template.render(context)
    except RecursionError:
        raise TemplateLimitError("depth", "recursion too deep for Python") from None
    finally:
        _BUDGET.reset(token)
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateLimitError("output", "the rendered text")
    return text


def _step() -> None:
    budget = _BUDGET.get()
    if budget is not None:  # None when Jinja folds constants while compiling
        budget.step()


def _stepping(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _step()
        yield item


# --- format strings --------------------------------------------------------------------------

_PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?"
    r"[hlL]?(?P<type>.)",
    re.DOTALL,
)
_NUMBER = re.compile(r"\d+")


def _number(text: str | None) -> int:
    if not text:
        return 0
    return int(text) if len(text) <= 9 else MAX_VALUE_SIZE + 1


def check_printf(template: Any, args: Any, cause: str) -> None:
    """Refuse ``template % args`` when its widths, precisions and arguments add up too large."""
    fmt = str(template) if not isinstance(template, _TEXT) else template
    if isinstance(fmt, (bytes, bytearray)):
        fmt = fmt.decode("latin-1")
    size = len(fmt)
    index = 0
    for match in _PRINTF.finditer(fmt):
        if match["type"] == "%":
            continue
        if match["width"] == "*" or match["precision"] == "*":
            raise TemplateLimitError("value", f"{cause} with a `*` width (write the number)")
        size += _number(match["width"]) + _number(match["precision"])
        if match["key"] is not None and isinstance(args, dict):
            size += value_size(args.get(match["key"], ""))
        elif isinstance(args, tuple):
            size += value_size(args[index]) if index < len(args) else 0
            index += 1
        else:
            size += value_size(args)
        _check_size(size, cause)


def check_format_spec(spec: str, cause: str) -> None:
    """Refuse a ``format()`` spec whose width or precision is beyond the value size limit."""
    for number in _NUMBER.findall(spec):
        _check_width(_number(number), cause)


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, with each field and the whole result bounded."""

    _produced = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._produced = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_format_spec(format_spec, "`.format()`")
        text = super().format_field(value, format_spec)
        self._produced += len(text)
        _check_size(self._produced, "`.format()`")
        return text


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


# --- calls: string methods that grow their text -----------------------------------------------


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _text_len(item: Any) -> int:
    return len(item) if isinstance(item, _TEXT) else 0


def _check_replace(text: Any, old: Any, new: Any, count: Any, cause: str) -> None:
    text, old, new = str(text), str(old), str(new)
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    _check_size(len(text) + hits * max(0, len(new) - len(old)), cause)


def _check_join(separator: Any, items: list[Any], cause: str) -> None:
    size = len(separator) * max(0, len(items) - 1)
    for item in items:
        size += value_size(item)
        _check_size(size, cause)
    _check_size(size, cause)


def _check_text_method(
    owner: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse a str/bytes method call that would grow its text too far; may return new args."""
    cause = f"`.{name}()`"
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_width(_arg(args, kwargs, 0, "width", 0), cause)
    elif name == "expandtabs":
        tabsize = _arg(args, kwargs, 0, "tabsize", 8)
        tabs = owner.count("\t" if isinstance(owner, str) else b"\t")
        if isinstance(tabsize, int):
            _check_size(len(owner) + tabs * tabsize, cause)
    elif name == "replace" and len(args) >= 2 and isinstance(owner, str):
        _check_replace(owner, args[0], args[1], _arg(args, kwargs, 2, "count", -1), cause)
    elif name == "join" and args:
        items = list(_stepping(args[0]))
        _check_join(owner, items, cause)
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], dict) and args[0]:
        longest = max(_text_len(v) for v in args[0].values())
        _check_size(len(owner) * max(1, longest), cause)
    return args


# --- filters that grow their input ---------------------------------------------------------------


def _pre_center(a: dict[str, Any]) -> None:
    _check_width(a["width"], "the `center` filter")


def _pre_indent(a: dict[str, Any]) -> None:
    text, width = str(a["s"]), a["width"]
    pad = width if isinstance(width, int) else len(str(width))
    _check_size(len(text) + (text.count("\n") + 1) * pad, "the `indent` filter")


def _pre_wordwrap(a: dict[str, Any]) -> None:
    text, width, wrap = str(a["s"]), a["width"], a["wrapstring"]
    if wrap is not None and isinstance(width, int) and width > 0:
        lines = 2 * (len(text) // width + text.count("\n") + 1)
        _check_size(len(text) + lines * len(str(wrap)), "the `wordwrap` filter")


def _pre_replace(a: dict[str, Any]) -> None:
    new = a["new"]
    if a["eval_ctx"].autoescape:
        new = Markup.escape(new)
    _check_replace(a["s"], a["old"], new, a["count"], "the `replace` filter")


def _pre_join(a: dict[str, Any]) -> None:
    items = list(_stepping(a["value"]))
    if a["attribute"] is not None:
        items = [make_attrgetter(a["eval_ctx"].environment, a["attribute"])(i) for i in items]
        a["attribute"] = None
    a["value"] = items
    _check_join(str(a["d"]), items, "the `join` filter")


def _pre_format(a: dict[str, Any]) -> None:
    check_printf(a["value"], a["kwargs"] or a["args"], "the `format` filter")


def _pre_batch(a: dict[str, Any]) -> None:
    _check_width(a["linecount"], "the `batch` filter")
    if a["fill_with"] is not None and isinstance(a["linecount"], int):
        _check_size(value_size(a["fill_with"]) * a["linecount"], "the `batch` filter")


def _pre_slice(a: dict[str, Any]) -> None:
    _check_width(a["slices"], "the `slice` filter")
    if a["fill_with"] is not None and isinstance(a["slices"], int):
        _check_size(value_size(a["fill_with"]) * a["slices"], "the `slice` filter")


def _pre_tojson(a: dict[str, Any]) -> None:
    indent = a["indent"]
    step = indent if isinstance(indent, int) else len(str(indent or ""))
    _check_size(value_size(a["value"], indent=step), "the `tojson` filter")


def _pre_pprint(a: dict[str, Any]) -> None:
    _check_size(value_size(a["value"], indent=1), "the `pprint` filter")


def _pre_sum(a: dict[str, Any]) -> None:
    start = a["start"]
    if not isinstance(start, (list, tuple)):
        return
    items = list(_stepping(a["iterable"]))
    if a["attribute"] is not None:
        items = [make_attrgetter(a["environment"], a["attribute"])(i) for i in items]
        a["attribute"] = None
    _check_size(value_size(start) + sum(value_size(i) for i in items), "the `sum` filter")
    a["iterable"] = items


_FILTER_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "center": _pre_center,
    "indent": _pre_indent,
    "wordwrap": _pre_wordwrap,
    "replace": _pre_replace,
    "join": _pre_join,
    "format": _pre_format,
    "batch": _pre_batch,
    "slice": _pre_slice,
    "tojson": _pre_tojson,
    "pprint": _pre_pprint,
    "sum": _pre_sum,
}


def _linear_sum(start: list[Any] | tuple[Any, ...], items: list[Any]) -> Any:
    """``sum(items, start)`` for sequences in linear time (Python's is quadratic)."""
    for item in items:
        if type(item) is not type(start):
            raise TypeError(f"can only add {type(start).__name__} items to a `sum` start")
    return type(start)(itertools.chain(start, *items))


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with its result checked, and with its arguments checked first if it can grow."""
    func = inspect.unwrap(func)  # the sync function behind Jinja's async variants
    check = _FILTER_CHECKS.get(name)
    signature = inspect.signature(func) if check is not None else None
    cause = f"the `{name}` filter"

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if signature is not None and check is not None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check(bound.arguments)
            if name == "sum" and isinstance(bound.arguments["start"], (list, tuple)):
                return _checked(
                    _linear_sum(bound.arguments["start"], bound.arguments["iterable"]), cause
                )
            args, kwargs = bound.args, bound.kwargs
        return _checked(func(*args, **kwargs), cause)

    return bounded


# --- globals ---------------------------------------------------------------------------------


def bounded_range(*args: int) -> range:
    """``range()`` of at most MAX_RANGE numbers."""
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_RANGE + 1
    if length > MAX_RANGE:
        shown = ", ".join(f"{a:,}" if isinstance(a, int) else repr(a) for a in args)
        raise TemplateLimitError("range", f"range({shown})")
    return numbers


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """``lipsum()`` of at most MAX_VALUE_SIZE characters (counted as 12 per word)."""
    longest = min if min > max else max
    if n * longest * 12 > MAX_VALUE_SIZE:
        raise TemplateLimitError("value", f"lipsum({n:,}, ..., {longest:,})")
    return generate_lorem_ipsum(n, html, min, max)


# --- code generation: loops, output and literals go through the budget --------------------------


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, routing loops, output, ``~`` and literals through the budget."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # the iterable becomes `environment.bounded_iter(iterable)`: one step per item, also
        # for items a loop filter (`{% for x in xs if ... %}`) skips
        wrapper = nodes.EnvironmentAttribute("bounded_iter", lineno=node.iter.lineno)
        node.iter = nodes.Call(wrapper, [node.iter], [], None, None, lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_value(")
        super().visit_Concat(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.bounded_value(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.bounded_value(")
        super().visit_Dict(node, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # an assignment target: `{% for a, b in ... %}`
            super().visit_Tuple(node, frame)
            return
        self.write("environment.bounded_value(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        return f"environment.bounded_output({super()._output_const_repr(group)})"

    def _output_child_pre(
        self, node: nodes.Expr, frame: Frame, finalize: CodeGenerator._FinalizeInfo
    ) -> None:
        self.write("environment.bounded_output(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(
        self, node: nodes.Expr, frame: Frame, finalize: CodeGenerator._FinalizeInfo
    ) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")


# --- the environment -------------------------------------------------------------------------


class BoundedEnvironment(SandboxedEnvironment):
    """A ``SandboxedEnvironment`` whose renders stay within this module's limits.

    Render with :func:`render_bounded`; outside it (e.g. while Jinja folds constants at
    compile time) the size checks still apply, the step, depth and time budgets do not.
    """

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    # hooks called by the generated code (see _BoundedCodeGenerator)

    def bounded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        return _stepping(iterable)

    def bounded_value(self, value: Any) -> Any:
        return _checked(value, "`~` or a literal")

    def bounded_output(self, text: str) -> str:
        budget = _BUDGET.get()
        if budget is not None:
            budget.output += len(text)
            if budget.output > MAX_OUTPUT_CHARS:
                raise TemplateLimitError("output", "the template's output")
        return text

    # the sandbox's own hooks

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        cause = f"`{operator}`"
        if operator == "*":
            _check_repeat(left, right, cause)
        elif operator == "**":
            _check_power(left, right, cause)
        elif operator == "%" and isinstance(left, _TEXT):
            check_printf(left, right, "a `%` format")
        return _checked(self.binop_table[operator](left, right), cause)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            budget.step()
            budget.depth += 1
            if budget.depth > MAX_CALL_DEPTH:
                budget.depth -= 1
                raise TemplateLimitError("depth", "calls, e.g. a macro calling itself")
        try:
            owner = getattr(obj, "__self__", None)
            name = getattr(obj, "__name__", "")
            if isinstance(owner, _TEXT):
                args = _check_text_method(owner, name, args, kwargs)
            elif isinstance(owner, int) and name == "to_bytes":
                _check_width(_arg(args, kwargs, 0, "length", 1), "`.to_bytes()`")
            elif isinstance(obj, LoopContext) and args:  # a recursive loop's next level
                args = (_stepping(args[0]), *args[1:])
            cause = f"calling `{name or type(obj).__name__}`"
            result = super().call(context, obj, *args, **kwargs)
            if modifies_known_mutable(owner, name):  # append, extend, update...
                _checked(owner, cause)
            return _checked(result, cause)
        finally:
            if budget is not None:
                budget.depth -= 1

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed ``str.format``, with the bounded formatter."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        owner: str = value.__self__
        formatter: SandboxedFormatter = (
            _BoundedEscapeFormatter(self, escape=owner.escape)
            if isinstance(owner, Markup)
            else _BoundedFormatter(self)
        )
        is_format_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs = args[0]
                args = ()
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return functools.update_wrapper(bounded_format, value)


def _check_repeat(left: Any, right: Any, cause: str) -> None:
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sequence, (*_TEXT, list, tuple)) and isinstance(times, int) and times > 1:
        if not sequence:
            return
        if times > MAX_VALUE_SIZE:
            raise TemplateLimitError("value", f"{cause} (x {times:,})")
        _check_size(value_size(sequence, limit=MAX_VALUE_SIZE // times) * times, cause)
    elif (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INTEGER_BITS + 1
    ):
        raise TemplateLimitError("integer", cause)


def _check_power(base: Any, exponent: Any, cause: str) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0:
        return
    if abs(base) > 1 and (
        exponent > MAX_INTEGER_BITS or base.bit_length() * exponent > MAX_INTEGER_BITS + 1
    ):
        raise TemplateLimitError("integer", cause)
