/**
 * Which tests ava runs. `npm test` runs the quick tiers; the soak and the long-load tests
 * (`*.slow.test.ts`: 100 MB lines, floods, thousands of sessions) run with `npm run test:slow`
 * (TEST_TIER=slow). TEST_TIER=all runs both, as the reliability report does.
 */
const SLOW = "test/**/*.slow.test.ts";
const SELECTIONS = {
  quick: ["test/**/*.test.ts", `!${SLOW}`],
  slow: [SLOW],
  all: ["test/**/*.test.ts"],
};

const selection = process.env.TEST_TIER || "quick";
const files = SELECTIONS[selection];
if (!files) throw new Error(`TEST_TIER=${selection}: expected one of ${Object.keys(SELECTIONS).join(", ")}`);

export default {
  extensions: { ts: "module" },
  files,
  timeout: "120s",
  workerThreads: false,
};
