"""Quoted passages marked in a source's text: every quote can be reached and outlined, even overlapping ones."""

import re

from kb.content.render import highlighted_text

TEXT = "Depuis 2015, 18 dispositifs ont été déployés par la MEL."


def test_a_quote_starting_inside_another_still_has_a_mark_right_after_its_anchor():
    html = str(highlighted_text(TEXT, [("a", [(0, 44)]), ("b", [(13, 27)])]))
    assert re.search(r'<span class="anchor" id="a"></span><mark>Depuis 2015, </mark>', html)
    assert re.search(r'<span class="anchor" id="b"></span><mark>18 dispositifs ont été déployés</mark>', html)


def test_quotes_starting_at_the_same_place_stand_in_a_row_before_one_mark():
    html = str(highlighted_text(TEXT, [("a", [(0, 11)]), ("b", [(0, 27)])]))
    assert html.startswith('<span class="anchor" id="a"></span><span class="anchor" id="b"></span><mark>Depuis 2015, 18 dispositifs</mark>')


def test_text_around_the_marks_is_escaped():
    html = str(highlighted_text("<b>x</b> & y", [("a", [(9, 12)])]))
    assert html == '&lt;b&gt;x&lt;/b&gt; <span class="anchor" id="a"></span><mark>& y</mark>'.replace("& y", "&amp; y")
