"""Tables at any terminal width from 40 to 250 columns: every word of the 250-column output (each number, id,
flag and header word) appears whole in the narrow one (issue #31: at 80 columns `check` printed the predicted
losses 2.65 / 2.47 as `2.6` / `2.4` under the header `predicte`, the line cut at the terminal's edge)."""

import re
from collections import Counter

import pytest

COMMANDS = {
    "check": (["check", "--gpu", "4070ti", "--model", "gpt2-xl"], []),  # with the advisor's table
    "check --explain": (["check", "--gpu", "4070ti", "--model", "gpt2", "--explain"], []),
    "plan": (["plan", "--gpu", "4070ti"], range(72, 79, 2)),
    "models": (["models"], range(94, 99, 2)),
    "stacks": (["stacks"], range(100, 111, 2)),
    "gpus": (["gpus"], range(172, 194, 3)),
    "compare --by model": (["compare", "--by", "model", "--gpu", "4070ti"], range(114, 127, 3)),
    "compare --model": (["compare", "--model", "gpt2-xl"], range(130, 157, 3)),
}
# a width every 15 columns, the widths the issue names, and each command's own range where it was cut (a dense
# sample: every width for every command takes ~2 minutes; the layout changes little between neighbours)
WIDTHS = sorted({*range(40, 251, 15), 49, 60, 80, 96, 105, 120, 132, 150, 180})
# a word: anything between spaces, table borders and bar glyphs that has a letter or digit in it
BOX = "│┃┏┓┗┛┡┩└┘┌┐━─╇┳┻╋┼┬┴├┤"
WORD = re.compile(r"[^\s│┃┏┓┗┛┡┩└┘┌┐━─╇┳┻╋┼┬┴├┤█▓▒░▚▞▖▗▘]+")


def words(text: str) -> Counter:
    return Counter(w.strip(":;,") for w in WORD.findall(text) if re.search(r"[0-9A-Za-z]", w))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_word_is_cut_at_any_width(cli, monkeypatch, name):
    args, own = COMMANDS[name]

    def at(width: int) -> str:
        monkeypatch.setenv("COLUMNS", str(width))
        r = cli(*args)
        assert r.code in (0, 4), r.err
        return r.out

    wide = words(at(250))
    assert wide
    for width in sorted({*WIDTHS, *own}):
        out = at(width)
        narrow = words(out)
        lost = sorted(w for w, n in wide.items() if narrow[w] < n)
        assert not lost and "…" not in out, f"{name} at {width} columns: {lost[:8]} cut"
        assert max(len(line) for line in out.splitlines()) <= width
        cut = [line for line in out.splitlines() if line[:1] in BOX and line.rstrip()[-1:] not in BOX]
        assert not cut, f"{name} at {width} columns: a table's right edge is cut: {cut[0]!r}"


def test_a_table_too_narrow_for_its_words_prints_one_record_per_row(cli, monkeypatch):
    """Below the longest words' total the rows are printed "header: value", every value whole."""
    monkeypatch.setenv("COLUMNS", "40")
    out = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl").out
    assert "  predicted loss*: 2.65" in out and "  vs now: 0.87x" in out


def test_short_values_stay_on_one_line_while_long_text_can_wrap(cli, monkeypatch):
    """At 80 columns the advisor's flags wrap; its sizes and times ("42.2 days", "11.04 GiB") do not."""
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl").out
    row = next(line for line in out.splitlines() if "0.87x" in line)
    assert "11.04 GiB" in row and "42.2 days" in row


def test_a_long_id_in_a_bar_chart_is_not_glued_to_its_bar(cli):
    """`compare`'s bars start after the name; an id of 18 or more characters kept no space before its bar."""
    out = cli("compare", "--model", "gpt2-xl").out
    line = next(line for line in out.splitlines() if "rtx-pro-6000-blackwell" in line and "█" in line)
    assert "rtx-pro-6000-blackwell █" in line
