# One image for every process of the system: api, projector and worker differ only by command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dispatch ./dispatch
COPY ui ./ui
# /app/var (the data dir) belongs to the service user, so a volume mounted there starts writable.
RUN pip install --no-cache-dir . && useradd --system --home /app dispatch && install -d -o dispatch /app/var
USER dispatch
EXPOSE 8080
CMD ["dispatch", "api", "--host", "0.0.0.0", "--port", "8080"]
