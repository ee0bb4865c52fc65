#!/usr/bin/env bash
# Builds the base image (Dockerfile) and the example specialisation's image by
# running the recipe of docs/operations.md as it is written there (the block
# between the `docker-recipe` comments), with `docker build` standing for
# podman's: there is no Docker engine or registry here (docs/testing.md).
# Then checks the example image's size (at most DOCKER_CHECK_MAX_MB, 250) and
# tries it: runs the image's command, environment and working folder from its
# own file system (chroot as its user; `podman run` is not permitted here),
# checks that GET /jobs needs the token the service made in its volume, runs
# the example workflow to Success through /files with the Python client, stops
# the service with SIGTERM, and checks that it wrote nothing outside its
# volume. Run as root from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${DOCKER_CHECK_DIR:-/tmp/cerise-docker-check}
MAX_MB=${DOCKER_CHECK_MAX_MB:-250}
PODMAN=(podman --cgroup-manager=cgroupfs)
BASE_OS=localhost/debian:bookworm-slim-debootstrap
IMAGE=localhost/cerise-actors-example
DATA=/home/cerise/data
PORT=29593
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
mkdir -p "$WORK"

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap >/dev/null
fi

# A Debian base image without any registry: debootstrap, trimmed as
# debian:bookworm-slim is (and dpkg told to keep it so), then imported.
if ! "${PODMAN[@]}" image exists "$BASE_OS"; then
    rootfs=$WORK/rootfs
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" >"$WORK/debootstrap.log"
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,locale}/* \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
    tar -C "$rootfs" -c . | "${PODMAN[@]}" import - "$BASE_OS" >/dev/null
    rm -rf "$rootfs"
fi

# The recipe, from the documentation.
recipe=$(sed -n '/^<!-- docker-recipe/,/^<!-- \/docker-recipe -->/p' docs/operations.md |
    sed -n '/^```sh$/,/^```$/{/^```/d;p}')
if ! grep -q '^docker build ' <<<"$recipe"; then
    echo "docker-check: no docker-recipe block with docker build in docs/operations.md" >&2
    exit 1
fi
secret=()
[ -s "$CA_BUNDLE" ] && secret=(--secret "id=cacert,src=$CA_BUNDLE")
docker() {
    if [ "$1" != build ]; then
        echo "docker-check: the recipe may only build here, not: docker $*" >&2
        return 1
    fi
    shift
    "${PODMAN[@]}" build --isolation=chroot --build-arg BASE="$BASE_OS" "${secret[@]}" "$@"
}
echo "docker-check: the recipe of docs/operations.md:"
sed 's/^/    /' <<<"$recipe"
eval "$recipe"

size_mb() { echo $(($("${PODMAN[@]}" image inspect --format '{{.Size}}' "$1") / 1000000)); }
base_mb=$(size_mb localhost/cerise-actors)
example_mb=$(size_mb "$IMAGE")
echo "docker-check: image sizes: cerise-actors ${base_mb} MB, cerise-actors-example ${example_mb} MB"
if [ "$example_mb" -gt "$MAX_MB" ]; then
    echo "docker-check: the example image is larger than ${MAX_MB} MB" >&2
    exit 1
fi

# Try the example image from a writable container file system, as `docker run`
# would run it: its command, environment, user and working folder.
inspect() { "${PODMAN[@]}" image inspect --format "$1" "$IMAGE"; }
mapfile -t image_env < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t image_cmd < <(inspect '{{range .Config.Cmd}}{{println .}}{{end}}' | sed '/^$/d')
image_user=$(inspect '{{.Config.User}}')
image_dir=$(inspect '{{.Config.WorkingDir}}')
ctr=$("${PODMAN[@]}" create "$IMAGE")
root=$("${PODMAN[@]}" mount "$ctr")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    umount "$root/proc" 2>/dev/null || true
    umount "$root/dev" 2>/dev/null || true
    "${PODMAN[@]}" umount "$ctr" >/dev/null 2>&1 || true
    "${PODMAN[@]}" rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
chroot --userspec="$image_user:$image_user" "$root" /usr/bin/env -i HOME="/home/$image_user" \
    "${image_env[@]}" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$image_dir" "${image_cmd[@]}" &
pid=$!

python3 - "$PORT" "$root$DATA/token" "$root$DATA/cerise.url" <<'EOF'
import sys, time, urllib.error, urllib.request
from pathlib import Path
from cerise_actors.client import Service
url = f'http://127.0.0.1:{sys.argv[1]}'
token_file = Path(sys.argv[2])  # made by the service in the image's volume
ready_file = Path(sys.argv[3])  # the pid file's .url: written once start-up is done
deadline = time.monotonic() + 300
while True:
    try:
        urllib.request.urlopen(url + '/jobs', timeout=5).read()
        sys.exit('the service in the image answered GET /jobs without a token')
    except urllib.error.HTTPError as exc:
        if exc.code == 401 and token_file.exists() and ready_file.exists():
            break  # started, and it wants its token
        if time.monotonic() > deadline:
            sys.exit(f'the service in the image answered GET /jobs with {exc.code}')
    except OSError:
        if time.monotonic() > deadline:
            sys.exit('the service in the image did not answer GET /jobs')
    time.sleep(0.5)
service = Service(url, token_file=token_file)
job = service.create_job('docker-check', workflow=Path(
    'specialisation_examples/example/test_workflow.cwl'))
job.run()
job.wait(timeout=300)
print('example workflow in the image:', job.state, job.outputs['output'].text().strip())
if job.state != 'Success':
    sys.exit(job.log)
job.delete()
EOF

kill -TERM "$pid"
wait "$pid"
pid=
# All state under the volume: what the container's file system gained or lost
# lies under it (or is one of the folders above it); temporary files may come
# and go in /tmp (the folder changes), but none may stay.
changes=$("${PODMAN[@]}" diff "$ctr")  # lines of "<A|C|D> <path>"
outside=$(awk -v data="$DATA" '$2 != "/home" && $2 != "/home/cerise" && $2 != "/tmp" &&
    $2 != data && index($2, data "/") != 1' <<<"$changes")
if [ -n "$outside" ]; then
    echo "docker-check: the service wrote outside $DATA:" >&2
    echo "$outside" >&2
    exit 1
fi
echo "docker-check: $(grep -c . <<<"$changes") changes to the container's files, all under $DATA"
echo "docker check: both images built from the documented recipe; the example image" \
    "(${example_mb} MB) ran the example workflow to Success, with all its state in $DATA"
