#!/usr/bin/env bash
# Builds the base image (Dockerfile) and the example specialisation's image
# with podman, then tries the example image: runs the service from the image's
# own file system (chroot as user cerise; there is no Docker engine here and
# `podman run` is not permitted, see docs/testing.md), checks that GET /jobs
# needs the token the service made in its volume, runs the example workflow to Success through /files with the Python client,
# and stops the service with SIGTERM. Run as root from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${DOCKER_CHECK_DIR:-/tmp/cerise-docker-check}
PODMAN=(podman --cgroup-manager=cgroupfs)
BASE_OS=localhost/debian:bookworm-minbase
PORT=29593
mkdir -p "$WORK"

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap >/dev/null
fi

# A Debian base image without any registry: debootstrap, then import.
if ! "${PODMAN[@]}" image exists "$BASE_OS"; then
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" >"$WORK/debootstrap.log"
    tar -C "$WORK/rootfs" -c . | "${PODMAN[@]}" import - "$BASE_OS"
fi

# Wheels are built here; the image installs them without an index.
rm -rf wheels wheelhouse
pip wheel -q . -w wheels
# ... and the wheelhouse the CWL runner is installed from on remote resources
python3 -m cerise_actors wheelhouse --dest wheelhouse
"${PODMAN[@]}" build --isolation=chroot --build-arg BASE="$BASE_OS" \
    -t localhost/cerise-actors .
"${PODMAN[@]}" build --isolation=chroot --build-arg BASE_IMAGE=localhost/cerise-actors \
    -t localhost/cerise-actors-example specialisation_examples/example
rm -rf wheels wheelhouse

# Try the example image from a writable container file system.
ctr=$("${PODMAN[@]}" create localhost/cerise-actors-example)
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
# The image's ENV, as `docker run` would set it.
chroot --userspec=cerise:cerise "$root" /usr/bin/env -i HOME=/home/cerise \
    PATH=/opt/cerise-actors/bin:/usr/local/bin:/usr/bin:/bin \
    CERISE_CONFIG=/home/cerise/conf/config.yml CERISE_API_DIR=/home/cerise/api \
    CERISE_WHEELHOUSE=/opt/cerise-actors/wheelhouse \
    /bin/sh -c 'cd /home/cerise && exec cerise-actors serve' &
pid=$!

python3 - "$PORT" "$root/home/cerise/data/token" <<'EOF'
import sys, time, urllib.error, urllib.request
from pathlib import Path
from cerise_actors.client import Service
url = f'http://127.0.0.1:{sys.argv[1]}'
token_file = Path(sys.argv[2])  # made by the service in the image's volume
deadline = time.monotonic() + 300
while True:
    try:
        urllib.request.urlopen(url + '/jobs', timeout=5).read()
        sys.exit('the service in the image answered GET /jobs without a token')
    except urllib.error.HTTPError as exc:
        if exc.code == 401 and token_file.exists():
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
echo "docker check: both images built; the example image ran the example workflow to Success"
