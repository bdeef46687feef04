from django.contrib import admin

from .models import ErasureRecord, ImportJob, ImportProblem


@admin.register(ErasureRecord)
class ErasureRecordAdmin(admin.ModelAdmin):
    list_display = ["customer_id", "erased_at", "erased_by", "reason"]
    list_filter = ["erased_at"]
    search_fields = ["customer_id"]
    readonly_fields = ["customer_id", "erased_at", "erased_by", "reason"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ImportProblemInline(admin.TabularInline):
    model = ImportProblem
    extra = 0
    can_delete = False
    readonly_fields = ["line", "outcome", "field", "reason"]
    max_num = 0


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "file_name", "status", "total_rows", "created_rows", "error_rows"]
    list_filter = ["kind", "status"]
    exclude = ["content"]
    readonly_fields = [f.name for f in ImportJob._meta.fields if f.name not in ("content",)]
    inlines = [ImportProblemInline]

    def has_add_permission(self, request):
        return False
