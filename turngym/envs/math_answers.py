r"""Final answers of math tasks: extraction from model text and equivalence checking.

* :func:`extract_answer`: the last ``\boxed{...}`` (nested braces allowed) or
  ``<answer>...</answer>`` in a text, whichever comes last.
* :func:`normalize_answer`: strips LaTeX dressing (``$``, ``\text{}``, ``\left``), ``x =``
  prefixes, thousands separators, a trailing ``%`` or unit word.
* :func:`answers_match`: exact equality of numbers and fractions (``1e3`` equals ``1000``),
  a relative tolerance where a decimal is involved, then symbolic equivalence with sympy.

Model text is never evaluated with Python's ``eval``. Symbolic checking hands sympy's
``parse_expr`` only strings that passed a character and name allow-list, with no builtins, and
only after a size guard has rejected expressions whose evaluation could blow up (``9^9^9``).

What this does NOT cover: answers that are sets, intervals, matrices, equations or text
beyond an exact (case-insensitive) string match.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

__all__ = [
    "answers_match",
    "extract_answer",
    "is_well_formed_answer",
    "normalize_answer",
    "parse_number",
]

_MAX_ANSWER_CHARS = 2000
_MAX_SYMPY_CHARS = 300
_MAX_DIGITS = 10_000
_MAX_EXPONENT = 1000

# ---- extraction ------------------------------------------------------------------------

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)


def _braced(text: str, open_index: int) -> tuple[str, int] | None:
    """The content of the brace group opening at ``open_index`` and the index after it."""
    depth = 0
    for i in range(open_index, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_index + 1 : i], i + 1
    return None


def extract_answer(text: str) -> str | None:
    r"""The final answer in ``text``: the last ``\boxed{...}`` or ``<answer>...</answer>``.

    Unclosed boxes and empty answers are ignored.

    Example:
        >>> extract_answer(r"so \boxed{\frac{1}{2}}.")
        '\\frac{1}{2}'
    """
    best: tuple[int, str] | None = None
    for match in _BOXED_RE.finditer(text):
        group = _braced(text, match.end() - 1)
        if group is not None and group[0].strip():
            best = (match.start(), group[0].strip())
    for match in _ANSWER_TAG_RE.finditer(text):
        content = match.group(1).strip()
        if content and (best is None or match.start() > best[0]):
            best = (match.start(), content)
    return best[1] if best is not None else None


# ---- normalization ---------------------------------------------------------------------

_MATH_NAMES = {"sqrt", "pi", "sin", "cos", "tan", "log", "ln", "exp", "abs"}
_UNIT_RE = re.compile(
    r"^([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s+([A-Za-z]{2,}\.?(?:\s+[A-Za-z]+\.?)*)$"
)


def _replace_command(text: str, command: str, nargs: int, fn: Callable[..., str]) -> str:
    r"""Replace ``\command{a}{b}`` (``nargs`` brace groups) by ``fn(a, b)``, innermost first.

    An argument without braces is the next character, as in LaTeX (``\frac12``).
    """
    pattern = re.compile(re.escape(command) + r"(?![A-Za-z])")
    for _ in range(100):
        matches = list(pattern.finditer(text))
        if not matches:
            return text
        start, pos = matches[-1].start(), matches[-1].end()
        args = []
        for _ in range(nargs):
            while pos < len(text) and text[pos] == " ":
                pos += 1
            if pos < len(text) and text[pos] == "{":
                group = _braced(text, pos)
                if group is None:
                    return text
                args.append(group[0])
                pos = group[1]
            else:  # LaTeX shorthand: \sqrt2 is \sqrt{2}
                args.append(text[pos : pos + 1])
                pos += 1
        text = text[:start] + fn(*args) + text[pos:]
    return text


def _frac(a: str, b: str) -> str:
    a, b = a.strip(), b.strip()
    if re.fullmatch(r"[-+]?\d+", a) and re.fullmatch(r"\d+", b):
        return f"{a}/{b}"
    return f"(({a})/({b}))"


def normalize_answer(answer: str) -> str:
    r"""A canonical plain-text form of an answer, for comparison.

    Example:
        >>> normalize_answer(r"$x = \dfrac{3}{4}$")
        '3/4'
    """
    s = answer.strip()[:_MAX_ANSWER_CHARS]
    if "boxed" in s:
        s = extract_answer(s) or s
    s = s.replace("\u2212", "-").replace("\\$", "").replace("$", "")
    s = re.sub(r"\\[()\[\]]", "", s)
    s = re.sub(r"\\(?:left|right|displaystyle)\b", "", s)
    s = re.sub(r"\\[!,;: ]|~", " ", s)
    s = re.sub(r"\^\s*\{?\\circ\}?|°", "", s)
    s = re.sub(r"\\?%$", "", s.strip())
    for command in ("\\text", "\\textbf", "\\mathrm", "\\mathbf", "\\mbox"):
        s = _replace_command(s, command, 1, lambda a: a)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = _replace_command(s, "\\frac", 2, _frac)
    s = s.replace("{,}", ",")
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    s = re.sub(r"\s+", " ", s).strip().rstrip(".").strip()
    match = re.fullmatch(r"[A-Za-z]\s*=\s*(.+)", s)
    if match:
        s = match.group(1).strip()
    match = _UNIT_RE.fullmatch(s)
    if match and not set(match.group(2).lower().replace(".", "").split()) & _MATH_NAMES:
        s = match.group(1)
    return s


# ---- numbers ---------------------------------------------------------------------------

_DECIMAL_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE]([-+]?\d+))?")
_RATIO_RE = re.compile(r"([-+]?\d+)\s*/\s*([-+]?\d+)")


def parse_number(text: str) -> Fraction | None:
    """``text`` as an exact number (integer, decimal, scientific, ``a/b``), or None.

    Example:
        >>> parse_number("1e3") == 1000
        True
    """
    s = text.strip()
    if len(s) > _MAX_ANSWER_CHARS:
        return None
    match = _DECIMAL_RE.fullmatch(s)
    if match:
        if match.group(1) is not None and abs(int(match.group(1))) > _MAX_EXPONENT:
            return None
        return Fraction(s)
    match = _RATIO_RE.fullmatch(s)
    if match and int(match.group(2)) != 0:
        return Fraction(int(match.group(1)), int(match.group(2)))
    return None


def _is_exact(text: str) -> bool:
    """Whether a number was written exactly (an integer or a ratio, no decimal point)."""
    return not re.search(r"[.eE]", text)


# ---- symbolic --------------------------------------------------------------------------

_SYMPY_CHARS = re.compile(r"[0-9A-Za-z+\-*/^(). ]+")
_LATEX_FUNCS = {
    "\\pi": "pi",
    "\\cdot": "*",
    "\\times": "*",
    "\\div": "/",
    "\\ln": "ln",
    "\\log": "log",
    "\\sin": "sin",
    "\\cos": "cos",
    "\\tan": "tan",
    "\\exp": "exp",
}


def _latex_to_plain(s: str) -> str | None:
    s = re.sub(r"\\sqrt\s*\[([^\]]*)\]\s*\{([^{}]*)\}", r"((\2)**(1/(\1)))", s)
    s = _replace_command(s, "\\sqrt", 1, lambda a: f"sqrt({a})")
    for latex, plain in _LATEX_FUNCS.items():
        s = re.sub(
            re.escape(latex) + r"(?![A-Za-z])", f" {plain} " if plain.isalpha() else plain, s
        )
    if "\\" in s:
        return None
    return s.replace("{", "(").replace("}", ")")


def _safe_sympify(text: str) -> Any | None:
    """``text`` as a sympy expression, or None when it is not a safe, small math expression."""
    plain = _latex_to_plain(text)
    if plain is None or len(plain) > _MAX_SYMPY_CHARS or not _SYMPY_CHARS.fullmatch(plain):
        return None
    for name in re.findall(r"[A-Za-z]+", plain):
        if len(name) > 1 and name not in _MATH_NAMES:
            return None
    if re.search(r"[A-Za-z]\s*\.|\.\s*[A-Za-z]|\*\*\*|//|\d[eE][-+]?\d{4,}", plain):
        return None
    plain = re.sub(r"(?<![A-Za-z])([A-Za-z])\s*\(", r"\1*(", plain)  # x(x+1) is a product
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication,
        parse_expr,
        standard_transformations,
    )

    names: dict[str, Any] = {
        "__builtins__": {},
        "Add": sympy.Add,
        "Mul": sympy.Mul,
        "Pow": sympy.Pow,
        "Symbol": sympy.Symbol,
        "Integer": sympy.Integer,
        "Float": sympy.Float,
        "Rational": sympy.Rational,
        "sqrt": sympy.sqrt,
        "pi": sympy.pi,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "tan": sympy.tan,
        "log": sympy.log,
        "ln": sympy.log,
        "exp": sympy.exp,
        "abs": sympy.Abs,
    }
    transformations = (*standard_transformations, implicit_multiplication, convert_xor)
    try:
        unevaluated = parse_expr(
            plain,
            local_dict={},
            global_dict=dict(names),
            transformations=transformations,
            evaluate=False,
        )
        if not isinstance(unevaluated, sympy.Expr) or _digits(unevaluated) > _MAX_DIGITS:
            return None
        return parse_expr(
            plain, local_dict={}, global_dict=dict(names), transformations=transformations
        )
    except Exception:  # noqa: BLE001 - any parse failure means "not a math expression"
        return None


def _digits(expr: Any) -> float:
    """An upper bound on the decimal digits of ``expr``'s value (symbols count as small)."""
    if expr.is_Rational:
        return max(abs(int(expr.p)).bit_length(), int(expr.q).bit_length()) * 0.302 + 1
    if expr.is_Float:
        return 1.0
    if not expr.args:
        return 1.0
    if expr.is_Pow:
        base, exponent = expr.args
        base_digits, exp_digits = _digits(base), _digits(exponent)
        if exponent.free_symbols:
            return base_digits + exp_digits
        if exp_digits > 6:
            return math.inf
        value = abs(float(exponent.evalf()))
        return base_digits * max(value, 1.0)
    parts = [_digits(a) for a in expr.args]
    if expr.is_Mul:
        return sum(parts)
    return max(parts) + 1


