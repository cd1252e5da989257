# bash completion for soma                                  -*- shell-script -*-
#
# Installed by `make install` as share/bash-completion/completions/soma;
# to try it from the source tree: . completion/soma.bash
#
# The subcommands and their options are read from the program's own help
# (soma --help, soma CMD --help), so they are always those of the soma
# being completed; the values of the options that take a fixed set of names
# are listed here.

# The subcommands, from "soma --help" (lines "  name   summary").
_soma_commands()
{
    "$1" --help 2>/dev/null | awk '/^commands:/ { on = 1; next }
        on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }'
}

# The options of a subcommand and whether each takes a value, from
# "soma CMD --help": one "--name" or "--name=" per line.
_soma_options()
{
    "$1" "$2" --help 2>/dev/null | awk '/^ +(-[a-zA-Z], )?--[a-z]/ {
        # the help prints the option and its value placeholder in the
        # first 30 columns; when they are longer, a placeholder is known
        # by its capitals (N, FILE.svg, W1,W2..)
        left = substr($0, 31, 1) == " " ? substr($0, 1, 30) : $0
        n = split(left, w, " ")
        i = (w[1] ~ /^--/) ? 1 : 2
        print (i < n && w[i + 1] ~ /^[A-Z]/ ? w[i] "=" : w[i]) }'
}

_soma()
{
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=""
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
    # bash splits "--epochs=5" into "--epochs", "=" and "5"
    if [ "$cur" = "=" ]; then
        cur=""
    elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    local soma=${COMP_WORDS[0]}
    COMPREPLY=()

    # the subcommand is the first word after "soma"
    if [ "$COMP_CWORD" -eq 1 ]; then
        local cmds
        cmds="$(_soma_commands "$soma") --help --version"
        COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
        return 0
    fi
    local cmd=${COMP_WORDS[1]}

    # the value of an option
    case $prev in
    --activation)
        COMPREPLY=($(compgen -W "sigmoid tanh relu leaky_relu linear" -- "$cur"))
        return 0 ;;
    --output-activation)
        COMPREPLY=($(compgen -W "sigmoid softmax linear" -- "$cur"))
        return 0 ;;
    --missing)
        COMPREPLY=($(compgen -W "impute drop error" -- "$cur"))
        return 0 ;;
    --task)
        COMPREPLY=($(compgen -W "classify regress" -- "$cur"))
        return 0 ;;
    --class-weight)
        COMPREPLY=($(compgen -W "balanced none" -- "$cur"))
        return 0 ;;
    --sep)
        COMPREPLY=($(compgen -W ", ; | tab space" -- "$cur"))
        return 0 ;;
    --decimal)
        COMPREPLY=($(compgen -W ". ," -- "$cur"))
        return 0 ;;
    --loss)
        COMPREPLY=($(compgen -W "sse mse bce ce" -- "$cur"))
        return 0 ;;
    --optimizer)
        COMPREPLY=($(compgen -W "gd sgd adam" -- "$cur"))
        return 0 ;;
    --init)
        COMPREPLY=($(compgen -W "uniform glorot he" -- "$cur"))
        return 0 ;;
    --lr-schedule)
        COMPREPLY=($(compgen -W "constant step cosine" -- "$cur"))
        return 0 ;;
    --layers)
        COMPREPLY=($(compgen -W "none 32 16,8 64,32" -- "$cur"))
        return 0 ;;
    --target|-t|--ignore|--categorical|--numeric|--id)
        # column names from the header of the data file on the line (any
        # of the separators soma detects; a gzipped file through zcat)
        local w f=""
        for w in "${COMP_WORDS[@]:2}"; do
            case $w in *.csv|*.tsv|*.txt|*.csv.gz) [ -f "$w" ] && f=$w && break ;; esac
        done
        if [ -n "$f" ]; then
            local IFS=$'\n'
            COMPREPLY=($(compgen -W "$(zcat -f -- "$f" 2>/dev/null | head -n 1 |
                tr -d '\r"' | tr ',;|\t' '\n\n\n\n')" -- "$cur"))
        fi
        return 0 ;;
    -o|--output|--output-file|--labels|--init-from|--log|--val|--val-labels|--checkpoint|\
    --resume|--confusion-svg)
        _soma_files "$cur"
        return 0 ;;
    esac
    # other options that take a value: nothing to offer
    if [[ $prev == -* ]]; then
        local o
        for o in $(_soma_options "$soma" "$cmd"); do
            if [ "$o" = "$prev=" ]; then
                return 0
            fi
        done
    fi

    if [[ $cur == -* ]]; then
        local opts
        opts=$(_soma_options "$soma" "$cmd" | sed 's/=$//')
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi
    # positional arguments: data, models and logs are files
    _soma_files "$cur"
}

# File and directory names starting with $1, with a slash after directories.
_soma_files()
{
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$1"))
}

complete -F _soma soma
