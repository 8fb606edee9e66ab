#!/bin/sh
# vmkfstools-wrapper: the ESXi-side helper of vsphere-copy-offload-populator.
SCRIPT_VERSION="0.5.1.2"
#
# Version scheme (the only place this product's wrapper version is written):
# X.Y.Z.N, four numbers, N >= 1.  Upstream wrapper releases have three parts
# (0.3.3), so this version never equals one, by string or by dotted
# comparison ("0.5.0.1" != "0.5.0"), while it compares above 0.3.3, the
# newest upstream release (WRAPPER_UPSTREAM_VERSION in esxi/wrapper.h).
# A change bumps X.Y.Z (a new operation) or N (a fix); N never returns to 0.
#
# It starts a `vmkfstools` clone of a VMDK onto a LUN in the background and
# reports on it, so that the populator can poll a long copy with short calls.
# It runs on the ESXi host under BusyBox `sh` (it is also kept runnable by
# dash) and is reached in one of two ways:
#
#   * as the esxcli plugin `esxcli vmkfstools clone|taskGet|taskClean|version`
#     (installed by the VIB at /opt/redhat/vmkfstools-wrapper): the options
#     arrive in argv;
#   * through a restricted SSH key: argv is empty and SSH_ORIGINAL_COMMAND
#     holds the options as one string, for example
#       --clone -s '/vmfs/volumes/ds 1/vm/disk.vmdk' -t /vmfs/devices/disks/naa.X
#     That string is split by a small tokenizer below that honours single
#     quotes, double quotes and backslashes like sh does, and nothing else:
#     no expansion, no globbing, no command substitution, no `;`.
#
# Options:
#   --clone -s|--source-vmdk SRC -t|--target-lun DEV
#       SRC is a .vmdk file under /vmfs/volumes/<datastore>/; DEV is a disk
#       device /vmfs/devices/disks/naa.*, eui.* or t10.*, and nothing else
#       (never a file: a clone onto another VM's disk must not start)
#   --task-get -i|--task-id ID
#   --task-clean -i|--task-id ID
#   --task-find -t|--target-lun DEV [-s|--source-vmdk SRC]
#       read-only: the tasks whose target is DEV (same rules as --clone, but
#       the device need not exist), so that a populator whose answer to
#       --clone was lost, or that was killed, finds what runs on its LUN
#   -v|--version            [--output simple|xml]   (default xml)
#
# Every reply is the esxcli XML document below, with the message XML-escaped.
# For clone, task-get and task-clean the message is JSON (or empty for a
# successful task-clean):
#   clone:    {"taskId": "<id>", "pid": <n>, "xcopyUsed": false}
#   task-get: {"taskId": "<id>", "pid": <n>, "exitCode": "<code or empty>",
#              "lastLine": "<...>", "xcopyUsed": true|false|null, "stdErr": "<...>"}
#   task-find: {"tasks": [{"taskId": "<id>", "pid": <n>, "source": "<path or empty>",
#              "targetLun": "<naa>", "exitCode": "<code or empty>", "running": true|false,
#              "sameSource": true|false|null}, ...]}   (sameSource null without -s)
#   version:  {"version": "X.Y.Z"}   (or bare X.Y.Z with --output simple)
# The exit status is the reply's status (0 on success).
#
# A task id is the wrapper's own: 8-4-4-4-12 lower-case hex; nothing else is
# accepted by task-get and task-clean.
# Task state lives in /tmp/vmkfstools-wrapper-<id>/: out, err, exitcode, pid,
# rdmfile, targetLun, source.  Everything but pid, out, err and exitcode is
# written before the clone starts, and the clone's own shell writes pid before
# it runs vmkfstools, so a task directory that a reply names always says what
# to stop and what to remove.  Task directories older than 5 days are removed
# when a new clone starts.

set -e
set -f
umask 022

