import { Daemon } from "./primary/daemon.ts";
import { parseDaemonOptions, UsageError } from "./primary/options.ts";
import { StartupError } from "./primary/startup-error.ts";

try {
  await Daemon.start(await parseDaemonOptions(process.argv.slice(2)));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`tsd-daemon: ${error.message}; tsd-daemon --help lists the options`);
    process.exit(2);
  }
  if (error instanceof StartupError) {
    console.error(`tsd-daemon: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
