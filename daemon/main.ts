import { Daemon } from "./primary/daemon.ts";
import { parseDaemonOptions, UsageError } from "./primary/options.ts";
import { StartupError } from "./primary/startup-error.ts";

try {
  const options = await parseDaemonOptions(process.argv.slice(2));
  if (options.importIdentities !== undefined && options.cluster) {
    // Loaded only for this command: no cluster code without --hub redis.
    const { importIdentities } = await import("./primary/cluster/import-identities.ts");
    for (const line of await importIdentities(options.importIdentities, options.cluster)) console.log(line);
    process.exit(0);
  }
  await Daemon.start(options);
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
