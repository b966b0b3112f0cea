#!/usr/bin/env node
import { start } from "./runtime-check.js";

await start("client");
