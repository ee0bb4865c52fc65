#!/usr/bin/env bash
# A real compute-resource test bed on one Debian 12 machine (root, no systemd,
# no Docker): sshd on loopback, Slurm on one node, Grid Engine on one node, and
# Torque-style qsub/qstat/qdel (Slurm's Torque wrappers) for a second user.
#
#   testbed.sh install            install the packages (once per machine)
#   testbed.sh start [STATE_DIR]  create users/keys, start the daemons, write env.sh
#   testbed.sh stop  [STATE_DIR]  stop the daemons that `start` started (by PID)
#   testbed.sh status [STATE_DIR] show what runs
#   testbed.sh check [STATE_DIR]  smoke-test it over SSH (ssh, sftp, 3 schedulers)
#   testbed.sh rhel-user [STATE_DIR]  (re)make the RHEL-9-like user only, without
#                                 touching the daemons (`start` does it too)
#
# STATE_DIR defaults to /tmp/cerise-testbed. Every subcommand is idempotent:
# running it twice does no work the second time. See README.md beside this file.
set -euo pipefail

# ---------------------------------------------------------------- constants --
DEFAULT_STATE_DIR=/tmp/cerise-testbed
SSH_PORT=2222
SSH_ADDR=127.0.0.1
USER_MAIN=cerise             # ssh + none, Slurm and Grid Engine tests
USER_TORQUE=cerise-torque    # sees the Torque wrappers first in PATH
USER_BARE=cerise-bare        # a resource with only python3 and bash: no cwltool, no node
BARE_BIN=/opt/cerise-testbed-bare-bin   # $USER_BARE's whole PATH
USER_RHEL=cerise-rhel        # like a RHEL 9 account: python3 is 3.9, `module load python/3.11`
RHEL_ROOT=/opt/cerise-testbed-rhel      # its PATH (bin/), Pythons (python/X.Y/) and modulefiles/
RHEL_PYTHONS=(3.9 3.11)      # copied from root's pyenv; 3.9 is its python3
PASSWORD=cerisepw            # password of $USER_MAIN (password-login tests)
PASSPHRASE=testpass          # passphrase of the key id_ed25519_pass
VENV=/opt/cerise-testbed-venv        # cwltool for the jobs
TORQUE_ROOT=/opt/cerise-testbed-torque  # dpkg -x of slurm-wlm-torque
TORQUE_BIN=$TORQUE_ROOT/usr/bin
SGE_ROOT=/var/lib/gridengine
SGE_CELL=default
SLURM_CONF=/etc/slurm/slurm.conf
# Slurm client commands linked next to the Torque wrappers (they call
# ${FindBin::Bin}/sbatch, .../srun, .../salloc).
SLURM_CLIENTS=(sbatch squeue scancel scontrol sacct sinfo srun salloc)
# Marker ending the PATH line this script puts first in the users' ~/.bashrc.
BASHRC_MARK="# cerise-testbed: keep this line first (non-interactive shells return below)"

APT_PACKAGES=(openssh-server slurm-wlm munge gridengine-master gridengine-exec
    gridengine-client libslurm-perl libslurmdb-perl libswitch-perl procps
    python3 python3-venv bc patchelf)

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

# True if PID is a live (not zombie) process whose command name is NAME.
pid_is() {
    local pid=$1 name=$2 comm state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $comm == "$name" && $state != Z ]]
}

# True if the pid in FILE is a live process named NAME.
pidfile_alive() {
    local file=$1 name=$2
    [[ -s $file ]] && pid_is "$(tr -dc 0-9 <"$file")" "$name"
}

# Wait until the command "$@" succeeds, at most TIMEOUT seconds.
wait_for() {
    local timeout=$1; shift
    local end=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || return 1
        sleep 0.5
    done
}

# ================================================================= install ==
pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

