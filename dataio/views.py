"""Bulk data pages: exports for everyone, imports with a worker-driven progress bar and
the privacy tools for admins."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import is_admin, role_of
from core.csv_files import csv_response
from customers.models import Customer

from . import privacy, reports, selectors, tasks
from .forms import EraseForm, ImportForm
from .models import ImportJob


def _admin_only(request) -> None:
    if not is_admin(request.user):
        raise PermissionDenied("Only admins do this.")


def _staff_only(request) -> None:
    if role_of(request.user) is None:
        raise PermissionDenied("Only staff export data.")


@login_required
def home(request):
    _staff_only(request)
    admin = is_admin(request.user)
    return render(
        request,
        "dataio/home.html",
        {
            "form": ImportForm() if admin else None,
            "jobs": selectors.import_jobs_recent() if admin else [],
            "export_columns": selectors.export_columns(request.user),
        },
    )


@login_required
@require_POST
def import_upload(request):
    _admin_only(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(
            request,
            "dataio/home.html",
            {
                "form": form,
                "jobs": selectors.import_jobs_recent(),
                "export_columns": selectors.export_columns(request.user),
            },
            status=400,
        )
    upload = form.cleaned_data["file"]
    job = tasks.import_job_enqueue(
        kind=form.cleaned_data["kind"],
        content=upload.read(),
        file_name=upload.name,
        by=request.user,
    )
    return redirect("dataio:job", job_id=job.pk)


def _job_for(request, job_id: int) -> ImportJob:
    _admin_only(request)
    return get_object_or_404(ImportJob.objects.defer("content"), pk=job_id)


@login_required
def job_detail(request, job_id: int):
    job = _job_for(request, job_id)
    return render(
        request,
        "dataio/job.html",
        {"job": job, "problems": job.problems.all()[:100]},
    )


@login_required
def job_progress(request, job_id: int):
    """The progress fragment htmx swaps in every second until the job has finished."""
    job = _job_for(request, job_id)
    problems = job.problems.all()[:100] if job.finished else []
    return render(request, "dataio/_job_progress.html", {"job": job, "problems": problems})


def job_status_data(job: ImportJob) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "percent": job.percent,
        "finished": job.finished,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created_rows": job.created_rows,
        "updated_rows": job.updated_rows,
        "unchanged_rows": job.unchanged_rows,
        "duplicate_rows": job.duplicate_rows,
        "error_rows": job.error_rows,
        "customers_created": job.customers_created,
        "key_rule": job.key_rule,
        "key_rule_display": job.get_key_rule_display(),
        "error": job.error,
    }


@login_required
def job_status(request, job_id: int):
    return JsonResponse(job_status_data(_job_for(request, job_id)))


@login_required
def job_report(request, job_id: int):
    job = _job_for(request, job_id)
    return csv_response(reports.report_csv_lines(job), filename=f"import-{job.pk}-report.csv")


def customers_csv_response(user) -> StreamingHttpResponse:
    stamp = timezone.localdate().isoformat()
    return csv_response(selectors.customers_csv_lines(user), filename=f"customers-{stamp}.csv")


@login_required
def customers_export(request):
    _staff_only(request)
    return customers_csv_response(request.user)


def _customer_for_admin(request, customer_id: int) -> Customer:
    _admin_only(request)
    return get_object_or_404(Customer, pk=customer_id)


@login_required
def customer_privacy_export(request, customer_id: int):
    customer = _customer_for_admin(request, customer_id)
    data = privacy.customer_everything(customer_id=customer.pk)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@login_required
def customer_erase(request, customer_id: int):
    customer = _customer_for_admin(request, customer_id)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        privacy.customer_erase(
            customer_id=customer.pk, by=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(request, f"The personal data of customer {customer.pk} was erased.")
        return redirect("customers:detail", customer_id=customer.pk)
    return render(
        request,
        "dataio/erase.html",
        {"customer": customer, "form": form},
        status=400 if request.method == "POST" else 200,
    )
