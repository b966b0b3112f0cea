#!/usr/bin/env node
import "./runtime-check.js";

await import("../client/main.ts");
