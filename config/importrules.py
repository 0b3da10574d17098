"""An import-linter contract type for the rule the built-in types cannot say by name: the
request layer is a set of modules picked by their names (api, api_*, views, views_*, urls,
urls_*, core.http, packages named api or views), so a new `views_foo.py` is covered the day it is
written. The contract keeps two promises of docs/architecture.md:

- nothing outside the request layer imports it (domain code raises core.errors, the HTTP
  layer answers them);
- the request layer never imports an analytics engine (DuckDB, PySpark, NetworkX, pandas):
  those run in tasks and commands, never while a user waits.

Configured in pyproject.toml, `[[tool.importlinter.contracts]]` with `type = "request_layer"`.
"""

from __future__ import annotations

import re
from typing import Any

from importlinter import Contract, ContractCheck, fields, output

REQUEST_MODULE = re.compile(
    r"^fangkong(\.\w+)*\.(api|api_\w+|views|views_\w+|urls|urls_\w+)$"
    r"|^fangkong\.core\.http$"
    r"|^fangkong(\.\w+)*\.(api|views)\.\w+$"
)


def is_request_module(name: str) -> bool:
    return bool(REQUEST_MODULE.match(name))


class RequestLayerContract(Contract):
    root = fields.StringField(default="fangkong")
    engines = fields.ListField(subfield=fields.StringField())

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        root = str(self.root)
        modules = sorted(m for m in graph.modules if m == root or m.startswith(root + "."))
        request = {m for m in modules if is_request_module(m)}
        engines = tuple(str(e) for e in self.engines)  # type: ignore[attr-defined]
        inward, engine_uses = [], []
        for module in modules:
            for target in sorted(graph.find_modules_directly_imported_by(module)):
                if module not in request and target in request:
                    inward.append(self._line(graph, module, target))
                elif module in request and target.split(".")[0] in engines:
                    engine_uses.append(self._line(graph, module, target))
        output.verbose_print(verbose, f"{len(request)} request-layer modules checked")
        return ContractCheck(
            kept=not inward and not engine_uses,
            metadata={"inward": inward, "engines": engine_uses, "count": len(request)},
        )

    @staticmethod
    def _line(graph: Any, importer: str, imported: str) -> str:
        details = graph.get_import_details(importer=importer, imported=imported)
        lines = ", ".join(f"l.{d['line_number']}" for d in details)
        return f"{importer} -> {imported} ({lines})"

    def render_broken_contract(self, check: ContractCheck) -> None:
        for key, title in (
            ("inward", "imported from outside the request layer:"),
            ("engines", "an analytics engine imported by the request layer:"),
        ):
            if check.metadata[key]:
                output.print_error(title)
                for line in check.metadata[key]:
                    output.print_error(f"  {line}", bold=False)
                output.new_line()
