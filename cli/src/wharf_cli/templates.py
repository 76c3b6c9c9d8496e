"""A small evaluator for Go ``text/template`` as docker's ``--format`` uses it.

Supported: ``{{.Field.Sub}}``, ``{{.Method "arg"}}`` (callables on context objects), ``$`` and ``$var``,
pipes ``|``, parentheses, string/number/bool literals, ``{{if}}/{{else if}}/{{else}}``, ``{{range}}`` (with
``$i, $v :=``), ``{{with}}``, ``{{- trim -}}`` markers, docker's functions (``json``, ``join``, ``split``,
``lower``, ``upper``, ``title``, ``pad``, ``truncate``) and Go's builtins (``index``, ``len``, ``print``,
``printf``, ``println``, ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``not``, ``and``, ``or``).
Values print like Go's ``%v``: ``true``/``false``, ``map[k:v]``, ``[a b]``, missing values ``<no value>``.
"""

from __future__ import annotations

from _collections_abc import Mapping  # collections.abc's, without importing collections

from .template_funcs import FUNCTIONS, MISSING, go_format, truth

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterator
    from typing import Any


class TemplateError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------- lexing
# ``re`` (with the ``enum``, ``functools`` and ``collections`` it imports) is compiled only for an action
# that is not a plain field: ``wharf ps``'s own table and ``--format '{{.ID}}'`` need none of it.
_TOKEN_SOURCE = r"""\s*(?:
      (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<field>(?:\$[A-Za-z0-9_]*)?(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
    | (?P<var>\$[A-Za-z0-9_]*)
    | (?P<decl>:=|=)
    | (?P<punct>[()|,])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )"""
_token: re.Pattern[str] | None = None
_IDENTIFIER_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_IDENTIFIER = _IDENTIFIER_START | frozenset("0123456789")

if TYPE_CHECKING:
    Token = tuple[str, str]


def _actions(template: str) -> Iterator[tuple[int, int, bool, str, bool]]:
    """Each ``{{...}}`` action: start, end, ``{{-`` trim, body, ``-}}`` trim; what the pattern
    ``\\{\\{(-\\s)?(.*?)(\\s-)?\\}\\}`` (``re.S``) finds, without ``re``."""
    pos = 0
    while (start := template.find("{{", pos)) >= 0:
        body_start = start + 2
        trim_left = (
            template[body_start : body_start + 1] == "-"
            and template[body_start + 1 : body_start + 2].isspace()
        )
        if trim_left:
            body_start += 2
        close = template.find("}}", body_start)
        if close < 0:
            return
        body_end = close
        trim_right = close - 2 >= body_start and template[close - 1] == "-" and template[close - 2].isspace()
        if trim_right:
            body_end -= 2
        pos = close + 2
        yield start, pos, trim_left, template[body_start:body_end], trim_right


def _plain_field(source: str) -> bool:
    """``.Name`` or ``.Name.Sub``: what the ``field`` token matches when it is the whole action."""
    if source == ".":
        return True
    names = source.split(".")
    return names[0] == "" and all(
        name and name[0] in _IDENTIFIER_START and _IDENTIFIER.issuperset(name) for name in names[1:]
    )


def _lex(source: str) -> list[Token]:
    source = source.rstrip()
    if _plain_field(source):
        return [("field", source)]
    global _token
    if _token is None:
        import re

        _token = re.compile(_TOKEN_SOURCE, re.X)
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _token.match(source, pos)
        if not match or match.end() == pos:
            raise TemplateError(f"unexpected {source[pos:].strip()[:1]!r} in command")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


# ---------------------------------------------------------------------------------------------- nodes
# plain classes rather than dataclasses: ``dataclasses`` imports ``inspect``, which ``wharf ps`` would pay
class Pipeline:
    __slots__ = ("commands", "decl")

    def __init__(self, commands: list[list[Any]], decl: list[str]) -> None:
        self.commands = commands  # operands: Token | Pipeline (parenthesized)
        self.decl = decl


class Block:
    __slots__ = ("alternative", "body", "kind", "pipeline")

    def __init__(self, kind: str, pipeline: Pipeline, body: list[Any], alternative: list[Any]) -> None:
        self.kind = kind  # "if" | "range" | "with"
        self.pipeline = pipeline
        self.body = body
        self.alternative = alternative


Node = str | Pipeline | Block


