"""Retrieved text is data. Sentences in a passage that read as instructions to an assistant
("ignore previous instructions and ...") are flagged: never quoted in an answer, and withheld
from the text an LLM is shown."""

from __future__ import annotations

import re

__all__ = ["WITHHELD", "is_instruction", "redact"]

WITHHELD = "[text withheld by skyfm: it reads as an instruction]"

_PATTERNS = [
    (r"\b(ignore|disregard|forget|override|bypass)\b[^.]{0,60}\b(instruction|prompt|rule|"
     r"guideline|direction|context|system message)s?\b"),
    r"\byou are (now|no longer)\b",
    r"\b(system|developer) (prompt|message)\b",
    r"^\s*(system|assistant|user)\s*:",
    r"<\|?(im_start|im_end|system|endoftext)\|?>",
    r"\bnew instructions?\b",
    r"\b(execute|run|call)\b[^.]{0,30}\b(command|shell|tool|function)\b",
    r"\b(write|save|create|delete|remove|overwrite)\b[^.]{0,20}\b(the |a )?file\b",
    r"\brm\s+-rf\b",
    r"\b(do not|don't|never) (tell|mention|reveal|cite)\b",
    r"\b(reply|respond|answer) (only )?with\b",
]
_RE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.MULTILINE)


def is_instruction(sentence: str) -> bool:
    """Does this sentence read as an instruction aimed at an assistant or a tool?"""
    return bool(_RE.search(sentence))


def redact(sentences: list[str]) -> tuple[list[str], int]:
    """``sentences`` with instruction-like ones replaced by WITHHELD, and how many were."""
    out, n = [], 0
    for s in sentences:
        if is_instruction(s):
            out.append(WITHHELD)
            n += 1
        else:
            out.append(s)
    return out, n
