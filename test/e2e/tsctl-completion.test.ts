/**
 * `tsctl completion`: yargs' scripts for bash and zsh, run by the real shells with the real
 * tsctl on PATH: Tab after `tsctl ki` offers kick; after `kick` the names of the users the
 * daemon has online; with no daemon, still the commands.
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ROOT, shape, tempDir, tsctl } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, shape(1, 1));

function has(program: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A directory with a `tsctl` that runs this checkout's, to put first on PATH. */
function tsctlOnPath(): string {
  const dir = tempDir();
  const shim = path.join(dir, "tsctl");
  fs.writeFileSync(
    shim,
    `#!/bin/sh\nexec '${process.execPath}' '${path.join(ROOT, "bin", "tsctl.js")}' "$@"\n`,
    { mode: 0o755 },
  );
  return dir;
}

/** What bash's Tab offers for the words (the last one being typed), with the script sourced. */
function bashCompletes(script: string, words: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const program = [
    `source '${script}'`,
    `COMP_WORDS=(${quoted})`,
    `COMP_CWORD=${words.length - 1}`,
    "_tsctl_yargs_completions",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  return new Promise((resolve, reject) => {
    execFile("bash", ["--norc", "-c", program], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout.split("\n").filter(Boolean));
    });
  });
}

test.serial(
  "tsctl completion - bash: yargs' script completes tsctl ki to kick, and kick's user names from the daemon",
  async (t) => {
    const bin = tsctlOnPath();
    t.teardown(() => fs.rmSync(bin, { recursive: true, force: true }));
    const generated = await tsctl(["completion", "bash"]);
    t.is(generated.code, 0, generated.stderr);
    t.regex(generated.stdout, /--get-yargs-completions/);
    t.regex(generated.stdout, /complete -o bashdefault -o default -F _tsctl_yargs_completions tsctl/);
    const script = path.join(bin, "tsctl.bash");
    fs.writeFileSync(script, generated.stdout);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, TSD_SOCKET: d.daemon.socket };

    t.deepEqual(await bashCompletes(script, ["tsctl", "ki"], env), ["kick"]);
    t.deepEqual(await bashCompletes(script, ["tsctl", "identities", "re"], env), ["remove", "reset"]);
    t.true((await bashCompletes(script, ["tsctl", "stop", "--"], env)).includes("--no-wait"));

    const alice = await d.user("alicia");
    t.teardown(() => alice.close());
    t.deepEqual(await bashCompletes(script, ["tsctl", "kick", "al"], env), ["alicia"]);
    t.deepEqual(
      await bashCompletes(script, ["tsctl", "--socket", d.daemon.socket, "mute", ""], {
        ...env,
        TSD_SOCKET: "",
      }),
      ["alicia"],
    );

    // No daemon at the socket: the commands still complete, quickly, and names are simply absent.
    const none = { ...env, TSD_SOCKET: path.join(bin, "none.sock") };
    t.deepEqual(await bashCompletes(script, ["tsctl", "unb"], none), ["unban"]);
    t.deepEqual(await bashCompletes(script, ["tsctl", "kick", "al"], none), []);
  },
);

test.serial("tsctl completion - zsh: yargs' script is valid zsh and names tsctl", async (t) => {
  const generated = await tsctl(["completion", "zsh"]);
  t.is(generated.code, 0, generated.stderr);
  t.regex(generated.stdout, /^#compdef tsctl/);
  t.regex(generated.stdout, /compdef _tsctl_yargs_completions tsctl/);
  if (!has("zsh")) {
    t.log("zsh is not installed: its syntax check is skipped");
    return;
  }
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, "_tsctl"), generated.stdout);
  execFileSync("zsh", ["-n", path.join(dir, "_tsctl")]);
  t.pass();
});

test.serial("tsctl completion - a shell other than bash or zsh is bad usage", async (t) => {
  const result = await tsctl(["completion", "fish"]);
  t.is(result.code, 2);
  t.regex(result.stderr, /"fish" is not one of bash, zsh/);
});
