# fish completion for rnetns(8). Words are matched as iproute2 matches them:
# any non-empty prefix, first match in table order wins (`s` is list, `a`
# is add, `d` is delete; `doctor`, `graph` only whole). RNETNS_RUN_DIR overrides /run/netns (tests only).

# iproute2's global options in matching order (kept in step with
# src/cli/grammar.rs by a unit test), and the subcommands, then extensions.
set -g _rnetns_options -loops -family -4 -6 -0 -M -B -human -human-readable -iec -stats -statistics -details -resolve -oneline -timestamp -tshort -Version -force -batch -brief -json -pretty -rcvbuf -color -help -netns -Numeric -all -echo
set -g _rnetns_subcommands list show lst list-id help add set delete identify pids exec monitor attach doctor graph

# The option keyword a word selects (`--x` is `-x`).
function __rnetns_option_of -a word
    set -l w (string replace -r '=.*' '' -- $word)
    string match -q -- '--*' $w; and set w (string sub -s 2 -- $w)
    test -n "$w"; or return 1
    for k in $_rnetns_options
        if contains -- $k -4 -6 -0 -M -B -echo
            test "$w" = "$k"; and echo $k; and return 0
        else if string match -q -- "$w*" $k
            echo $k
            return 0
        end
    end
    return 1
end

# The subcommand a word selects.
function __rnetns_subcommand_of -a word
    test -n "$word"; or return 1
    for k in $_rnetns_subcommands
        if contains -- $k doctor graph
            # rnetns extensions are whole words only.
            test "$word" = $k; and echo $k; and return 0
        else if string match -q -- "$word*" $k
            echo $k
            return 0
        end
    end
    return 1
end

# Prints "SUB POS ALL SKIP" for the command line being completed: the
# subcommand (or "-" while the options are still being read, "=OPT" when
# the current word is the value of option OPT), the current word's
# position after it, 1 if -all was given, and how many words come before
# the subcommand.
function __rnetns_state
    set -l toks (commandline -opc)
    set -l total (count $toks)
    set -e toks[1]
    set -l all 0
    while set -q toks[1]
        set -l w $toks[1]
        string match -q -- '-*' $w; or break
        set -e toks[1]
        test "$w" = --; and break
        set -l opt (__rnetns_option_of $w)
        test "$opt" = -all; and set all 1
        if contains -- "$opt" -loops -family -batch -rcvbuf -netns
            if not set -q toks[1]
                echo "=$opt 0 $all"
                return
            end
            set -e toks[1]
        end
    end
    if not set -q toks[1]
        echo "- 0 $all"
        return
    end
    set -l sub (__rnetns_subcommand_of $toks[1]); or set sub unknown
    echo "$sub" (count $toks) $all (math $total - (count $toks))
end

# exec's command and its arguments, completed as a command line of their own.
function __rnetns_exec_command
    set -l s (string split ' ' -- (__rnetns_state))
    __fish_complete_subcommand --fcs-skip=(math $s[4] + 2 - $s[3])
end

function __rnetns_is -a want
    set -l s (string split ' ' -- (__rnetns_state))
    switch $want
        case options
            test "$s[1]" = -
        case value-netns value-batch value-family
            test "$s[1]" = "="(string replace value- - -- $want)
        case delete
            test "$s[1]" = delete -a "$s[2]" = 1 -a "$s[3]" = 0
        case list doctor graph
            test "$s[1]" = $want -a "$s[2]" = 1
            or begin
                test $want = list; and contains -- "$s[1]" show lst; and test "$s[2]" = 1
            end
        case ref
            contains -- "$s[1]" pids set; and test "$s[2]" = 1
            or begin
                test "$s[1]" = exec -a "$s[2]" = 1 -a "$s[3]" = 0
            end
        case links
            contains -- "$s[1]" list show lst; and test "$s[2]" = 2
        case help-topic
            test "$s[1]" = help -a "$s[2]" = 1
        case help-flag
            test "$s[2]" = 1; and not contains -- "$s[1]" - unknown; and not string match -q -- '=*' "$s[1]"
        case set-id
            test "$s[1]" = set -a "$s[2]" = 2
        case pid
            test "$s[1]" = attach -a "$s[2]" = 2
            or begin
                test "$s[1]" = identify; and test "$s[2]" -le 2
            end
        case list-id
            test "$s[1]" = list-id; and test (math "$s[2] % 2") = 1
        case command
            test "$s[1]" = exec; and test "$s[2]" -ge (math 2 - $s[3])
        case '*'
            return 1
    end
end

function __rnetns_names
    set -l dir /run/netns
    set -q RNETNS_RUN_DIR; and set dir $RNETNS_RUN_DIR
    for f in $dir/* $dir/.?*
        string replace -r '.*/' '' -- $f
    end
end

function __rnetns_pids -a prefix
    for p in /proc/[0-9]*
        echo $prefix(string replace /proc/ '' -- $p)
    end
end

complete -c rnetns -f
complete -c rnetns -n '__rnetns_is options' -a "$_rnetns_subcommands"
complete -c rnetns -n '__rnetns_is options' -a "$_rnetns_options --help"
complete -c rnetns -n '__rnetns_is value-netns' -a '(__rnetns_names)'
complete -c rnetns -n '__rnetns_is value-batch' -F
complete -c rnetns -n '__rnetns_is value-family' -a 'inet inet6 link bridge mpls help'
complete -c rnetns -n '__rnetns_is list' -a --all-runtimes
complete -c rnetns -n '__rnetns_is doctor' -a --fix
complete -c rnetns -n '__rnetns_is graph' -a --dot
complete -c rnetns -n '__rnetns_is links' -a --links
complete -c rnetns -n '__rnetns_is help-flag' -a '--help -h'
complete -c rnetns -n '__rnetns_is help-topic' -a "$_rnetns_subcommands docker: podman: pid:"
complete -c rnetns -n '__rnetns_is list-id' -a 'target-nsid nsid'
complete -c rnetns -n '__rnetns_is delete' -a '(__rnetns_names)'
complete -c rnetns -n '__rnetns_is ref' -a '(__rnetns_names) docker: podman: lxc: machine: k8s: pid:'
complete -c rnetns -n '__rnetns_is ref' -a '(__rnetns_pids pid:)'
complete -c rnetns -n '__rnetns_is set-id' -a auto
complete -c rnetns -n '__rnetns_is pid' -a '(__rnetns_pids) docker: podman: lxc: machine: k8s: pid: --all-runtimes --iface'
complete -c rnetns -n '__rnetns_is command' -a '(__rnetns_exec_command)'
