#!/usr/bin/env node
import { start } from "./runtime-check.js";

if (process.argv[2] === "--print-unit") {
  const { printUnit } = await import("./print-unit.js");
  printUnit(process.argv.slice(3));
} else {
  await start("daemon");
}
