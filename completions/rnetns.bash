# bash completion for rnetns(8), and for `ip netns ...` when rnetns is
# installed as ip (other ip objects are left to bash-completion's _ip).
#
# Words are matched as iproute2 matches them: any non-empty prefix, first
# match in table order wins (`s` is list, `a` is add, `d` is delete); the
# rnetns extensions `doctor` and `graph` only as whole words.
# RNETNS_RUN_DIR overrides the run directory (/run/netns), for tests only.

# iproute2's global options in matching order (kept in step with
# src/cli/grammar.rs by a unit test), and those that take a value.
_rnetns_options=(-loops -family -4 -6 -0 -M -B -human -human-readable -iec -stats -statistics -details -resolve -oneline -timestamp -tshort -Version -force -batch -brief -json -pretty -rcvbuf -color -help -netns -Numeric -all -echo)
_rnetns_exact_options=' -4 -6 -0 -M -B -echo '
_rnetns_valued_options=' -loops -family -batch -rcvbuf -netns '
# Subcommands in matching order, then the rnetns extensions.
_rnetns_subcommands=(list show lst list-id help add set delete identify pids exec monitor attach doctor graph)

# Prints the option keyword WORD selects (`--x` is `-x`), or nothing.
_rnetns_option_of() {
    local w=$1 k
    [[ $w == --* ]] && w=${w#-}
    w=${w%%=*}
    [[ -n $w ]] || return
    for k in "${_rnetns_options[@]}"; do
        if [[ $_rnetns_exact_options == *" $k "* ]]; then
            [[ $w == "$k" ]] && { printf '%s' "$k"; return; }
        elif [[ $k == "$w"* ]]; then
            printf '%s' "$k"
            return
        fi
    done
}

# Prints the subcommand WORD selects, or nothing. The extensions (after
# iproute2's table) are whole words only.
_rnetns_extensions=' doctor graph '
_rnetns_subcommand_of() {
    local k
    [[ -n $1 ]] || return
    for k in "${_rnetns_subcommands[@]}"; do
        if [[ $_rnetns_extensions == *" $k "* ]]; then
            [[ $1 == "$k" ]] && { printf '%s' "$k"; return; }
        elif [[ $k == "$1"* ]]; then
            printf '%s' "$k"
            return
        fi
    done
}

# Adds the candidates in "$@" that start with $cur.
_rnetns_add() {
    local c
    for c in "$@"; do
        [[ $c == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$c")")
    done
}

_rnetns_names() {
    local dir=${RNETNS_RUN_DIR:-/run/netns} f
    local -a names=()
    for f in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
        [[ -e $f || -L $f ]] && names+=("${f##*/}")
    done
    _rnetns_add "${names[@]}"
}

_rnetns_pids() {
    local prefix=$1 p
    local -a pids=()
    for p in /proc/[0-9]*; do
        pids+=("$prefix${p##*/}")
    done
    _rnetns_add "${pids[@]}"
}

# A namespace: a name, or a runtime reference (docker:, podman:, lxc:,
# machine:, k8s:, pid:, a path).
_rnetns_refs() {
    case $cur in
        pid:*) _rnetns_pids pid: ;;
        docker:* | podman:* | lxc:* | machine:* | k8s:*) ;;
        /* | ./* | ../*) COMPREPLY+=($(compgen -f -- "$cur")) ;;
        *)
            _rnetns_names
            _rnetns_add docker: podman: lxc: machine: k8s: pid:
            # A lone `docker:` goes on without a space.
            [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null
            ;;
    esac
}

# Completes the netns words words[$1 ...] (after `ip [OPTIONS] netns`
# or `rnetns [OPTIONS]`); $2 is 1 when -all was given.
_rnetns_netns() {
    local first=$1 all=$2
    local pos=$((cword - first))
    if ((pos == 0)); then
        _rnetns_add "${_rnetns_subcommands[@]}"
        return
    fi
    local sub
    sub=$(_rnetns_subcommand_of "${words[first]}")
    # As rnetns (not as ip): SUBCOMMAND --help/-h and help SUBCOMMAND.
    if [[ ${words[0]##*/} != ip ]] && ((pos == 1)); then
        [[ $cur == -* ]] && _rnetns_add --help -h
        [[ $sub == help ]] && _rnetns_add "${_rnetns_subcommands[@]}" docker: podman: pid:
    fi
    case $sub in
        list | show | lst)
            ((pos == 1)) && _rnetns_add --all-runtimes
            ((pos == 2)) && [[ ${words[first + 1]} == --all-runtimes ]] && _rnetns_add --links
            ;;
        doctor) ((pos == 1)) && _rnetns_add --fix ;;
        graph) ((pos == 1)) && _rnetns_add --dot ;;
        list-id) ((pos % 2 == 1)) && _rnetns_add target-nsid nsid ;;
        delete) ((pos == 1 && !all)) && _rnetns_names ;;
        pids) ((pos == 1)) && _rnetns_refs ;;
        set)
            if ((pos == 1)); then _rnetns_refs; elif ((pos == 2)); then _rnetns_add auto; fi
            ;;
        attach)
            # The first word is a new name: nothing to offer.
            if ((pos == 2)); then
                case $cur in
                    pid:*) _rnetns_pids pid: ;;
                    docker:* | podman:* | lxc:* | machine:* | k8s:*) ;;
                    *) _rnetns_pids '' && _rnetns_add docker: podman: lxc: machine: k8s: pid: ;;
                esac
            fi
            ;;
        identify)
            if [[ $cur == -* ]]; then
                _rnetns_add --all-runtimes --iface
            elif ((pos <= 2)); then
                _rnetns_pids ''
                [[ $cur == pid:* ]] && _rnetns_pids pid:
            fi
            ;;
        exec)
            local cmd=$((first + 1))
            ((all)) || cmd=$((first + 2))
            if ((cword < cmd)); then
                _rnetns_refs
            elif ((cword == cmd)); then
                COMPREPLY+=($(compgen -c -- "$cur"))
            elif declare -F _command_offset >/dev/null; then
                _command_offset "$cmd"
            else
                COMPREPLY+=($(compgen -f -- "$cur"))
            fi
            ;;
    esac
}

