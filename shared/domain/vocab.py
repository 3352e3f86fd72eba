"""The bureau's vocabulary: channels, categories, jurisdictions (docs/domain.md §2).

Loaded from a YAML file (configuration, not code). Each list resolves either its code or its
Chinese label to the code, and renders a code as ``{"key", "label"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DEFAULT_VOCAB_FILE = Path(__file__).with_name("vocab.yaml")


@dataclass(frozen=True)
class Terms:
    """One list of terms: code → Chinese label, resolvable either way."""

    name: str
    labels: dict[str, str]

    def resolve(self, value: str) -> str | None:
        """The code for ``value`` (a code or a label), or None when it is not in the list."""
        value = value.strip()
        if value in self.labels:
            return value
        for code, label in self.labels.items():
            if label == value:
                return code
        return None

    def label(self, code: str) -> str:
        return self.labels.get(code, code)

    def render(self, code: str) -> dict[str, str]:
        return {"key": code, "label": self.label(code)}

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.labels)


@dataclass(frozen=True)
class Vocabulary:
    channels: Terms
    categories: Terms
    jurisdictions: Terms


def load_vocabulary(path: Path = DEFAULT_VOCAB_FILE) -> Vocabulary:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Vocabulary(
        channels=Terms("channel", {str(k): str(v) for k, v in raw["channels"].items()}),
        categories=Terms("category", {str(k): str(v) for k, v in raw["categories"].items()}),
        jurisdictions=Terms(
            "jurisdiction", {str(k): str(v) for k, v in raw["jurisdictions"].items()}
        ),
    )


@cache
def default_vocabulary() -> Vocabulary:
    return load_vocabulary()
