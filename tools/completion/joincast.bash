# bash completion for joincast(8). The commands and their options are read
# from `joincast --help` and `joincast COMMAND --help`, so they never drift
# from the program.
_joincast() {
  local cur prev words cword
  _init_completion || return
  local i cmd=""
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      --socket | --bpf-root) ((i++)) ;;
      -*) ;;
      *) cmd="${words[i]}"; break ;;
    esac
  done
  case "$prev" in
    --socket) _filedir; return ;;
    --bpf-root) _filedir -d; return ;;
    -i | --interface) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
  esac
  if [[ -z "$cmd" ]]; then
    if [[ "$cur" == -* ]]; then
      COMPREPLY=($(compgen -W "--socket --bpf-root --json --help" -- "$cur"))
    else
      local commands
      commands=$("${words[0]}" --help 2>/dev/null | sed -n '/^Commands:/,/^Options:/s/^  \([a-z][a-z]*\) .*/\1/p')
      COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    return
  fi
  if [[ "$cur" == -* ]]; then
    local opts
    opts=$("${words[0]}" "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
    COMPREPLY=($(compgen -W "$opts --json" -- "$cur"))
  elif [[ "$cmd" == route && $((cword - i)) -eq 1 ]]; then
    COMPREPLY=($(compgen -W "add del" -- "$cur"))
  elif [[ "$cmd" == watch ]]; then
    COMPREPLY=($(compgen -W "membership sessions directories catalogue" -- "$cur"))
  fi
}
complete -F _joincast joincast