cmd_install() {
    [[ $(id -u) -eq 0 ]] || die "install must run as root"

    # 1. Debian packages. Daemons must not start at install time (sshd would
    #    listen on port 22 of all addresses; Grid Engine with the wrong host
    #    name): Debian's policy-rc.d mechanism prevents that. Docker-style
    #    images already have one that says "no" (exit 101); otherwise we put
    #    one in place for the duration of the install only.
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        local own_policy=
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            own_policy=1
        fi
        # Grid Engine's debconf questions: configure a cluster, cell "default",
        # master "localhost" (host_aliases maps it to `hostname` at start).
        debconf-set-selections <<'EOF'
gridengine-common shared/gridengineconfig boolean true
gridengine-common shared/gridenginecell string default
gridengine-common shared/gridenginemaster string localhost
EOF
        apt-get update -qq
        local rc=0
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${APT_PACKAGES[@]}" >/dev/null || rc=$?
        [[ -n $own_policy ]] && rm -f /usr/sbin/policy-rc.d
        ((rc == 0)) || die "apt-get install failed ($rc)"
    else
        log "Debian packages already installed"
    fi

    # 2. Torque wrappers: slurm-wlm-torque conflicts with gridengine-client
    #    (both own /usr/bin/qsub), so unpack it privately instead of installing
    #    it, and link the Slurm client commands next to its qsub.
    if [[ ! -x $TORQUE_BIN/qsub ]]; then
        log "unpacking slurm-wlm-torque into $TORQUE_ROOT"
        local tmp
        tmp=$(mktemp -d)
        chmod 755 "$tmp"
        id _apt >/dev/null 2>&1 && chown _apt "$tmp"  # apt downloads as _apt
        (cd "$tmp" && apt-get download -qq slurm-wlm-torque >/dev/null) ||
            { apt-get update -qq && (cd "$tmp" && apt-get download -qq slurm-wlm-torque >/dev/null); }
        mkdir -p "$TORQUE_ROOT"
        dpkg -x "$tmp"/slurm-wlm-torque_*.deb "$TORQUE_ROOT"
        rm -rf "$tmp"
    else
        log "Torque wrappers already in $TORQUE_BIN"
    fi
    local c
    for c in "${SLURM_CLIENTS[@]}"; do
        [[ -e /usr/bin/$c ]] || die "/usr/bin/$c missing (slurm-client not installed?)"
        ln -sfn "/usr/bin/$c" "$TORQUE_BIN/$c"
    done

    # 3. cwltool for the jobs, in a venv of Debian's python3 (readable by the
    #    test users, unlike root's pyenv), unless it already works.
    if "$VENV/bin/cwltool" --version >/dev/null 2>&1; then
        log "cwltool already in $VENV"
    else
        log "installing cwltool into $VENV"
        rm -rf "$VENV"
        /usr/bin/python3 -m venv "$VENV"
        # (pip's output goes to a log, shown only if it fails)
        local piplog=/tmp/cerise-testbed-pip.log
        { "$VENV/bin/pip" install --upgrade pip && "$VENV/bin/pip" install cwltool; } >"$piplog" 2>&1 ||
            { tail -30 "$piplog" >&2; die "pip install cwltool failed (log: $piplog)"; }
        "$VENV/bin/cwltool" --version >/dev/null || die "cwltool does not run from $VENV"
    fi
    log "install done"
}

# =================================================================== start ==
# Put (or refresh) LINE as the FIRST line of USER's ~/.bashrc, before Debian's
# "If not running interactively, don't do anything" return, so that
# `ssh user@host CMD` (a non-interactive shell that still reads ~/.bashrc)
# sees it. The line ends in a marker, so a later run replaces it.
put_first_line() {
    local user=$1 line=$2 home rc tmp
    home=$(getent passwd "$user" | cut -d: -f6)
    rc=$home/.bashrc
    [[ -e $rc ]] || install -o "$user" -g "$user" -m 644 /etc/skel/.bashrc "$rc"
    tmp=$(mktemp)
    {
        echo "$line $BASHRC_MARK"
        # the rest of the file, without a previous copy of that line
        grep -vF "$BASHRC_MARK" "$rc" || true
    } >"$tmp"
    if ! cmp -s "$tmp" "$rc"; then
        cat "$tmp" >"$rc"   # keeps owner and mode
    fi
    rm -f "$tmp"
}

# PATH_PREFIX first on USER's PATH (cwltool and, for the Torque user, the wrappers).
put_path_block() {
    local user=$1 path_prefix=$2
    put_first_line "$user" "case \":\$PATH:\" in *\":${path_prefix%%:*}:\"*) ;; *) export PATH=\"$path_prefix:\$PATH\" ;; esac"
}

ensure_user() {
    local user=$1 uid
    if ! id "$user" >/dev/null 2>&1; then
        log "creating user $user"
        useradd -m -s /bin/bash "$user"
    fi
    uid=$(id -u "$user")
    ((uid >= 1000)) || die "user $user has uid $uid < 1000 (Grid Engine rejects it)"
    # A new account is locked ('!'), and sshd refuses even key logins then.
    # '*' unlocks it for keys without a password.
    local hash
    hash=$(getent shadow "$user" | cut -d: -f2)
    [[ $hash == '!'* || -z $hash ]] && usermod -p '*' "$user"
    return 0
}

authorize_keys() {
    local user=$1 home
    home=$(getent passwd "$user" | cut -d: -f6)
    install -d -o "$user" -g "$user" -m 700 "$home/.ssh"
    cat "$STATE_DIR/id_ed25519.pub" "$STATE_DIR/id_ed25519_pass.pub" >"$home/.ssh/authorized_keys"
    chown "$user:$user" "$home/.ssh/authorized_keys"
    chmod 600 "$home/.ssh/authorized_keys"
}

# PATH of $USER_BARE: links to every program of /usr/bin and /usr/sbin except
# node and the CWL runners, so the service must bring its own runner.
make_bare_bin() {
    local dir tool
    rm -rf "$BARE_BIN.new" && mkdir -p "$BARE_BIN.new"
    for dir in /usr/sbin /usr/bin; do
        for tool in "$dir"/*; do
            case ${tool##*/} in node | nodejs | npm | npx | cwltool | cwl-runner) continue ;; esac
            ln -sf "$tool" "$BARE_BIN.new/${tool##*/}"
        done
    done
    rm -rf "$BARE_BIN" && mv "$BARE_BIN.new" "$BARE_BIN"
}

