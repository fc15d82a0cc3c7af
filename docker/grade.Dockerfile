# An image that grades a class with `torchcourse grade`, for the container command in
# docs/instructors.md: run it with no network, the submissions mounted read-only, as the
# unprivileged user below, with memory, CPU and process limits.
#
#   docker build -f docker/grade.Dockerfile -t torchcourse-grade .
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMP_NUM_THREADS=1 \
    TORCHCOURSE_ROOT=/course \
    TORCHCOURSE_CACHE=/course/.cache \
    JUPYTER_RUNTIME_DIR=/tmp/jupyter-runtime

# CPU wheels of PyTorch (a grader needs no GPU), then the course with its tools.
COPY . /course
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch torchvision \
    && pip install "/course[tools]" \
    && useradd --create-home --uid 1000 grader \
    && python -c "from torchcourse.data import prepare_mnist; prepare_mnist()" \
    && chmod -R a+rX /course

USER grader
# matplotlib's font cache, built once here rather than in every kernel.
RUN python -c "import matplotlib.pyplot"
WORKDIR /home/grader
ENTRYPOINT ["python", "-m", "torchcourse", "grade"]
