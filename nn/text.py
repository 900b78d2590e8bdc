"""Text for the GPT: the names data set shipped with stepgrad and a character tokenizer (microgpt's).

``load_names()`` reads ``nn/datasets/names.txt`` (32,033 lowercase first names from karpathy/makemore,
MIT licence; source and licence in ``nn/datasets/README.md``). ``CharTokenizer`` maps each character to
its index among the sorted characters and adds one more token, BOS, that marks where a name begins
and ends: with the 26 letters, ids 0–25 are a–z, BOS is 26 and the vocabulary has 27 tokens.

>>> names = load_names()
>>> tokenizer = CharTokenizer.from_documents(names)
>>> tokenizer.encode("emma")          # [BOS, e, m, m, a, BOS]
[26, 4, 12, 12, 0, 26]
>>> tokenizer.decode([4, 12, 12, 0])
'emma'
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Iterable, Sequence

NAMES_FILE = "names.txt"
_MAX_FILE_BYTES = 64 * 1024 * 1024


def load_names(path: str | os.PathLike[str] | None = None) -> list[str]:
    """The names, one per line, in file order: stepgrad's copy of makemore's ``names.txt`` by default.

    ``path`` reads another UTF-8 text file of one document per line instead. Blank lines are skipped
    and each line is stripped of surrounding whitespace; a file with no names is an error.
    """
    if path is None:
        resource = importlib.resources.files("nn").joinpath("datasets", NAMES_FILE)
        where = f"stepgrad's {NAMES_FILE}"
        try:
            text = resource.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"load_names: {where} is missing from the installed package (nn/datasets/{NAMES_FILE}); "
                "reinstall stepgrad"
            ) from None
    else:
        where = repr(os.fspath(path))
        try:
            if os.path.getsize(path) > _MAX_FILE_BYTES:
                raise ValueError(f"load_names: {where} is larger than {_MAX_FILE_BYTES} bytes")
            with open(path, encoding="utf-8") as stream:
                text = stream.read()
        except UnicodeDecodeError as error:
            raise ValueError(f"load_names: {where} is not UTF-8 text ({error})") from None
        except OSError as error:
            raise ValueError(f"load_names: cannot read {where}: {error.strerror or error}") from None
    names = [line.strip() for line in text.splitlines()]
    names = [name for name in names if name]
    if not names:
        raise ValueError(f"load_names: {where} holds no names (every line is blank)")
    return names


class CharTokenizer:
    """Characters ↔ token ids: id i is the i-th sorted character; BOS = len(chars) marks both ends of a document.

    >>> tok = CharTokenizer("cab")        # sorted: a=0, b=1, c=2, BOS=3
    >>> tok.encode("cab"), tok.vocab_size
    ([3, 2, 0, 1, 3], 4)
    """

    def __init__(self, chars: Iterable[str]):
        chars = list(chars)
        for i, ch in enumerate(chars):
            if not isinstance(ch, str) or len(ch) != 1:
                raise ValueError(f"CharTokenizer: chars[{i}] must be a single character, got {ch!r}")
        repeated = sorted({ch for ch in chars if chars.count(ch) > 1})
        if repeated:
            raise ValueError(f"CharTokenizer: characters {repeated} appear more than once")
        if not chars:
            raise ValueError("CharTokenizer: no characters (the vocabulary would hold BOS alone)")
        self.chars = "".join(sorted(chars))
        self.bos = len(self.chars)
        self._ids = {ch: i for i, ch in enumerate(self.chars)}

    @classmethod
    def from_documents(cls, documents: Sequence[str]) -> CharTokenizer:
        """The tokenizer of every character that occurs in ``documents`` (microgpt: sorted(set(''.join(docs))))."""
        if isinstance(documents, str) or not isinstance(documents, Sequence):
            raise TypeError(f"CharTokenizer.from_documents: documents must be a list of str, got {documents!r:.60}")
        for i, doc in enumerate(documents):
            if not isinstance(doc, str):
                raise TypeError(f"CharTokenizer.from_documents: documents[{i}] must be a str, got {type(doc).__name__}")
        return cls(set("".join(documents)))

    @property
    def vocab_size(self) -> int:
        """The number of tokens: every character and BOS."""
        return self.bos + 1

    def encode(self, text: str) -> list[int]:
        """[BOS, id(c₀), id(c₁), …, BOS]: one training document, as microgpt builds it."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: text must be a str, got {type(text).__name__}")
        ids = [self.bos]
        for position, ch in enumerate(text):
            token = self._ids.get(ch)
            if token is None:
                raise ValueError(
                    f"CharTokenizer.encode: character {ch!r} at position {position} of {text!r:.60} is not in the "
                    f"vocabulary {self.chars!r}"
                )
            ids.append(token)
        ids.append(self.bos)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of ``ids``; BOS marks a boundary and decodes to nothing."""
        out = []
        for i, token in enumerate(ids):
            self._check_id(token, f"CharTokenizer.decode: ids[{i}]")
            if token != self.bos:
                out.append(self.chars[token])
        return "".join(out)

    def _check_id(self, token: object, where: str) -> None:
        if isinstance(token, bool) or not isinstance(token, int):
            raise TypeError(f"{where} must be an int token id, got {type(token).__name__} {token!r:.40}")
        if not 0 <= token < self.vocab_size:
            raise ValueError(f"{where} = {token} is not a token id: ids run from 0 to {self.bos} (BOS)")

    def __repr__(self) -> str:
        return f"CharTokenizer({self.chars!r})"