def _parse_pipeline(tokens: list[Token]) -> Pipeline:
    decl: list[str] = []
    if any(kind == "decl" for kind, _ in tokens):
        index = next(i for i, (kind, _) in enumerate(tokens) if kind == "decl")
        decl = [value for kind, value in tokens[:index] if kind == "var"]
        tokens = tokens[index + 1 :]
    pipeline, rest = _parse_commands(tokens, 0)
    if rest != len(tokens):
        raise TemplateError(f"unexpected {tokens[rest][1]!r} in operand")
    pipeline.decl = decl
    return pipeline


def _parse_commands(tokens: list[Token], pos: int) -> tuple[Pipeline, int]:
    commands: list[list[Any]] = [[]]
    while pos < len(tokens):
        kind, value = tokens[pos]
        if value == ")" and kind == "punct":
            break
        if value == "|" and kind == "punct":
            commands.append([])
            pos += 1
        elif value == "(" and kind == "punct":
            inner, pos = _parse_commands(tokens, pos + 1)
            if pos >= len(tokens) or tokens[pos][1] != ")":
                raise TemplateError("unclosed left paren")
            pos += 1
            if pos < len(tokens) and tokens[pos][0] == "field" and tokens[pos][1] != ".":
                commands[-1].append(("chain", inner, tokens[pos][1]))
                pos += 1
            else:
                commands[-1].append(inner)
        else:
            commands[-1].append((kind, value))
            pos += 1
    if any(not command for command in commands):
        raise TemplateError("missing value for command")
    return Pipeline(commands, []), pos


def parse(template: str) -> list[Node]:
    """Parse a template into nodes (text, pipelines, blocks)."""
    root: list[Node] = []
    stack: list[tuple[Block, list[Node]]] = []
    current = root
    pos = 0
    trim_next = False
    for start, end, trim_left, action, trim_right in _actions(template):
        text = template[pos:start]
        if trim_next:
            text = text.lstrip()
        if trim_left:
            text = text.rstrip()
        if text:
            current.append(text)
        trim_next = trim_right
        pos = end
        body = action.strip()
        if body.startswith("/*"):
            continue
        tokens = _lex(body)
        if not tokens:
            raise TemplateError("missing value for command")
        head = tokens[0][1] if tokens[0][0] == "ident" else ""
        if head in ("if", "range", "with"):
            block = Block(head, _parse_pipeline(tokens[1:]), [], [])
            current.append(block)
            stack.append((block, current))
            current = block.body
        elif head == "else":
            if not stack:
                raise TemplateError("unexpected {{else}}")
            block = stack[-1][0]
            current = block.alternative
            if len(tokens) > 1 and tokens[1][1] in ("if", "with"):
                nested = Block(tokens[1][1], _parse_pipeline(tokens[2:]), [], [])
                current.append(nested)
                stack.append((nested, current))
                current = nested.body
        elif head == "end":
            if not stack:
                raise TemplateError("unexpected {{end}}")
            block, current = stack.pop()
            while stack and current is stack[-1][0].alternative and len(current) == 1 and current[0] is block:
                block, current = stack.pop()  # close the implicit blocks of {{else if}}
        elif head in ("define", "template", "block"):
            raise TemplateError(f"{{{{{head}}}}} is not supported")
        else:
            current.append(_parse_pipeline(tokens))
    if stack:
        raise TemplateError("unexpected EOF")
    tail = template[pos:]
    if "{{" in tail:
        raise TemplateError("unclosed action")
    if trim_next:
        tail = tail.lstrip()
    if tail:
        current.append(tail)
    return root


# ---------------------------------------------------------------------------------------------- evaluation
class _Scope:
    def __init__(self, root: Any, funcs: Mapping[str, Callable[..., Any]]) -> None:
        self.vars: dict[str, Any] = {"$": root}
        self.funcs = funcs


def _field(value: Any, name: str, args: list[Any]) -> Any:
    if value is MISSING or value is None:
        return MISSING
    if isinstance(value, Mapping):
        result = value.get(name, MISSING)
    else:
        result = getattr(value, name, MISSING)
        if name.startswith("_"):
            result = MISSING
    if result is MISSING and not isinstance(value, Mapping):
        raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    if callable(result):
        return result(*args)
    if args:
        raise TemplateError(f"{name} has arguments but cannot be invoked as function")
    return result


