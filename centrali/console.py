"""The staff console: Django's admin site with a dashboard for its index, and each workspace's
customer page.

centrali knows no app, so each app contributes, from its admin module, its dashboard panels
(`register_panel`) and its sections of the customer page (`register_customer_section`); the site
renders those the signed-in staff member may see. dj-stripe's mirror
of Stripe's objects is listed for superusers only, last and folded away (billing.admin guards
its pages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib import admin

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.template.response import TemplateResponse

# The app label of the Stripe mirror, and how the console names it.
STRIPE_MIRROR_APP_LABEL = "djstripe"
STRIPE_MIRROR_TITLE = "Stripe mirror (dj-stripe, superusers only)"

Permission = str | tuple[str, ...]  # "app_label.codename", or any one of several


@dataclass(frozen=True)
class Tile:
    """One figure on the dashboard, linking to the list it counts."""

    label: str
    count: int | None  # None: a named row without a figure
    url: str
    note: str = ""  # e.g. the nearest deadline, the oldest waiting issue
    note_url: str = ""
    alert: bool = False  # a count staff should act on when it is not zero


@dataclass(frozen=True)
class Panel:
    title: str
    key: str  # a stable id for the panel in the page (tests, browser tests)
    tiles: list[Tile]
    lines: list[Tile] = field(default_factory=list)  # named rows below the figures (e.g. nearest deadlines)
    lines_title: str = ""


@dataclass(frozen=True)
class PanelSource:
    build: Callable[[], Panel]
    permission: Permission  # what the staff member needs to see the panel
    order: int = 100


_panels: list[PanelSource] = []


@dataclass(frozen=True)
class Section:
    """A part of the customer page: a template of templates/admin/console/ and what it shows."""

    title: str
    template: str
    context: dict[str, Any]
    key: str  # the section's id in the page
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url) onward to the app's own pages


@dataclass(frozen=True)
class SectionSource:
    build: Callable[[Any], Section]  # the workspace -> its section
    permission: Permission
    order: int = 100


_sections: list[SectionSource] = []


def register_panel(build: Callable[[], Panel], *, permission: Permission, order: int = 100) -> None:
    """Add a dashboard panel, built on each index render for staff holding `permission`."""
    if not any(source.build is build for source in _panels):
        _panels.append(PanelSource(build=build, permission=permission, order=order))


def register_customer_section(build: Callable[[Any], Section], *, permission: Permission, order: int = 100) -> None:
    """Add a section to every customer page, built for staff holding `permission`."""
    if not any(source.build is build for source in _sections):
        _sections.append(SectionSource(build=build, permission=permission, order=order))


def customer_sections(request: HttpRequest, workspace: Any) -> list[Section]:
    return [
        source.build(workspace)
        for source in sorted(_sections, key=lambda source: source.order)
        if may(request, source.permission)
    ]


def panels_for(request: HttpRequest) -> list[Panel]:
    return [
        source.build() for source in sorted(_panels, key=lambda source: source.order) if may(request, source.permission)
    ]


def may(request: HttpRequest, permission: Permission) -> bool:
    """Whether the staff member holds the permission, or one of them ("app_label.codename")."""
    wanted = (permission,) if isinstance(permission, str) else permission
    return any(request.user.has_perm(name) for name in wanted)


@dataclass
class _AppGroups:
    staff_apps: list[dict[str, Any]] = field(default_factory=list)
    stripe_mirror: dict[str, Any] | None = None


def _split_apps(app_list: list[dict[str, Any]]) -> _AppGroups:
    groups = _AppGroups()
    for app in app_list:
        if app["app_label"] == STRIPE_MIRROR_APP_LABEL:
            groups.stripe_mirror = {**app, "name": STRIPE_MIRROR_TITLE}
        else:
            groups.staff_apps.append(app)
    return groups


class ConsoleSite(admin.AdminSite):
    site_header = "Centrali staff console"
    site_title = "Centrali console"
    index_title = "Dashboard"
    index_template = "admin/console_index.html"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """The staff apps first; the Stripe mirror last (superusers only: its pages refuse anyone else)."""
        groups = _split_apps(super().get_app_list(request, app_label))
        mirror = [groups.stripe_mirror] if groups.stripe_mirror and request.user.is_superuser else []
        return groups.staff_apps + mirror

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        groups = _split_apps(self.get_app_list(request))
        context = {
            "panels": panels_for(request),
            "staff_apps": groups.staff_apps,
            "stripe_mirror": groups.stripe_mirror,
            "stripe_mirror_list": [groups.stripe_mirror] if groups.stripe_mirror else [],
            **(extra_context or {}),
        }
        return super().index(request, context)
