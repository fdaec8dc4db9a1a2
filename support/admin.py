"""The staff support console: the issue queue and each issue's thread page; the support panel of the
dashboard and the open issues on the customer page."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timesince import timesince

from centrali import console
from centrali.admin import NoAddOrDeleteAdminMixin
from centrali.errors import DomainError
from support import selectors, services
from support.console import open_issues_of, support_figures, support_staff, waiting_on_staff_q, with_last_reply
from support.models import CommentKind, IssuePriority, IssueStatus, SupportIssue
from support.services.console import set_issue_priority

_PRIORITY_RANK = Case(
    When(priority=IssuePriority.URGENT, then=Value(0)),
    When(priority=IssuePriority.HIGH, then=Value(1)),
    When(priority=IssuePriority.MEDIUM, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
# Issues still waiting on someone come before resolved and closed ones.
_STATUS_RANK = Case(
    When(status__in=[IssueStatus.OPEN, IssueStatus.IN_PROGRESS], then=Value(0)),
    When(status=IssueStatus.RESOLVED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
_PRIORITY_COLOURS = {IssuePriority.URGENT: "#ba2121", IssuePriority.HIGH: "#c86400"}


class StaffMessageForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "cols": 80}), max_length=10000, strip=True)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=IssuePriority.choices)
    reason = forms.CharField(max_length=500, strip=True, widget=forms.TextInput(attrs={"size": 30}))


class AssigneeForm(forms.Form):
    assigned_to = forms.ModelChoiceField(queryset=support_staff(), empty_label=None, label="Assign to")
    reason = forms.CharField(max_length=500, strip=True, required=False, widget=forms.TextInput(attrs={"size": 30}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = support_staff()  # type: ignore[attr-defined]
        self.fields["assigned_to"].label_from_instance = lambda user: user.email or user.username  # type: ignore[attr-defined]


class QueueFilter(admin.SimpleListFilter):
    """Triage views of the queue: issues waiting on staff (the customer spoke last, or nobody answered
    yet), and every issue not settled yet."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("waiting", "Waiting on staff"), ("unsettled", "Open or in progress")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(waiting_on_staff_q())
        if self.value() == "unsettled":
            return queryset.filter(status__in=[IssueStatus.OPEN, IssueStatus.IN_PROGRESS])
        return queryset