# The first line of $USER_BARE's ~/.bashrc sets the whole PATH.
put_bare_path() {
    put_first_line "$USER_BARE" "export PATH=$BARE_BIN"
}

# Newest pyenv Python X.Y of root (or $PYENV_ROOT); root's home is private,
# so the RHEL user gets copies.
pyenv_python() {
    local root=${PYENV_ROOT:-/root/.pyenv} found
    found=$(ls -d "$root"/versions/"$1".* 2>/dev/null | sort -V | tail -n 1)
    [[ -n $found && -x $found/bin/python$1 ]] || die "no Python $1 in $root/versions (pyenv install $1)"
    echo "$found"
}

# $RHEL_ROOT/python/X.Y: a copy of pyenv's Python X.Y without its site-packages,
# its libpython found beside it ($ORIGIN), as a cluster's /sw/python would be.
copy_rhel_python() {
    local version=$1 src dest=$RHEL_ROOT/python/$1
    if "$dest/bin/python$version" -c 'import venv, ssl' 2>/dev/null; then return; fi
    src=$(pyenv_python "$version")
    log "copying $src to $dest"
    rm -rf "$dest.new" && mkdir -p "$dest.new"
    tar -C "$src" --exclude="./lib/python$version/site-packages/*" -cf - . | tar -C "$dest.new" -xf -
    patchelf --set-rpath '$ORIGIN/../lib' "$dest.new/bin/python$version"
    chmod -R a+rX "$dest.new"
    rm -rf "$dest" && mv "$dest.new" "$dest"
    "$dest/bin/python$version" -c 'import venv, ssl' || die "$dest/bin/python$version does not run"
}

# $USER_RHEL's PATH, as on RHEL 9: the system's programs (links to /usr/bin and
# /usr/sbin, without Debian's Pythons, node or the CWL runners), python3 = 3.9.
# A modulefile per Python (shell lines that `module load` sources).
make_rhel_tree() {
    local version dir tool bin=$RHEL_ROOT/bin
    for version in "${RHEL_PYTHONS[@]}"; do copy_rhel_python "$version"; done
    rm -rf "$bin.new" && mkdir -p "$bin.new"
    for dir in /usr/sbin /usr/bin; do
        for tool in "$dir"/*; do
            case ${tool##*/} in
                python* | pydoc* | pip* | 2to3* | idle* | node | nodejs | npm | npx | cwltool | cwl-runner) continue ;;
            esac
            ln -sf "$tool" "$bin.new/${tool##*/}"
        done
    done
    ln -s "$RHEL_ROOT/python/3.9/bin/python3.9" "$bin.new/python3"
    ln -s "$RHEL_ROOT/python/3.9/bin/python3.9" "$bin.new/python3.9"
    rm -rf "$bin" && mv "$bin.new" "$bin"
    mkdir -p "$RHEL_ROOT/modulefiles/python"
    for version in "${RHEL_PYTHONS[@]}"; do
        dir=$RHEL_ROOT/python/$version
        printf '%s\n' "# module python/$version (cerise test bed)" \
            "export PATH=$dir/bin:\$PATH" \
            "export LD_LIBRARY_PATH=$dir/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" \
            >"$RHEL_ROOT/modulefiles/python/$version"
    done
    chmod -R a+rX "$RHEL_ROOT"
}

# The first line of $USER_RHEL's ~/.bashrc sets its PATH and defines `module`,
# exported (as Environment Modules and Lmod do) so that the bash of each
# command and job script started from that shell has it too.
put_rhel_bashrc() {
    local files=$RHEL_ROOT/modulefiles
    put_first_line "$USER_RHEL" "export PATH=$RHEL_ROOT/bin; module() { if [ \"\$1\" = load ] && [ -n \"\$2\" ] && [ -f $files/\"\$2\" ]; then . $files/\"\$2\"; else echo \"ERROR: Unable to locate a modulefile for '\$2'\" >&2; return 1; fi; }; export -f module;"
}

# The RHEL-9-like user, complete; safe to run while the daemons run (it needs
# them only to be reached: sshd's AllowUsers lists it from the next `start`).
start_rhel_user() {
    command -v patchelf >/dev/null || die "patchelf missing: run '$0 install' first"
    ensure_user "$USER_RHEL"
    make_rhel_tree
    put_rhel_bashrc
    [[ -s $STATE_DIR/id_ed25519 ]] || die "no keys in $STATE_DIR: run '$0 start' first"
    authorize_keys "$USER_RHEL"
}

