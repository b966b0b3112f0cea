// Every scenario `npm run bench -- <name>` knows, in the order they run by default.
import type { Scenario } from "../types.ts";
import { echoBulk, echoPingpong } from "./echo.ts";

export const SCENARIOS: readonly Scenario[] = [echoPingpong, echoBulk];