TASK_BASE=/tmp
TASK_PREFIX=vmkfstools-wrapper-
VMKFSTOOLS=/bin/vmkfstools
STALE_DAYS=5
LOG_TAG=vmkfstools-wrapper
# Tab, CR, VT and FF from one printf (each $(...) is a fork).
CTL=$(printf '\t\r\v\f')
TAB=${CTL%???}
CR=${CTL#?}
CR=${CR%??}
VT=${CTL#??}
VT=${VT%?}
FF=${CTL#???}
NL='
'
HEX='[0-9a-f]'
HEX4=$HEX$HEX$HEX$HEX
TASK_ID_PATTERN=$HEX4$HEX4-$HEX4-$HEX4-$HEX4-$HEX4$HEX4$HEX4

# ---------------------------------------------------------------- helpers --

log_msg() {
    # log_msg LEVEL TEXT...: syslog through logger when it exists, else nothing.
    lm_level=$1
    shift
    if command -v logger >/dev/null 2>&1; then
        logger -t "$LOG_TAG" -p "user.$lm_level" -- "$*" >/dev/null 2>&1 || true
    fi
    return 0
}

# The escaper, one awk program for both uses, run byte-wise (LC_ALL=C):
#   mode=json  backslash, double quote and control characters are escaped
#              (\b \t \f \r \uXXXX); line breaks become \n;
#   mode=xml   & < > " ' become entities, CR becomes &#13;, other characters
#              XML 1.0 cannot carry are dropped; line breaks stay.
# In both, bytes that are not valid UTF-8 are replaced (by \ufffd in JSON, by
# ? in XML), so that a reply is always well-formed whatever vmkfstools wrote.
# shellcheck disable=SC2016
ESCAPE_AWK='
BEGIN { for (i = 1; i < 256; i++) byte[sprintf("%c", i)] = i; first = 1 }
function ascii(c, b) {
    if (mode == "json") {
        if (b == 92) return "\\\\"
        if (b == 34) return "\\\""
        if (b >= 32) return c
        if (b == 8) return "\\b"
        if (b == 9) return "\\t"
        if (b == 12) return "\\f"
        if (b == 13) return "\\r"
        return sprintf("\\u%04x", b)
    }
    if (b == 38) return "&amp;"
    if (b == 60) return "&lt;"
    if (b == 62) return "&gt;"
    if (b == 34) return "&quot;"
    if (b == 39) return "&apos;"
    if (b >= 32 || b == 9) return c
    if (b == 13) return "&#13;"
    return ""
}
{
    if (!first) printf "%s", (mode == "json" ? "\\n" : "\n")
    first = 0
    n = length($0)
    i = 1
    while (i <= n) {
        c = substr($0, i, 1)
        b = byte[c]
        if (b < 128) { printf "%s", ascii(c, b); i++; continue }
        need = 0; lo = 128; hi = 191
        if (b >= 194 && b <= 223) need = 1
        else if (b >= 224 && b <= 239) { need = 2; if (b == 224) lo = 160; if (b == 237) hi = 159 }
        else if (b >= 240 && b <= 244) { need = 3; if (b == 240) lo = 144; if (b == 244) hi = 143 }
        ok = (need > 0 && i + need <= n)
        for (j = 1; ok && j <= need; j++) {
            bb = byte[substr($0, i + j, 1)]
            if (j == 1) { if (bb < lo || bb > hi) ok = 0 }
            else if (bb < 128 || bb > 191) ok = 0
        }
        if (ok) { printf "%s", substr($0, i, need + 1); i += need + 1 }
        else { printf "%s", (mode == "json" ? "\\ufffd" : "?"); i++ }
    }
}'

# Characters that neither mode changes, listed one by one: no ranges and no
# classes, whose meaning follows the locale, so that every other byte (above
# all anything not ASCII, which the awk program checks for UTF-8) takes the
# awk path.  In the bracket expression the `]` must stay first and the `-`
# last (a `[` just before it opens no class).  JSON also leaves ' & < > alone;
# XML leaves the double quote alone but for the entity, made below in the shell.
ESC_SAFE=']abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;/_=+@%#()!?*^~|{}[-'
ESC_SAFE_JSON="${ESC_SAFE%-}'&<>-"
ESC_SAFE_XML="${ESC_SAFE%-}\"-"

escape_text() {
    # escape_text json|xml TEXT: sets ESC to TEXT escaped.  Text made only of
    # characters that need nothing (the common case) costs no process.
    case $1:$2 in
        json:*[!$ESC_SAFE_JSON]* | xml:*[!$ESC_SAFE_XML]*) ;;
        json:*) ESC=$2; return 0 ;;
        *)
            ESC=
            et_rest=$2
            while :; do
                case $et_rest in
                    *'"'*)
                        ESC=$ESC${et_rest%%'"'*}'&quot;'
                        et_rest=${et_rest#*'"'}
                        ;;
                    *) ESC=$ESC$et_rest; return 0 ;;
                esac
            done
            ;;
    esac
    ESC=$(printf '%s' "$2" | tr -d '\000' | LC_ALL=C awk -v mode="$1" "$ESCAPE_AWK")
}

json_str() {
    # json_str TEXT: sets JS to TEXT as a quoted JSON string.
    escape_text json "$1"
    JS="\"$ESC\""
}

reply() {
    # reply STATUS MESSAGE: the esxcli result structure on stdout.
    escape_text xml "$1"
    rp_status=$ESC
    escape_text xml "$2"
    rp_message=$ESC
    printf '%s\n' \
        '<?xml version="1.0" ?>' \
        '<output xmlns="http://www.vmware.com/Products/ESX/5.0/esxcli/">' \
        '    <structure typeName="result">' \
        "        <field name=\"status\"><string>$rp_status</string></field>" \
        "        <field name=\"message\"><string>$rp_message</string></field>" \
        '    </structure>' \
        '</output>'
}

finish() {
    # finish STATUS MESSAGE: reply, then exit with STATUS.
    if [ "$1" != 0 ]; then
        log_msg err "status $1: $2"
    fi
    reply "$1" "$2"
    exit "$1"
}

fail_json() {
    # fail_json STATUS TEXT [TASKID]: an error reply whose message is task JSON.
    json_str "$2"
    fj_err=$JS
    if [ -n "${3:-}" ]; then
        json_str "$3"
        finish "$1" "{\"taskId\": $JS, \"stdErr\": $fj_err, \"xcopyUsed\": false}"
    fi
    finish "$1" "{\"stdErr\": $fj_err, \"xcopyUsed\": false}"
}

