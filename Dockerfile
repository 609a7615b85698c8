# One image for every process of the system: api, projector and worker differ only by command.
# Built as the package ships: a wheel of the project (the pages inside it), installed into a clean image,
# so the image runs exactly what `pip install` of the wheel gives and nothing of the checkout.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=wheel /wheels /wheels
# /app/var (the data dir) belongs to the service user, so a volume mounted there starts writable.
RUN pip install --no-cache-dir /wheels/*.whl && rm -r /wheels \
    && useradd --system --create-home --home-dir /app dispatch && install -d -o dispatch /app/var
USER dispatch
WORKDIR /app
EXPOSE 8080
CMD ["dispatch", "api", "--host", "0.0.0.0", "--port", "8080"]
