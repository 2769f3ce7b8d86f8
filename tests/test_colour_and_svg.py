"""Colour and SVG export: NO_COLOR as no-color.org says, and the SVG holds all the text (issue 16: each test fails
on the code before its fix)."""


def test_the_svg_export_holds_all_the_text(cli, tmp_path):
    import html
    import re

    out = tmp_path / "x.svg"
    cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--no-advice", "--svg", str(out))
    text = html.unescape("".join(re.findall(r">([^<]*)</text>", out.read_text()))).replace("\xa0", " ")
    assert "days given (7.5x)." in text


def test_an_empty_no_color_leaves_colour_on(monkeypatch):
    """no-color.org: NO_COLOR turns colour off only when it is set to a non-empty value."""
    import sys

    from gpt2budget.output.render import make_console

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "")
    assert make_console().color_system is not None
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_console().color_system is None
