"""The staff action that erases people: "Erase selected people…" on the user list, asking for a
reason first. Admin pages act as the signed-in staff user (centrali.context), so each workspace's
entry about the erasure is audited as staff. It needs the permission to delete users.

The user admin is the workspaces app's; this module adds its action to the registered admin
(privacy comes after workspaces in INSTALLED_APPS, so that admin exists when this one loads).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from centrali.errors import DomainError
from privacy import services
from workspaces.models import User


class ErasureReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        strip=True,
        widget=forms.TextInput(attrs={"size": 80, "id": "id_reason"}),
        help_text="Recorded in each workspace's audit log with your name. Do not name the person.",
    )


@admin.action(description="Erase selected people everywhere…", permissions=["delete"])
def erase_people(
    model_admin: admin.ModelAdmin[User], request: HttpRequest, queryset: QuerySet[User]
) -> TemplateResponse | None:
    form = ErasureReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        erased = 0
        for user in list(queryset):
            # A refusal names the account as staff know it; an erased one only by its former id.
            username, user_id = user.get_username(), str(user.pk)
            try:
                erasure = services.erase_person(user=user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                model_admin.message_user(request, f"{username}: {exc.message}", messages.ERROR)
            else:
                erased += 1
                model_admin.message_user(
                    request, f"{user_id}: erased (erasure {erasure.erasure_id}).", messages.SUCCESS
                )
        model_admin.message_user(
            request, f"Erased {erased} person(s).", messages.SUCCESS if erased else messages.WARNING
        )
        return None
    return TemplateResponse(
        request,
        "admin/console/reason_form.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": "Erase people",
            "opts": model_admin.model._meta,
            "rows": list(queryset),
            "form": form,
            "submit": "Erase everywhere",
            "action": "erase_people",
            "explanation": (
                "Deletes each account and its memberships, keeps their support issues and comments signed "
                "'erased user', and erases the personal fields of their audit events. Owners of a workspace are "
                "refused until ownership passes to someone else. This cannot be undone."
            ),
            "back_url": "",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )


_user_admin = admin.site.get_model_admin(User)
_user_admin.actions = [*(_user_admin.actions or []), erase_people]
