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
# Build (wheels are built on the host first, so the image installs offline and
# reproducibly; the wheelhouse holds the CWL runner's wheels for the Pythons of
# compute resources, 3.10 to 3.13, installed there without internet):
#   pip wheel . -w wheels && cerise-actors wheelhouse --dest wheelhouse \
#     && docker build -t cerise-actors .
ARG BASE=debian:bookworm-slim
FROM ${BASE}

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv procps hostname ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd -m -s /bin/bash cerise

COPY wheelhouse /opt/cerise-actors/wheelhouse
COPY wheels /tmp/wheels
RUN python3 -m venv /opt/cerise-actors \
 && /opt/cerise-actors/bin/pip install --no-index --find-links /tmp/wheels cerise-actors \
 && rm -rf /tmp/wheels

COPY conf/docker-config.yml /home/cerise/conf/config.yml
RUN mkdir -p /home/cerise/api /home/cerise/data && chown -R cerise:cerise /home/cerise

USER cerise
WORKDIR /home/cerise
ENV PATH=/opt/cerise-actors/bin:$PATH \
    CERISE_CONFIG=/home/cerise/conf/config.yml \
    CERISE_API_DIR=/home/cerise/api \
    CERISE_WHEELHOUSE=/opt/cerise-actors/wheelhouse
VOLUME /home/cerise/data
EXPOSE 29593
STOPSIGNAL SIGTERM
CMD ["cerise-actors", "serve"]
