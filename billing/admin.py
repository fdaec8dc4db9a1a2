from django.contrib import admin

from billing.models import Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "price_monthly", "price_yearly", "is_public", "sort_order")
    list_editable = ("is_public", "sort_order")
    search_fields = ("code", "name")
