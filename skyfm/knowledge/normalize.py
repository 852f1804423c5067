"""Text to searchable words: LaTeX (``$z\\sim2$`` -> ``z ~ 2``), reStructuredText and Markdown
markup to plain text, sentence splitting and the word tokens answers are scored with."""

from __future__ import annotations

import re

__all__ = ["clean_text", "latex_to_words", "sentences", "strip_markup", "text_sentences",
           "words"]

# LaTeX commands that stand for a word or a symbol people type in queries
_SYMBOLS = {
    "sim": " ~ ", "approx": " ~ ", "simeq": " ~ ", "propto": " ~ ", "lesssim": " < ",
    "gtrsim": " > ", "la": " < ", "ga": " > ", "lt": " < ", "gt": " > ", "leq": " <= ",
    "geq": " >= ", "le": " <= ", "ge": " >= ", "times": " x ", "pm": " +- ", "cdot": " ",
    "odot": " sun ", "sun": " sun ", "oplus": " earth ", "earth": " earth ", "AA": " angstrom ",
    "micron": " micron ", "deg": " deg ", "circ": " deg ", "prime": "'", "infty": " infinity ",
    "rightarrow": " to ", "to": " to ", "ell": " l ", "hbar": " hbar ", "log": " log ",
    "ln": " ln ", "exp": " exp ", "sqrt": " sqrt ", "%": " percent ",
}
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
          "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau",
          "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
          "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega"}
# commands whose argument is the text (font, box and emphasis commands)
_WRAPPERS = ("text", "textrm", "textit", "textbf", "texttt", "mathrm", "mathit", "mathbf",
             "mathcal", "mathsf", "mathtt", "rm", "it", "bf", "emph", "operatorname", "mbox",
             "hbox", "boldsymbol", "bm", "textsc", "mathbb", "rm", "ensuremath")
_WRAP_RE = re.compile(r"\\(?:" + "|".join(_WRAPPERS) + r")\s*\{([^{}]*)\}")
_CMD_RE = re.compile(r"\\([A-Za-z]+|%)")
_SPACING_RE = re.compile(r"\\[,;:! ]")
_MATH_RE = re.compile(r"\$\$?(.+?)\$?\$", re.DOTALL)


def _command(m: re.Match) -> str:
    name = m.group(1)
    if name in _SYMBOLS:
        return _SYMBOLS[name]
    if name in _GREEK:
        return f" {name.lower()} "
    if name in _WRAPPERS:
        return " "
    return f" {name} "


def _math(m: re.Match) -> str:
    s = m.group(1)
    s = _SPACING_RE.sub(" ", s)
    for _ in range(3):  # nested wrappers: \mathrm{\textbf{x}}
        s = _WRAP_RE.sub(r" \1 ", s)
    s = _CMD_RE.sub(_command, s)
    s = re.sub(r"[{}^_]", " ", s)
    return " " + s + " "


def latex_to_words(text: str) -> str:
    """LaTeX in running text to words: ``$z\\sim2$`` -> ``z ~ 2``, ``$M_\\odot$`` -> ``M sun``,
    ``\\emph{x}`` -> ``x``, ``$H\\alpha$`` -> ``H alpha``. Text without LaTeX is returned as is
    (bar whitespace)."""
    if "$" not in text and "\\" not in text:
        return text
    s = _MATH_RE.sub(_math, text)
    s = _SPACING_RE.sub(" ", s)
    for _ in range(3):
        s = _WRAP_RE.sub(r"\1", s)
    s = re.sub(r"\\[\"'`^~=.]\{?([A-Za-z])\}?", r"\1", s)  # accents: \"o -> o
    s = _CMD_RE.sub(_command, s)
    s = s.replace("{", "").replace("}", "")
    return re.sub(r"[ \t]+", " ", s).strip()


_RST_ROLE = re.compile(r":[\w:+-]+:`~?([^`<]*?)\s*(?:<[^`>]*>)?`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^`>]*>`_{1,2}")
_RST_REF = re.compile(r"`([^`]+)`_{1,2}")
_LITERAL = re.compile(r"``([^`]+)``")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_DIRECTIVE = re.compile(r"^\s*\.\.\s+(?:_[^:]*:|[\w:-]+::.*|\|[^|]+\|.*)$", re.MULTILINE)
_COMMENT = re.compile(r"^\s*\.\.\s*$", re.MULTILINE)
_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+<>_])\1{2,}\s*$", re.MULTILINE)
_EMPH = re.compile(r"(\*\*|\*|__)(\S(?:.*?\S)?)\1")


def strip_markup(text: str) -> str:
    """reStructuredText / Markdown inline markup to plain text (roles, links, literals, emphasis,
    directives and section underlines). Code blocks are kept: their text is content too."""
    s = _DIRECTIVE.sub("", text)
    s = _COMMENT.sub("", s)
    s = _UNDERLINE.sub("", s)
    s = _RST_ROLE.sub(lambda m: m.group(1).lstrip("~"), s)
    s = _RST_LINK.sub(r"\1", s)
    s = _LITERAL.sub(r"\1", s)
    s = _RST_REF.sub(r"\1", s)
    s = _MD_LINK.sub(r"\1", s)
    s = _EMPH.sub(r"\2", s)
    s = re.sub(r"^#{1,6}\s+", "", s, flags=re.MULTILINE)
    return s


def clean_text(text: str) -> str:
    """Markup and LaTeX to plain words, whitespace collapsed: what is indexed and quoted."""
    return re.sub(r"\s+", " ", latex_to_words(strip_markup(text))).strip()


_ABBREV = re.compile(r"\b(?:e\.g|i\.e|et al|Fig|Figs|Eq|Eqs|Sect|Ref|approx|vs|cf|resp|"
                     r"No|Dr|Mr|Ms|etc|al|ca)\.$")


def sentences(text: str) -> list[str]:
    """Split plain text into sentences (keeps e.g. / et al. / Fig. inside a sentence)."""
    parts: list[str] = []
    for block in re.split(r"\n\s*\n|\n\s*[*\-•]\s+", text):
        block = re.sub(r"\s+", " ", block).strip()
        if not block:
            continue
        buf = ""
        for piece in re.split(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])", block):
            buf = f"{buf} {piece}".strip() if buf else piece
            if _ABBREV.search(buf):
                continue
            parts.append(buf)
            buf = ""
        if buf:
            parts.append(buf)
    return parts


_STOP = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "then", "there", "these", "this", "to", "was", "were", "what", "when", "where", "which", "who", "why", "will", "with", "you", "your", "about", "using", "use", "used", "we", "our", "one", "two", "not", "no", "yes", "than", "also", "may"])
_WORD = re.compile(r"[a-z0-9]+")


def _stem(w: str) -> str:
    for suf in ("ies", "es", "s"):
        if len(w) > 4 and w.endswith(suf) and not w.endswith("ss"):
            return w[: -len(suf)] + ("y" if suf == "ies" else "")
    return w


def words(text: str) -> list[str]:
    """Content words of ``text``: lower case, LaTeX as words, stop words dropped, light plural
    stemming (for scoring answer sentences against a question)."""
    return [_stem(w) for w in _WORD.findall(latex_to_words(text).lower()) if w not in _STOP]


def text_sentences(raw: str) -> list[str]:
    """The sentences of a passage's raw text (markup and LaTeX removed); headings, list items
    and paragraphs stay apart."""
    return sentences(latex_to_words(strip_markup(raw)))
