"""nn.text: the shipped names data set (and that the wheel carries it), the character tokenizer."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from nn.text import CharTokenizer, load_names

ROOT = pathlib.Path(__file__).resolve().parent.parent
# sha256 of makemore's names.txt as the project received it (shared/data/names.txt): shipped unchanged
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"


def test_the_names_are_makemores():
    names = load_names()
    assert len(names) == 32033  # 32,032 newlines: the file's last name has none after it
    assert names[:3] == ["emma", "olivia", "ava"]
    assert set("".join(names)) == set("abcdefghijklmnopqrstuvwxyz")
    assert max(len(n) for n in names) == 15 and min(len(n) for n in names) == 2
    assert all(n == n.strip() and n for n in names)


def test_the_shipped_file_is_the_original_byte_for_byte():
    shipped = ROOT / "nn" / "datasets" / "names.txt"
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == NAMES_SHA256


def test_the_licence_note_sits_beside_the_data():
    note = (ROOT / "nn" / "datasets" / "README.md").read_text(encoding="utf-8")
    assert "karpathy/makemore" in note and "MIT License" in note and "Copyright (c) 2022 Andrej Karpathy" in note
    assert "Permission is hereby granted" in note


# The wheel carries the data and its licence note: tests/test_packaging.py looks inside the wheel it builds.


def test_load_names_reads_another_file(tmp_path):
    path = tmp_path / "few.txt"
    path.write_text("  anna\n\nbob \r\ncy\n", encoding="utf-8")
    assert load_names(path) == ["anna", "bob", "cy"]


def test_load_names_errors(tmp_path):
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n", encoding="utf-8")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("zoë\n".encode("latin-1"))
    cases = [
        (tmp_path / "missing.txt", "load_names: cannot read"),
        (blank, "holds no names (every line is blank)"),
        (latin, "is not UTF-8 text"),
        (tmp_path, "load_names: cannot read"),
    ]
    for path, message in cases:
        with pytest.raises(ValueError) as e:
            load_names(path)
        assert message in str(e.value) and str(path.name) in str(e.value)


# --------------------------------------------------------------------------- the tokenizer


def test_tokenizer_of_the_names_is_microgpts():
    tok = CharTokenizer.from_documents(load_names())
    assert tok.chars == "abcdefghijklmnopqrstuvwxyz"
    assert (tok.bos, tok.vocab_size) == (26, 27)
    assert tok.encode("emma") == [26, 4, 12, 12, 0, 26]  # [BOS, e, m, m, a, BOS]
    assert tok.encode("") == [26, 26]
    assert tok.decode(tok.encode("zoe")) == "zoe"
    assert tok.decode([26, 25, 26, 0]) == "za"  # BOS is a boundary, not a character
    assert repr(tok) == "CharTokenizer('abcdefghijklmnopqrstuvwxyz')"


def test_tokenizer_sorts_its_characters():
    tok = CharTokenizer("cab")
    assert tok.chars == "abc" and tok.encode("cab") == [3, 2, 0, 1, 3]
    assert CharTokenizer.from_documents(["ba", "ab", "c"]).chars == "abc"


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: CharTokenizer(""), ValueError, "CharTokenizer: no characters"),
        (
            lambda: CharTokenizer(["a", "bc"]),
            ValueError,
            "CharTokenizer: chars[1] must be a single character, got 'bc'",
        ),
        (lambda: CharTokenizer("abca"), ValueError, "CharTokenizer: characters ['a'] appear more than once"),
        (lambda: CharTokenizer.from_documents("emma"), TypeError, "documents must be a list of str"),
        (lambda: CharTokenizer.from_documents(["a", 3]), TypeError, "documents[1] must be a str, got int"),
        (lambda: CharTokenizer("ab").encode("abc"), ValueError, "character 'c' at position 2 of 'abc' is not in"),
        (lambda: CharTokenizer("ab").encode(["a"]), TypeError, "CharTokenizer.encode: text must be a str, got list"),
        (lambda: CharTokenizer("ab").decode([0, 3]), ValueError, "ids[1] = 3 is not a token id: ids run from 0 to 2"),
        (lambda: CharTokenizer("ab").decode([-1]), ValueError, "ids[0] = -1 is not a token id"),
        (lambda: CharTokenizer("ab").decode([1.0]), TypeError, "ids[0] must be an int token id, got float 1.0"),
        (lambda: CharTokenizer("ab").decode([True]), TypeError, "ids[0] must be an int token id, got bool"),
    ],
)
def test_tokenizer_errors(call, error, message):
    with pytest.raises(error) as e:
        call()
    assert message in str(e.value)
