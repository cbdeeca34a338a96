#!/usr/bin/env node
// Entry point of the `flowc` command: runs the compiled CLI from dist/ (built by `npm install`).
import { main } from "../dist/compiler/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