# Skips the global options from words[$1]; sets _rnetns_next to the
# first word after them, _rnetns_all to 1 if -all was among them, and
# completes the current word if it is an option or an option's value.
# Returns 1 when it completed something.
_rnetns_globals() {
    local i=$1 opt
    _rnetns_all=0
    while ((i < cword)); do
        local w=${words[i]}
        [[ $w == -* ]] || break
        if [[ $w == -- ]]; then
            ((i++))
            break
        fi
        opt=$(_rnetns_option_of "$w")
        [[ $opt == -all ]] && _rnetns_all=1
        if [[ $_rnetns_valued_options == *" $opt "* ]]; then
            if ((i + 1 == cword)); then
                case $opt in
                    -netns) _rnetns_names ;;
                    -batch) COMPREPLY+=($(compgen -f -- "$cur")) ;;
                    -family) _rnetns_add inet inet6 link bridge mpls help ;;
                esac
                return 1
            fi
            ((i += 2))
        else
            ((i++))
        fi
    done
    _rnetns_next=$i
    if ((i == cword)) && [[ $cur == -* ]]; then
        _rnetns_add "${_rnetns_options[@]}" --help
        return 1
    fi
    return 0
}

# Sets words, cword and cur for the line being completed, with `:` kept
# inside words (docker:web is one word) when bash-completion is loaded.
_rnetns_words() {
    if declare -F _get_comp_words_by_ref >/dev/null && [[ -n ${COMP_LINE-} ]]; then
        _get_comp_words_by_ref -n : cur words cword
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${words[cword]}
    fi
    COMPREPLY=()
}

# Strips what bash sees as earlier words from candidates containing `:`.
_rnetns_colons() {
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local prefix=${cur%"${cur##*:}"} i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}
        done
    fi
}

_rnetns() {
    local cur cword
    local -a words
    _rnetns_words
    if _rnetns_globals 1; then
        _rnetns_netns "$_rnetns_next" "$_rnetns_all"
    fi
    _rnetns_colons
    return 0
}

# `ip`: netns command lines are rnetns's; everything else goes to _ip.
_rnetns_ip() {
    local cur cword
    local -a words
    _rnetns_words
    _rnetns_globals 1
    local done=$? obj=${words[_rnetns_next]}
    if ((done == 0 && _rnetns_next < cword)) && [[ $obj == net || $obj == netn || $obj == netns ]]; then
        _rnetns_netns $((_rnetns_next + 1)) "$_rnetns_all"
        _rnetns_colons
        return 0
    fi
    COMPREPLY=()
    _rnetns_ip_fallback "$@"
}

# Hands the completion to bash-completion's _ip, loading it if needed.
_rnetns_ip_fallback() {
    if ! declare -F _ip >/dev/null; then
        local f self=${BASH_SOURCE[0]}
        for f in ${BASH_COMPLETION_USER_DIR:+"$BASH_COMPLETION_USER_DIR/completions/ip"} \
            /usr/share/bash-completion/completions/ip \
            /usr/local/share/bash-completion/completions/ip; do
            if [[ -r $f && ! $f -ef $self ]]; then
                . "$f"
                break
            fi
        done
        # Loading it registered _ip for ip: take ip back.
        complete -F _rnetns_ip ip
    fi
    if declare -F _ip >/dev/null; then
        _ip "$@"
    elif ((_rnetns_next == cword)); then
        _rnetns_add netns link address route rule neighbour monitor help
    fi
}

complete -F _rnetns rnetns
# Register `ip` too when it is rnetns: loaded as the `ip` completion (make
# install-ip-shim), or `ip` on PATH resolves to rnetns.
_rnetns_ip_path=$(type -P ip 2>/dev/null)
if [[ ${BASH_SOURCE[0]##*/} == ip ]] ||
    [[ -n $_rnetns_ip_path && $(readlink -f "$_rnetns_ip_path") == */rnetns ]]; then
    complete -F _rnetns_ip ip
fi
unset _rnetns_ip_path