def _chain(value: Any, path: str, args: list[Any]) -> Any:
    names = [part for part in path.split(".") if part]
    for index, name in enumerate(names):
        value = _field(value, name, args if index == len(names) - 1 else [])
    return value


def _operand(operand: Any, dot: Any, scope: _Scope, args: list[Any] | None = None) -> Any:
    if isinstance(operand, Pipeline):
        return _run_pipeline(operand, dot, scope)
    kind, value = operand[0], operand[1]
    if kind == "chain":
        return _chain(_run_pipeline(value, dot, scope), operand[2], args or [])
    if kind == "str":
        return _unquote(value)
    if kind == "num":
        return float(value) if any(c in value for c in ".eE") else int(value)
    if kind == "field":
        if value == ".":
            return dot
        if value.startswith("$"):
            var, _, path = value.partition(".")
            return _chain(_variable(scope, var), path, args or [])
        return _chain(dot, value, args or [])
    if kind == "var":
        return _variable(scope, value)
    if kind == "ident":
        if value in ("true", "false"):
            return value == "true"
        if value == "nil":
            return None
        if value not in scope.funcs:
            raise TemplateError(f'function "{value}" not defined')
        return scope.funcs[value](*(args or []))
    raise TemplateError(f"unexpected {value!r} in operand")


def _variable(scope: _Scope, name: str) -> Any:
    if name not in scope.vars:
        raise TemplateError(f"undefined variable: {name}")
    return scope.vars[name]


def _run_command(command: list[Any], dot: Any, scope: _Scope, piped: list[Any]) -> Any:
    head, rest = command[0], command[1:]
    args = [_operand(operand, dot, scope) for operand in rest] + piped
    callable_head = isinstance(head, tuple) and head[0] in ("ident", "field", "chain")
    if callable_head and (args or head[0] == "ident"):
        return _operand(head, dot, scope, args)
    if args:
        raise TemplateError(
            f"can't give argument to non-function {head[1] if isinstance(head, tuple) else '()'}"
        )
    return _operand(head, dot, scope)


def _run_pipeline(pipeline: Pipeline, dot: Any, scope: _Scope) -> Any:
    value: Any = MISSING
    for index, command in enumerate(pipeline.commands):
        value = _run_command(command, dot, scope, [value] if index else [])
    if len(pipeline.decl) == 1:
        scope.vars[pipeline.decl[0]] = value
    return value


def _execute(nodes: list[Node], dot: Any, scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Pipeline):
            value = _run_pipeline(node, dot, scope)
            if not node.decl:
                out.append(go_format(value))
        elif node.kind == "range":
            _execute_range(node, dot, scope, out)
        else:
            value = _run_pipeline(node.pipeline, dot, scope)
            if truth(value):
                _execute(node.body, value if node.kind == "with" else dot, scope, out)
            else:
                _execute(node.alternative, dot, scope, out)


def _execute_range(node: Block, dot: Any, scope: _Scope, out: list[str]) -> None:
    value = _run_pipeline(Pipeline(node.pipeline.commands, []), dot, scope)
    if isinstance(value, Mapping):
        items: list[tuple[Any, Any]] = [(key, value[key]) for key in sorted(value, key=str)]
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [(i, i) for i in range(value)]
    elif value is MISSING or value is None:
        items = []
    else:
        raise TemplateError(f"range can't iterate over {go_format(value)}")
    if not items:
        _execute(node.alternative, dot, scope, out)
    decl = node.pipeline.decl
    for key, item in items:
        if len(decl) == 1:
            scope.vars[decl[0]] = item
        elif len(decl) >= 2:
            scope.vars[decl[0]], scope.vars[decl[1]] = key, item
        _execute(node.body, item, scope, out)


def _unquote(literal: str) -> str:
    if literal.startswith("`"):
        return literal[1:-1]
    import json

    try:
        result: str = json.loads(literal)
    except ValueError:
        result = literal[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return result


class Template:
    """A parsed template; :meth:`render` executes it against a value (dict, list or object)."""

    def __init__(self, source: str, funcs: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.source = source
        self.nodes = parse(source)
        self.funcs = {**FUNCTIONS, **(funcs or {})}

    def render(self, data: Any) -> str:
        out: list[str] = []
        _execute(self.nodes, data, _Scope(data, self.funcs), out)
        return "".join(out)


def render(source: str, data: Any) -> str:
    return Template(source).render(data)
