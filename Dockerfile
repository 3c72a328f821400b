FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 1000 kongflow
COPY pyproject.toml ./
COPY kongflow ./kongflow
COPY endpoints ./endpoints
COPY endpointapi ./endpointapi
RUN pip install .
COPY manage.py gunicorn.conf.py ./
COPY templates ./templates
# collectstatic reads the settings but connects to nothing: placeholders for the two required ones.
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build-only/none python manage.py collectstatic --noinput -v 0
USER kongflow
EXPOSE 8000
ENV WEB_CONCURRENCY=3 WEB_THREADS=8
CMD ["gunicorn", "kongflow.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
