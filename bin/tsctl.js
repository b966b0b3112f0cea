#!/usr/bin/env node
import "./runtime-check.js";

await import("../ctl/main.ts");
