// Shell completion generated from the command tree itself (so it never drifts from the flags):
// `hearth completion bash` / `hearth completion zsh` print a script to source. Each command path
// (`create deployment`) offers its subcommands and flags; zsh runs the same function through
// bashcompinit.
import type { Command } from 'commander';

interface Node {
  /** Every spelling of the path (aliases), e.g. `create deployment`, `create deployments`. */
  paths: string[];
  words: string[];
}

function walk(cmd: Command, prefixes: string[], out: Node[]): void {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  const flags = cmd.options.map((o) => o.long).filter((l): l is string => !!l);
  out.push({ paths: prefixes, words: [...subs.map((c) => c.name()), ...flags] });
  for (const c of subs) {
    const names = [c.name(), ...c.aliases()];
    walk(c, prefixes.flatMap((p) => names.map((n) => (p ? `${p} ${n}` : n))), out);
  }
}

const quote = (s: string): string => `"${s}"`;

/** The bash completion script for `program`. */
export function bashCompletion(program: Command): string {
  const nodes: Node[] = [];
  walk(program, [''], nodes);
  const globals = program.options.map((o) => o.long).filter(Boolean).join(' ');
  // Deepest paths first: `case` takes the first pattern that matches.
  const sorted = nodes.filter((n) => n.paths[0] !== '').sort((a, b) => b.paths[0]!.split(' ').length - a.paths[0]!.split(' ').length);
  const cases = sorted.map((n) => `    ${n.paths.flatMap((p) => [quote(p), `${quote(p)}" "*`]).join('|')}) words="${n.words.join(' ')} ${globals}" ;;`);
  const top = nodes.find((n) => n.paths[0] === '')!;
  return [
    '# hearth completion for bash: source <(hearth completion bash)',
    '_hearth() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" path="" w i words',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    w="${COMP_WORDS[i]}"',
    '    [[ $w == -* ]] && continue',
    '    path="${path:+$path }$w"',
    '  done',
    '  case "$path" in',
    ...cases,
    `    *) words="${top.words.join(' ')}" ;;`,
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    'complete -F _hearth hearth',
    '',
  ].join('\n');
}

/** The zsh script: the bash function through bashcompinit. */
export function zshCompletion(program: Command): string {
  return ['#compdef hearth', '# hearth completion for zsh: source <(hearth completion zsh)', 'autoload -U +X bashcompinit && bashcompinit', bashCompletion(program)].join('\n');
}