is_number() {
    case $1 in
        '' | *[!0-9]*) return 1 ;;
    esac
    return 0
}

is_running() {
    # is_running PID
    is_number "$1" || return 1
    kill -0 "$1" 2>/dev/null
}

normalize_path() {
    # normalize_path PATH: sets NORM to the normalised path, or NORM_ERR and
    # returns 1.  `//` collapses, `/./` and trailing `/` or `/.` go away; a
    # `..` component, control characters, relative paths and anything outside
    # /vmfs/volumes/ and /vmfs/devices/disks/ are refused.
    NORM=
    NORM_ERR=
    np=$1
    case $np in
        '') NORM_ERR="empty path"; return 1 ;;
        /*) ;;
        *) NORM_ERR="path is not absolute: $1"; return 1 ;;
    esac
    case $np in
        *[[:cntrl:]]*) NORM_ERR="path contains control characters: $1"; return 1 ;;
    esac
    while :; do
        case $np in
            *//*) np=${np%%//*}/${np#*//} ;;
            */./*) np=${np%%/./*}/${np#*/./} ;;
            */.) np=${np%/.} ;;
            ?*/) np=${np%/} ;;
            *) break ;;
        esac
    done
    [ -n "$np" ] || np=/
    case $np/ in
        */../*) NORM_ERR="path contains a '..' component: $1"; return 1 ;;
    esac
    case $np in
        /vmfs/volumes/?* | /vmfs/devices/disks/?*) ;;
        *)
            NORM_ERR="path is not under /vmfs/volumes/ or /vmfs/devices/disks/: $1"
            return 1
            ;;
    esac
    NORM=$np
    return 0
}

check_source() {
    # check_source PATH (normalised): a .vmdk file in a datastore directory,
    # or SRC_ERR and return 1.
    SRC_ERR=
    case $1 in
        /vmfs/volumes/?*/?*.vmdk) ;;
        *)
            SRC_ERR="source must be a .vmdk file under /vmfs/volumes/<datastore>/: $1"
            return 1
            ;;
    esac
    if [ ! -f "$1" ]; then
        SRC_ERR="Source VMDK not found: $1"
        return 1
    fi
    return 0
}

check_target() {
    # check_target PATH (normalised): a disk device by its naa., eui. or t10.
    # name, directly in /vmfs/devices/disks/, or DST_ERR and return 1.
    DST_ERR=
    case ${1#/vmfs/devices/disks/} in
        "$1" | */*) ;;
        naa.?* | eui.?* | t10.?*)
            if [ -e "$1" ] && [ ! -d "$1" ]; then
                return 0
            fi
            DST_ERR="Target device not found: $1"
            return 1
            ;;
    esac
    DST_ERR="target must be a disk device /vmfs/devices/disks/naa.*, eui.* or t10.*: $1"
    return 1
}

valid_task_id() {
    # The ids gen_task_id makes, and nothing else.
    # shellcheck disable=SC2254 # a pattern on purpose
    case $1 in
        $TASK_ID_PATTERN) return 0 ;;
    esac
    return 1
}

task_dir_of() {
    # task_dir_of ID: sets TASK_DIR.
    TASK_DIR=$TASK_BASE/$TASK_PREFIX$1
}

read_state() {
    # read_state FILE: sets RS to what $(cat FILE) gives, "" for a missing
    # file, without a process for the one-line files the wrapper writes (no
    # trailing newline, so read reaches the end of the file and fails).
    RS=
    if IFS= read -r RS 2>/dev/null <"$1"; then
        # A line ended by a newline: anything after it is read as cat would.
        RS=$(cat "$1" 2>/dev/null || true)
    fi
}

write_file() {
    # write_file DIR NAME VALUE: atomically, through a temporary file.
    printf '%s' "$3" >"$1/.$2.tmp" && mv -f "$1/.$2.tmp" "$1/$2"
}

gen_task_id() {
    # gen_task_id TRY: sets TASK_ID to 16 random bytes as 8-4-4-4-12 hex.
    # /dev/urandom first; when it is missing, the kernel's uuid, then a
    # digest of pid, time and /tmp.
    gt_hex=
    if [ -r /dev/urandom ]; then
        gt_od=$(od -An -N16 -tx1 /dev/urandom 2>/dev/null || true)
        # od's words joined (set -f: no globbing).
        # shellcheck disable=SC2086
        for gt_w in $gt_od; do gt_hex=$gt_hex$gt_w; done
    fi
    if [ "${#gt_hex}" -ne 32 ] && [ -r /proc/sys/kernel/random/uuid ]; then
        gt_hex=$(tr -d '\n-' </proc/sys/kernel/random/uuid 2>/dev/null || true)
    fi
    if [ "${#gt_hex}" -ne 32 ] && command -v md5sum >/dev/null 2>&1; then
        gt_hex=$({ printf '%s %s %s\n' "$$" "$(date +%s 2>/dev/null || true)" "$1"
                   ls -la "$TASK_BASE" 2>/dev/null || true; } | md5sum | cut -c1-32 || true)
    fi
    case $gt_hex in
        *[!0-9a-f]*) gt_hex= ;;
    esac
    if [ "${#gt_hex}" -ne 32 ]; then
        gt_hex=$(printf '%08x%08x%08x%08x' "$$" "$(date +%s 2>/dev/null || echo 0)" "$1" "$PPID")
    fi
    gt_rest=${gt_hex#????????}
    TASK_ID=${gt_hex%"$gt_rest"}-
    gt_hex=$gt_rest
    for _ in 1 2 3; do
        gt_rest=${gt_hex#????}
        TASK_ID=$TASK_ID${gt_hex%"$gt_rest"}-
        gt_hex=$gt_rest
    done
    TASK_ID=$TASK_ID$gt_hex
}

xcopy_used() {
    # xcopy_used NAA: sets XU to true if the device's cloneWriteOps counter
    # is non-zero, false if zero, null when it cannot be read.
    XU=null
    xu_naa=$1
    case $xu_naa in
        '' | */* | .*) return 0 ;;
    esac
    if ! command -v vsish >/dev/null 2>&1; then
        return 0
    fi
    if ! xu_out=$(vsish -r -e cat "/storage/scsifw/devices/$xu_naa/stats" 2>/dev/null); then
        return 0
    fi
    # The first line naming the counter (any case); after its first colon,
    # leading white space goes, then every blank, tab and CR.
    xu_rest=$xu_out$NL
    xu_val=
    while [ -n "$xu_rest" ]; do
        xu_line=${xu_rest%%"$NL"*}
        xu_rest=${xu_rest#*"$NL"}
        case $xu_line in
            *[cC][lL][oO][nN][eE][wW][rR][iI][tT][eE][oO][pP][sS]*) ;;
            *) continue ;;
        esac
        case $xu_line in
            *:*)
                xu_line=${xu_line#*:}
                while :; do
                    case $xu_line in
                        [" $TAB$CR$VT$FF"]*) xu_line=${xu_line#?} ;;
                        *) break ;;
                    esac
                done
                ;;
        esac
        while :; do
            case $xu_line in
                *[" $TAB$CR"]*)
                    xu_c=${xu_line#*[" $TAB$CR"]}
                    xu_line=${xu_line%%[" $TAB$CR"]*}$xu_c
                    ;;
                *) break ;;
            esac
        done
        xu_val=$xu_line
        break
    done
    xu_val=${xu_val#0x}
    xu_val=${xu_val#0X}
    case $xu_val in
        '' | *[!0-9a-fA-F]*) return 0 ;;
    esac
    while :; do
        case $xu_val in
            0*) xu_val=${xu_val#0} ;;
            *) break ;;
        esac
    done
    if [ -n "$xu_val" ]; then XU=true; else XU=false; fi
}

