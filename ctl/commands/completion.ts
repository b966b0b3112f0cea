import yargs from "yargs";
import type { CtlCommand } from "../command.ts";

export const COMPLETION_SHELLS = ["bash", "zsh"] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** The option yargs' scripts call tsctl with to ask for the words that can come next. */
export const COMPLETION_KEY = "--get-yargs-completions";

/**
 * yargs' own completion script for shell. yargs picks the script by $SHELL when it is created,
 * so $SHELL is set to the shell asked for meanwhile; the script asks
 * `tsctl --get-yargs-completions WORDS...`, which main.ts answers (ctl/complete.ts).
 */
export function completionScript(shell: CompletionShell): string {
  const saved = { SHELL: process.env.SHELL, ZSH_NAME: process.env.ZSH_NAME };
  process.env.SHELL = `/bin/${shell}`;
  delete process.env.ZSH_NAME;
  try {
    let script = "";
    yargs(["completion"])
      .scriptName("tsctl")
      .completion("completion", false)
      .exitProcess(false)
      .parse(["completion"], {}, (_error, _argv, output) => {
        script = output;
      });
    return script;
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** The shell a person is in, by $SHELL: zsh, else bash. */
function shellOfUser(): CompletionShell {
  return (process.env.SHELL ?? "").includes("zsh") ? "zsh" : "bash";
}

export const completion: CtlCommand = {
  command: "completion [shell]",
  describe: "print a completion script for bash or zsh (source it, or put it in ~/.bashrc / ~/.zshrc)",
  positionals: {
    shell: { choices: COMPLETION_SHELLS, describe: "the shell (default: the one $SHELL names)" },
  },
  async run(ctx, args) {
    ctx.out(completionScript((args.shell as CompletionShell | undefined) ?? shellOfUser()));
  },
};