start_users_and_keys() {
    ensure_user "$USER_MAIN"
    ensure_user "$USER_TORQUE"
    ensure_user "$USER_BARE"
    make_bare_bin
    put_bare_path
    # password for password-login tests (only if it is not already that one)
    local hash
    hash=$(getent shadow "$USER_MAIN" | cut -d: -f2)
    if [[ $hash != '$'* ]] || [[ $(/usr/bin/python3 -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))' \
            "$PASSWORD" "$hash" 2>/dev/null) != "$hash" ]]; then
        echo "$USER_MAIN:$PASSWORD" | chpasswd
    fi
    put_path_block "$USER_MAIN" "$VENV/bin"
    put_path_block "$USER_TORQUE" "$TORQUE_BIN:$VENV/bin"

    # client keys: one without passphrase, one with
    [[ -s $STATE_DIR/id_ed25519 ]] ||
        ssh-keygen -q -t ed25519 -N '' -C cerise-testbed -f "$STATE_DIR/id_ed25519"
    [[ -s $STATE_DIR/id_ed25519_pass ]] ||
        ssh-keygen -q -t ed25519 -N "$PASSPHRASE" -C cerise-testbed-pass -f "$STATE_DIR/id_ed25519_pass"
    authorize_keys "$USER_MAIN"
    authorize_keys "$USER_TORQUE"
    authorize_keys "$USER_BARE"
    start_rhel_user
}

start_sshd() {
    local key=$STATE_DIR/ssh_host_ed25519_key conf=$STATE_DIR/sshd_config
    [[ -s $key ]] || ssh-keygen -q -t ed25519 -N '' -C cerise-testbed-host -f "$key"
    cat >"$conf" <<EOF
# sshd of the cerise test bed (written by testbed.sh)
Port $SSH_PORT
ListenAddress $SSH_ADDR
HostKey $key
PidFile $STATE_DIR/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $USER_MAIN $USER_TORQUE $USER_BARE $USER_RHEL
Subsystem sftp internal-sftp
MaxStartups 100
MaxSessions 100
LogLevel INFO
EOF
    echo "[$SSH_ADDR]:$SSH_PORT $(cut -d' ' -f1,2 "$key.pub")" >"$STATE_DIR/known_hosts"
    if pidfile_alive "$STATE_DIR/sshd.pid" sshd; then
        if ! cmp -s "$conf" "$conf.running"; then
            # a new user, say: SIGHUP makes sshd read its config again; open
            # connections carry on
            /usr/sbin/sshd -t -f "$conf" || die "bad sshd config $conf"
            log "sshd config changed: reloading sshd (pid $(cat "$STATE_DIR/sshd.pid"))"
            kill -HUP "$(cat "$STATE_DIR/sshd.pid")"
            cp "$conf" "$conf.running"
            wait_for 10 pidfile_alive "$STATE_DIR/sshd.pid" sshd || die "sshd did not come back"
        fi
        log "sshd already runs (pid $(cat "$STATE_DIR/sshd.pid"))"
        return
    fi
    mkdir -p /run/sshd
    chmod 755 /run/sshd
    /usr/sbin/sshd -t -f "$conf" || die "bad sshd config $conf"
    log "starting sshd on $SSH_ADDR:$SSH_PORT"
    /usr/sbin/sshd -f "$conf" -E "$STATE_DIR/sshd.log"
    cp "$conf" "$conf.running"
    wait_for 10 pidfile_alive "$STATE_DIR/sshd.pid" sshd || die "sshd did not start, see $STATE_DIR/sshd.log"
}

start_munge() {
    local sysfile=/run/munge/munged.pid
    if pidfile_alive "$sysfile" munged; then
        if [[ -s $STATE_DIR/munged.pid && $(cat "$STATE_DIR/munged.pid") == "$(cat "$sysfile")" ]]; then
            log "munged already runs (ours, pid $(cat "$sysfile"))"
        else
            log "munged already runs (not ours, pid $(cat "$sysfile")): leaving it alone"
            rm -f "$STATE_DIR/munged.pid"
        fi
        return
    fi
    install -d -o munge -g munge -m 755 /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        mungekey -c -f
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    log "starting munged"
    su -s /bin/sh munge -c /usr/sbin/munged
    wait_for 10 pidfile_alive "$sysfile" munged || die "munged did not start"
    cat "$sysfile" >"$STATE_DIR/munged.pid"
}

start_slurm() {
    local host
    host=$(hostname)
    mkdir -p "$STATE_DIR/slurm/state" "$STATE_DIR/slurm/spool"
    local tmp
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# Slurm of the cerise test bed (written by testbed.sh): one node, no accounting
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
# bind to the address of \$(hostname) (127.0.0.1 here), not to all addresses
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$STATE_DIR/slurm/state
SlurmdSpoolDir=$STATE_DIR/slurm/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/slurm/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
    mkdir -p "$(dirname "$SLURM_CONF")"
    if ! cmp -s "$tmp" "$SLURM_CONF"; then
        if pidfile_alive "$STATE_DIR/slurmctld.pid" slurmctld || pidfile_alive "$STATE_DIR/slurmd.pid" slurmd; then
            rm -f "$tmp"
            die "$SLURM_CONF differs from what Slurm was started with: run '$0 stop $STATE_DIR' first"
        fi
        install -m 644 "$tmp" "$SLURM_CONF"
    fi
    rm -f "$tmp"

    if pidfile_alive "$STATE_DIR/slurmctld.pid" slurmctld; then
        log "slurmctld already runs (pid $(cat "$STATE_DIR/slurmctld.pid"))"
    else
        log "starting slurmctld"
        slurmctld -c   # -c: start clean, without jobs saved by a previous run
        wait_for 15 pidfile_alive "$STATE_DIR/slurmctld.pid" slurmctld ||
            die "slurmctld did not start, see $STATE_DIR/slurm/slurmctld.log"
    fi
    if pidfile_alive "$STATE_DIR/slurmd.pid" slurmd; then
        log "slurmd already runs (pid $(cat "$STATE_DIR/slurmd.pid"))"
    else
        log "starting slurmd"
        slurmd
        wait_for 15 pidfile_alive "$STATE_DIR/slurmd.pid" slurmd ||
            die "slurmd did not start, see $STATE_DIR/slurm/slurmd.log"
    fi
    log "waiting for the Slurm node to be idle"
    if ! wait_for 60 slurm_node_idle; then
        # a node left DOWN by an earlier unclean stop: bring it back once
        scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
        wait_for 30 slurm_node_idle || die "Slurm node not idle: $(sinfo -N 2>&1)"
    fi
}

slurm_node_idle() {
    [[ $(sinfo -h -N -o '%T' 2>/dev/null) == idle ]]
}

# --- Grid Engine ---
sge() { SGE_ROOT=$SGE_ROOT SGE_CELL=$SGE_CELL "$@"; }

# The canonical name Grid Engine gives this host (after host_aliases).
sge_hostname() {
    local arch
    arch=$(sge "$SGE_ROOT/util/arch" 2>/dev/null || echo lx-amd64)
    sge "$SGE_ROOT/utilbin/$arch/gethostname" -aname 2>/dev/null || echo localhost
}

# The first of the pid files "$@" that names a live process NAME (prints it).
find_pidfile() {
    local name=$1 f; shift
    for f in "$@"; do
        pidfile_alive "$f" "$name" && { echo "$f"; return 0; }
    done
    return 1
}

# Start a Grid Engine daemon NAME with its init script INIT (Debian's), unless
# we already run one; record its pid as $STATE_DIR/NAME.pid. PIDFILES: where
# the daemon may write its pid.
start_sge_daemon() {
    local name=$1 init=$2 f; shift 2
    if pidfile_alive "$STATE_DIR/$name.pid" "$name"; then
        log "$name already runs (pid $(cat "$STATE_DIR/$name.pid"))"
        return
    fi
    if f=$(find_pidfile "$name" "$@"); then
        die "a $name not started by this test bed runs (pid $(cat "$f")); stop it first"
    fi
    log "starting $name"
    "/etc/init.d/$init" start >/dev/null
    wait_for 30 find_pidfile "$name" "$@" || die "$name did not start"
    f=$(find_pidfile "$name" "$@")
    tr -dc 0-9 <"$f" >"$STATE_DIR/$name.pid"
}

# qconf, quiet unless it fails (it reports successes on stderr)
qconf_q() {
    local out
    out=$(sge qconf "$@" 2>&1) || { printf '%s\n' "$out" >&2; die "qconf $* failed"; }
}

sge_queue_ready() {
    # the queue instance exists and has no state flag (u=unknown, a=alarm,
    # d=disabled, E=error, ...): its execd reports and it takes jobs
    sge qstat -f -q all.q 2>/dev/null | awk '
        $1 ~ /^all\.q@/ { found = 1; if (NF >= 6 && $6 != "") bad = 1 }
        END { exit !(found && !bad) }'
}

start_gridengine() {
    local common=$SGE_ROOT/$SGE_CELL/common host master
    host=$(hostname)
    [[ -d $common ]] || die "$common missing: Grid Engine not configured (run install)"
    master=$(cat "$common/act_qmaster")
    # The package records the master as "localhost" while `hostname` says
    # otherwise, and 127.0.0.1 resolves back to localhost: the daemons then
    # refuse each other. Make both names one host.
    if [[ $host != "$master" ]]; then
        local line="$master $host"
        if ! grep -qxF "$line" "$common/host_aliases" 2>/dev/null; then
            echo "$line" >>"$common/host_aliases"
            chmod 644 "$common/host_aliases"
        fi
    fi

    # sge_qmaster writes its pid into its spool directory (the init script's
    # SGE_MASTER_PIDFILE is not honoured), sge_execd into /run/gridengine.
    start_sge_daemon sge_qmaster gridengine-master \
        /var/spool/gridengine/qmaster/qmaster.pid /run/gridengine/qmaster.pid
    wait_for 30 sge qconf -sh || die "sge_qmaster does not answer"

    local sgehost
    sgehost=$(sge_hostname)
    # admin, submit and exec host: this host
    sge qconf -sh 2>/dev/null | grep -xF "$sgehost" >/dev/null || qconf_q -ah "$sgehost"
    sge qconf -ss 2>/dev/null | grep -xF "$sgehost" >/dev/null || qconf_q -as "$sgehost"
    if ! sge qconf -sel 2>/dev/null | grep -xF "$sgehost" >/dev/null; then
        local ef
        ef=$(mktemp)
        printf 'hostname %s\nload_scaling NONE\ncomplex_values NONE\nuser_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\nreport_variables NONE\n' \
            "$sgehost" >"$ef"
        qconf_q -Ae "$ef"
        rm -f "$ef"
    fi

    # scheduler: every second instead of every 15 s
    if ! sge qconf -ssconf | grep -E '^schedule_interval +0:0:1$' >/dev/null; then
        local sf
        sf=$(mktemp)
        sge qconf -ssconf | sed -E 's/^schedule_interval .*/schedule_interval                 0:0:1/' >"$sf"
        qconf_q -Msconf "$sf"
        rm -f "$sf"
    fi

    # queue all.q on this host: 4 slots, no load threshold (the load average
    # of these VMs is high), bash honouring the job script's #! line
    local qf
    qf=$(mktemp)
    sge_queue_conf "$sgehost" >"$qf"
    if sge qconf -sq all.q >/dev/null 2>&1; then
        # modify only if it differs (compared with whitespace normalised)
        if [[ $(sge qconf -sq all.q | awk '{$1=$1} 1') != "$(awk '{$1=$1} 1' "$qf")" ]]; then
            qconf_q -Mq "$qf"
        fi
    else
        qconf_q -Aq "$qf"
    fi
    rm -f "$qf"
    sge qconf -rattr queue load_thresholds NONE all.q >/dev/null 2>&1 || true

    start_sge_daemon sge_execd gridengine-exec \
        /run/gridengine/execd.pid "/var/spool/gridengine/execd/$sgehost/execd.pid"
    log "waiting for Grid Engine queue all.q"
    wait_for 90 sge_queue_ready || die "queue all.q not ready: $(sge qstat -f 2>&1)"
}

sge_queue_conf() {
    cat <<EOF
qname                 all.q
hostlist              $1
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               NONE
rerun                 FALSE
slots                 4
tmpdir                /tmp
shell                 /bin/bash
prolog                NONE
epilog                NONE
shell_start_mode      unix_behavior
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
EOF
}

write_env() {
    cat >"$STATE_DIR/env.sh" <<EOF
# cerise test bed (written by testbed.sh start); source it before the tests
export CERISE_TESTBED=$STATE_DIR
export CERISE_TESTBED_SSH_PORT=$SSH_PORT
export CERISE_TESTBED_USER=$USER_MAIN
export CERISE_TESTBED_TORQUE_USER=$USER_TORQUE
export CERISE_TESTBED_BARE_USER=$USER_BARE
export CERISE_TESTBED_RHEL_USER=$USER_RHEL
export CERISE_TESTBED_RHEL_PYTHON=$RHEL_ROOT/python/3.11/bin/python3.11
export CERISE_TESTBED_KEY=$STATE_DIR/id_ed25519
export CERISE_TESTBED_KEY_PASS=$STATE_DIR/id_ed25519_pass
export CERISE_TESTBED_PASSPHRASE=$PASSPHRASE
export CERISE_TESTBED_PASSWORD=$PASSWORD
export CERISE_TESTBED_KNOWN_HOSTS=$STATE_DIR/known_hosts
EOF
    chmod 644 "$STATE_DIR/env.sh"
    cat "$STATE_DIR/env.sh"
}

check_installed() {
    local p
    for p in /usr/sbin/sshd /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd \
             /etc/init.d/gridengine-master /etc/init.d/gridengine-exec \
             "$TORQUE_BIN/qsub" "$TORQUE_BIN/sbatch" "$VENV/bin/cwltool"; do
        [[ -e $p ]] || die "$p missing: run '$0 install' first"
    done
}

cmd_start() {
    [[ $(id -u) -eq 0 ]] || die "start must run as root"
    check_installed
    install -d -m 755 "$STATE_DIR"
    start_users_and_keys
    start_sshd
    start_munge
    start_slurm
    start_gridengine
    log "test bed is up; env file: $STATE_DIR/env.sh"
    write_env
}

# ==================================================================== stop ==
# Stop the process whose pid is in FILE if it is NAME; wait for it to exit.
stop_pidfile() {
    local file=$1 name=$2 pid i
    if ! pidfile_alive "$file" "$name"; then
        rm -f "$file"
        return 0
    fi
    pid=$(tr -dc 0-9 <"$file")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do   # up to 30 s (sge_qmaster takes ~5 s)
        pid_is "$pid" "$name" || break
        sleep 0.1
    done
    if pid_is "$pid" "$name"; then
        log "$name (pid $pid) ignored TERM: KILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$file"
}

cmd_stop() {
    [[ -d $STATE_DIR ]] || { log "no state in $STATE_DIR: nothing to stop"; return 0; }
    # First cancel the test users' jobs, so that no job processes outlive the
    # daemons (slurmstepd and sge_shepherd would otherwise go on running).
    local u
    if pidfile_alive "$STATE_DIR/slurmctld.pid" slurmctld; then
        for u in "$USER_MAIN" "$USER_TORQUE" "$USER_BARE" "$USER_RHEL"; do
            timeout 10 scancel -u "$u" >/dev/null 2>&1 || true
        done
    fi
    if pidfile_alive "$STATE_DIR/sge_qmaster.pid" sge_qmaster; then
        for u in "$USER_MAIN" "$USER_TORQUE" "$USER_BARE" "$USER_RHEL"; do
            timeout 10 env SGE_ROOT="$SGE_ROOT" SGE_CELL="$SGE_CELL" qdel -u "$u" >/dev/null 2>&1 || true
        done
        # wait (a little) for the jobs to leave before the daemons go
        local i
        for ((i = 0; i < 20; i++)); do
            [[ -z $(sge qstat -u "*" 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
    stop_pidfile "$STATE_DIR/sge_execd.pid" sge_execd
    stop_pidfile "$STATE_DIR/sge_qmaster.pid" sge_qmaster
    stop_pidfile "$STATE_DIR/slurmd.pid" slurmd
    stop_pidfile "$STATE_DIR/slurmctld.pid" slurmctld
    stop_pidfile "$STATE_DIR/munged.pid" munged   # only there if we started it
    # sshd: the listener, then the per-connection sshd processes it had forked
    # (they would outlive it, as on a real host; a teardown ends them too)
    local lpid conns=() p
    if pidfile_alive "$STATE_DIR/sshd.pid" sshd; then
        lpid=$(tr -dc 0-9 <"$STATE_DIR/sshd.pid")
        for p in /proc/[0-9]*; do
            p=${p#/proc/}
            [[ $(awk '{print $4}' "/proc/$p/stat" 2>/dev/null) == "$lpid" ]] && pid_is "$p" sshd && conns+=("$p")
        done
    fi
    stop_pidfile "$STATE_DIR/sshd.pid" sshd
    if ((${#conns[@]})); then
        log "ending ${#conns[@]} open ssh connection(s)"
        for p in "${conns[@]}"; do pid_is "$p" sshd && kill -TERM "$p" 2>/dev/null; done
    fi
    log "stopped"
}

# ================================================================== status ==
cmd_status() {
    local f name any=
    for f in sshd:sshd munged:munged slurmctld:slurmctld slurmd:slurmd \
             sge_qmaster:sge_qmaster sge_execd:sge_execd; do
        name=${f%%:*}
        if pidfile_alive "$STATE_DIR/$name.pid" "${f#*:}"; then
            printf '%-12s running (pid %s)\n' "$name" "$(cat "$STATE_DIR/$name.pid")"
            any=1
        else
            printf '%-12s not running\n' "$name"
        fi
    done
    if pidfile_alive /run/munge/munged.pid munged && ! pidfile_alive "$STATE_DIR/munged.pid" munged; then
        printf '%-12s running, not started by the test bed (pid %s)\n' munged "$(cat /run/munge/munged.pid)"
    fi
    if [[ -n $any ]]; then
        pidfile_alive "$STATE_DIR/slurmctld.pid" slurmctld && { echo "--- sinfo"; sinfo 2>&1 || true; }
        pidfile_alive "$STATE_DIR/sge_qmaster.pid" sge_qmaster && { echo "--- qstat -f"; sge qstat -f 2>&1 || true; }
        [[ -s $STATE_DIR/env.sh ]] && echo "--- env: $STATE_DIR/env.sh"
    fi
    return 0
}

# =================================================================== check ==
# Smoke test of a started test bed, through SSH as the tests use it.
CHECK_FAILED=0
ok() { printf '  ok    %s\n' "$*"; }
bad() { printf '  FAIL  %s\n' "$*"; CHECK_FAILED=1; }

# ssh_as USER [ssh options...] -- COMMAND: run COMMAND over ssh with the
# passphrase-less key (unless options say otherwise), 60 s at most
ssh_as() {
    local user=$1; shift
    local opts=()
    while (($#)) && [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    # (the caller's options come first: for ssh the first value given wins)
    timeout 60 ssh "${opts[@]}" -p "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes \
        -o UserKnownHostsFile="$STATE_DIR/known_hosts" -o IdentitiesOnly=yes \
        -o ConnectTimeout=10 "$user@$SSH_ADDR" "$@"
}

cmd_check() {
    [[ -s $STATE_DIR/env.sh ]] || die "no $STATE_DIR/env.sh: run '$0 start $STATE_DIR' first"
    local key=$STATE_DIR/id_ed25519 out askpass
    echo "ssh and sftp:"
    out=$(ssh_as "$USER_MAIN" -i "$key" -- 'hostname; which cwltool' 2>&1) &&
        [[ $out == *"$VENV/bin/cwltool"* ]] && ok "key login, cwltool on PATH" || bad "key login: $out"
    out=$(ssh_as "$USER_MAIN" -i "$key" -- 'python3 -m cwltool --version' 2>&1) &&
        ok "python3 -m cwltool: ${out##* }" || bad "python3 -m cwltool: $out"
    # passphrase and password through SSH_ASKPASS (no terminal, no sshpass)
    askpass=$(mktemp)
    printf '#!/bin/sh\ncase "$1" in *assphrase*) echo %s ;; *) echo %s ;; esac\n' \
        "$PASSPHRASE" "$PASSWORD" >"$askpass"
    chmod 700 "$askpass"
    out=$(SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none \
        ssh_as "$USER_MAIN" -o BatchMode=no -o PasswordAuthentication=no -i "$STATE_DIR/id_ed25519_pass" -- whoami 2>&1) &&
        [[ $out == "$USER_MAIN" ]] && ok "key with passphrase" || bad "key with passphrase: $out"
    out=$(SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none \
        ssh_as "$USER_MAIN" -o BatchMode=no -o PubkeyAuthentication=no -o PreferredAuthentications=password -- whoami 2>&1) &&
        [[ $out == "$USER_MAIN" ]] && ok "password login" || bad "password login: $out"
    rm -f "$askpass"
    out=$(ssh_as "$USER_TORQUE" -i "$key" -- 'which qsub cwltool' 2>&1) &&
        [[ $out == *"$TORQUE_BIN/qsub"* && $out == *cwltool* ]] && ok "$USER_TORQUE sees Torque's qsub and cwltool" ||
        bad "$USER_TORQUE PATH: $out"
    out=$(ssh_as "$USER_RHEL" -i "$key" -- 'python3 -V; bash -c "module load python/3.11 && python3 -V"' 2>&1) &&
        [[ $out == $'Python 3.9.'*$'\nPython 3.11.'* ]] && ok "$USER_RHEL: python3 is 3.9, module load python/3.11 gives 3.11" ||
        bad "$USER_RHEL: $out"
    local tmp
    tmp=$(mktemp -d)
    echo "hello sftp $$" >"$tmp/put.txt"
    if printf 'put %s tb-sftp.txt\nget tb-sftp.txt %s\nrm tb-sftp.txt\n' "$tmp/put.txt" "$tmp/got.txt" |
        timeout 60 sftp -q -b - -P "$SSH_PORT" -i "$key" -o BatchMode=yes -o IdentitiesOnly=yes \
            -o UserKnownHostsFile="$STATE_DIR/known_hosts" "$USER_MAIN@$SSH_ADDR" >/dev/null 2>&1 &&
        cmp -s "$tmp/put.txt" "$tmp/got.txt"; then ok "sftp put/get"; else bad "sftp put/get"; fi
    rm -rf "$tmp"

    echo "Slurm (as $USER_MAIN):"
    out=$(ssh_as "$USER_MAIN" -i "$key" -- '
        rm -f ~/slurm-ok
        j=$(sbatch --parsable --wrap "sleep 2; echo hi > ~/slurm-ok") || exit 1
        squeue -h -u "$(id -un)" -o "%i %T %j" | grep -q "^$j " || { echo "job $j not in squeue"; exit 1; }
        for i in $(seq 1 100); do [ -s ~/slurm-ok ] && break; sleep 0.2; done
        cat ~/slurm-ok; rm -f ~/slurm-ok ~/slurm-"$j".out' 2>&1) &&
        [[ $out == hi ]] && ok "sbatch, squeue, job ran" || bad "Slurm: $out"

    echo "Grid Engine (as $USER_MAIN):"
    out=$(ssh_as "$USER_MAIN" -i "$key" -- '
        rm -f ~/sge-ok
        j=$(qsub -terse -b y -N tbcheck -o /dev/null -e /dev/null -cwd "sleep 1; echo hi > ~/sge-ok") || exit 1
        qstat -u "$(id -un)" | awk "{print \$1}" | grep -qx "$j" || { echo "job $j not in qstat"; exit 1; }
        for i in $(seq 1 150); do [ -s ~/sge-ok ] && break; sleep 0.2; done
        cat ~/sge-ok; rm -f ~/sge-ok' 2>&1) &&
        [[ $out == hi ]] && ok "qsub, qstat, job ran" || bad "Grid Engine: $out"

    echo "Torque wrappers (as $USER_TORQUE):"
    out=$(ssh_as "$USER_TORQUE" -i "$key" -- '
        d=$(mktemp -d ~/.tbcheck.XXXXXX); cd "$d"
        printf "#!/bin/bash\nsleep 1\necho hi > %s/torque-ok\n" "$d" > ok.sh
        printf "#!/bin/bash\nsleep 60\n" > long.sh
        j=$(qsub ok.sh) || exit 1
        k=$(qsub long.sh) || exit 1
        qstat "$j" | grep -q "^$j " || { echo "job $j not in qstat"; exit 1; }
        qdel "$k" || { echo "qdel $k failed"; exit 1; }
        for i in $(seq 1 100); do [ -s torque-ok ] && break; sleep 0.2; done
        cat torque-ok; cd; rm -rf "$d"' 2>&1) &&
        [[ $out == hi ]] && ok "qsub, qstat, qdel, job ran" || bad "Torque: $out"

    ((CHECK_FAILED == 0)) && echo "all checks passed" || { echo "some checks FAILED"; return 1; }
}

# ==================================================================== main ==
usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

cmd=${1:-}
STATE_DIR=${2:-$DEFAULT_STATE_DIR}
case $STATE_DIR in /*) ;; *) STATE_DIR=$PWD/$STATE_DIR ;; esac
STATE_DIR=${STATE_DIR%/}
case $cmd in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    check) cmd_check ;;
    rhel-user) [[ $(id -u) -eq 0 ]] || die "rhel-user must run as root"; start_rhel_user; write_env ;;
    -h | --help | help) usage 0 ;;
    *) usage 2 ;;
esac