remove_rdm_files() {
    # remove_rdm_files TASKDIR: delete the RDM descriptor the clone created
    # next to the source VMDK, and the mapping file named in its VMFSRDM
    # extent line.  Problems are only logged.
    read_state "$1/rdmfile"
    rr_rdm=$RS
    [ -n "$rr_rdm" ] || return 0
    if ! normalize_path "$rr_rdm"; then
        log_msg warning "not removing RDM descriptor: $NORM_ERR"
        return 0
    fi
    rr_rdm=$NORM
    case ${rr_rdm##*/} in
        *-rdmdisk-[0-9]*) ;;
        *) log_msg warning "not removing unexpected RDM descriptor name $rr_rdm"; return 0 ;;
    esac
    # A clone stopped while vmkfstools was creating the mapping can leave the
    # mapping file without the descriptor that names it: the mapping takes the
    # descriptor's name with -rdmp.vmdk, so that name is removed in any case.
    rr_conv="${rr_rdm%.vmdk}-rdmp.vmdk"
    if [ -f "$rr_conv" ]; then
        rm -f -- "$rr_conv" 2>/dev/null || log_msg warning "failed to remove RDM mapping file $rr_conv"
    fi
    [ -f "$rr_rdm" ] || return 0
    # Greedy to the last quote: a disk name may itself contain quotes.
    rr_map=$(sed -n -e '/^[^#]*VMFSRDM[[:space:]]*"\(.*\)"[[:space:]]*$/{' -e 's//\1/p' -e q -e '}' \
        "$rr_rdm" 2>/dev/null || true)
    if [ -n "$rr_map" ]; then
        case $rr_map in
            */* | . | ..) log_msg warning "not removing RDM mapping file '$rr_map' named in $rr_rdm" ;;
            *)
                # (Usually the conventional name, already gone: rm -f would
                # only succeed, so it is not run.)
                if [ -e "${rr_rdm%/*}/$rr_map" ] || [ -L "${rr_rdm%/*}/$rr_map" ]; then
                    rm -f -- "${rr_rdm%/*}/$rr_map" 2>/dev/null ||
                        log_msg warning "failed to remove RDM mapping file ${rr_rdm%/*}/$rr_map"
                fi
                ;;
        esac
    fi
    rm -f -- "$rr_rdm" 2>/dev/null || log_msg warning "failed to remove RDM descriptor $rr_rdm"
    return 0
}

group_alive() {
    # group_alive PGID: a process of the clone's process group still exists.
    kill -0 "-$1" 2>/dev/null || kill -0 -- "-$1" 2>/dev/null
}

signal_group() {
    # signal_group SIG PGID: the whole group (vmkfstools and its helpers).
    kill -s "$1" "-$2" 2>/dev/null || kill -s "$1" -- "-$2" 2>/dev/null ||
        kill -s "$1" "$2" 2>/dev/null || true
}

pause_ms() {
    # pause_ms MS (20, 40, 80, 160 or 200): sleeps; sets PAUSED to the
    # milliseconds it took (1000 where sleep takes whole seconds only) and
    # NEXT_PAUSE to the pause after it, twice as long up to 200.
    case $1 in
        20) pm_s=0.02 ;;
        40) pm_s=0.04 ;;
        80) pm_s=0.08 ;;
        160) pm_s=0.16 ;;
        *) pm_s=0.2 ;;
    esac
    if sleep "$pm_s" 2>/dev/null; then
        PAUSED=$1
    else
        sleep 1
        PAUSED=1000
    fi
    NEXT_PAUSE=$(($1 * 2))
    [ "$NEXT_PAUSE" -le 200 ] || NEXT_PAUSE=200
}

stop_task() {
    # stop_task TASKDIR: if the task's clone still runs, stop its process
    # group (the clone runs in its own session, its shell is the leader) and
    # wait until the group is gone: only then can nothing create a descriptor
    # behind our back.  Returns 1 if the group outlived TERM, KILL and the wait.
    read_state "$1/pid"
    st_pid=$RS
    is_number "$st_pid" || return 0
    if group_alive "$st_pid" || is_running "$st_pid"; then
        log_msg warning "stopping clone process group $st_pid of $1"
        signal_group TERM "$st_pid"
    fi
    # The group's shell writes exitcode only once vmkfstools has ended; helpers
    # of vmkfstools may live a moment longer, so the group itself is waited for:
    # in short pauses at first (it is usually gone within milliseconds), then
    # 200 ms ones; KILL after about 10 s, give up after 30 s.
    st_ms=0
    st_pause=20
    st_killed=0
    while group_alive "$st_pid"; do
        if [ "$st_killed" = 0 ] && [ "$st_ms" -ge 9800 ]; then
            st_killed=1
            log_msg warning "clone process group $st_pid ignores TERM; killing it"
            signal_group KILL "$st_pid"
        fi
        if [ "$st_ms" -ge 30000 ]; then
            log_msg err "clone process group $st_pid of $1 is still there"
            return 1
        fi
        pause_ms "$st_pause"
        st_ms=$((st_ms + PAUSED))
        st_pause=$NEXT_PAUSE
    done
    return 0
}

remove_task_dir() {
    # remove_task_dir TASKDIR: returns 1 if the directory is still there.
    rm -rf -- "$1" 2>/dev/null || true
    if [ -e "$1" ]; then
        for rt_f in out err exitcode pid rdmfile targetLun source \
            .exitcode.tmp .pid.tmp .rdmfile.tmp .targetLun.tmp .source.tmp exitcode.tmp; do
            rm -f -- "$1/$rt_f" 2>/dev/null || true
        done
        rmdir -- "$1" 2>/dev/null || true
    fi
    [ ! -e "$1" ]
}

cleanup_stale() {
    # Task directories older than STALE_DAYS days whose clone is not running.
    # find runs only when a task directory exists whose clone is not running
    # (the shell cannot tell a directory's age, but it can tell that there is
    # nothing the search could remove).
    cs_any=0
    set +f
    set -- "$TASK_BASE/$TASK_PREFIX"*
    set -f
    for cs_dir in "$@"; do
        [ -d "$cs_dir" ] || continue
        valid_task_id "${cs_dir#"$TASK_BASE/$TASK_PREFIX"}" || continue
        read_state "$cs_dir/exitcode"
        if [ -z "$RS" ]; then
            read_state "$cs_dir/pid"
            is_running "$RS" && continue
        fi
        cs_any=1
        break
    done
    [ "$cs_any" = 1 ] || return 0
    find "$TASK_BASE" -maxdepth 1 -type d -name "${TASK_PREFIX}*" -mtime +"$STALE_DAYS" 2>/dev/null |
        while IFS= read -r cs_dir; do
            valid_task_id "${cs_dir#"$TASK_BASE/$TASK_PREFIX"}" || continue
            task_dir_of "${cs_dir#"$TASK_BASE/$TASK_PREFIX"}"
            [ "$cs_dir" = "$TASK_DIR" ] || continue
            read_state "$cs_dir/pid"
            cs_pid=$RS
            read_state "$cs_dir/exitcode"
            if [ -z "$RS" ] && is_running "$cs_pid"; then
                continue
            fi
            remove_rdm_files "$cs_dir"
            if remove_task_dir "$cs_dir"; then
                log_msg info "removed stale task directory $cs_dir"
            else
                log_msg warning "failed to remove stale task directory $cs_dir"
            fi
        done || true
    return 0
}

# ------------------------------------------------------------- operations --

do_version() {
    if [ "$output" = simple ]; then
        printf '%s\n' "$SCRIPT_VERSION"
    else
        reply 0 "{\"version\": \"$SCRIPT_VERSION\"}"
    fi
}

do_clone() {
    cleanup_stale

    normalize_path "$src" || finish 1 "Path validation error: $NORM_ERR"
    src=$NORM
    normalize_path "$dst" || finish 1 "Path validation error: $NORM_ERR"
    dst=$NORM
    check_source "$src" || finish 1 "Path validation error: $SRC_ERR"
    check_target "$dst" || finish 1 "Path validation error: $DST_ERR"

    dc_try=0
    while :; do
        dc_try=$((dc_try + 1))
        gen_task_id "$dc_try"
        dc_id=$TASK_ID
        task_dir_of "$dc_id"
        dc_dir=$TASK_DIR
        if dc_err=$(mkdir -m 750 "$dc_dir" 2>&1); then
            break
        else
            dc_rc=$?
        fi
        if [ -e "$dc_dir" ] && [ "$dc_try" -lt 5 ]; then
            continue
        fi
        case $dc_rc:$dc_err in
            28:* | *"No space left"*)
                finish 28 "Error running subprocess: free space is low: check /var/log/vmkernel.log for more details" ;;
        esac
        finish 1 "Failed to create task directory $dc_dir: $dc_err"
    done

    dc_rdm="$src-rdmdisk-$$"
    dc_naa=${dst##*/}

    # What to remove is on record before anything can create it.
    if ! dc_err=$({ write_file "$dc_dir" rdmfile "$dc_rdm" &&
                    write_file "$dc_dir" targetLun "$dc_naa" &&
                    write_file "$dc_dir" source "$src"; } 2>&1); then
        remove_task_dir "$dc_dir" || true
        case $dc_err in
            *"No space left"*)
                finish 28 "Error running subprocess: free space is low: check /var/log/vmkernel.log for more details" ;;
        esac
        finish 1 "Failed to record the state of task $dc_id: $dc_err"
    fi

    # The clone runs in its own session with its own shell, which records its
    # own pid (the process group to stop) before it runs vmkfstools, and
    # vmkfstools' exit status when it ends.  The paths reach it only as
    # positional parameters, never as shell text.
    # shellcheck disable=SC2016
    setsid /bin/sh -c '
