"""The request-layer contract of `lint-imports` (config/importrules.py) can fail, on a graph
built here: a service importing a view, a view importing an analytics engine."""

from __future__ import annotations

import grimp

from config.importrules import RequestLayerContract, is_request_module


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:  # add_import adds both modules
        graph.add_import(importer=importer, imported=imported, line_number=3, line_contents="")
    return graph


def _contract() -> RequestLayerContract:
    return RequestLayerContract(
        name="request layer", session_options={}, contract_options={"engines": ["duckdb"]}
    )


def test_request_modules_are_picked_by_name() -> None:
    for name in (
        "fangkong.people.api",
        "fangkong.masstesting.lab.views",
        "fangkong.masstesting.lab.api",
        "fangkong.masstesting.sampling.urls_codes",
        "fangkong.web.views.jobs",
        "fangkong.core.http",
    ):
        assert is_request_module(name), name
    for name in (
        "fangkong.people.services.persons",
        "fangkong.tracing.selectors",
        "fangkong.core.errors",
    ):
        assert not is_request_module(name), name


def test_an_inward_import_and_an_engine_break_the_contract() -> None:
    kept = _graph(("fangkong.people.api", "fangkong.people.services.persons"))
    assert _contract().check(kept, verbose=False).kept
    inward = _graph(("fangkong.people.services.persons", "fangkong.people.views_admin"))
    check = _contract().check(inward, verbose=False)
    assert not check.kept and check.metadata["inward"] == [
        "fangkong.people.services.persons -> fangkong.people.views_admin (l.3)"
    ]
    engine = _graph(("fangkong.masstesting.board.views", "duckdb"))
    check = _contract().check(engine, verbose=False)
    assert not check.kept and check.metadata["engines"]
