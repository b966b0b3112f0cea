import { Daemon } from "./primary/daemon.ts";
import { parseDaemonOptions } from "./primary/options.ts";
import { StartupError } from "./primary/startup-error.ts";

try {
  await Daemon.start(await parseDaemonOptions(process.argv.slice(2)));
} catch (error) {
  if (error instanceof StartupError) {
    console.error(`tsd-daemon: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