printf %s "$$" >"$4/.pid.tmp" && mv -f "$4/.pid.tmp" "$4/pid" || exit 126
trap "exit 129" HUP
trap "exit 130" INT
trap "exit 143" TERM
trap "rc=\$?; printf %s \"\$rc\" >\"\$4/.exitcode.tmp\"; mv -f \"\$4/.exitcode.tmp\" \"\$4/exitcode\"" EXIT
"$5" -i "$1" -d "rdm:$2" "$3"
' vmkfstools-clone "$src" "$dst" "$dc_rdm" "$dc_dir" "$VMKFSTOOLS" \
        </dev/null >"$dc_dir/out" 2>"$dc_dir/err" &
    dc_bg=$!

    # Answer only once the pid is on record, so that a task-clean right after
    # this reply always knows what to stop.  The shell writes it at once: look
    # again soon (20 ms, then longer pauses), the reply waits on this.  Give
    # up after 20 s, or after 3 s once the background job has ended.
    dc_ms=0
    dc_pause=20
    while [ ! -s "$dc_dir/pid" ] && [ ! -f "$dc_dir/exitcode" ]; do
        # (setsid may fork, so the background job ending proves nothing at first.)
        if [ "$dc_ms" -ge 20000 ] || { [ "$dc_ms" -ge 3000 ] && ! is_running "$dc_bg"; }; then
            [ -s "$dc_dir/pid" ] || [ -f "$dc_dir/exitcode" ] && break
            signal_group KILL "$dc_bg"
            remove_task_dir "$dc_dir" || true
            finish 1 "Failed to start vmkfstools process"
        fi
        pause_ms "$dc_pause"
        dc_ms=$((dc_ms + PAUSED))
        dc_pause=$NEXT_PAUSE
    done
    read_state "$dc_dir/pid"
    dc_pid=$RS
    if ! is_number "$dc_pid"; then
        # The shell ended before it could write its pid (exit 126): nothing runs.
        dc_pid=$dc_bg
        write_file "$dc_dir" pid "$dc_pid" 2>/dev/null || true
    fi

    log_msg info "task $dc_id: clone started, pid $dc_pid, source $src, target $dst, rdm $dc_rdm"
    json_str "$dc_id"
    finish 0 "{\"taskId\": $JS, \"pid\": $dc_pid, \"xcopyUsed\": false}"
}

