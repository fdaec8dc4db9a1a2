"""An import-linter contract type: apps meet only through each other's public surface.

`public_surface` lists the apps and the module names that form an app's public surface
(`models`, `services`, `selectors`, ...). A module of one app may import from another app
only that app's package itself or one of those modules (or their submodules, for a surface
that is a package). Anything else — views, serializers, admin, tasks, management commands,
internal helpers — is private to its app, whatever new modules the app grows later.
"""

from __future__ import annotations

import grimp
from importlinter import Contract, ContractCheck, fields, output


class PublicSurfaceContract(Contract):
    type_name = "public_surface"

    apps = fields.ListField(subfield=fields.StringField())
    public_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        apps: list[str] = list(self.apps)  # type: ignore[call-overload]
        public: set[str] = set(self.public_modules)  # type: ignore[call-overload]
        violations = []
        for importer in sorted(graph.modules):
            importer_app = importer.split(".")[0]
            if importer_app not in apps:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                parts = imported.split(".")
                if parts[0] not in apps or parts[0] == importer_app:
                    continue
                if len(parts) == 1 or parts[1] in public:
                    continue
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    violations.append(
                        {
                            "importer": importer,
                            "imported": imported,
                            "line_number": detail["line_number"],
                            "line_contents": detail["line_contents"],
                        }
                    )
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print("Private modules of another app imported:")
        output.new_line()
        for violation in check.metadata["violations"]:
            output.print_error(
                f"{violation['importer']} -> {violation['imported']} "
                f"(l. {violation['line_number']}: {violation['line_contents']})"
            )
        output.new_line()
        output.print(f"Reach another app only through: {', '.join(sorted(self.public_modules))}.")  # type: ignore[call-overload]
