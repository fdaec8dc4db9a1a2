"""The staff support console: the issue queue and each issue's thread page."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from centrali.admin import NoAddOrDeleteAdminMixin
from centrali.errors import DomainError
from support import selectors, services
from support.models import IssuePriority, IssueStatus, SupportIssue

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


@admin.register(SupportIssue)
class SupportIssueAdmin(NoAddOrDeleteAdminMixin, admin.ModelAdmin):
    """Issues come from workspaces through the API, and the thread is their record: staff never add
    or delete one, they change it through the actions (assign, resolve, close) and the thread page."""

    list_display = ("id", "title", "workspace", "plan", "priority_badge", "status", "type", "assigned_to", "age")
    list_display_links = ("id", "title")
    list_filter = (
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
            SupportIssue.objects.select_related("workspace__plan", "created_by", "assigned_to")
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
        if request.method == "POST":
            form = self._handle_post(request, issue)
            if form is None:
                return HttpResponseRedirect(request.path)
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