do_task_get() {
    [ -n "$task_id" ] || fail_json 1 "-i (task-id) is required for task-get"
    valid_task_id "$task_id" || fail_json 1 "Invalid task id: $task_id"
    task_dir_of "$task_id"
    tg_dir=$TASK_DIR
    [ -d "$tg_dir" ] || fail_json 1 "Task directory $tg_dir not found" "$task_id"

    read_state "$tg_dir/pid"
    tg_pid=$RS
    is_number "$tg_pid" || fail_json 1 "Failed to read PID" "$task_id"

    # The exit code is read before the output, so that a set exit code always
    # comes with the complete output.
    read_state "$tg_dir/exitcode"
    tg_ec=$RS
    if [ -z "$tg_ec" ] && ! is_running "$tg_pid"; then
        read_state "$tg_dir/exitcode"
        tg_ec=$RS
        if [ -z "$tg_ec" ]; then
            log_msg warning "task $task_id: process $tg_pid died without an exit code"
            tg_ec=1
        fi
    fi
    is_number "$tg_ec" || [ -z "$tg_ec" ] || tg_ec=1

    # vmkfstools redraws its progress with carriage returns: the last line
    # (split at CR and LF) with something other than blanks, tabs, VT and FF
    # (what awk's NF would skip).  The shell drops NUL bytes from $(...).
    tg_last=
    if [ -s "$tg_dir/out" ]; then
        tg_rest=$(tail -c 4096 "$tg_dir/out" 2>/dev/null || true)
        while :; do
            tg_seg=${tg_rest##*["$CR$NL"]}
            case $tg_seg in
                *[!" $TAB$VT$FF"]*) tg_last=$tg_seg; break ;;
            esac
            case $tg_rest in
                *["$CR$NL"]*) tg_rest=${tg_rest%["$CR$NL"]*} ;;
                *) break ;;
            esac
        done
    fi
    tg_err=
    if [ -s "$tg_dir/err" ]; then
        tg_err=$(tail -c 65536 "$tg_dir/err" 2>/dev/null || true)
    fi
    read_state "$tg_dir/targetLun"
    xcopy_used "$RS"

    json_str "$task_id"
    tg_msg="{\"taskId\": $JS, \"pid\": $tg_pid"
    json_str "$tg_ec"
    tg_msg="$tg_msg, \"exitCode\": $JS"
    json_str "$tg_last"
    tg_msg="$tg_msg, \"lastLine\": $JS, \"xcopyUsed\": $XU"
    json_str "$tg_err"
    finish 0 "$tg_msg, \"stdErr\": $JS}"
}

