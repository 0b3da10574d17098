from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context, Template
from django.utils import translation


def test_zh_hans_groups_figures_in_thousands() -> None:
    with translation.override("zh-hans"):
        assert intcomma(25670000) == "25,670,000"
        # plain numbers (ids, years) stay ungrouped: only intcomma groups
        assert Template("{{ n }}").render(Context({"n": 2026})) == "2026"
    with translation.override("en"):
        assert intcomma(1000000) == "1,000,000"
