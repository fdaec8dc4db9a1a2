"""The project's own modules import each other in no cycle.

A cycle is what makes a module impossible to read, test or move on its own (and what forces
imports inside functions). import-linter's contracts (`make lint`) keep the boundaries between
the apps; this test keeps every module, inside an app too, free of cycles, using the same graph
library (grimp).
"""

import grimp

PACKAGES = ("centrali", "workspaces", "billing", "usage", "support", "audit", "privacy", "devtools")


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycle = (module, *back)
                start = cycle.index(min(cycle[:-1]))  # one spelling per cycle
                cycles.add(cycle[start:-1] + cycle[:start] + (cycle[start],))

    assert sorted(" -> ".join(cycle) for cycle in cycles) == []