do_task_clean() {
    [ -n "$task_id" ] || fail_json 1 "-i (task-id) is required for task-clean"
    valid_task_id "$task_id" || fail_json 1 "Invalid task id: $task_id"
    task_dir_of "$task_id"
    tc_dir=$TASK_DIR
    [ -d "$tc_dir" ] || fail_json 1 "Task directory $tc_dir not found" "$task_id"

    # Never remove the record of a clone that may still write: a later
    # task-clean (or the stale cleanup) can finish the job.
    stop_task "$tc_dir" ||
        fail_json 1 "The clone of task $task_id is still running after TERM and KILL; its files are kept" "$task_id"
    remove_rdm_files "$tc_dir"
    remove_task_dir "$tc_dir" || finish 1 "failed to remove task directory $tc_dir after cleanup"
    log_msg info "task $task_id: cleaned up"
    finish 0 ""
}

do_task_find() {
    [ -n "$dst" ] || fail_json 1 "-t (target-lun) is required for task-find"
    normalize_path "$dst" || fail_json 1 "Path validation error: $NORM_ERR"
    tf_naa=${NORM#/vmfs/devices/disks/}
    case $tf_naa in
        "$NORM" | */* | '') fail_json 1 "target must be a disk device /vmfs/devices/disks/naa.*, eui.* or t10.*: $dst" ;;
        naa.?* | eui.?* | t10.?*) ;;
        *) fail_json 1 "target must be a disk device /vmfs/devices/disks/naa.*, eui.* or t10.*: $dst" ;;
    esac
    tf_src=
    if [ -n "$src" ]; then
        normalize_path "$src" || fail_json 1 "Path validation error: $NORM_ERR"
        tf_src=$NORM
    fi
    tf_list=
    # The one glob of the script (set -f elsewhere): a constant prefix.
    set +f
    set -- "$TASK_BASE/$TASK_PREFIX"*
    set -f
    for tf_dir in "$@"; do
        [ -d "$tf_dir" ] || continue
        tf_id=${tf_dir#"$TASK_BASE/$TASK_PREFIX"}
        valid_task_id "$tf_id" || continue
        read_state "$tf_dir/targetLun"
        [ "$RS" = "$tf_naa" ] || continue
        read_state "$tf_dir/pid"
        tf_pid=$RS
        is_number "$tf_pid" || tf_pid=0
        read_state "$tf_dir/exitcode"
        tf_ec=$RS
        is_number "$tf_ec" || [ -z "$tf_ec" ] || tf_ec=1
        tf_run=false
        if [ -z "$tf_ec" ] && [ "$tf_pid" != 0 ] && is_running "$tf_pid"; then
            tf_run=true
        fi
        read_state "$tf_dir/source"
        tf_tsrc=$RS
        tf_same=null
        if [ -n "$tf_src" ]; then
            if [ -n "$tf_tsrc" ] && [ "$tf_tsrc" = "$tf_src" ]; then tf_same=true; else tf_same=false; fi
        fi
        json_str "$tf_id"
        tf_item="{\"taskId\": $JS, \"pid\": $tf_pid"
        json_str "$tf_tsrc"
        tf_item="$tf_item, \"source\": $JS"
        json_str "$tf_naa"
        tf_item="$tf_item, \"targetLun\": $JS"
        json_str "$tf_ec"
        tf_list="$tf_list${tf_list:+, }$tf_item, \"exitCode\": $JS, \"running\": $tf_run, \"sameSource\": $tf_same}"
    done
    finish 0 "{\"tasks\": [$tf_list]}"
}

# ------------------------------------------------------------------ main --

# Through the restricted SSH key the options arrive as one string.  Split it
# like sh would split plain words and quotes, and do nothing else.
# ('\' below is a literal backslash, not an escaped quote.)
# A command without quotes or backslashes (the usual one) is plain words: the
# shell's own field splitting on blanks and newlines gives the same words at
# once (set -f is in force, so nothing is globbed), where the loop below would
# take one step per character.
tk_plain=0
# shellcheck disable=SC1003
if [ "$#" -eq 0 ] && [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then
    case $SSH_ORIGINAL_COMMAND in
        *"'"* | *'"'* | *'\'*) ;;
        *) tk_plain=1 ;;
    esac
fi
# shellcheck disable=SC1003
if [ "$tk_plain" = 1 ]; then
    IFS=" $TAB$NL"
    # shellcheck disable=SC2086
    set -- $SSH_ORIGINAL_COMMAND
elif [ "$#" -eq 0 ] && [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then
    tk_rest=$SSH_ORIGINAL_COMMAND
    tk_tok=
    tk_have=0
    tk_state=plain
    set --
    while [ -n "$tk_rest" ]; do
        # First character off the front.  (The suffix to remove is matched
        # with %% on purpose: with % this loop is cubic in ash and dash.)
        tk_r2=${tk_rest#?}
        tk_c=${tk_rest%%"$tk_r2"}
        tk_rest=$tk_r2
        case $tk_state in
            single)
                if [ "$tk_c" = "'" ]; then
                    tk_state=plain
                else
                    tk_tok=$tk_tok$tk_c
                fi
                ;;
            double)
                case $tk_c in
                    '"') tk_state=plain ;;
                    '\')
                        tk_r2=${tk_rest#?}
                        tk_n=${tk_rest%%"$tk_r2"}
                        tk_rest=$tk_r2
                        case $tk_n in
                            '') tk_tok=$tk_tok'\' ;;
                            '$' | '`' | '"' | '\') tk_tok=$tk_tok$tk_n ;;
                            "$NL") ;;
                            *) tk_tok=$tk_tok'\'$tk_n ;;
                        esac
                        ;;
                    *) tk_tok=$tk_tok$tk_c ;;
                esac
                ;;
            *)
                case $tk_c in
                    ' ' | "$TAB" | "$NL")
                        if [ "$tk_have" = 1 ]; then
                            set -- "$@" "$tk_tok"
                            tk_tok=
                            tk_have=0
                        fi
                        ;;
                    "'") tk_state=single; tk_have=1 ;;
                    '"') tk_state=double; tk_have=1 ;;
                    '\')
                        tk_r2=${tk_rest#?}
                        tk_n=${tk_rest%%"$tk_r2"}
                        tk_rest=$tk_r2
                        case $tk_n in
                            '') tk_tok=$tk_tok'\'; tk_have=1 ;;
                            "$NL") ;;
                            *) tk_tok=$tk_tok$tk_n; tk_have=1 ;;
                        esac
                        ;;
                    *) tk_tok=$tk_tok$tk_c; tk_have=1 ;;
                esac
                ;;
        esac
    done
    if [ "$tk_state" != plain ]; then
        finish 1 "Unterminated quote in command"
    fi
    if [ "$tk_have" = 1 ]; then
        set -- "$@" "$tk_tok"
    fi
fi

op=
want_version=0
output=xml
src=
dst=
task_id=
while [ "$#" -gt 0 ]; do
    case $1 in
        --clone | --task-get | --task-clean | --task-find)
            if [ -n "$op" ] && [ "$op" != "$1" ]; then
                finish 1 "Only one of --clone, --task-get, --task-clean and --task-find may be given"
            fi
            op=$1
            ;;
        -v | --version) want_version=1 ;;
        -s | --source-vmdk | -t | --target-lun | -i | --task-id | --output)
            [ "$#" -ge 2 ] || finish 1 "Option $1 requires a value"
            case $1 in
                -s | --source-vmdk) src=$2 ;;
                -t | --target-lun) dst=$2 ;;
                -i | --task-id) task_id=$2 ;;
                --output) output=$2 ;;
            esac
            shift
            ;;
        *) finish 1 "Unknown option: $1" ;;
    esac
    shift
done

case $output in
    simple | xml) ;;
    *) finish 1 "Unknown output format: $output (expected simple or xml)" ;;
esac

if [ "$want_version" = 1 ]; then
    do_version
fi

case $op in
    --clone)
        if [ -z "$src" ] || [ -z "$dst" ]; then
            finish 1 "--clone requires -s (source-vmdk) and -t (target-lun)"
        fi
        do_clone
        ;;
    --task-get) do_task_get ;;
    --task-clean) do_task_clean ;;
    --task-find) do_task_find ;;
    *)
        [ "$want_version" = 1 ] || finish 1 "No operation given: use --clone, --task-get, --task-clean, --task-find or --version"
        ;;
esac
exit 0
