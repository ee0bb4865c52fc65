# The base image of cerise-actors: the service on 0.0.0.0:29593 with /jobs and
# /files on that one port, all state under /home/cerise/data (one volume), run
# as the unprivileged user `cerise`. Specialisations build FROM it and copy
# their api/ folder to /home/cerise/api (see specialisation_examples/example).
#
# Every request needs a token: made at the first start in
# /home/cerise/data/token (kept with the volume) and printed on stdout with
# the URL (docker logs). To give one beforehand, mount a users file and a
# configuration naming it (rest-service.users); CERISE_AUTH=none only behind
# an authenticating proxy. See docs/operations.md, "Tokens in a container".
#
# Build (docs/operations.md, "Docker images"; .ci/docker-check.sh runs that recipe):
#   docker build -t cerise-actors .
# Two stages: `builder` fetches and builds the wheels from the package index
# into a venv; the final stage is the OS's python3 plus a copy of that venv, so
# no compiler, pip cache, wheel file or build dependency ends up in the image.
#
# Build arguments:
#   BASE=<image>    the Debian 12 image both stages start from (CI has no
#                   registry and passes one made with debootstrap)
#   WHEELHOUSE=1    also carry the wheelhouse the CWL runner is installed from
#                   on remote resources (Python 3.10 to 3.13, about 150 MB).
#                   Without it (the default) the service builds the one folder
#                   a resource's Python needs on first need, in
#                   /home/cerise/data/wheelhouse, if it reaches a package index.
# Behind a proxy that intercepts TLS, hand the builder its CA bundle:
#   docker build --secret id=cacert,src=/etc/ssl/certs/ca-certificates.crt ...
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv ca-certificates binutils \
 && rm -rf /var/lib/apt/lists/*
COPY setup.py README.md /src/
COPY cerise_actors /src/cerise_actors
ARG WHEELHOUSE=0
# The venv lives where it will run (/opt/cerise-actors), so it is copied as it
# is. What only building or testing needs is left behind: setuptools, the
# packages' own tests, C sources and headers, type stubs, and the debugging
# symbols of shared libraries (mini-racer's V8 alone: 74 -> 55 MB; the symbols
# they export stay). No bytecode either: see PYTHONPYCACHEPREFIX below.
# Dependencies that neither the service nor a job imports (networkx: prov's
# graph export, pygments: rich's highlighting, invoke: paramiko's
# tasks, tzdata: what /usr/share/zoneinfo has) stay importable from one zip
# file on sys.path (rarely-used.pth), at a quarter of their size.
RUN --mount=type=secret,id=cacert \
    set -e; \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi; \
    export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1; \
    python3 -m venv /opt/cerise-actors; \
    /opt/cerise-actors/bin/pip wheel --quiet --use-pep517 --wheel-dir /wheels /src; \
    /opt/cerise-actors/bin/pip install --quiet --no-compile --no-index --find-links /wheels \
        cerise-actors; \
    /opt/cerise-actors/bin/pip uninstall --quiet --yes setuptools; \
    rm -rf /wheels /src; \
    cd /opt/cerise-actors/lib/python3*/site-packages; \
    find . -depth -type d \( -name tests -o -name __pycache__ \) -exec rm -rf {} +; \
    find . -type f \( -name '*.c' -o -name '*.h' -o -name '*.pyx' -o -name '*.pxd' \
        -o -name '*.pxi' -o -name '*.pyi' \) -delete; \
    find /opt/cerise-actors -name '*.so*' -type f -exec strip --strip-unneeded {} +; \
    mkdir /tmp/rarely-used; mv networkx pygments invoke tzdata /tmp/rarely-used/; \
    python3 -c 'import shutil; shutil.make_archive("rarely-used", "zip", "/tmp/rarely-used")'; \
    echo rarely-used.zip >rarely-used.pth; rm -rf /tmp/rarely-used; \
    if [ "$WHEELHOUSE" = 1 ]; then \
        PYTHONDONTWRITEBYTECODE=1 /opt/cerise-actors/bin/cerise-actors wheelhouse \
            --dest /opt/cerise-actors/wheelhouse; \
    fi

FROM ${BASE}
# procps: ps, which the job scripts use; hostname: the example's step. The
# standard library's bytecode goes too (see PYTHONPYCACHEPREFIX).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 procps hostname ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \
 && find /usr/lib/python3* -depth -type d -name __pycache__ -exec rm -rf {} + \
 && useradd -m -s /bin/bash cerise \
 && mkdir -p /home/cerise/api /home/cerise/data \
 && chown -R cerise:cerise /home/cerise
COPY --from=builder /opt/cerise-actors /opt/cerise-actors
COPY conf/docker-config.yml /home/cerise/conf/config.yml

USER cerise
# Relative paths in the configurations (a specialisation's files.path, say)
# resolve against the folder the service starts in: the volume.
WORKDIR /home/cerise/data
# CERISE_WHEELHOUSE: carried with WHEELHOUSE=1; otherwise absent and, as
# /opt is not the service's to write, built under the data volume on first
# need. PIP_NO_CACHE_DIR: that build leaves no pip cache in ~/.cache.
# PYTHONPYCACHEPREFIX: the image carries no bytecode (about 65 MB); Python
# compiles what the service and its jobs import once, into the volume, and
# reuses it from there at every later start. HOME: what goes to ~ (an SSH
# resource's ~/.ssh/known_hosts, caches) is on the volume as well.
ENV HOME=/home/cerise/data \
    PATH=/opt/cerise-actors/bin:$PATH \
    CERISE_CONFIG=/home/cerise/conf/config.yml \
    CERISE_API_DIR=/home/cerise/api \
    CERISE_WHEELHOUSE=/opt/cerise-actors/wheelhouse \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPYCACHEPREFIX=/home/cerise/data/.cache/python
VOLUME /home/cerise/data
EXPOSE 29593
STOPSIGNAL SIGTERM
CMD ["cerise-actors", "serve"]
