import { parseDaemonOptions } from "./primary/options.ts";
import { runPrimary, StartupError } from "./primary/primary.ts";

try {
  await runPrimary(await parseDaemonOptions(process.argv.slice(2)));
} catch (error) {
  if (error instanceof StartupError) {
    console.error(`tsd-daemon: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
