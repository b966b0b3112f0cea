#!/usr/bin/env node
import "./runtime-check.js";

await import("../daemon/main.ts");