@admin.register(SupportIssue)
class SupportIssueAdmin(NoAddOrDeleteAdminMixin, admin.ModelAdmin):
    """Issues come from workspaces through the API, and the thread is their record: staff never add
    or delete one, they change it through the actions (assign, resolve, close) and the thread page."""

    list_display = (
        "id",
        "title",
        "workspace_link",
        "plan",
        "priority_badge",
        "status",
        "age",
        "last_reply",
        "assigned_to",
    )
    list_display_links = ("id", "title")
    list_filter = (
        QueueFilter,
        "status",
        "priority",
        "type",
        ("assigned_to", admin.RelatedOnlyFieldListFilter),
        ("workspace__plan", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("=id", "title", "description", "workspace__slug", "workspace__name", "created_by__email")
    list_select_related = ("workspace", "workspace__plan", "assigned_to")
    actions = ["assign_to_me", "resolve", "close"]
    list_per_page = 50

    def get_queryset(self, request):
        # Annotated before ordering, so the queue can sort by urgency.
        return (
            with_last_reply(SupportIssue.objects.select_related("workspace__plan", "created_by", "assigned_to"))
            .annotate(status_rank=_STATUS_RANK, priority_rank=_PRIORITY_RANK)
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request):
        # The queue: waiting issues, most urgent first, longest-waiting first.
        return ("status_rank", "priority_rank", "created_at")

    @admin.display(description="Plan", ordering="workspace__plan__code")
    def plan(self, issue):
        return issue.workspace.plan.name

    @admin.display(description="Priority", ordering="priority_rank")
    def priority_badge(self, issue):
        colour = _PRIORITY_COLOURS.get(issue.priority)
        if colour is None:
            return issue.get_priority_display()
        return format_html(
            '<strong class="priority-{}" style="color:#fff;background:{};padding:1px 6px;border-radius:3px">'
            "{}</strong>",
            issue.priority,
            colour,
            issue.get_priority_display(),
        )

    @admin.display(description="Age", ordering="created_at")
    def age(self, issue):
        return timesince(issue.created_at, timezone.now())

    @admin.display(description="Workspace", ordering="workspace__slug")
    def workspace_link(self, issue):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:workspaces_workspace_change", args=[issue.workspace_id]),
            issue.workspace,
        )

    @admin.display(description="Last reply", ordering="last_reply_at")
    def last_reply(self, issue):
        if issue.last_reply_kind is None:
            return format_html('<span class="waiting">no reply yet</span>')
        who = "staff" if issue.last_reply_kind == CommentKind.STAFF_REPLY else "customer"
        return format_html(
            '<span class="last-reply-{}" title="{}">{}<br><small>{}, {} ago</small></span>',
            who,
            issue.last_reply_by,
            Truncator(issue.last_reply_by).chars(24),
            who,
            timesince(issue.last_reply_at, timezone.now(), depth=1),
        )

    # -- actions, from the queue and from the thread page

    def _apply(self, request, issues, change, verb):
        done = 0
        for issue in issues:
            try:
                change(issue)
            except DomainError as exc:
                self.message_user(request, f"#{issue.pk}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb} {done} issue(s).", messages.SUCCESS)

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._apply(request, queryset, lambda issue: services.assign_issue(issue=issue, staff=request.user), "Assigned")

    @admin.action(description="Resolve", permissions=["change"])
    def resolve(self, request, queryset):
        self._apply(request, queryset, lambda issue: self._set_status(request, issue, IssueStatus.RESOLVED), "Resolved")

    @admin.action(description="Close", permissions=["change"])
    def close(self, request, queryset):
        self._apply(request, queryset, lambda issue: self._set_status(request, issue, IssueStatus.CLOSED), "Closed")

    def _set_status(self, request, issue, status):
        return services.update_issue(issue=issue, actor=request.user, status=status)

    # -- the thread page replaces the change form

    def change_view(self, request, object_id, form_url="", extra_context=None):
        issue = self.get_object(request, unquote(object_id))
        if issue is None:
            # Django's own answer to a missing object (django-stubs omit this private helper).
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_view_or_change_permission(request, issue):
            raise PermissionDenied
        form = StaffMessageForm()
        priority_form = assignee_form = None
        if request.method == "POST":
            posted = self._handle_post(request, issue)
            if posted is None:
                return HttpResponseRedirect(request.path)
            if isinstance(posted, PriorityForm):
                priority_form = posted
            elif isinstance(posted, AssigneeForm):
                assignee_form = posted
            else:
                form = posted
        context = {
            **self.admin_site.each_context(request),
            **selectors.console_context(issue=issue),
            "opts": self.opts,
            "title": f"Issue #{issue.pk}: {issue.title}",
            "issue": issue,
            "thread": selectors.thread_of(issue=issue),
            "form": form,
            "can_reply": request.user.has_perm("support.add_comment"),
            "can_change": self.has_change_permission(request, issue),
            "priority_form": priority_form or PriorityForm(initial={"priority": issue.priority}),
            "assignee_form": assignee_form or AssigneeForm(initial={"assigned_to": issue.assigned_to_id}),
            "customer_page": reverse("admin:workspaces_workspace_change", args=[issue.workspace_id]),
            "workspace_issues": reverse("admin:support_supportissue_changelist")
            + f"?workspace__id__exact={issue.workspace_id}",
        }
        return TemplateResponse(request, "admin/support/supportissue/thread.html", context)

    def _handle_post(self, request, issue):
        """Run the posted action; None when done (redirect), else the form to show again with its errors."""
        action = request.POST.get("action")
        if action in {"assign_to_me", "resolve", "close"}:
            if not self.has_change_permission(request, issue):
                raise PermissionDenied
            getattr(self, action)(request, SupportIssue.objects.filter(pk=issue.pk))
            return None
        if action in {"set_priority", "assign"}:
            if not self.has_change_permission(request, issue):
                raise PermissionDenied
            return self._change_triage(request, issue, action)
        if action not in {"reply", "note"}:
            raise PermissionDenied
        if not request.user.has_perm("support.add_comment"):
            raise PermissionDenied
        form = StaffMessageForm(request.POST)
        if not form.is_valid():
            return form
        body = form.cleaned_data["body"]
        try:
            if action == "reply":
                services.add_staff_reply(issue=issue, staff=request.user, body=body)
                self.message_user(request, "Reply sent; the workspace sees it in the thread.", messages.SUCCESS)
            else:
                services.add_internal_note(issue=issue, staff=request.user, body=body)
                self.message_user(request, "Internal note added (staff only).", messages.SUCCESS)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return form
        return None

    def _change_triage(self, request, issue, action):
        """Priority or assignee, each with the reason staff give (audited)."""
        form = PriorityForm(request.POST) if action == "set_priority" else AssigneeForm(request.POST)
        if not form.is_valid():
            return form
        data = form.cleaned_data
        try:
            if action == "set_priority":
                set_issue_priority(issue=issue, priority=data["priority"], staff=request.user, reason=data["reason"])
                self.message_user(request, f"Priority set to {data['priority']}.", messages.SUCCESS)
            else:
                services.assign_issue(issue=issue, staff=data["assigned_to"], reason=data["reason"])
                self.message_user(request, f"Assigned to {data['assigned_to'].email}.", messages.SUCCESS)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return form
        return None


SUPPORT_VIEWERS = ("support.view_supportissue", "billing.view_workspacebilling", "workspaces.view_workspace")


def _support_panel():
    figures = support_figures()
    queue = reverse("admin:support_supportissue_changelist")
    oldest = figures.oldest_waiting
    return console.Panel(
        title="Support",
        key="support",
        tiles=[
            console.Tile(
                label="Open urgent issues",
                count=figures.open_urgent,
                url=f"{queue}?queue=unsettled&priority__exact=urgent",
                alert=figures.open_urgent > 0,
            ),
            console.Tile(
                label="Open high issues",
                count=figures.open_high,
                url=f"{queue}?queue=unsettled&priority__exact=high",
                alert=figures.open_high > 0,
            ),
            console.Tile(
                label="Waiting on staff",
                count=figures.waiting_on_staff,
                url=f"{queue}?queue=waiting",
                note=f"oldest: #{oldest.pk}, {timesince(oldest.created_at, timezone.now())}" if oldest else "",
            ),
        ],
        lines=[
            console.Tile(
                label=f"#{oldest.pk} {oldest.title}",
                count=None,
                url=reverse("admin:support_supportissue_change", args=[oldest.pk]),
                note=f"{oldest.get_priority_display()}, {oldest.workspace}, waiting {timesince(oldest.created_at, timezone.now())}",
            )
        ]
        if oldest
        else [],
        lines_title="Oldest issue waiting on staff",
    )


def _support_section(workspace):
    return console.Section(
        title="Open support issues",
        template="admin/console/section_support.html",
        key="support",
        context={"issues": open_issues_of(workspace=workspace)},
        links=[
            (
                "All issues of this workspace",
                reverse("admin:support_supportissue_changelist") + f"?workspace__id__exact={workspace.pk}",
            )
        ],
    )


console.register_panel(_support_panel, permission=SUPPORT_VIEWERS, order=20)
console.register_customer_section(_support_section, permission=SUPPORT_VIEWERS, order=10)
