# Production image: web (gunicorn), worker and scheduler all run from it.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH="/opt/venv/bin:$PATH" \
    CRM_VAR_DIR=/app/var

RUN pip install --no-cache-dir "uv>=0.9" && useradd --create-home --uid 1000 crm
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN DJANGO_SETTINGS_MODULE=crm.settings.local python manage.py collectstatic --noinput \
    && chown -R crm:crm /app/var
USER crm
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