def _sympy_equal(a: Any, b: Any, rel_tol: float, abs_tol: float) -> bool:
    import sympy

    try:
        if a == b:
            return True
        if a.free_symbols or b.free_symbols:
            diff = sympy.expand(a - b)
            if diff == 0:
                return True
            return bool(sympy.count_ops(diff) <= 60 and sympy.simplify(diff) == 0)
        if a.is_Rational and b.is_Rational:
            return False
        va, vb = complex(a.evalf(30)), complex(b.evalf(30))
    except Exception:  # noqa: BLE001 - sympy failures mean "not shown equal"
        return False
    return abs(va - vb) <= max(abs_tol, rel_tol * max(abs(va), abs(vb)))


# ---- checking --------------------------------------------------------------------------


def answers_match(
    predicted: str, gold: str, *, rel_tol: float = 1e-6, abs_tol: float = 1e-9
) -> bool:
    r"""Whether a predicted answer equals the gold one.

    Integers and fractions compare exactly (``137846528820`` is not ``137846528821``); where a
    decimal or scientific number is involved, within ``rel_tol``/``abs_tol``; expressions
    (``\frac{\sqrt{2}}{2}``, ``2^{10}``, ``x(x+1)``) by sympy.

    Example:
        >>> answers_match(r"\frac{1}{2}", "0.5"), answers_match("1,000", "1e3")
        (True, True)
    """
    p, g = normalize_answer(predicted), normalize_answer(gold)
    if not p or not g:
        return False
    if p.casefold() == g.casefold():
        return True
    pn, gn = parse_number(p), parse_number(g)
    if pn is not None and gn is not None:
        if pn == gn:
            return True
        if _is_exact(p) and _is_exact(g):
            return False
        try:
            return math.isclose(float(pn), float(gn), rel_tol=rel_tol, abs_tol=abs_tol)
        except OverflowError:
            return False
    pe, ge = _safe_sympify(p), _safe_sympify(g)
    if pe is None or ge is None:
        return False
    return _sympy_equal(pe, ge, rel_tol, abs_tol)


def is_well_formed_answer(answer: str) -> bool:
    """Whether an extracted answer reads as a number or a math expression."""
    s = normalize_answer(answer)
    return bool(s) and (parse_number(s) is not None or _safe_sympify(s) is not None)
