"""No import cycles in the app or the trainer (DESIGN.md §2: each concern sits below what uses it).

Imports inside functions count too (they are still a dependency); imports under TYPE_CHECKING do not."""
from __future__ import annotations

import grimp


def find_cycles(*packages: str) -> list[str]:
    """'a -> b -> ... -> a' for every module that imports a module which (directly or through a chain)
    imports it back."""
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True)
    imports_of = {m: graph.find_upstream_modules(m) for m in graph.modules}     # everything m imports, transitively
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if module in imports_of.get(imported, ()):
                try:
                    back = graph.find_shortest_chain(importer=imported, imported=module)
                except ValueError:          # grimp refuses chains between a package and its own modules
                    back = None
                cycles.append(f"{module} -> {' -> '.join(back) if back else imported + ' -> ... -> ' + module}")
    return cycles


def test_no_import_cycles():
    cycles = find_cycles("faceeditor", "trainer")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_check_sees_a_cycle(tmp_path, monkeypatch):
    """The check itself: a two-module cycle in a throwaway package is reported."""
    pkg = tmp_path / "cyclepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from cyclepkg import b\n")
    (pkg / "b.py").write_text("import cyclepkg.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert find_cycles("cyclepkg") == ["cyclepkg.a -> cyclepkg.b -> cyclepkg.a",
                                       "cyclepkg.b -> cyclepkg.a -> cyclepkg.b"]
